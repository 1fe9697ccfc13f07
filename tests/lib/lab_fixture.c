// SPDX-License-Identifier: GPL-2.0
/* Lab device fixtures for tests; see lab_fixture.h. */
#include "lab_fixture.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

#define MAX_TRACKED 64

/* Devices and mappings this test child still holds. */
static struct vfio_dev *open_devices[MAX_TRACKED];
static struct {
	void *addr;
	size_t len;
} mappings[MAX_TRACKED];
static bool release_registered;

void lab_require(void)
{
	const char *lab = getenv("LAB");

	if (!lab || strcmp(lab, "1") != 0)
		SKIP("not inside the lab (LAB=1 unset); these tests rebind PCI devices, run them with lab/run");
	if (geteuid() != 0)
		SKIP("needs root to rebind PCI devices");
	/* Inside the lab both drivers must be there: that is a failure. */
	if (!pci_driver_registered(DRIVER_VFIO_PCI))
		FAIL("driver %s is not registered", DRIVER_VFIO_PCI);
	if (!pci_driver_registered(DRIVER_VFIO_PCI_MEDIATE))
		FAIL("driver %s is not registered", DRIVER_VFIO_PCI_MEDIATE);
}

const char *lab_project_dir(void)
{
	const char *dir = getenv("LAB_PROJECT");

	return dir && dir[0] ? dir : ".";
}

bool lab_kernel_at_least(unsigned int major, unsigned int minor)
{
	unsigned int running_major, running_minor;
	struct utsname uts;

	ASSERT_EQ(uname(&uts), 0);
	ASSERT_EQ(sscanf(uts.release, "%u.%u", &running_major,
			 &running_minor), 2);
	return running_major > major ||
	       (running_major == major && running_minor >= minor);
}

bool lab_kernel_reports_dma_log(void)
{
	static const char option[] = "CONFIG_IOMMUFD_DRIVER=";
	char path[PATH_MAX], line[256];
	bool reports = false;
	struct utsname uts;
	FILE *f;

	if (!lab_kernel_at_least(6, 7))
		return true;
	ASSERT_EQ(uname(&uts), 0);
	snprintf(path, sizeof(path), "/boot/config-%s", uts.release);
	f = fopen(path, "r");
	if (!f)
		FAIL("cannot read %s to tell whether this kernel's vfio core reports DMA logs: %s",
		     path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, option, sizeof(option) - 1))
			reports = line[sizeof(option) - 1] == 'y' ||
				  line[sizeof(option) - 1] == 'm';
	fclose(f);
	return reports;
}

void lab_require_dma_log(void)
{
	if (!lab_kernel_reports_dma_log())
		SKIP("this kernel's vfio core cannot report a DMA log (CONFIG_IOMMUFD_DRIVER off), so vfio-pci-mediate offers none (dirty.v2_logging_offered_where_reported checks that)");
}

void lab_find_edu(char bdf[PCI_BDF_LEN])
{
	char found[4][PCI_BDF_LEN];
	int n = pci_find_devices(VENDOR_QEMU_EDU, DEVICE_QEMU_EDU, found, 4);

	if (n <= 0)
		SKIP("no QEMU edu device (%04x:%04x)", VENDOR_QEMU_EDU,
		     DEVICE_QEMU_EDU);
	memcpy(bdf, found[0], PCI_BDF_LEN);
}

void lab_find_nvme_pf(char bdf[PCI_BDF_LEN])
{
	char found[8][PCI_BDF_LEN];
	int n = pci_find_devices(VENDOR_REDHAT_QEMU, DEVICE_QEMU_NVME, found, 8);

	for (int i = 0; i < n && i < 8; i++) {
		if (pci_has_attr(found[i], "sriov_totalvfs")) {
			memcpy(bdf, found[i], PCI_BDF_LEN);
			return;
		}
	}
	SKIP("no QEMU NVMe SR-IOV PF (%04x:%04x with sriov_totalvfs)",
	     VENDOR_REDHAT_QEMU, DEVICE_QEMU_NVME);
}

void lab_find_nvme_vf(char bdf[PCI_BDF_LEN])
{
	char pf[PCI_BDF_LEN];
	int ret;

	lab_find_nvme_pf(pf);
	ret = pci_virtfn(pf, 0, bdf, PCI_BDF_LEN);
	if (ret < 0)
		FAIL("NVMe PF %s has no VF (virtfn0: %s); the lab enables 2",
		     pf, strerror(-ret));
}

static int restore_binding(void *arg)
{
	const struct pci_binding *saved = arg;
	int ret = pci_binding_restore(saved);

	if (ret == 0)
		test_log("restored %s to %s", saved->bdf,
			 saved->driver[0] ? saved->driver : "no driver");
	return ret;
}

void lab_restore_binding_at_end(const char *bdf)
{
	struct pci_binding *saved = calloc(1, sizeof(*saved));

	ASSERT_TRUE(saved != NULL);
	ASSERT_OK(pci_binding_save(bdf, saved));
	test_add_cleanup(restore_binding, saved, "restore driver binding");
}

int lab_run_program(char *const argv[])
{
	int status, err;
	pid_t pid;

	fflush(stdout);
	err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int restore_nvme_pf(void *arg)
{
	const struct pci_binding *saved = arg;
	char script[PATH_MAX];
	int ret;

	snprintf(script, sizeof(script), "%s/lab/nvme-vfs-online",
		 lab_project_dir());
	char *const argv[] = { script, NULL };

	ret = lab_run_program(argv);
	if (ret != 0) {
		test_log("%s failed (%d)", script, ret);
		return -EIO;
	}
	test_log("restored NVMe PF %s to %s with its VFs online", saved->bdf,
		 saved->driver);
	return 0;
}

void lab_take_nvme_pf(const char *pf_bdf)
{
	struct pci_binding *saved = calloc(1, sizeof(*saved));

	ASSERT_TRUE(saved != NULL);
	ASSERT_OK(pci_binding_save(pf_bdf, saved));
	test_add_cleanup(restore_nvme_pf, saved, "restore NVMe PF and VFs");
	ASSERT_OK(pci_write_attr(pf_bdf, "sriov_numvfs", "0"));
}

void lab_bind(const char *bdf, const char *driver)
{
	int ret = pci_bind(bdf, driver);

	if (ret < 0)
		FAIL("binding %s to %s failed: %s", bdf, driver,
		     strerror(-ret));
}

/* Unmaps and closes whatever the test still holds; runs before restores. */
static int release_all(void *arg)
{
	(void)arg;
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (mappings[i].addr) {
			munmap(mappings[i].addr, mappings[i].len);
			mappings[i].addr = NULL;
		}
	}
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (open_devices[i]) {
			vfio_dev_close(open_devices[i]);
			open_devices[i] = NULL;
		}
	}
	return 0;
}

static void register_release(void)
{
	if (!release_registered) {
		test_add_cleanup(release_all, NULL, "release VFIO fds and maps");
		release_registered = true;
	}
}

struct vfio_dev *lab_open(const char *bdf)
{
	struct vfio_dev *dev = calloc(1, sizeof(*dev));
	int ret, slot;

	ASSERT_TRUE(dev != NULL);
	register_release();
	for (slot = 0; slot < MAX_TRACKED && open_devices[slot]; slot++)
		;
	ASSERT_LT(slot, MAX_TRACKED);
	ret = vfio_dev_open(dev, bdf);
	if (ret < 0)
		FAIL("opening %s through VFIO failed: %s", bdf, strerror(-ret));
	open_devices[slot] = dev;
	return dev;
}

void lab_close(struct vfio_dev *dev)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (open_devices[i] == dev)
			open_devices[i] = NULL;
	vfio_dev_close(dev);
	free(dev);
}

void *lab_mmap(struct vfio_dev *dev, uint64_t file_offset, size_t len,
	       int prot, int flags)
{
	void *addr = mmap(NULL, len, prot, flags, dev->device_fd,
			  (off_t)file_offset);
	int saved_errno = errno;

	if (addr == MAP_FAILED)
		return addr;
	register_release();
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (!mappings[i].addr) {
			mappings[i].addr = addr;
			mappings[i].len = len;
			errno = saved_errno;
			return addr;
		}
	}
	munmap(addr, len);
	FAIL("more than %d device mappings at once", MAX_TRACKED);
}

void lab_munmap(void *addr, size_t len)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (mappings[i].addr == addr)
			mappings[i].addr = NULL;
	munmap(addr, len);
}
