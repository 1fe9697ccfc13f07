// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty pages of a mediated device through Linux 6.1's type1 (the path
 * QEMU 7.2 uses): both lab edu devices on vfio-pci-mediate, served by
 * edu-mediate, each in its own container.
 *
 *  - type1_random_dma: with VFIO_IOMMU_DIRTY_PAGES started, the first
 *    report has every mapped page dirty (no page of the group pinned yet:
 *    type1 cannot know better).  Then 500 transfers buffer->RAM per device
 *    (1000 in all, the two devices' running side by side) to random
 *    offsets and lengths in 16 MiB of mapped memory, with a report every
 *    16 transfers: every page a transfer wrote must be reported (0
 *    misses), and the reports must stay far from "everything" (false
 *    positives are counted and printed).
 *  - v2_logging_random_dma: the same through VFIO DMA logging
 *    (VFIO_DEVICE_FEATURE_DMA_LOGGING_START/REPORT/STOP, what QEMU 8+
 *    uses, through libvfmig): the first report is empty, then 0 misses and
 *    far from everything after 1000 transfers.
 *    Both SKIP where the kernel cannot report a DMA log (Debian's 6.12),
 *    and v2_logging_offered_where_reported checks that none is offered
 *    there, and that it is offered elsewhere.
 *  - type1_unmap_with_pins: the user unmaps memory while a transfer into
 *    it has its pages pinned: the unmap succeeds at once (the framework's
 *    dma_unmap drops the pins), and the device then works on, with new
 *    memory at the same address, and no kernel warning.
 *  - vaddr_invalidated_no_warning, v2_logging_any_alignment,
 *    v2_logging_reports_each_write_once, type1_reports_each_write_once,
 *    v2_logging_charged_to_user, concurrent_unmaps_vs_transfers: see each
 *    test.
 *
 * The edu fixture lets mediators reach the user's memory
 * (user_dma_access): type1 sees the pins only then.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "dirty_fixture.h"
#include "edu_fixture.h"
#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"
#include "sysfs_attr.h"
#include "vfio_dev.h"

#define TRANSFERS_PER_DEVICE 500
#define REPORT_EVERY 16

static void setup_two(struct tracked *a, struct tracked *b)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];

	edu_setup_pair(bdf_a, bdf_b);
	open_tracked(bdf_a, EDU_MEDIATOR, a);
	open_tracked(bdf_b, EDU_MEDIATOR, b);
}

/*
 * Starts a transfer buffer->RAM of a random length to a random place in
 * the memory, and notes the pages it writes.
 */
static void start_random_transfer(struct tracked *t, uint64_t *rng)
{
	uint32_t page = (uint32_t)(next_random(rng) % (MEM_PAGES - 1));
	uint32_t off = (uint32_t)(next_random(rng) % PAGE);
	uint32_t len = 1 + (uint32_t)(next_random(rng) % EDU_DMA_XFER_MAX);
	uint64_t iova = MEM_IOVA + (uint64_t)page * PAGE + off;

	edu_wr(t->dev, EDU_REG_DMA_SRC, EDU_DMA_BUF);
	edu_wr(t->dev, EDU_REG_DMA_DST, (uint32_t)iova);
	edu_wr(t->dev, EDU_REG_DMA_CNT, len);
	edu_wr(t->dev, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_TO_RAM);
	set_pages(t->written, (iova - MEM_IOVA) / PAGE,
		  (iova + len - 1 - MEM_IOVA) / PAGE);
}

/*
 * TRANSFERS_PER_DEVICE random transfers on each device, the two running
 * side by side, with a report (@report) every REPORT_EVERY; then one last
 * report and the checks: 0 misses, and far from "all dirty".
 */
static void random_transfers(struct tracked t[2],
			     void (*report_fn)(struct tracked *, uint64_t *))
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	for (int n = 0; n < TRANSFERS_PER_DEVICE; n++) {
		for (int i = 0; i < 2; i++)
			start_random_transfer(&t[i], &rng);
		for (int i = 0; i < 2; i++)
			edu_wait_clear(t[i].dev, EDU_REG_DMA_CMD, EDU_DMA_RUN);
		if (n % REPORT_EVERY == REPORT_EVERY - 1)
			for (int i = 0; i < 2; i++)
				report_fn(&t[i], t[i].reported);
	}
	for (int i = 0; i < 2; i++) {
		unsigned int fp;

		report_fn(&t[i], t[i].reported);
		fp = check_reports(&t[i]);
		ASSERT_LT(count_bits(t[i].reported), MEM_PAGES / 2);
		ASSERT_LT(fp, MEM_PAGES / 10);
	}
}

TEST_NAMED(type1_random_dma, "dirty.type1_random_dma", 600)
{
	struct tracked t[2];
	uint64_t first[2][BITMAP_WORDS] = { { 0 } };

	setup_two(&t[0], &t[1]);
	for (int i = 0; i < 2; i++) {
		dirty_pages_ioctl(&t[i], VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
		type1_report(&t[i], first[i]);
		test_log("%s: first report after START: %u of %u pages dirty",
			 vfmig_bdf(t[i].dev), count_bits(first[i]), MEM_PAGES);
		/* Nothing pinned yet: type1's "all dirty". */
		ASSERT_EQ(count_bits(first[i]), MEM_PAGES);
	}

	random_transfers(t, type1_report);
	for (int i = 0; i < 2; i++)
		dirty_pages_ioctl(&t[i], VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
}

TEST_NAMED(v2_logging_random_dma, "dirty.v2_logging_random_dma", 600)
{
	struct tracked t[2];

	setup_two(&t[0], &t[1]);
	for (int i = 0; i < 2; i++) {
		uint64_t first[BITMAP_WORDS] = { 0 };

		logging_start(&t[i]);
		logging_report(&t[i], first);
		test_log("%s: first report after DMA_LOGGING_START: %u pages",
			 vfmig_bdf(t[i].dev), count_bits(first));
		ASSERT_EQ(count_bits(first), 0u);
	}
	random_transfers(t, logging_report);
	for (int i = 0; i < 2; i++)
		MG_OK(t[i].dev, vfmig_dma_logging_stop(t[i].dev));
}

/*
 * DMA logging is offered (its PROBE succeeds) exactly where the vfio core
 * can report the log: on Debian's 6.12 a client offered logging would
 * only fail its migration at the first report, so there it must see none
 * (ENOTTY) and fall back to type1.
 */
TEST_NAMED(v2_logging_offered_where_reported,
	   "dirty.v2_logging_offered_where_reported", 60)
{
	struct vfio_device_feature probe = {
		.argsz = sizeof(probe),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
	};
	bool reports = lab_kernel_reports_dma_log();
	struct tracked t[2];
	int err;

	setup_two(&t[0], &t[1]);
	err = ioctl(vfmig_device_fd(t[0].dev), VFIO_DEVICE_FEATURE, &probe) ?
	      errno : 0;
	test_log("the vfio core %s DMA logs; DMA_LOGGING_START probe: %s",
		 reports ? "reports" : "cannot report",
		 err ? strerror(err) : "offered");
	ASSERT_EQ(err, reports ? 0 : ENOTTY);
}

TEST_NAMED(type1_unmap_with_pins, "dirty.type1_unmap_with_pins", 120)
{
	struct tracked t[2];
	uint64_t mark, start, took;
	void *mem;
	uint8_t *page;

	setup_two(&t[0], &t[1]);
	mark = kmsg_mark();

	/* A transfer into the memory's first page: its page is pinned. */
	edu_wr(t[0].dev, EDU_REG_DMA_SRC, EDU_DMA_BUF);
	edu_wr(t[0].dev, EDU_REG_DMA_DST, (uint32_t)MEM_IOVA);
	edu_wr(t[0].dev, EDU_REG_DMA_CNT, 64);
	edu_wr(t[0].dev, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_TO_RAM);
	/* The device still runs it (100 ms); the user unmaps meanwhile. */
	start = mt_now_ms();
	MG_OK(t[0].dev, vfmig_dma_free(t[0].dev, t[0].mem));
	took = mt_now_ms() - start;
	test_log("unmap of %llu MiB with a pinned page took %llu ms",
		 (unsigned long long)(MEM_LEN >> 20), (unsigned long long)took);
	ASSERT_LT(took, 2000u);
	edu_wait_clear(t[0].dev, EDU_REG_DMA_CMD, EDU_DMA_RUN);

	/* New memory at the same IOVA: the device writes it as before. */
	MG_OK(t[0].dev, vfmig_dma_alloc(t[0].dev, MEM_IOVA, MEM_LEN, &mem));
	page = mem;
	memset(page, 0xa5, PAGE);
	edu_dma(t[0].dev, (uint32_t)MEM_IOVA, EDU_DMA_BUF, 256, 0);
	memset(page + PAGE, 0, PAGE);
	edu_dma(t[0].dev, EDU_DMA_BUF, (uint32_t)(MEM_IOVA + PAGE), 256,
		EDU_DMA_TO_RAM);
	ASSERT_MEM_EQ(page + PAGE, page, 256);
	ASSERT_EQ(kmsg_count_since(mark, "WARNING", NULL), 0);
	ASSERT_EQ(kmsg_count_since(mark, "BUG", NULL), 0);
}


/* --- what the user cannot break, and reports that say each write once ---- */

#define MEM2_IOVA 0x3000000ull
#define MEM2_LEN (1ull << 20)

/*
 * The user invalidates the vaddr of one of two mapped ranges
 * (VFIO_DMA_UNMAP_FLAG_VADDR, which Linux 6.1's type1 allows with no
 * emulated-IOMMU device in the container).  type1 then WARNs at any
 * vfio_pin_pages() or vfio_dma_rw(), so with user_dma_access off (the
 * default) the framework makes neither: transfers into RAM work, a save
 * that needs the user's memory fails with EPERM, a reset makes the
 * device usable again, and the kernel log has no warning.
 */
TEST_NAMED(vaddr_invalidated_no_warning, "dirty.vaddr_invalidated_no_warning",
	   120)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	struct vfio_iommu_type1_dma_unmap invalidate = {
		.argsz = sizeof(invalidate),
		.flags = VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = MEM2_IOVA,
		.size = MEM2_LEN,
	};
	struct tracked t;
	uint8_t buf[256];
	uint64_t mark;
	void *mem2;
	ssize_t n;

	edu_setup_pair(bdf_a, bdf_b);
	mt_user_dma_access_for_test(false);
	open_tracked(bdf_a, EDU_MEDIATOR, &t);
	MG_OK(t.dev, vfmig_dma_alloc(t.dev, MEM2_IOVA, MEM2_LEN, &mem2));
	mark = kmsg_mark();
	ASSERT_OK(ioctl(vfmig_container_fd(t.dev), VFIO_IOMMU_UNMAP_DMA,
			&invalidate));

	/* A round trip through edu's buffer, into RAM (announced). */
	for (unsigned int i = 0; i < sizeof(buf); i++)
		t.mem[i] = (uint8_t)(i ^ 0x3c);
	edu_dma(t.dev, (uint32_t)MEM_IOVA, EDU_DMA_BUF, sizeof(buf), 0);
	edu_dma(t.dev, EDU_DMA_BUF, (uint32_t)(MEM_IOVA + PAGE), sizeof(buf),
		EDU_DMA_TO_RAM);
	memcpy(buf, t.mem, sizeof(buf));
	ASSERT_MEM_EQ(t.mem + PAGE, buf, sizeof(buf));

	/* Capturing edu's buffer needs the user's memory: refused. */
	MG_OK(t.dev, vfmig_mig_set_state(t.dev, VFMIG_STATE_STOP_COPY));
	do {
		n = vfmig_mig_read(t.dev, buf, sizeof(buf));
	} while (n > 0);
	test_log("reading the saved state: %s", n ? strerror((int)-n) : "end");
	ASSERT_EQ(n, -EPERM);

	MG_OK(t.dev, vfmig_reset(t.dev));
	mg_expect_state(t.dev, VFMIG_STATE_RUNNING);
	edu_wr(t.dev, EDU_REG_LIVENESS, 0x5a5a);
	ASSERT_EQ(edu_rd(t.dev, EDU_REG_LIVENESS), ~0x5a5au);
	edu_dma(t.dev, EDU_DMA_BUF, (uint32_t)(MEM_IOVA + 2 * PAGE), sizeof(buf),
		EDU_DMA_TO_RAM);
	ASSERT_MEM_EQ(t.mem + 2 * PAGE, t.mem + PAGE, sizeof(buf));
	ASSERT_EQ(kmsg_count_since(mark, "WARNING", NULL), 0);
	ASSERT_EQ(kmsg_count_since(mark, "VFIO_UPDATE_VADDR", NULL), 0);
}

/* Whether bit p of @bits is set. */
static bool page_bit(const uint64_t *bits, unsigned int p)
{
	return bits[p / 64] & (1ull << (p % 64));
}

/* A transfer of @len bytes from edu's buffer to @iova, waited for. */
static void write_ram(struct tracked *t, uint64_t iova, uint32_t len)
{
	edu_dma(t->dev, EDU_DMA_BUF, (uint32_t)iova, len, EDU_DMA_TO_RAM);
}

/*
 * DMA logging for every argument the uAPI accepts: ranges aligned only to
 * a page size below the CPU's (the first page of such a range is partly
 * inside it), and a report window that starts inside a page, which is
 * refused (EINVAL) before anything is forgotten.
 */
TEST_NAMED(v2_logging_any_alignment, "dirty.v2_logging_any_alignment", 120)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	struct vfmig_range range = {
		.iova = MEM_IOVA + 0x200,
		.length = MEM_LEN - 0x200,
	};
	uint64_t page_size = 512, bits[BITMAP_WORDS] = { 0 };
	uint64_t window[2] = { 0 };
	struct tracked t;

	lab_require_dma_log();
	edu_setup_pair(bdf_a, bdf_b);
	open_tracked(bdf_a, EDU_MEDIATOR, &t);
	MG_OK(t.dev, vfmig_dma_logging_start(t.dev, &range, 1, &page_size));
	test_log("logging in 512-byte pages from %#llx: the device takes %llu",
		 (unsigned long long)range.iova,
		 (unsigned long long)page_size);
	ASSERT_EQ(page_size, (uint64_t)PAGE);

	/* Page 0 is partly in the range; a write there is inside it. */
	write_ram(&t, MEM_IOVA + 0x800, 64);
	logging_report(&t, bits);
	ASSERT_TRUE(page_bit(bits, 0));
	ASSERT_EQ(count_bits(bits), 1u);

	/* A window starting inside a page: refused, nothing forgotten. */
	write_ram(&t, MEM_IOVA + 5 * PAGE, 64);
	ASSERT_EQ(vfmig_dma_logging_report(t.dev, MEM_IOVA + 0x800, 8 * PAGE,
					   PAGE, window), -EINVAL);
	memset(bits, 0, sizeof(bits));
	logging_report(&t, bits);
	ASSERT_TRUE(page_bit(bits, 5));
	ASSERT_EQ(count_bits(bits), 1u);

	/* A window ending inside a page reports it, and keeps it for later. */
	write_ram(&t, MEM_IOVA + 9 * PAGE + 0x800, 64);
	memset(window, 0, sizeof(window));
	MG_OK(t.dev, vfmig_dma_logging_report(t.dev, MEM_IOVA + 8 * PAGE,
					      PAGE + 0x400, PAGE, window));
	ASSERT_EQ(window[0], 2ull);
	memset(bits, 0, sizeof(bits));
	logging_report(&t, bits);
	ASSERT_TRUE(page_bit(bits, 9));
	ASSERT_EQ(count_bits(bits), 1u);
	MG_OK(t.dev, vfmig_dma_logging_stop(t.dev));
}

/*
 * Three transfers, one page each, each waited for; after each, one
 * report (@report_fn, @settle_ms after the transfer) has that page alone,
 * and the next one has nothing: the device is idle.
 */
static void each_write_reported_once(struct tracked *t,
				     void (*report_fn)(struct tracked *,
						       uint64_t *),
				     unsigned int settle_ms)
{
	uint64_t bits[BITMAP_WORDS];

	for (unsigned int page = 7; page < 10; page++) {
		write_ram(t, MEM_IOVA + (uint64_t)page * PAGE, 128);
		mt_sleep_ms(settle_ms);
		memset(bits, 0, sizeof(bits));
		report_fn(t, bits);
		ASSERT_TRUE(page_bit(bits, page));
		ASSERT_EQ(count_bits(bits), 1u);
		memset(bits, 0, sizeof(bits));
		report_fn(t, bits);
		ASSERT_EQ(count_bits(bits), 0u);
	}
}

/* A page the device wrote once is reported once, by DMA logging. */
TEST_NAMED(v2_logging_reports_each_write_once,
	   "dirty.v2_logging_reports_each_write_once", 120)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	struct tracked t;

	edu_setup_pair(bdf_a, bdf_b);
	open_tracked(bdf_a, EDU_MEDIATOR, &t);
	logging_start(&t);
	/* The mediator ends finished transfers before each report. */
	each_write_reported_once(&t, logging_report, 0);
	MG_OK(t.dev, vfmig_dma_logging_stop(t.dev));
}

/*
 * Through type1 (pins: user_dma_access on), the pages of a finished
 * transfer are released once it is done, so a sync after the one that
 * reported them has them no more.
 */
TEST_NAMED(type1_reports_each_write_once,
	   "dirty.type1_reports_each_write_once", 120)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	uint64_t bits[BITMAP_WORDS] = { 0 };
	struct tracked t;

	edu_setup_pair(bdf_a, bdf_b);
	open_tracked(bdf_a, EDU_MEDIATOR, &t);
	dirty_pages_ioctl(&t, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	type1_report(&t, bits);	/* type1's first report: everything */
	/* edu-mediate sees the engine idle within a poll or two. */
	each_write_reported_once(&t, type1_report, 200);
	dirty_pages_ioctl(&t, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
}

#define CGROUP_DIR "/tmp/dirty-tracking-cgroup"
#define CGROUP_CHILD CGROUP_DIR "/logging"

static uint64_t read_u64_file(const char *path)
{
	uint64_t v = 0;

	ASSERT_OK(sysfs_read_u64(path, &v));
	return v;
}

static int leave_cgroup(void *arg)
{
	char pid[32];

	(void)arg;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	sysfs_write(CGROUP_DIR "/cgroup.procs", pid);
	rmdir(CGROUP_CHILD);
	return umount(CGROUP_DIR) || rmdir(CGROUP_DIR) ? -errno : 0;
}

/* Moves this process into a fresh memory cgroup for the test's length. */
static void enter_memory_cgroup(void)
{
	char pid[32];

	ASSERT_OK(mkdir(CGROUP_DIR, 0755));
	if (mount("cgroup2", CGROUP_DIR, "cgroup2", 0, NULL)) {
		rmdir(CGROUP_DIR);
		SKIP("cannot mount cgroup2: %s", strerror(errno));
	}
	test_add_cleanup(leave_cgroup, NULL, "leave the test's cgroup");
	ASSERT_OK(sysfs_write(CGROUP_DIR "/cgroup.subtree_control", "+memory"));
	ASSERT_OK(mkdir(CGROUP_CHILD, 0755));
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	ASSERT_OK(sysfs_write(CGROUP_CHILD "/cgroup.procs", pid));
}

/*
 * What DMA logging records for the user is charged to the user's memory
 * cgroup: 1 GiB of written pages (262144 entries) recorded from this
 * process grow its cgroup's memory.current by the xarray's size.
 */
TEST_NAMED(v2_logging_charged_to_user, "dirty.v2_logging_charged_to_user",
	   180)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	struct vfmig_range range = { .iova = 0, .length = 1ull << 31 };
	uint64_t page_size = PAGE, before, after;
	struct vfmig_device *dev;

	lab_require_dma_log();
	mg_setup_two_edu(bdf_a, bdf_b);
	enter_memory_cgroup();
	dev = mg_open(bdf_a);
	MG_OK(dev, vfmig_dma_logging_start(dev, &range, 1, &page_size));
	before = read_u64_file(CGROUP_CHILD "/memory.current");
	mg_ctl(bdf_a, "wrote 0x40000000 0x40000000");
	after = read_u64_file(CGROUP_CHILD "/memory.current");
	test_log("memory.current %llu -> %llu after 262144 pages were recorded",
		 (unsigned long long)before, (unsigned long long)after);
	ASSERT_GT(after, before + (1u << 20));
	MG_OK(dev, vfmig_dma_logging_stop(dev));
	mg_close(dev);
}

/* One thread's range, mapped and unmapped over and over. */
struct unmapper {
	int container_fd;
	uint64_t iova;
	uint8_t *mem;
	unsigned int rounds;
	int error;
};

#define STRESS_RANGE_LEN (64ull * PAGE)
#define STRESS_ROUNDS 300

static void *map_unmap_loop(void *arg)
{
	struct unmapper *u = arg;

	for (unsigned int i = 0; i < u->rounds && !u->error; i++) {
		int ret = vfio_dma_map(u->container_fd, u->mem, u->iova,
				       STRESS_RANGE_LEN,
				       VFIO_DMA_MAP_FLAG_READ |
				       VFIO_DMA_MAP_FLAG_WRITE);
		long unmapped;

		if (ret) {
			u->error = ret;
			break;
		}
		unmapped = vfio_dma_unmap(u->container_fd, u->iova,
					  STRESS_RANGE_LEN);
		if (unmapped != (long)STRESS_RANGE_LEN)
			u->error = unmapped < 0 ? (int)unmapped : -EIO;
	}
	return NULL;
}

struct transfers {
	struct vfmig_device *dev;
	uint64_t iova[2];
	atomic_bool stop;
	unsigned long started, refused;
};

/* Transfers into the two ranges, not waited for, whatever is mapped. */
static void *transfer_loop(void *arg)
{
	struct transfers *x = arg;

	for (unsigned long n = 0; !atomic_load(&x->stop); n++) {
		uint64_t iova = x->iova[n & 1] + (n % 64) * PAGE;

		edu_wr(x->dev, EDU_REG_DMA_SRC, EDU_DMA_BUF);
		edu_wr(x->dev, EDU_REG_DMA_DST, (uint32_t)iova);
		edu_wr(x->dev, EDU_REG_DMA_CNT, 64);
		/* Refused while the mediator tracks too many (EBUSY). */
		if (vfmig_bar_write(x->dev, 0, EDU_REG_DMA_CMD, 4,
				    EDU_DMA_RUN | EDU_DMA_TO_RAM))
			x->refused++;
		else
			x->started++;
	}
	return NULL;
}

/*
 * Two threads map and unmap their ranges STRESS_ROUNDS times each while a
 * third keeps starting transfers into both, which edu-mediate announces
 * (dirty_begin) as they start.  The default configuration pins nothing,
 * so type1 never calls back into the framework from an unmap, and no lock
 * of the framework is held across a call into type1: all must finish.
 */
TEST_NAMED(concurrent_unmaps_vs_transfers,
	   "dirty.concurrent_unmaps_vs_transfers", 300)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	struct unmapper u[2];
	struct transfers x = { 0 };
	pthread_t tu[2], tx;
	uint64_t mark, start;

	edu_setup_pair(bdf_a, bdf_b);
	mt_user_dma_access_for_test(false);
	x.dev = mg_open(bdf_a);
	MG_OK(x.dev, vfmig_enable_mem_and_dma(x.dev));
	mt_expect_mediator(bdf_a, EDU_MEDIATOR);
	mark = kmsg_mark();
	for (int i = 0; i < 2; i++) {
		u[i] = (struct unmapper){
			.container_fd = vfmig_container_fd(x.dev),
			.iova = MEM_IOVA + (uint64_t)i * STRESS_RANGE_LEN,
			.rounds = STRESS_ROUNDS,
		};
		u[i].mem = mmap(NULL, STRESS_RANGE_LEN, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_TRUE(u[i].mem != MAP_FAILED);
		x.iova[i] = u[i].iova;
	}
	start = mt_now_ms();
	ASSERT_EQ(pthread_create(&tx, NULL, transfer_loop, &x), 0);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&tu[i], NULL, map_unmap_loop, &u[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(tu[i], NULL);
	atomic_store(&x.stop, true);
	pthread_join(tx, NULL);
	test_log("%d x %d map+unmap cycles against %lu transfers started (%lu refused) in %llu ms",
		 2, STRESS_ROUNDS, x.started, x.refused,
		 (unsigned long long)(mt_now_ms() - start));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(u[i].error, 0);
	ASSERT_GT(x.started, 0ul);
	edu_wait_clear(x.dev, EDU_REG_DMA_CMD, EDU_DMA_RUN);
	edu_wr(x.dev, EDU_REG_LIVENESS, 1);
	ASSERT_EQ(edu_rd(x.dev, EDU_REG_LIVENESS), ~1u);
	ASSERT_EQ(kmsg_count_since(mark, "WARNING", NULL), 0);
}
