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
 *  - type1_unmap_with_pins: the user unmaps memory while a transfer into
 *    it has its pages pinned: the unmap succeeds at once (the framework's
 *    dma_unmap drops the pins), and the device then works on, with new
 *    memory at the same address, and no kernel warning.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "edu_fixture.h"
#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

#define PAGE 4096u
/* The tracked memory: well inside edu's 28-bit DMA mask. */
#define MEM_IOVA 0x1000000ull
#define MEM_PAGES 4096u
#define MEM_LEN ((uint64_t)MEM_PAGES * PAGE)
#define BITMAP_WORDS (MEM_PAGES / 64)

#define TRANSFERS_PER_DEVICE 500
#define REPORT_EVERY 16

struct tracked {
	struct vfmig_device *dev;
	uint8_t *mem;
	uint64_t written[BITMAP_WORDS];
	uint64_t reported[BITMAP_WORDS];
};

static void dirty_pages_ioctl(struct tracked *t, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap req = {
		.argsz = sizeof(req),
		.flags = flags,
	};

	ASSERT_OK(ioctl(vfmig_container_fd(t->dev), VFIO_IOMMU_DIRTY_PAGES,
			&req));
}

/* One GET_BITMAP of the whole memory, ORed into @bits. */
static void report(struct tracked *t, uint64_t bits[BITMAP_WORDS])
{
	uint64_t now[BITMAP_WORDS] = { 0 };
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} req = {
		.hdr.argsz = sizeof(req),
		.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
		.get.iova = MEM_IOVA,
		.get.size = MEM_LEN,
		.get.bitmap.pgsize = PAGE,
		.get.bitmap.size = sizeof(now),
		.get.bitmap.data = (__u64 *)now,
	};

	ASSERT_OK(ioctl(vfmig_container_fd(t->dev), VFIO_IOMMU_DIRTY_PAGES,
			&req));
	for (unsigned int i = 0; i < BITMAP_WORDS; i++)
		bits[i] |= now[i];
}

static unsigned int count_bits(const uint64_t *bits)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < BITMAP_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(bits[i]);
	return n;
}

static void set_pages(uint64_t *bits, uint64_t first, uint64_t last)
{
	for (uint64_t p = first; p <= last; p++)
		bits[p / 64] |= 1ull << (p % 64);
}

static void open_tracked(const char *bdf, struct tracked *t)
{
	void *mem;

	memset(t, 0, sizeof(*t));
	t->dev = mg_open(bdf);
	MG_OK(t->dev, vfmig_dma_alloc(t->dev, MEM_IOVA, MEM_LEN, &mem));
	t->mem = mem;
	MG_OK(t->dev, vfmig_enable_mem_and_dma(t->dev));
	mt_expect_mediator(bdf, EDU_MEDIATOR);
}

static void setup_two(struct tracked *a, struct tracked *b)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];

	edu_setup_pair(bdf_a, bdf_b);
	open_tracked(bdf_a, a);
	open_tracked(bdf_b, b);
}

/* xorshift64: the same transfers on every run. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/*
 * Starts a transfer buffer->RAM of a random length to a random place in
 * the memory, and notes the pages it writes.
 */
static void start_random_transfer(struct tracked *t, uint64_t *rng)
{
	uint32_t page = (uint32_t)(next_random(rng) % (MEM_PAGES - 1));
	uint32_t off = (uint32_t)(next_random(rng) % PAGE);
	uint32_t len = 1 + (uint32_t)(next_random(rng) % BUF_XFER_MAX);
	uint64_t iova = MEM_IOVA + (uint64_t)page * PAGE + off;

	edu_wr(t->dev, REG_DMA_SRC, BUF_START);
	edu_wr(t->dev, REG_DMA_DST, (uint32_t)iova);
	edu_wr(t->dev, REG_DMA_CNT, len);
	edu_wr(t->dev, REG_DMA_CMD, DMA_RUN | DMA_TO_RAM);
	set_pages(t->written, (iova - MEM_IOVA) / PAGE,
		  (iova + len - 1 - MEM_IOVA) / PAGE);
}

/* VFIO DMA logging of the tracked memory, through libvfmig. */
static void logging_start(struct tracked *t)
{
	struct vfmig_range range = { .iova = MEM_IOVA, .length = MEM_LEN };
	uint64_t page_size = PAGE;

	MG_OK(t->dev, vfmig_dma_logging_start(t->dev, &range, 1, &page_size));
	ASSERT_EQ(page_size, (uint64_t)PAGE);
}

/* One DMA_LOGGING_REPORT of the whole memory, ORed into @bits. */
static void logging_report(struct tracked *t, uint64_t bits[BITMAP_WORDS])
{
	MG_OK(t->dev, vfmig_dma_logging_report(t->dev, MEM_IOVA, MEM_LEN, PAGE,
					       bits));
}

/* Misses (written, not reported) fail the test; returns false positives. */
static unsigned int check_reports(struct tracked *t)
{
	unsigned int misses = 0, shown = 0, fp = 0;

	for (unsigned int p = 0; p < MEM_PAGES; p++) {
		bool w = t->written[p / 64] & (1ull << (p % 64));
		bool r = t->reported[p / 64] & (1ull << (p % 64));

		if (w && !r) {
			misses++;
			if (shown++ < 8)
				test_log("%s: page %u (IOVA %#llx) written, not reported",
					 vfmig_bdf(t->dev), p,
					 (unsigned long long)(MEM_IOVA +
							      (uint64_t)p * PAGE));
		}
		fp += !w && r;
	}
	test_log("%s: %u pages written, %u reported, %u missed, %u reported but not written",
		 vfmig_bdf(t->dev), count_bits(t->written),
		 count_bits(t->reported), misses, fp);
	ASSERT_EQ(misses, 0u);
	return fp;
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
			edu_wait_clear(t[i].dev, REG_DMA_CMD, DMA_RUN);
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
		report(&t[i], first[i]);
		test_log("%s: first report after START: %u of %u pages dirty",
			 vfmig_bdf(t[i].dev), count_bits(first[i]), MEM_PAGES);
		/* Nothing pinned yet: type1's "all dirty". */
		ASSERT_EQ(count_bits(first[i]), MEM_PAGES);
	}

	random_transfers(t, report);
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

TEST_NAMED(type1_unmap_with_pins, "dirty.type1_unmap_with_pins", 120)
{
	struct tracked t[2];
	uint64_t mark, start, took;
	void *mem;
	uint8_t *page;

	setup_two(&t[0], &t[1]);
	mark = kmsg_mark();

	/* A transfer into the memory's first page: its page is pinned. */
	edu_wr(t[0].dev, REG_DMA_SRC, BUF_START);
	edu_wr(t[0].dev, REG_DMA_DST, (uint32_t)MEM_IOVA);
	edu_wr(t[0].dev, REG_DMA_CNT, 64);
	edu_wr(t[0].dev, REG_DMA_CMD, DMA_RUN | DMA_TO_RAM);
	/* The device still runs it (100 ms); the user unmaps meanwhile. */
	start = mt_now_ms();
	MG_OK(t[0].dev, vfmig_dma_free(t[0].dev, t[0].mem));
	took = mt_now_ms() - start;
	test_log("unmap of %llu MiB with a pinned page took %llu ms",
		 (unsigned long long)(MEM_LEN >> 20), (unsigned long long)took);
	ASSERT_LT(took, 2000u);
	edu_wait_clear(t[0].dev, REG_DMA_CMD, DMA_RUN);

	/* New memory at the same IOVA: the device writes it as before. */
	MG_OK(t[0].dev, vfmig_dma_alloc(t[0].dev, MEM_IOVA, MEM_LEN, &mem));
	page = mem;
	memset(page, 0xa5, PAGE);
	edu_dma(t[0].dev, (uint32_t)MEM_IOVA, BUF_START, 256, 0);
	memset(page + PAGE, 0, PAGE);
	edu_dma(t[0].dev, BUF_START, (uint32_t)(MEM_IOVA + PAGE), 256,
		DMA_TO_RAM);
	ASSERT_MEM_EQ(page + PAGE, page, 256);
	ASSERT_EQ(kmsg_count_since(mark, "WARNING", NULL), 0);
	ASSERT_EQ(kmsg_count_since(mark, "BUG", NULL), 0);
}

