// SPDX-License-Identifier: GPL-2.0
/*
 * Time of a VFIO DMA_LOGGING_REPORT on an edu device served by edu-mediate,
 * by the size of the range asked: 16 MiB and 64 GiB, each with one page
 * dirty (a transfer buffer->RAM just before, not timed), and 64 GiB with
 * none.  The framework walks only the recorded pages; vfio core still
 * pins and walks the user's bitmap (2 MiB for 64 GiB of 4 KiB pages).
 *
 * With --written, the device is served by the migration test mediator
 * (tests/kernel/mig_test.c), which reports writes on demand ("wrote" in
 * its debugfs ctl): a REPORT of 1 GiB with every page dirty against one of
 * 64 GiB with one dirty page, side by side.  edu could not dirty 1 GiB
 * (262144 transfers of 100 ms).
 *
 * Runs inside the lab, started by bench/dirty with the device's BDF (bound
 * to vfio-pci-mediate, edu-mediate loaded with dirty tracking on, or the
 * test mediator for --written).  Prints the median of ROUNDS of each;
 * asserts nothing beyond the calls working and the pages counted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfmig.h>

#include "sysfs_attr.h"

#include "../include/edu_regs.h"

#define PAGE 4096u
#define MEM_IOVA 0x1000000ull		/* 16 MiB mapped here */
#define MEM_LEN (16ull << 20)
#define BIG_IOVA (1ull << 30)		/* logged, not mapped */
#define BIG_LEN (64ull << 30)
#define ROUNDS 7

/* --written: 1 GiB mapped (one 64 MiB buffer, 16 times), 64 GiB logged. */
#define GIB_IOVA (1ull << 30)
#define GIB_LEN (1ull << 30)
#define GIB_BUF (64ull << 20)
#define SPARSE_IOVA (4ull << 30)	/* one page mapped */
#define SPARSE_LEN (64ull << 30)
#define MIGTEST_CTL "/sys/kernel/debug/vfio_pci_mediate_migtest/ctl"

static void die(const char *what, int err, struct vfmig_device *dev)
{
	fprintf(stderr, "dirty-report: %s: %s%s%s\n", what, strerror(err),
		dev ? ": " : "", dev ? vfmig_strerror(dev) : "");
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* A transfer of 64 bytes between the buffer and RAM, waited for. */
static void transfer(struct vfmig_device *dev, bool to_ram)
{
	const uint32_t regs[][2] = {
		{ EDU_REG_DMA_SRC, to_ram ? EDU_DMA_BUF : (uint32_t)MEM_IOVA },
		{ EDU_REG_DMA_DST, to_ram ? (uint32_t)MEM_IOVA : EDU_DMA_BUF },
		{ EDU_REG_DMA_CNT, 64 },
		{ EDU_REG_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0) },
	};
	uint64_t cmd = EDU_DMA_RUN;
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(regs) / sizeof(regs[0]); i++)
		ret = vfmig_bar_write(dev, 0, regs[i][0], 4, regs[i][1]);
	for (int i = 0; !ret && (cmd & EDU_DMA_RUN) && i < 5000; i++) {
		ret = vfmig_bar_read(dev, 0, EDU_REG_DMA_CMD, 4, &cmd);
		usleep(1000);
	}
	if (ret)
		die("transfer", -ret, dev);
	if (cmd & EDU_DMA_RUN)
		die("transfer", ETIMEDOUT, NULL);
}

/*
 * One page written by edu.  A transfer the other way follows: edu-mediate
 * unpins a transfer's pages at the next command, and pinned pages are
 * reported again after every report.
 */
static void dirty_one_page(struct vfmig_device *dev)
{
	transfer(dev, true);
	transfer(dev, false);
}

static void logging_start(struct vfmig_device *dev)
{
	const struct vfmig_range ranges[2] = {
		{ .iova = MEM_IOVA, .length = MEM_LEN },
		{ .iova = BIG_IOVA, .length = BIG_LEN },
	};
	uint64_t page_size = PAGE;
	int ret;

	ret = vfmig_dma_logging_start(dev, ranges, 2, &page_size);
	if (ret)
		die("DMA logging", -ret, dev);
}

/* Microseconds of one REPORT of [iova, iova + len); *pages gets the count. */
static double report_us(struct vfmig_device *dev, uint64_t iova,
			uint64_t len, uint64_t *bitmap, unsigned int *pages)
{
	size_t words = len / PAGE / 64;
	double t0, t1;
	int ret;

	memset(bitmap, 0, words * sizeof(*bitmap));
	t0 = now_us();
	ret = vfmig_dma_logging_report(dev, iova, len, PAGE, bitmap);
	t1 = now_us();
	if (ret)
		die("DMA logging", -ret, dev);
	*pages = 0;
	for (size_t i = 0; i < words; i++)
		*pages += (unsigned int)__builtin_popcountll(bitmap[i]);
	return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_double);
	return v[ROUNDS / 2];
}

/* The test mediator reports that the device wrote [iova, iova + len). */
static void migtest_wrote(struct vfmig_device *dev, uint64_t iova,
			  uint64_t len)
{
	int ret = sysfs_printf(MIGTEST_CTL, "%s wrote %#llx %#llx\n",
			       vfmig_bdf(dev), (unsigned long long)iova,
			       (unsigned long long)len);

	if (ret)
		die(MIGTEST_CTL, -ret, NULL);
}

static int bench_written(struct vfmig_device *dev)
{
	const struct vfmig_range ranges[2] = {
		{ .iova = GIB_IOVA, .length = GIB_LEN },
		{ .iova = SPARSE_IOVA, .length = SPARSE_LEN },
	};
	double full[ROUNDS], sparse[ROUNDS];
	uint64_t page_size = PAGE, *bitmap;
	unsigned int pages;
	void *mem;
	int ret;

	ret = vfmig_dma_alloc(dev, GIB_IOVA, GIB_BUF, &mem);
	for (uint64_t off = GIB_BUF; !ret && off < GIB_LEN; off += GIB_BUF)
		ret = vfmig_dma_map(dev, mem, GIB_IOVA + off, GIB_BUF,
				    VFMIG_DMA_READ | VFMIG_DMA_WRITE);
	if (!ret)
		ret = vfmig_dma_map(dev, mem, SPARSE_IOVA, PAGE,
				    VFMIG_DMA_READ | VFMIG_DMA_WRITE);
	if (!ret)
		ret = vfmig_dma_logging_start(dev, ranges, 2, &page_size);
	if (ret)
		die("set-up", -ret, dev);
	bitmap = calloc(SPARSE_LEN / PAGE / 64, sizeof(*bitmap));
	if (!bitmap)
		die("bitmap", ENOMEM, NULL);

	for (int r = 0; r < ROUNDS; r++) {
		migtest_wrote(dev, GIB_IOVA, GIB_LEN);
		full[r] = report_us(dev, GIB_IOVA, GIB_LEN, bitmap, &pages);
		if (pages != GIB_LEN / PAGE)
			die("1 GiB report: not every page", EPROTO, NULL);
		migtest_wrote(dev, SPARSE_IOVA, PAGE);
		sparse[r] = report_us(dev, SPARSE_IOVA, SPARSE_LEN, bitmap,
				      &pages);
		if (pages != 1)
			die("64 GiB report: not 1 page", EPROTO, NULL);
	}
	printf("DMA_LOGGING_REPORT through the test mediator, median of %d (microseconds):\n",
	       ROUNDS);
	printf("  64 GiB, 1 dirty page        %10.0f\n", median(sparse));
	printf("  1 GiB, all 262144 dirty     %10.0f\n", median(full));
	printf("  1 GiB all dirty / 64 GiB 1  %10.1fx  (262144x the pages)\n",
	       median(full) / median(sparse));
	free(bitmap);
	vfmig_close(dev);
	return 0;
}

int main(int argc, char **argv)
{
	/* The big range spans [MEM_IOVA, BIG_IOVA + BIG_LEN): 65 GiB. */
	uint64_t span = BIG_IOVA + BIG_LEN - MEM_IOVA;
	double small[ROUNDS], big[ROUNDS], empty[ROUNDS];
	struct vfmig_device *dev;
	struct vfmig_error err;
	unsigned int pages;
	uint64_t *bitmap;
	void *mem;
	int ret;

	bool written = argc == 3 && !strcmp(argv[1], "--written");
	const char *bdf = argv[argc - 1];

	if (argc != 2 && !written) {
		fprintf(stderr, "usage: dirty-report [--written] BDF\n");
		return 2;
	}
	ret = vfmig_open(bdf, &dev, &err);
	if (ret) {
		fprintf(stderr, "dirty-report: %s: %s\n", bdf, err.msg);
		return 1;
	}
	if (written)
		return bench_written(dev);
	ret = vfmig_dma_alloc(dev, MEM_IOVA, MEM_LEN, &mem);
	if (!ret)
		ret = vfmig_enable_mem_and_dma(dev);
	if (ret)
		die("set-up", -ret, dev);
	bitmap = calloc(span / PAGE / 64, sizeof(*bitmap));
	if (!bitmap)
		die("bitmap", ENOMEM, NULL);
	logging_start(dev);

	for (int r = 0; r < ROUNDS; r++) {
		dirty_one_page(dev);
		small[r] = report_us(dev, MEM_IOVA, MEM_LEN, bitmap, &pages);
		if (pages != 1)
			die("16 MiB report: not 1 page", EPROTO, NULL);
		dirty_one_page(dev);
		big[r] = report_us(dev, MEM_IOVA, span, bitmap, &pages);
		if (pages != 1)
			die("65 GiB report: not 1 page", EPROTO, NULL);
		empty[r] = report_us(dev, MEM_IOVA, span, bitmap, &pages);
		if (pages != 0)
			die("65 GiB report: pages left", EPROTO, NULL);
	}
	printf("DMA_LOGGING_REPORT, median of %d (microseconds):\n", ROUNDS);
	printf("  16 MiB, 1 dirty page   %10.0f\n", median(small));
	printf("  65 GiB, 1 dirty page   %10.0f\n", median(big));
	printf("  65 GiB, no dirty page  %10.0f\n", median(empty));
	printf("  65 GiB / 16 MiB        %10.1fx  (the range is 4160x larger)\n",
	       median(big) / median(small));
	free(bitmap);
	vfmig_close(dev);
	return 0;
}
