// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime of mediators against open devices: the serving mediator's
 * module cannot be unloaded while the device is open; ->release() runs
 * exactly once however the open ends (close, kill -9, unbind);
 * unregistering asks the users of the devices it serves to release them
 * (device request IRQ) and waits for the opens it serves; a mediator that arrives
 * after the bind applies from the next open; and a mediator module is
 * autoloaded by alias on the first open after a bind.
 *
 * The autoload test installs the built modules for modprobe
 * (lab/install-modules) and takes that overlay away again at its end, so
 * that no later test autoloads the test mediator by surprise.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "vfio_dev.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
/* How long a blocked operation must stay blocked to count as waiting. */
#define STILL_BLOCKED_MS 700

static uint32_t read_id(const struct vfio_dev *dev)
{
	uint32_t id = 0;

	ASSERT_OK(vfio_region_read32(dev, BAR0, EDU_REG_ID, &id));
	return id;
}

/*
 * A child that opens bdf, maps BAR0 and touches it, reports on a pipe and
 * then waits to be killed.  Exits 1 without reporting if it cannot open.
 */
static pid_t spawn_holder(const char *bdf)
{
	int fds[2];
	pid_t pid;
	char ok = 0;

	ASSERT_OK(pipe(fds));
	fflush(stdout);
	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0) {
		struct vfio_dev dev;
		volatile uint32_t *bar;

		mt_close_inherited_fds(fds[1]);
		if (vfio_dev_open(&dev, bdf) < 0)
			_exit(1);
		bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			   dev.device_fd,
			   (off_t)dev.regions[BAR0].offset);
		if (bar == MAP_FAILED || bar[EDU_REG_ID / 4] != EDU_ID_VALUE)
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	mt_kill_at_end(pid);
	close(fds[1]);
	if (read(fds[0], &ok, 1) != 1 || ok != 'r')
		FAIL("the holder child could not open %s", bdf);
	close(fds[0]);
	return pid;
}

static void setup_one(char bdf[PCI_BDF_LEN])
{
	mt_setup_edu(bdf, "");
	mt_register(1, true);
	mt_write(1, "accept", "%s", bdf);
}

TEST_NAMED(rmmod_refused_while_open, "lifetime.rmmod_refused_while_open", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;

	setup_one(bdf);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	/* What rmmod gets: the module is in use. */
	ASSERT_EQ(mt_module_unload(), -EAGAIN);
	ASSERT_TRUE(mt_module_loaded());
	mt_expect_mediator(bdf, "test1");
	ASSERT_EQ(read_id(dev), EDU_ID_VALUE);
	lab_close(dev);
	ASSERT_EQ(mt_module_unload(), 0);
	ASSERT_FALSE(mt_module_loaded());
	mt_expect_mediator(bdf, "none");

	/* Without the mediator the device opens as plain passthrough. */
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");
	ASSERT_EQ(read_id(dev), EDU_ID_VALUE);
	lab_close(dev);
}

TEST_NAMED(kill9_releases_once, "lifetime.kill9_releases_once", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;
	pid_t holder;

	setup_one(bdf);
	holder = spawn_holder(bdf);
	mt_expect_mediator(bdf, "test1");
	ASSERT_EQ(mt_stat(1, "opens"), 1);
	ASSERT_EQ(mt_module_unload(), -EAGAIN);

	mt_kill_and_reap(holder);
	/* The fds and the mapping are gone with the process. */
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(mt_handles(1, NULL, 0), 0);
	mt_expect_mediator(bdf, "none");
	mt_sleep_ms(300);
	ASSERT_EQ(mt_stat(1, "releases"), 1);

	/* The device opens again, served again. */
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	ASSERT_EQ(read_id(dev), EDU_ID_VALUE);
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "opens"), 2);
	ASSERT_EQ(mt_stat(1, "releases"), 2);
}

static int unbind_child(const void *arg)
{
	return pci_unbind(arg) == 0 ? 0 : 1;
}

TEST_NAMED(unbind_while_open_releases_once,
	   "lifetime.unbind_while_open_releases_once", 90)
{
	char bdf[PCI_BDF_LEN], driver[PCI_DRIVER_LEN];
	pid_t holder, unbinder;
	int status;

	setup_one(bdf);
	holder = spawn_holder(bdf);
	mt_expect_mediator(bdf, "test1");

	/* vfio waits for the user to close before the unbind completes. */
	unbinder = mt_spawn(unbind_child, bdf);
	ASSERT_EQ(mt_wait_child(unbinder, STILL_BLOCKED_MS), -1);
	ASSERT_EQ(mt_stat(1, "releases"), 0);

	mt_kill_and_reap(holder);
	status = mt_wait_child(unbinder, MT_FINISH_WAIT_MS);
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(mt_stat(1, "opens"), 1);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(mt_handles(1, NULL, 0), 0);
	ASSERT_OK(pci_driver(bdf, driver, sizeof(driver)));
	ASSERT_EQ(strlen(driver), 0);
}

static int unregister_child(const void *arg)
{
	(void)arg;
	return mt_write_try(1, "registered", "0") == 0 ? 0 : 1;
}

TEST_NAMED(unregister_waits_for_release,
	   "lifetime.unregister_waits_for_release", 60)
{
	char bdf[PCI_BDF_LEN], reg[8];
	struct vfio_dev *dev;
	pid_t unregisterer;
	uint64_t start;
	int status;

	setup_one(bdf);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");

	unregisterer = mt_spawn(unregister_child, NULL);
	ASSERT_EQ(mt_wait_child(unregisterer, STILL_BLOCKED_MS), -1);
	/* Calls keep working for the open being served. */
	ASSERT_EQ(read_id(dev), EDU_ID_VALUE);
	ASSERT_EQ(mt_stat(1, "releases"), 0);

	lab_close(dev);
	status = mt_wait_child(unregisterer, MT_FINISH_WAIT_MS);
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_OK(mt_read(1, "registered", reg, sizeof(reg)));
	ASSERT_EQ(strcmp(reg, "0\n"), 0);

	/* With nothing served, unregistering is immediate. */
	mt_register(1, true);
	start = mt_now_ms();
	mt_register(1, false);
	ASSERT_LT(mt_now_ms() - start, 1000);

	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "open_calls"), 1);
}

TEST_NAMED(unregister_asks_users_to_release,
	   "lifetime.unregister_asks_users_to_release", 60)
{
	char bdf[PCI_BDF_LEN];
	pid_t user, unregisterer;
	int fds[2], status;

	setup_one(bdf);
	ASSERT_OK(pipe(fds));
	user = mt_spawn_request_listener(bdf, fds[1]);
	close(fds[1]);
	ASSERT_EQ(mt_read_report(fds[0], MT_FINISH_WAIT_MS), 'r');
	mt_expect_mediator(bdf, "test1");

	/* Unregistering (a PF driver's remove, say) asks the user to let go. */
	unregisterer = mt_spawn(unregister_child, NULL);
	if (mt_read_report(fds[0], 5000) != 'q')
		FAIL("unregistering the mediator did not signal the device request IRQ within 5 s");
	status = mt_wait_child(unregisterer, MT_FINISH_WAIT_MS);
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	mt_expect_mediator(bdf, "none");
	close(fds[0]);
	mt_kill_and_reap(user);
}

TEST_NAMED(loaded_after_bind_applies_next_open,
	   "lifetime.loaded_after_bind_applies_next_open", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;

	lab_require();
	lab_find_edu(bdf);
	ASSERT_FALSE(mt_module_loaded());
	mt_bind_mediate(bdf);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");

	/* The mediator arrives while the device is open. */
	mt_load_for_test("");
	mt_register(1, true);
	mt_write(1, "accept", "all");
	mt_write(1, "rules", "shadow 0 0x0 0x4 0xab");
	mt_expect_mediator(bdf, "none");
	ASSERT_EQ(read_id(dev), EDU_ID_VALUE);
	ASSERT_EQ(mt_stat(1, "open_calls"), 0);
	lab_close(dev);

	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	ASSERT_EQ(read_id(dev), 0xababababu);
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
}

/* --- autoload ------------------------------------------------------------ */

static char modules_dir[PATH_MAX];

static bool modules_overlaid(void)
{
	char line[1024], dev[256], dir[PATH_MAX], type[64];
	FILE *mounts = fopen("/proc/mounts", "r");
	bool found = false;

	ASSERT_TRUE(mounts != NULL);
	while (fgets(line, sizeof(line), mounts))
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) == 3 &&
		    strcmp(dir, modules_dir) == 0 &&
		    strcmp(type, "overlay") == 0)
			found = true;
	fclose(mounts);
	return found;
}

static int remove_overlay(void *arg)
{
	(void)arg;
	if (!modules_overlaid())
		return 0;
	if (umount2(modules_dir, 0) < 0) {
		test_log("cannot unmount %s: %s", modules_dir,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/* lab/install-modules for this test only. */
static void install_modules(void)
{
	char script[PATH_MAX], path[PATH_MAX];
	struct utsname uts;
	int ret;

	ASSERT_OK(uname(&uts));
	snprintf(path, sizeof(path), "/lib/modules/%s", uts.release);
	ASSERT_TRUE(realpath(path, modules_dir) != NULL);
	snprintf(script, sizeof(script), "%s/lab/install-modules",
		 lab_project_dir());
	ASSERT_OK(access(script, X_OK));
	if (modules_overlaid())
		FAIL("%s is overlaid already: an earlier run left it",
		     modules_dir);
	test_add_cleanup(remove_overlay, NULL, "remove the modules overlay");
	char *const argv[] = { script, NULL };

	ret = lab_run_program(argv);
	if (ret != 0)
		FAIL("%s failed (%d)", script, ret);
}

static void fresh_bind(const char *bdf)
{
	ASSERT_OK(pci_unbind(bdf));
	lab_bind(bdf, DRIVER_VFIO_PCI_MEDIATE);
}

/*
 * depmod over the 9p host root takes about 40 s alone in the lab, and
 * more than 120 s on a machine busy with other lab VMs (seen once): a
 * generous bound, as a timeout here leaves the overlay and the module
 * behind for the tests that follow.
 */
TEST_NAMED(autoload_by_alias, "lifetime.autoload_by_alias", 360)
{
	char bdf[PCI_BDF_LEN], vf[PCI_BDF_LEN];
	struct vfio_dev *dev;

	lab_require();
	lab_find_edu(bdf);
	lab_find_nvme_vf(vf);
	ASSERT_FALSE(mt_module_loaded());
	lab_restore_binding_at_end(bdf);
	lab_restore_binding_at_end(vf);
	mt_unload_at_end();
	install_modules();

	/* Binding alone loads nothing. */
	fresh_bind(bdf);
	ASSERT_FALSE(mt_module_loaded());
	dev = lab_open(bdf);
	ASSERT_TRUE(mt_module_loaded());
	/* Loaded before the mediators were asked: test0 was asked. */
	ASSERT_EQ(mt_stat(0, "open_calls"), 1);
	ASSERT_EQ(mt_stat(0, "declines"), 1);
	mt_expect_mediator(bdf, "none");
	ASSERT_EQ(read_id(dev), EDU_ID_VALUE);
	lab_close(dev);

	/* Only the first open after a bind asks for the module. */
	ASSERT_EQ(mt_module_unload(), 0);
	dev = lab_open(bdf);
	ASSERT_FALSE(mt_module_loaded());
	lab_close(dev);
	fresh_bind(bdf);
	dev = lab_open(bdf);
	ASSERT_TRUE(mt_module_loaded());
	lab_close(dev);
	ASSERT_EQ(mt_module_unload(), 0);

	/* The alias names edu's ids: an NVMe VF does not load it. */
	fresh_bind(vf);
	dev = lab_open(vf);
	ASSERT_FALSE(mt_module_loaded());
	lab_close(dev);
}
