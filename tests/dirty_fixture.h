/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty page reports of a mediated device checked against the pages it
 * wrote: its user's memory, type1's VFIO_IOMMU_DIRTY_PAGES (QEMU 7.2's
 * way) and VFIO DMA logging (QEMU 8+'s), for tests/dirty_tracking.c and
 * tests/igbvf_dirty.c.
 */
#ifndef DIRTY_FIXTURE_H
#define DIRTY_FIXTURE_H

#include <stdint.h>

#include "vfmig.h"

#define PAGE 4096u
/* The tracked memory: well inside edu's 28-bit DMA mask. */
#define MEM_IOVA 0x1000000ull
#define MEM_PAGES 4096u
#define MEM_LEN ((uint64_t)MEM_PAGES * PAGE)
#define BITMAP_WORDS (MEM_PAGES / 64)

/* A device, its memory, the pages it wrote and those reported. */
struct tracked {
	struct vfmig_device *dev;
	uint8_t *mem;
	uint64_t written[BITMAP_WORDS];
	uint64_t reported[BITMAP_WORDS];
};

/* Opens @bdf, maps the memory at MEM_IOVA, checks @mediator serves it. */
void open_tracked(const char *bdf, const char *mediator, struct tracked *t);

/* VFIO_IOMMU_DIRTY_PAGES with @flags (START, STOP) on @t's container. */
void dirty_pages_ioctl(struct tracked *t, uint32_t flags);
/* One type1 GET_BITMAP of the whole memory, ORed into @bits. */
void type1_report(struct tracked *t, uint64_t bits[BITMAP_WORDS]);

/* VFIO DMA logging of the memory, through libvfmig. */
void logging_start(struct tracked *t);
/* One DMA_LOGGING_REPORT of the whole memory, ORed into @bits. */
void logging_report(struct tracked *t, uint64_t bits[BITMAP_WORDS]);

unsigned int count_bits(const uint64_t *bits);
/* Sets the bits of pages @first..@last. */
void set_pages(uint64_t *bits, uint64_t first, uint64_t last);
/* xorshift64: the same sequence on every run. */
uint64_t next_random(uint64_t *state);

/*
 * Misses (written, not reported) fail the test; returns the false
 * positives (reported, not written).  Both are printed.
 */
unsigned int check_reports(struct tracked *t);

#endif /* DIRTY_FIXTURE_H */
