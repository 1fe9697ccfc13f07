// SPDX-License-Identifier: GPL-2.0
/*
 * minimal-mediate (kernel/samples/minimal/main.c) on the lab's two edu
 * devices, seen from a VFIO client: the scratch register it emulates at
 * BAR0 0x10 (edu itself reads ~0 there and ignores writes) holds what was
 * written, the rest of BAR0 reaches edu, and the register's value moves
 * to the other device through a save and a load.  Without the mediator
 * serving the devices the first and last tests fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"
#include "edu_fixture.h"

#define MINIMAL_MODULE "minimal_mediate"
#define MINIMAL_MEDIATOR "minimal-mediate"
/* The register the sample emulates (MINIMAL_REG_SCRATCH). */
#define MINIMAL_REG_SCRATCH 0x10

/*
 * Both edu devices bound to vfio-pci-mediate and minimal-mediate loaded
 * to serve them.  Mediators are asked in the order they registered, so
 * edu-mediate, if an earlier open loaded it by alias, is unloaded first;
 * if it is loaded again by the next open, it comes after this one.
 */
static void minimal_setup(char a[PCI_BDF_LEN], char b[PCI_BDF_LEN])
{
	char params[64];

	lab_require();
	mt_find_two_edu(a, b);
	mt_bind_mediate(a);
	mt_bind_mediate(b);
	if (access("/sys/module/" EDU_MODULE, F_OK) == 0 &&
	    syscall(SYS_delete_module, EDU_MODULE, O_NONBLOCK) < 0)
		FAIL("cannot unload %s: %s", EDU_MODULE, strerror(errno));
	snprintf(params, sizeof(params), "devices=%s,%s", a, b);
	mt_sample_load_for_test(MINIMAL_MODULE, "minimal-mediate.ko", params);
}

TEST_NAMED(scratch_register_emulated, "minimal_mediate.emulated_register",
	   TEST_DEFAULT_TIMEOUT_S)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;

	minimal_setup(a, b);
	dev = mg_open(a);
	edu_wr(dev, MINIMAL_REG_SCRATCH, 0x5a5aa5a5);
	ASSERT_EQ(edu_rd(dev, MINIMAL_REG_SCRATCH), 0x5a5aa5a5);
	edu_wr(dev, MINIMAL_REG_SCRATCH, 0x12345678);
	ASSERT_EQ(edu_rd(dev, MINIMAL_REG_SCRATCH), 0x12345678);
	mt_expect_mediator(a, MINIMAL_MEDIATOR);
}

TEST_NAMED(other_registers_pass_through, "minimal_mediate.passthrough",
	   TEST_DEFAULT_TIMEOUT_S)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;

	minimal_setup(a, b);
	dev = mg_open(a);
	ASSERT_EQ(edu_rd(dev, EDU_REG_ID), EDU_ID_VALUE);
	edu_wr(dev, EDU_REG_LIVENESS, 0x0f0f1234);
	ASSERT_EQ(edu_rd(dev, EDU_REG_LIVENESS), ~0x0f0f1234u);
}

TEST_NAMED(scratch_register_migrates, "minimal_mediate.save_load",
	   TEST_DEFAULT_TIMEOUT_S)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *src, *dst;
	struct mg_buf st = { 0 };

	minimal_setup(a, b);
	src = mg_open(a);
	dst = mg_open(b);
	edu_wr(src, MINIMAL_REG_SCRATCH, 0xc0ffee01);
	edu_wr(dst, MINIMAL_REG_SCRATCH, 0xdead0002);

	mg_save(src, &st, false);
	ASSERT_EQ(mg_load(dst, st.data, st.len, NULL), 0);
	mg_to_running(dst);
	ASSERT_EQ(edu_rd(dst, MINIMAL_REG_SCRATCH), 0xc0ffee01);
	mg_buf_free(&st);
}
