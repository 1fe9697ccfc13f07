// SPDX-License-Identifier: GPL-2.0
/* Dirty page reports checked against written pages: dirty_fixture.h. */
#include <string.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "dirty_fixture.h"
#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

void dirty_pages_ioctl(struct tracked *t, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap req = {
		.argsz = sizeof(req),
		.flags = flags,
	};

	ASSERT_OK(ioctl(vfmig_container_fd(t->dev), VFIO_IOMMU_DIRTY_PAGES,
			&req));
}

/* One GET_BITMAP of the whole memory, ORed into @bits. */
void type1_report(struct tracked *t, uint64_t bits[BITMAP_WORDS])
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

unsigned int count_bits(const uint64_t *bits)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < BITMAP_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(bits[i]);
	return n;
}

void set_pages(uint64_t *bits, uint64_t first, uint64_t last)
{
	for (uint64_t p = first; p <= last; p++)
		bits[p / 64] |= 1ull << (p % 64);
}

void open_tracked(const char *bdf, const char *mediator, struct tracked *t)
{
	void *mem;

	memset(t, 0, sizeof(*t));
	t->dev = mg_open(bdf);
	MG_OK(t->dev, vfmig_dma_alloc(t->dev, MEM_IOVA, MEM_LEN, &mem));
	t->mem = mem;
	MG_OK(t->dev, vfmig_enable_mem_and_dma(t->dev));
	mt_expect_mediator(bdf, mediator);
}

uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/*
 * VFIO DMA logging of the tracked memory, through libvfmig.  SKIPs the test
 * on a kernel that offers none (lab_require_dma_log()).
 */
void logging_start(struct tracked *t)
{
	struct vfmig_range range = { .iova = MEM_IOVA, .length = MEM_LEN };
	uint64_t page_size = PAGE;

	lab_require_dma_log();
	MG_OK(t->dev, vfmig_dma_logging_start(t->dev, &range, 1, &page_size));
	ASSERT_EQ(page_size, (uint64_t)PAGE);
}

/* One DMA_LOGGING_REPORT of the whole memory, ORed into @bits. */
void logging_report(struct tracked *t, uint64_t bits[BITMAP_WORDS])
{
	MG_OK(t->dev, vfmig_dma_logging_report(t->dev, MEM_IOVA, MEM_LEN, PAGE,
					       bits));
}

/* Misses (written, not reported) fail the test; returns false positives. */
unsigned int check_reports(struct tracked *t)
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
