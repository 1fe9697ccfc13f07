// SPDX-License-Identifier: GPL-2.0
/*
 * The PF going away while a VF served by igbvf-mediate is open, on the
 * lab's igb machine (LAB_MACHINE=igb).  The VF's user is a child that
 * listens on the device request IRQ and closes the VF when asked, as a
 * VMM does.  Each way of taking the PF away must ask the user to release
 * the VF (as stock vfio-pci does) and then complete: the VF is gone, the
 * mediator's module is no longer in use.  rmmod igb completing also shows
 * that nothing of ours holds the PF's netdev (unregister_netdev would
 * wait for it forever).  The lab's dmesg check catches any warning.
 *
 *  - numvfs_zero: sriov_numvfs set to 0;
 *  - igb_unbind: the PF unbound from igb;
 *  - rmmod_igb: igb unloaded;
 *  - mediator_reloaded: the mediator cannot be unloaded while it serves
 *    the open VF; after sriov_numvfs=0 it can; loaded again once the VFs
 *    are back, it serves a VF again, then igb is unloaded.
 *
 * After each, lab/igb-vfs-online brings the PF and its VFs back.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "igbvf_fixture.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"

/* The request comes at once; the PF's own teardown may take a while. */
#define ASK_WAIT_MS 5000

static int igb_vfs_online(void *arg)
{
	char path[PATH_MAX];
	char *argv[] = { path, NULL };

	(void)arg;
	snprintf(path, sizeof(path), "%s/lab/igb-vfs-online",
		 lab_project_dir());
	return lab_run_program(argv) == 0 ? 0 : -EIO;
}

/* @vf's PF, from its physfn link. */
static void pf_of(const struct vf *vf, char pf[PCI_BDF_LEN])
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/physfn",
		 vf->bdf);
	n = readlink(link, target, sizeof(target) - 1);
	ASSERT_TRUE(n > 0);
	target[n] = 0;
	snprintf(pf, PCI_BDF_LEN, "%s", basename(target));
}

static int numvfs_zero(const void *pf)
{
	return pci_write_attr(pf, "sriov_numvfs", "0") == 0 ? 0 : 1;
}

static int igb_unbind(const void *pf)
{
	return pci_unbind(pf) == 0 ? 0 : 1;
}

static int rmmod_igb(const void *pf)
{
	(void)pf;
	return syscall(SYS_delete_module, "igb", 0) == 0 ? 0 : 1;
}

static int rmmod_mediator(const void *unused)
{
	(void)unused;
	return syscall(SYS_delete_module, IGBVF_MODULE, 0) == 0 ? 0 : 1;
}

/* The mediator module's reference count (0: no open VF uses it). */
static long mediator_refcnt(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/module/" IGBVF_MODULE "/refcnt", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 10);
}

/* A user holding @vf open, served by the mediator; its report pipe. */
static pid_t open_served(const struct vf *vf, int *report)
{
	int fds[2];
	pid_t user;

	ASSERT_OK(pipe(fds));
	user = mt_spawn_request_listener(vf->bdf, fds[1]);
	close(fds[1]);
	if (mt_read_report(fds[0], MT_FINISH_WAIT_MS) != 'r')
		FAIL("the VF's user could not open %s", vf->bdf);
	mt_expect_mediator(vf->bdf, IGBVF_MEDIATOR);
	ASSERT_EQ(mediator_refcnt(), 1);
	*report = fds[0];
	return user;
}

/* Runs @remove(@arg); the user must be asked, and @remove complete. */
static void expect_asked_then_done(const char *what, int (*remove)(const void *),
				   const void *arg, int report, pid_t user)
{
	pid_t remover = mt_spawn(remove, arg);
	int status;

	if (mt_read_report(report, ASK_WAIT_MS) != 'q')
		FAIL("%s did not ask the VF's user to release it within %d ms",
		     what, ASK_WAIT_MS);
	status = mt_wait_child(remover, MT_FINISH_WAIT_MS);
	if (status == -1)
		FAIL("%s still not done %d ms after the VF was released", what,
		     MT_FINISH_WAIT_MS);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(report);
	mt_kill_and_reap(user);
}

/* A VF for the test and its PF, which is brought back at the end. */
static void vf_take(struct vf *vf, char pf[PCI_BDF_LEN])
{
	vf_find(vf, 1);
	pf_of(vf, pf);
	/* Cleanups run last first: the VFs are back before rebinding. */
	test_add_cleanup(igb_vfs_online, NULL, "bring the igb PF and VFs back");
}

static void pf_goes_away(const char *what, int (*remove)(const void *))
{
	char pf[PCI_BDF_LEN], path[PATH_MAX];
	struct vf vf;
	int report;
	pid_t user;

	vf_take(&vf, pf);
	user = open_served(&vf, &report);
	expect_asked_then_done(what, remove, pf, report, user);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", vf.bdf);
	ASSERT_NE(access(path, F_OK), 0);
	ASSERT_EQ(mediator_refcnt(), 0);
}

TEST_NAMED(numvfs_zero, "igbvf_pf_removal.numvfs_zero", 120)
{
	pf_goes_away("sriov_numvfs=0", numvfs_zero);
}

TEST_NAMED(igb_unbind, "igbvf_pf_removal.igb_unbind", 120)
{
	pf_goes_away("unbinding igb from the PF", igb_unbind);
}

TEST_NAMED(rmmod_igb, "igbvf_pf_removal.rmmod_igb", 120)
{
	pf_goes_away("rmmod igb", rmmod_igb);
}

TEST_NAMED(mediator_reloaded, "igbvf_pf_removal.mediator_reloaded", 180)
{
	char pf[PCI_BDF_LEN];
	struct vf vf;
	int report;
	pid_t user;

	vf_take(&vf, pf);

	/* Serving an open VF, the mediator cannot go. */
	user = open_served(&vf, &report);
	ASSERT_NE(rmmod_mediator(NULL), 0);
	expect_asked_then_done("sriov_numvfs=0", numvfs_zero, pf, report,
			       user);
	/* Unloaded with the VFs gone, back with them. */
	ASSERT_EQ(rmmod_mediator(NULL), 0);
	ASSERT_EQ(igb_vfs_online(NULL), 0);
	vf_take(&vf, pf);
	user = open_served(&vf, &report);
	expect_asked_then_done("rmmod igb", rmmod_igb, pf, report, user);
	ASSERT_EQ(mediator_refcnt(), 0);
}
