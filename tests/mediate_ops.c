// SPDX-License-Identifier: GPL-2.0
/*
 * Mediate ops, seen from a VFIO client: which mediator serves an open (in
 * registration order, first acceptor wins, refusals and errors), what sysfs
 * and the kernel log show about it, and each kind of interception the test
 * mediator (tests/kernel) can be told to do: region info, shadow reads,
 * swallowed, recorded and forwarded writes, the BAR helpers, mmap refusal,
 * device-specific regions, and out-of-range accesses; that a mediator that
 * declines leaves nothing behind, that the device is woken from low power
 * for a mediator's accesses as for vfio-pci's own, and that concurrent
 * first uses of a BAR both work.
 *
 * Each test loads the test mediator module itself and unloads it at the
 * end, and puts its devices back on their drivers.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "vfio_dev.h"

#define PAGE 4096u
#define TEST_REGION_TYPE 0x80001234u
#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define CONFIG VFIO_PCI_CONFIG_REGION_INDEX
/* The highest region-relative offset a VFIO file offset can carry. */
#define REGION_OFFSET_MAX ((1ull << 40) - 1)

/* --- helpers ------------------------------------------------------------- */

/* Our instances among the registered mediators, joined by ','. */
static void test_mediators(char *buf, size_t len)
{
	char names[16][MT_NAME_LEN];
	int count = mt_mediators(names, 16);
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < count && i < 16; i++) {
		if (strncmp(names[i], "test", 4) != 0)
			continue;
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%s", used ? "," : "", names[i]);
	}
	ASSERT_LT(used, len);
}

static void expect_test_mediators(const char *want)
{
	char got[256];

	test_mediators(got, sizeof(got));
	if (strcmp(got, want) != 0)
		FAIL("registered test mediators are \"%s\", expected \"%s\"",
		     got, want);
}

static uint32_t read32(const struct vfio_dev *dev, uint32_t index,
		       uint64_t offset)
{
	uint32_t value = 0;

	ASSERT_EQ(vfio_region_read(dev, index, offset, &value, 4), 4);
	return value;
}

static void write32(const struct vfio_dev *dev, uint32_t index,
		    uint64_t offset, uint32_t value)
{
	ASSERT_EQ(vfio_region_write(dev, index, offset, &value, 4), 4);
}

/* pread/pwrite at an exact file offset; the result or -errno. */
static long raw_pread(const struct vfio_dev *dev, uint64_t file_offset,
		      void *buf, size_t len)
{
	ssize_t n = pread(dev->device_fd, buf, len, (off_t)file_offset);

	return n < 0 ? -errno : n;
}

static long raw_pwrite(const struct vfio_dev *dev, uint64_t file_offset,
		       const void *buf, size_t len)
{
	ssize_t n = pwrite(dev->device_fd, buf, len, (off_t)file_offset);

	return n < 0 ? -errno : n;
}

static uint64_t index_offset(uint32_t index)
{
	return (uint64_t)index << 40;
}

static struct vfio_region_info *region_info(const struct vfio_dev *dev,
					    uint32_t index)
{
	struct vfio_region_info *info = NULL;
	int ret = vfio_region_info_get(dev->device_fd, index, &info);

	if (ret < 0)
		FAIL("GET_REGION_INFO %u: %s", index, strerror(-ret));
	return info;
}

static const void *find_cap(const struct vfio_region_info *info, uint16_t id)
{
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return NULL;
	return vfio_cap_find(info, info->argsz, info->cap_offset, id);
}

/* mmap of a region-relative range; MAP_FAILED with errno on failure. */
static void *map_region(struct vfio_dev *dev, uint32_t index, uint64_t offset,
			size_t len)
{
	return lab_mmap(dev, dev->regions[index].offset + offset, len,
			PROT_READ | PROT_WRITE, MAP_SHARED);
}

static int map_errno(struct vfio_dev *dev, uint32_t index, uint64_t offset,
		     size_t len)
{
	void *addr = map_region(dev, index, offset, len);

	if (addr == MAP_FAILED)
		return errno;
	lab_munmap(addr, len);
	return 0;
}

/* The one open instance inst serves now. */
static struct mt_handle only_handle(int inst)
{
	struct mt_handle h[4];

	ASSERT_EQ(mt_handles(inst, h, 4), 1);
	return h[0];
}

/* test1 registered after test0, accepting bdf, with the given rules. */
static void serve_with_test1(const char *bdf, const char *rules)
{
	mt_register(1, true);
	mt_write(1, "accept", "%s", bdf);
	if (rules)
		mt_write(1, "rules", "%s", rules);
}

/* --- selection and visibility -------------------------------------------- */

TEST_NAMED(registry_lists_in_order, "mediate.registry_lists_in_order", 60)
{
	char reg[8];

	lab_require();
	mt_load_for_test("");
	/* Loading registers test0 only. */
	expect_test_mediators("test0");
	ASSERT_OK(mt_read(0, "registered", reg, sizeof(reg)));
	ASSERT_EQ(strcmp(reg, "1\n"), 0);
	ASSERT_OK(mt_read(3, "registered", reg, sizeof(reg)));
	ASSERT_EQ(strcmp(reg, "0\n"), 0);

	mt_register(2, true);
	mt_register(1, true);
	expect_test_mediators("test0,test2,test1");
	/* Registering again is a no-op of the module, not a second entry. */
	mt_register(2, true);
	expect_test_mediators("test0,test2,test1");

	mt_register(0, false);
	expect_test_mediators("test2,test1");
	mt_register(0, true);
	expect_test_mediators("test2,test1,test0");
	mt_register(2, false);
	mt_register(1, false);
	expect_test_mediators("test0");

	ASSERT_OK(mt_module_unload());
	ASSERT_FALSE(mt_module_loaded());
	expect_test_mediators("");
}

TEST_NAMED(first_refuses_second_accepts,
	   "mediate.first_refuses_second_accepts", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;
	struct mt_handle h;
	uint64_t mark;

	mt_setup_edu(bdf, "");
	mt_expect_mediator(bdf, "none");
	/* test0 (registered first) refuses everything; test1 takes bdf. */
	serve_with_test1(bdf, NULL);
	expect_test_mediators("test0,test1");

	mark = kmsg_mark();
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	mt_check_edu_id(dev);
	ASSERT_EQ(mt_stat(0, "open_calls"), 1);
	ASSERT_EQ(mt_stat(0, "declines"), 1);
	ASSERT_EQ(mt_stat(0, "opens"), 0);
	ASSERT_EQ(mt_stat(1, "open_calls"), 1);
	ASSERT_EQ(mt_stat(1, "opens"), 1);
	ASSERT_EQ(mt_stat(1, "pdev_mismatches"), 0);
	ASSERT_EQ(mt_stat(1, "releases"), 0);
	h = only_handle(1);
	ASSERT_EQ(strcmp(h.bdf, bdf), 0);
	ASSERT_EQ(mt_handles(0, NULL, 0), 0);
	/* Every open would log it: not in the log (debug level only). */
	ASSERT_EQ(kmsg_count_since(mark, bdf, "test1"), 0);

	/* A second fd of the same open is not a new open. */
	{
		int fd2 = ioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);

		if (fd2 >= 0)
			close(fd2);
		ASSERT_EQ(mt_stat(1, "open_calls"), 1);
	}

	lab_close(dev);
	mt_expect_mediator(bdf, "none");
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(mt_handles(1, NULL, 0), 0);
	/* Nor the detach. */
	ASSERT_EQ(kmsg_count_since(mark, bdf, "test1"), 0);
}

TEST_NAMED(registration_order_decides, "mediate.registration_order_decides",
	   60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;

	mt_setup_edu(bdf, "autoregister=0");
	expect_test_mediators("");
	mt_write(1, "accept", "all");
	mt_write(2, "accept", "all");

	mt_register(2, true);
	mt_register(1, true);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test2");
	/* Once test2 accepted, test1 was not asked. */
	ASSERT_EQ(mt_stat(2, "opens"), 1);
	ASSERT_EQ(mt_stat(1, "open_calls"), 0);
	lab_close(dev);
	ASSERT_EQ(mt_stat(2, "releases"), 1);

	/* Register test2 again: it now comes after test1. */
	mt_register(2, false);
	mt_register(2, true);
	expect_test_mediators("test1,test2");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	ASSERT_EQ(mt_stat(1, "opens"), 1);
	ASSERT_EQ(mt_stat(2, "open_calls"), 1);
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
}

TEST_NAMED(two_devices_one_mediator, "mediate.two_devices_one_mediator", 60)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfio_dev *dev_a, *dev_b;
	struct mt_handle h[4];
	unsigned int id_a, id_b;

	lab_require();
	mt_find_two_edu(a, b);
	mt_bind_mediate(a);
	mt_bind_mediate(b);
	mt_load_for_test("");
	mt_register(1, true);
	mt_write(1, "accept", "%s,%s", a, b);
	/* A 4-byte read at BAR0+0x100 returns the open's handle id. */
	mt_write(1, "rules", "ident 0 0x100");

	dev_a = lab_open(a);
	dev_b = lab_open(b);
	mt_expect_mediator(a, "test1");
	mt_expect_mediator(b, "test1");
	ASSERT_EQ(mt_handles(1, h, 4), 2);
	ASSERT_NE(strcmp(h[0].bdf, h[1].bdf), 0);
	ASSERT_NE(h[0].id, h[1].id);
	id_a = strcmp(h[0].bdf, a) == 0 ? h[0].id : h[1].id;
	id_b = strcmp(h[0].bdf, b) == 0 ? h[0].id : h[1].id;
	ASSERT_NE(id_a, id_b);

	/* Each fd's calls reach the mediator with its own handle. */
	ASSERT_EQ(read32(dev_a, BAR0, 0x100), id_a);
	ASSERT_EQ(read32(dev_b, BAR0, 0x100), id_b);
	mt_check_edu_id(dev_a);
	mt_check_edu_id(dev_b);

	lab_close(dev_a);
	mt_expect_mediator(a, "none");
	mt_expect_mediator(b, "test1");
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(mt_handles(1, h, 4), 1);
	ASSERT_EQ(strcmp(h[0].bdf, b), 0);
	ASSERT_EQ(read32(dev_b, BAR0, 0x100), id_b);
	lab_close(dev_b);
	ASSERT_EQ(mt_stat(1, "releases"), 2);
	ASSERT_EQ(mt_stat(1, "opens"), 2);
}

/* Runs the stock comparison's edu and NVMe VF tests, TAP hidden. */
static int run_passthrough_compare(void)
{
	char self[PATH_MAX], cmd[PATH_MAX + 64], line[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *out;
	int status, failed = 0;

	ASSERT_GT(n, 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(cmd, sizeof(cmd),
		 "%s/passthrough_compare -t 'edu.*' -t 'nvme_vf.*' 2>&1", self);
	fflush(stdout);
	out = popen(cmd, "r");
	ASSERT_TRUE(out != NULL);
	while (fgets(line, sizeof(line), out)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "not ok", 6) == 0)
			failed++;
		if (strncmp(line, "ok ", 3) == 0 || failed)
			test_log("compare: %s", line);
	}
	status = pclose(out);
	test_log("passthrough_compare: %d failed, exit status %d", failed,
		 status);
	return failed || status != 0 ? -1 : 0;
}

TEST_NAMED(nobody_accepts_is_passthrough,
	   "mediate.nobody_accepts_is_passthrough", 300)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;
	void *bar;

	/* All four instances registered, all refusing. */
	mt_setup_edu(bdf, "autoregister=15");
	expect_test_mediators("test0,test1,test2,test3");

	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");
	for (int i = 0; i < MT_INSTANCES; i++) {
		ASSERT_EQ(mt_stat(i, "open_calls"), 1);
		ASSERT_EQ(mt_stat(i, "declines"), 1);
		ASSERT_EQ(mt_handles(i, NULL, 0), 0);
	}
	mt_check_edu_id(dev);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);
	ASSERT_EQ(*(volatile uint32_t *)bar, EDU_ID_VALUE);
	lab_munmap(bar, PAGE);
	lab_close(dev);
	for (int i = 0; i < MT_INSTANCES; i++)
		ASSERT_EQ(mt_stat(i, "releases"), 0);

	/* vfio-pci-mediate against vfio-pci, with these mediators there. */
	ASSERT_OK(run_passthrough_compare());
}

TEST_NAMED(open_error_fails_open, "mediate.open_error_fails_open", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev probe, *dev;

	mt_setup_edu(bdf, "");
	serve_with_test1(bdf, NULL);

	mt_write(1, "open_error", "%d", EIO);
	ASSERT_EQ(vfio_dev_open(&probe, bdf), -EIO);
	mt_expect_mediator(bdf, "none");
	mt_write(1, "open_error", "%d", EBUSY);
	ASSERT_EQ(vfio_dev_open(&probe, bdf), -EBUSY);
	ASSERT_EQ(mt_stat(1, "failures"), 2);
	ASSERT_EQ(mt_stat(1, "opens"), 0);
	ASSERT_EQ(mt_handles(1, NULL, 0), 0);

	/* -ENODEV from ->open() declines: the device opens unmediated. */
	mt_write(1, "open_error", "%d", ENODEV);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");
	mt_check_edu_id(dev);
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "declines"), 1);

	/* The failed opens left the device fine: now test1 serves it. */
	mt_write(1, "open_error", "0");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	mt_check_edu_id(dev);
	lab_close(dev);
	/* release only for the open that succeeded. */
	ASSERT_EQ(mt_stat(1, "opens"), 1);
	ASSERT_EQ(mt_stat(1, "releases"), 1);

	mt_write(1, "open_error", "%d", EIO);
	mt_register(1, false);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");
	mt_check_edu_id(dev);
	lab_close(dev);
}

/* --- interception -------------------------------------------------------- */

TEST_NAMED(region_info_override, "mediate.region_info_override", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_region_info *info;
	const struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_dev *dev;

	mt_setup_edu(bdf, "");
	serve_with_test1(bdf,
			 "info 0 size=0x80000 flags=0x7 sparse=0x0:0x1000,0x2000:0x3000\n"
			 "info 1 size=0x1000 flags=0x3\n");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");

	info = region_info(dev, BAR0);
	ASSERT_EQ(info->offset, index_offset(BAR0));
	ASSERT_EQ(info->size, 0x80000);
	ASSERT_EQ(info->flags & ~VFIO_REGION_INFO_FLAG_CAPS, 0x7);
	sparse = find_cap(info, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	ASSERT_TRUE(sparse != NULL);
	ASSERT_EQ(sparse->nr_areas, 2);
	ASSERT_EQ(sparse->areas[0].offset, 0);
	ASSERT_EQ(sparse->areas[0].size, 0x1000);
	ASSERT_EQ(sparse->areas[1].offset, 0x2000);
	ASSERT_EQ(sparse->areas[1].size, 0x3000);
	free(info);

	info = region_info(dev, 1);
	ASSERT_EQ(info->size, 0x1000);
	ASSERT_EQ(info->flags, 0x3);
	free(info);

	/* No rule: what vfio-pci says (edu has BAR0 only, a PCI config). */
	info = region_info(dev, 2);
	ASSERT_EQ(info->size, 0);
	ASSERT_EQ(info->flags, 0);
	free(info);
	info = region_info(dev, CONFIG);
	ASSERT_EQ(info->size, 256);
	ASSERT_EQ(info->flags,
		  VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	free(info);
	ASSERT_GE(only_handle(1).info, 4);
	lab_close(dev);

	/* The override belonged to that open of test1 only. */
	mt_register(1, false);
	dev = lab_open(bdf);
	info = region_info(dev, BAR0);
	ASSERT_EQ(info->size, EDU_BAR0_SIZE);
	ASSERT_TRUE(find_cap(info, VFIO_REGION_INFO_CAP_SPARSE_MMAP) == NULL);
	free(info);
	lab_close(dev);
}

TEST_NAMED(shadow_reads, "mediate.shadow_reads", 60)
{
	char bdf[PCI_BDF_LEN];
	unsigned char buf[16];
	struct vfio_dev *dev;
	uint16_t word = 0;
	void *bar;

	mt_setup_edu(bdf, "");
	serve_with_test1(bdf, "shadow 0 0x0 0x4 0xab\n"
			      "shadow 0 0x100 0x100 0x5c\n"
			      "shadow 7 0x0 0x2 0x11\n");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");

	ASSERT_EQ(read32(dev, BAR0, EDU_REG_ID), 0xababababu);
	ASSERT_EQ(vfio_region_read(dev, BAR0, 0x180, buf, sizeof(buf)),
		  (long)sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		ASSERT_EQ(buf[i], 0x5c);
	/* Across the end of a shadowed range: the mediator says no. */
	ASSERT_EQ(vfio_region_read(dev, BAR0, 0x1fc, buf, 8), -EINVAL);
	/* Config space too: vendor id shadowed, device id real. */
	ASSERT_EQ(vfio_region_read(dev, CONFIG, 0, &word, 2), 2);
	ASSERT_EQ(word, 0x1111);
	ASSERT_EQ(vfio_region_read(dev, CONFIG, 2, &word, 2), 2);
	ASSERT_EQ(word, DEVICE_QEMU_EDU);

	/* Elsewhere the device answers, and mmap is never shadowed. */
	write32(dev, BAR0, EDU_REG_LIVENESS, 0x1234);
	ASSERT_EQ(read32(dev, BAR0, EDU_REG_LIVENESS), ~0x1234u);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);
	ASSERT_EQ(*(volatile uint32_t *)bar, EDU_ID_VALUE);
	ASSERT_GE(only_handle(1).rw, 7);
	lab_munmap((void *)bar, PAGE);
	lab_close(dev);
}

TEST_NAMED(writes_swallowed_recorded_forwarded,
	   "mediate.writes_swallowed_recorded_forwarded", 60)
{
	char bdf[PCI_BDF_LEN], records[1024], want[128];
	volatile uint32_t *bar;
	struct vfio_dev *dev;
	uint64_t pair = 0;
	uint32_t value;

	mt_setup_edu(bdf, "");

	/* Swallowed: the device never sees the pwrite. */
	serve_with_test1(bdf, "write 0 0x4 0x4 swallow");
	dev = lab_open(bdf);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);
	bar[EDU_REG_LIVENESS / 4] = 0x11111111;
	write32(dev, BAR0, EDU_REG_LIVENESS, 0x22222222);
	ASSERT_EQ(read32(dev, BAR0, EDU_REG_LIVENESS), ~0x11111111u);
	ASSERT_EQ(bar[EDU_REG_LIVENESS / 4], ~0x11111111u);
	/* Overlapping the range without fitting in it: refused. */
	ASSERT_EQ(vfio_region_write(dev, BAR0, EDU_REG_LIVENESS, &pair, 8),
		  -EINVAL);
	ASSERT_OK(mt_read(1, "writes", records, sizeof(records)));
	ASSERT_EQ(strlen(records), 0);
	lab_munmap((void *)bar, PAGE);
	lab_close(dev);

	/* Recorded: dropped too, but the mediator saw the value. */
	mt_write(1, "rules", "clear\nwrite 0 0x4 0x4 record");
	dev = lab_open(bdf);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);
	bar[EDU_REG_LIVENESS / 4] = 0x33333333;
	write32(dev, BAR0, EDU_REG_LIVENESS, 0x12345678);
	ASSERT_EQ(read32(dev, BAR0, EDU_REG_LIVENESS), ~0x33333333u);
	ASSERT_OK(mt_read(1, "writes", records, sizeof(records)));
	snprintf(want, sizeof(want), "%u 0 0x4 4 78563412\n",
		 only_handle(1).id);
	ASSERT_EQ(strcmp(records, want), 0);
	lab_munmap((void *)bar, PAGE);
	lab_close(dev);

	/* Forwarded: recorded and done on the device by the mediator. */
	mt_write(1, "writes", "clear");
	mt_write(1, "rules", "clear\nwrite 0 0x4 0x4 forward");
	dev = lab_open(bdf);
	write32(dev, BAR0, EDU_REG_LIVENESS, 0x0badf00d);
	value = read32(dev, BAR0, EDU_REG_LIVENESS);
	ASSERT_EQ(value, ~0x0badf00du);
	ASSERT_OK(mt_read(1, "writes", records, sizeof(records)));
	snprintf(want, sizeof(want), "%u 0 0x4 4 0df0ad0b\n",
		 only_handle(1).id);
	ASSERT_EQ(strcmp(records, want), 0);
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "releases"), 3);
}

TEST_NAMED(bar_helpers_from_kernel, "mediate.bar_helpers_from_kernel", 60)
{
	char bdf[PCI_BDF_LEN];
	volatile uint32_t *bar;
	struct vfio_dev *dev;

	mt_setup_edu(bdf, "");
	/* BAR0 0x0-0x7 through vfio_pci_mediate_bar_read()/_write(). */
	serve_with_test1(bdf, "kernel 0 0x0 0x8");
	dev = lab_open(bdf);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);

	ASSERT_EQ(read32(dev, BAR0, EDU_REG_ID), EDU_ID_VALUE);
	write32(dev, BAR0, EDU_REG_LIVENESS, 0x0f0f1234);
	ASSERT_EQ(read32(dev, BAR0, EDU_REG_LIVENESS), ~0x0f0f1234u);
	ASSERT_EQ(bar[EDU_REG_LIVENESS / 4], ~0x0f0f1234u);
	bar[EDU_REG_LIVENESS / 4] = 0x600d;
	ASSERT_EQ(read32(dev, BAR0, EDU_REG_LIVENESS), ~0x600du);
	ASSERT_GE(only_handle(1).rw, 4);
	lab_munmap((void *)bar, PAGE);
	lab_close(dev);
}

TEST_NAMED(mmap_refused_in_range, "mediate.mmap_refused_in_range", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;
	volatile uint32_t *bar;

	mt_setup_edu(bdf, "");
	serve_with_test1(bdf, "nommap 0 0x1000 0x1000");
	dev = lab_open(bdf);

	ASSERT_EQ(map_errno(dev, BAR0, 0, EDU_BAR0_SIZE), EACCES);
	ASSERT_EQ(map_errno(dev, BAR0, 0x1000, PAGE), EACCES);
	ASSERT_EQ(map_errno(dev, BAR0, 0, 2 * PAGE), EACCES);
	ASSERT_EQ(map_errno(dev, BAR0, 0x2000, PAGE), 0);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);
	ASSERT_EQ(bar[EDU_REG_ID / 4], EDU_ID_VALUE);
	/* pread/pwrite of the refused range still work. */
	ASSERT_EQ(read32(dev, BAR0, 0x1000), read32(dev, BAR0, 0x1000));
	ASSERT_GE(only_handle(1).mmap, 5);
	lab_munmap((void *)bar, PAGE);
	lab_close(dev);

	/* Not refused at the next open without the rule. */
	mt_write(1, "rules", "clear");
	dev = lab_open(bdf);
	ASSERT_EQ(map_errno(dev, BAR0, 0, EDU_BAR0_SIZE), 0);
	lab_close(dev);
}

TEST_NAMED(passthrough_mode, "mediate.passthrough_mode", 60)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_region_info *info;
	struct vfio_dev *dev;
	struct mt_handle h;
	void *bar;

	mt_setup_edu(bdf, "");
	/* Callbacks all set, every answer "pass through": rules unused. */
	serve_with_test1(bdf, "shadow 0 0x0 0x4 0xab\n"
			      "nommap 0 0x0 0x1000\n"
			      "info 0 size=0x1000\n");
	mt_write(1, "passthrough", "1");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	mt_check_edu_id(dev);
	write32(dev, BAR0, EDU_REG_LIVENESS, 0x4321);
	ASSERT_EQ(read32(dev, BAR0, EDU_REG_LIVENESS), ~0x4321u);
	info = region_info(dev, BAR0);
	ASSERT_EQ(info->size, EDU_BAR0_SIZE);
	free(info);
	bar = map_region(dev, BAR0, 0, PAGE);
	ASSERT_TRUE(bar != MAP_FAILED);
	ASSERT_EQ(*(volatile uint32_t *)bar, EDU_ID_VALUE);
	lab_munmap(bar, PAGE);

	h = only_handle(1);
	ASSERT_EQ(h.rw, 0);
	ASSERT_EQ(h.mmap, 0);
	ASSERT_EQ(h.info, 0);
	/* 3 rw, 1 mmap, and the region infos since the open. */
	ASSERT_GE(h.pt, 5);
	lab_close(dev);
}

static void expect_pattern(const unsigned char *buf, size_t offset, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != MT_REGION_BYTE(offset + i))
			FAIL("region byte 0x%zx is 0x%02x, expected 0x%02x",
			     offset + i, buf[i], MT_REGION_BYTE(offset + i));
}

TEST_NAMED(device_specific_region, "mediate.device_specific_region", 60)
{
	const uint32_t first = VFIO_PCI_NUM_REGIONS, second = first + 1;
	const struct vfio_region_info_cap_sparse_mmap *sparse;
	const struct vfio_region_info_cap_type *type;
	unsigned char buf[256], *map;
	struct vfio_region_info *info;
	char bdf[PCI_BDF_LEN];
	uint64_t data = 0x1122334455667788ull, back = 0;
	struct vfio_dev *dev;

	mt_setup_edu(bdf, "");
	serve_with_test1(bdf, "region 0x80001234 7 0x2000 mmap sparse\n"
			      "region 0x80001234 8 0x100\n");
	dev = lab_open(bdf);
	ASSERT_EQ(dev->info.num_regions, VFIO_PCI_NUM_REGIONS + 2);

	info = region_info(dev, first);
	ASSERT_EQ(info->offset, index_offset(first));
	ASSERT_EQ(info->size, 0x2000);
	ASSERT_EQ(info->flags,
		  VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		  VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	type = find_cap(info, VFIO_REGION_INFO_CAP_TYPE);
	ASSERT_TRUE(type != NULL);
	ASSERT_EQ(type->type, TEST_REGION_TYPE);
	ASSERT_EQ(type->subtype, 7);
	sparse = find_cap(info, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	ASSERT_TRUE(sparse != NULL);
	ASSERT_EQ(sparse->nr_areas, 1);
	ASSERT_EQ(sparse->areas[0].offset, 0);
	ASSERT_EQ(sparse->areas[0].size, PAGE);
	free(info);

	info = region_info(dev, second);
	ASSERT_EQ(info->size, 0x100);
	ASSERT_EQ(info->flags,
		  VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		  VFIO_REGION_INFO_FLAG_CAPS);
	type = find_cap(info, VFIO_REGION_INFO_CAP_TYPE);
	ASSERT_TRUE(type != NULL);
	ASSERT_EQ(type->subtype, 8);
	ASSERT_TRUE(find_cap(info, VFIO_REGION_INFO_CAP_SPARSE_MMAP) == NULL);
	free(info);

	/* rw. */
	ASSERT_EQ(vfio_region_read(dev, first, 0x10, buf, 16), 16);
	expect_pattern(buf, 0x10, 16);
	ASSERT_EQ(vfio_region_write(dev, first, 0x100, &data, 8), 8);
	ASSERT_EQ(vfio_region_read(dev, first, 0x100, &back, 8), 8);
	ASSERT_EQ(back, data);
	ASSERT_EQ(vfio_region_read(dev, second, 0, buf, 0x100), 0x100);
	expect_pattern(buf, 0, 0x100);
	ASSERT_EQ(vfio_region_read(dev, first, 0x1ff0, buf, 16), 16);
	expect_pattern(buf, 0x1ff0, 16);

	/* mmap sees what rw wrote, and the other way round. */
	map = map_region(dev, first, 0, 0x2000);
	ASSERT_TRUE(map != MAP_FAILED);
	ASSERT_EQ(memcmp(map + 0x100, &data, 8), 0);
	expect_pattern(map + 0x1000, 0x1000, 64);
	map[0x1800] = 0xee;
	ASSERT_EQ(vfio_region_read(dev, first, 0x1800, buf, 1), 1);
	ASSERT_EQ(buf[0], 0xee);
	/* The second region has no MMAP flag. */
	ASSERT_EQ(map_errno(dev, second, 0, PAGE), EINVAL);
	lab_munmap(map, 0x2000);
	lab_close(dev);

	/* Both regions released, before the mediator's release. */
	ASSERT_EQ(mt_stat(1, "region_releases"), 2);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(mt_stat(1, "order_errors"), 0);

	/* Gone at the next open that test1 does not serve. */
	mt_register(1, false);
	dev = lab_open(bdf);
	ASSERT_EQ(dev->info.num_regions, VFIO_PCI_NUM_REGIONS);
	ASSERT_EQ(raw_pread(dev, index_offset(first), buf, 4), -EINVAL);
	lab_close(dev);
}

TEST_NAMED(out_of_range_einval_silent, "mediate.out_of_range_einval_silent",
	   60)
{
	const uint32_t region = VFIO_PCI_NUM_REGIONS;
	const uint64_t bar_end = EDU_BAR0_SIZE;
	char bdf[PCI_BDF_LEN];
	unsigned char buf[64] = { 0 }, *big;
	struct vfio_dev *dev;
	uint64_t mark;

	mt_setup_edu(bdf, "");
	serve_with_test1(bdf, "shadow 0 0xff000 0x1000 0x11\n"
			      "write 0 0xff000 0x1000 record\n"
			      "region 0x80001234 7 0x1000\n");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	big = calloc(1, 4 * EDU_BAR0_SIZE);
	ASSERT_TRUE(big != NULL);
	/* In range, for contrast. */
	ASSERT_EQ(read32(dev, BAR0, bar_end - 4), 0x11111111u);
	ASSERT_EQ(vfio_region_read(dev, region, 0xffc, buf, 4), 4);

	mark = kmsg_mark();
	/* Mediated BAR0: offsets past the end, lengths across it. */
	ASSERT_EQ(vfio_region_read(dev, BAR0, bar_end, buf, 4), -EINVAL);
	ASSERT_EQ(vfio_region_write(dev, BAR0, bar_end, buf, 4), -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, BAR0, REGION_OFFSET_MAX - 3, buf, 4),
		  -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, BAR0, bar_end - 4, buf, 8), -EINVAL);
	ASSERT_EQ(vfio_region_write(dev, BAR0, bar_end - 4, buf, 8), -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, BAR0, 0xff000, big, 2 * EDU_BAR0_SIZE),
		  -EINVAL);
	/* The device-specific region likewise. */
	ASSERT_EQ(vfio_region_read(dev, region, 0x1000, buf, 4), -EINVAL);
	ASSERT_EQ(vfio_region_write(dev, region, 0x1000, buf, 4), -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, region, 0xffc, buf, 8), -EINVAL);
	ASSERT_EQ(vfio_region_write(dev, region, 0xffc, buf, 8), -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, region, 0, big, 0x2000), -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, region, 0, big, 4 * EDU_BAR0_SIZE),
		  -EINVAL);
	ASSERT_EQ(vfio_region_read(dev, region, REGION_OFFSET_MAX - 3, buf, 4),
		  -EINVAL);
	ASSERT_EQ(map_errno(dev, region, 0, PAGE), EINVAL);
	/* Past the last region. */
	ASSERT_EQ(raw_pread(dev, index_offset(region + 1), buf, 4), -EINVAL);
	ASSERT_EQ(raw_pwrite(dev, index_offset(region + 1), buf, 4), -EINVAL);
	ASSERT_EQ(raw_pread(dev, index_offset(0x7fffff), buf, 4), -EINVAL);
	ASSERT_EQ(kmsg_count_since(mark, NULL, NULL), 0);

	/* Nothing reached the record log, and the device still works. */
	{
		char records[256];

		ASSERT_OK(mt_read(1, "writes", records, sizeof(records)));
		ASSERT_EQ(strlen(records), 0);
	}
	mt_check_edu_id(dev);
	free(big);
	lab_close(dev);
}

/* --- what a mediator leaves behind, and what the device does for it ----- */

/* VFIO_DEVICE_FEATURE DMA_LOGGING_START over one page: 0 or an errno. */
static int dma_logging_start_errno(const struct vfio_dev *dev)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = 0x100000,
		.length = PAGE,
	};
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_dma_logging_control control;
	} req = {
		.feature.argsz = sizeof(req),
		.feature.flags = VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		.control.page_size = PAGE,
		.control.num_ranges = 1,
		.control.ranges = (uintptr_t)&range,
	};

	return ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, &req) ? errno : 0;
}

/* What an open that no mediator set anything up for looks like. */
static void expect_stock_layout(struct vfio_dev *dev)
{
	struct vfio_region_info *info = region_info(dev, BAR0);

	ASSERT_EQ(dev->info.num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS);
	ASSERT_EQ(dev->info.num_irqs, (uint32_t)VFIO_PCI_NUM_IRQS);
	/* No trappable range: the whole BAR maps. */
	ASSERT_TRUE(find_cap(info, VFIO_REGION_INFO_CAP_SPARSE_MMAP) == NULL);
	free(info);
	ASSERT_EQ(map_errno(dev, BAR0, 0, PAGE), 0);
	/* Nothing feeds DMA logging: not offered. */
	ASSERT_EQ(dma_logging_start_errno(dev), ENOTTY);
	mt_check_edu_id(dev);
}

TEST_NAMED(declined_open_leaves_no_trace,
	   "mediate.declined_open_leaves_no_trace", 90)
{
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;
	uint64_t mark;

	mt_setup_edu(bdf, "");
	/* test0 sets up all it can through the helpers, then declines. */
	mt_write(0, "accept", "%s", bdf);
	mt_write(0, "rules", "region 0x%x 1 %u\ntrappable 0 0 %u\nlogging\ndecline",
	       TEST_REGION_TYPE, PAGE, PAGE);
	mark = kmsg_mark();

	/* No other mediator: plain passthrough, as if test0 was never asked. */
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "none");
	expect_stock_layout(dev);
	lab_close(dev);
	ASSERT_EQ(mt_stat(0, "declines"), 1);
	ASSERT_EQ(mt_stat(0, "region_releases"), 1);

	/* The next mediator finds the device as test0 found it. */
	serve_with_test1(bdf, NULL);
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");
	expect_stock_layout(dev);
	lab_close(dev);
	ASSERT_EQ(mt_stat(0, "declines"), 2);
	ASSERT_EQ(mt_stat(0, "region_releases"), 2);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(kmsg_count_since(mark, "WARNING", NULL), 0);
}

/* LOW_POWER_ENTRY through VFIO_DEVICE_FEATURE. */
static void low_power_entry(const struct vfio_dev *dev)
{
	struct vfio_device_feature feature = {
		.argsz = sizeof(feature),
		.flags = VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
	};

	ASSERT_OK(ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, &feature));
}

/* Waits up to 3 s for the PCI core to suspend bdf; false if it did not. */
static bool runtime_suspended(const char *bdf)
{
	char status[32] = "";

	for (int i = 0; i < 300; i++) {
		if (pci_read_attr(bdf, "power/runtime_status", status,
				  sizeof(status)) == 0 &&
		    strcmp(status, "suspended") == 0)
			return true;
		mt_sleep_ms(10);
	}
	test_log("%s runtime_status stays \"%s\"", bdf, status);
	return false;
}

/*
 * Opens bdf on its current driver (served by @mediator), puts it in low
 * power, and reads its first BAR0 register: the read must wake it as
 * stock vfio-pci does.  Returns what the read returned (4 or -errno).
 */
static long read_after_low_power(const char *bdf, const char *mediator,
				 uint32_t *value)
{
	struct vfio_dev *dev = lab_open(bdf);
	long ret;

	if (mediator)
		mt_expect_mediator(bdf, mediator);
	ASSERT_OK(vfio_config_set_command_bits(dev, PCI_COMMAND_MEMORY));
	low_power_entry(dev);
	if (!runtime_suspended(bdf))
		SKIP("%s does not runtime-suspend in this lab (no D3hot): nothing to wake",
		     bdf);
	ret = vfio_region_read(dev, BAR0, 0, value, 4);
	lab_close(dev);
	return ret;
}

TEST_NAMED(low_power_woken_for_mediator,
	   "mediate.low_power_woken_for_mediator", 120)
{
	char pf[PCI_BDF_LEN];
	uint32_t stock = 0, mediated = 0;

	lab_require();
	/* edu has no power management; the NVMe PF does. */
	lab_find_nvme_pf(pf);
	lab_take_nvme_pf(pf);

	lab_bind(pf, DRIVER_VFIO_PCI);
	ASSERT_EQ(read_after_low_power(pf, NULL, &stock), 4);
	test_log("stock vfio-pci after LOW_POWER_ENTRY: BAR0[0] = %#x", stock);

	lab_bind(pf, DRIVER_VFIO_PCI_MEDIATE);
	mt_load_for_test("");
	/* The mediator reads the register itself (kernel BAR helper). */
	mt_write(0, "accept", "%s", pf);
	mt_write(0, "rules", "kernel 0 0 4");
	ASSERT_EQ(read_after_low_power(pf, "test0", &mediated), 4);
	ASSERT_EQ(mediated, stock);
}

/* Two threads' first uses of BAR0 on a fresh open: an mmap and a read. */
struct first_use {
	struct vfio_dev *dev;
	pthread_barrier_t *start;
	int mmap_errno;
	long read_ret;
};

static void *first_mmap(void *arg)
{
	struct first_use *u = arg;

	pthread_barrier_wait(u->start);
	u->mmap_errno = map_errno(u->dev, BAR0, PAGE, PAGE);
	return NULL;
}

static void *first_read(void *arg)
{
	struct first_use *u = arg;
	uint32_t value;

	pthread_barrier_wait(u->start);
	u->read_ret = vfio_region_read(u->dev, BAR0, EDU_REG_ID, &value, 4);
	return NULL;
}

TEST_NAMED(first_uses_of_a_bar_race, "mediate.first_uses_of_a_bar_race", 300)
{
	char bdf[PCI_BDF_LEN];
	unsigned int rounds = 200, failed = 0;

	mt_setup_edu(bdf, "");
	for (unsigned int i = 0; i < rounds; i++) {
		pthread_barrier_t start;
		struct first_use u = { .dev = lab_open(bdf), .start = &start };
		pthread_t t1, t2;

		ASSERT_EQ(pthread_barrier_init(&start, NULL, 2), 0);
		ASSERT_EQ(pthread_create(&t1, NULL, first_mmap, &u), 0);
		ASSERT_EQ(pthread_create(&t2, NULL, first_read, &u), 0);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		pthread_barrier_destroy(&start);
		if (u.mmap_errno || u.read_ret != 4) {
			if (failed++ < 4)
				test_log("round %u: mmap %s, read %ld", i,
					 strerror(u.mmap_errno), u.read_ret);
		}
		lab_close(u.dev);
	}
	test_log("%u of %u rounds had a first use fail", failed, rounds);
	ASSERT_EQ(failed, 0u);
}
