// SPDX-License-Identifier: GPL-2.0
/*
 * Binding lifecycle of vfio-pci-mediate: bind, open, close and unbind an edu
 * device many times in a row, then unload and reload the module. A leaked
 * reference or a stale registration shows up as a failed bind, an open that
 * hangs, an rmmod that is refused, or a warning in the lab's dmesg check.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "vfio_dev.h"

#define REBIND_ROUNDS 50
#define MODULE_NAME "vfio_pci_mediate"
#define EDU_REG_ID 0x00
#define EDU_ID_VALUE 0x010000edu

/* Proves an opened device works: GET_INFO and one BAR read. */
static void check_open_device(struct vfio_dev *dev)
{
	uint32_t id = 0;

	ASSERT_TRUE(dev->info.flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_GE(dev->info.num_regions, VFIO_PCI_NUM_REGIONS);
	ASSERT_OK(vfio_region_read32(dev, VFIO_PCI_BAR0_REGION_INDEX,
				     EDU_REG_ID, &id));
	ASSERT_EQ(id, EDU_ID_VALUE);
}

TEST_NAMED(edu_bind_open_unbind_50_times, "rebind.edu_50_rounds", 600)
{
	char bdf[PCI_BDF_LEN], driver[PCI_DRIVER_LEN];

	lab_require();
	lab_find_edu(bdf);
	lab_restore_binding_at_end(bdf);

	for (int round = 0; round < REBIND_ROUNDS; round++) {
		struct vfio_dev *dev;

		lab_bind(bdf, DRIVER_VFIO_PCI_MEDIATE);
		dev = lab_open(bdf);
		check_open_device(dev);
		lab_close(dev);
		ASSERT_OK(pci_unbind(bdf));
		ASSERT_OK(pci_driver(bdf, driver, sizeof(driver)));
		ASSERT_EQ(strlen(driver), 0);
	}
	test_log("%d rounds of bind, open, close, unbind on %s", REBIND_ROUNDS,
		 bdf);
}

static const char *mediate_module_path(void)
{
	static char path[PATH_MAX];
	const char *ko = getenv("LAB_MEDIATE_KO");

	if (ko && ko[0])
		return ko;
	snprintf(path, sizeof(path), "%s/kernel/vfio-pci-mediate.ko",
		 lab_project_dir());
	return path;
}

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = (int)syscall(SYS_finit_module, fd, "", 0);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_module(const char *name)
{
	/* O_NONBLOCK: refuse at once if in use, as rmmod does. */
	return syscall(SYS_delete_module, name, O_NONBLOCK) < 0 ? -errno : 0;
}

static bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* Whatever happened, later tests need the module back. */
static int reload_if_missing(void *arg)
{
	const char *path = arg;

	if (module_loaded(MODULE_NAME))
		return 0;
	test_log("reloading %s from %s", MODULE_NAME, path);
	return load_module(path);
}

TEST_NAMED(mediate_module_unload_and_reload, "rebind.module_unload_reload",
	   TEST_DEFAULT_TIMEOUT_S)
{
	const char *ko = mediate_module_path();
	char bdf[PCI_BDF_LEN], driver[PCI_DRIVER_LEN];
	struct vfio_dev *dev;

	lab_require();
	lab_find_edu(bdf);
	ASSERT_OK(access(ko, R_OK));
	lab_restore_binding_at_end(bdf);
	test_add_cleanup(reload_if_missing, (void *)ko, "reload module");

	/* Unloading with a bound (closed) device must unbind it cleanly. */
	lab_bind(bdf, DRIVER_VFIO_PCI_MEDIATE);
	dev = lab_open(bdf);
	check_open_device(dev);
	lab_close(dev);

	ASSERT_OK(unload_module(MODULE_NAME));
	ASSERT_FALSE(module_loaded(MODULE_NAME));
	ASSERT_FALSE(pci_driver_registered(DRIVER_VFIO_PCI_MEDIATE));
	ASSERT_OK(pci_driver(bdf, driver, sizeof(driver)));
	ASSERT_EQ(strlen(driver), 0);

	ASSERT_OK(load_module(ko));
	ASSERT_TRUE(module_loaded(MODULE_NAME));
	ASSERT_TRUE(pci_driver_registered(DRIVER_VFIO_PCI_MEDIATE));

	/* The reloaded driver binds and serves the device again. */
	lab_bind(bdf, DRIVER_VFIO_PCI_MEDIATE);
	dev = lab_open(bdf);
	check_open_device(dev);
	lab_close(dev);
}
