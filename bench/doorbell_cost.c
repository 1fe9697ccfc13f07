// SPDX-License-Identifier: GPL-2.0
/*
 * What a receive doorbell (RDT) costs an igb VF's driver, side by side in
 * one run, through libvfmig:
 *
 *  - stock: a VF bound to stock vfio-pci, RDT written through its mmap;
 *  - mediated, mapped: a VF under igbvf-mediate, written by a client that
 *    follows dynamic traps while nothing needs the queue page trapped
 *    (an mmap, as stock);
 *  - mediated, trapped: the same VF written through read/write, which is
 *    what stock QEMU (which does not follow traps) always does: the write
 *    goes through igbvf-mediate's ->rw;
 *  - mediated, tracking: trapped while VFIO DMA logging runs, so each
 *    doorbell also reads the descriptor it hands over and announces its
 *    buffer (or ends it, when the tail goes back).
 *
 * Each access moves the tail of a 256-descriptor ring on an enabled queue
 * between 1 and 0.  The VFs never did the reset handshake, so the PF does
 * not enable their receive and the device takes no descriptor.  Rounds
 * alternate between the modes; prints each mode's median over ROUNDS and
 * its ratio to stock.  Asserts nothing beyond the calls working.
 *
 * Runs inside the lab's igb machine, started by bench/igbvf-doorbell with
 * the two VFs' BDFs: the first bound to vfio-pci-mediate (igbvf-mediate
 * loaded, user_dma_access on), the second to vfio-pci.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfmig.h>

#include "trap_follower.h"

#define PAGE 4096u
#define MEM_IOVA 0x1000000ull
#define MEM_LEN (64ull * PAGE)
#define RING_DESC 256u
#define BUF_IOVA (MEM_IOVA + 16 * PAGE)
#define ROUNDS 7
#define ACCESSES 4000

/* VF registers (82576 datasheet 8.28), receive queue 0. */
#define RDBAL 0x2800
#define RDBAH 0x2804
#define RDLEN 0x2808
#define SRRCTL 0x280c
#define RDH 0x2810
#define RDT 0x2818
#define RXDCTL 0x2828
#define QUEUE_ENABLE (1u << 25)
#define SRRCTL_ONEBUF_2K ((1u << 25) | 2)

enum mode { STOCK, MAPPED, TRAPPED, TRACKING, NR_MODES };

static const char *const mode_names[NR_MODES] = {
	[STOCK] = "stock vfio-pci (mmap)",
	[MAPPED] = "mediated, mapped (trap-following client)",
	[TRAPPED] = "mediated, trapped (stock QEMU: read/write)",
	[TRACKING] = "mediated, trapped and tracking dirty pages",
};

static void wr(struct vfmig_device *dev, uint32_t reg, uint32_t val)
{
	int ret = vfmig_bar_write(dev, 0, reg, 4, val);

	if (ret)
		bench_die("register write", -ret, dev);
}

/* A VF with an enabled 256-descriptor ring, all at one buffer. */
static void ring_setup(struct vfmig_device *dev)
{
	uint64_t *desc;
	void *mem;
	int ret;

	ret = vfmig_dma_alloc(dev, MEM_IOVA, MEM_LEN, &mem);
	if (!ret)
		ret = vfmig_enable_mem_and_dma(dev);
	if (ret)
		bench_die("setup", -ret, dev);
	desc = mem;
	for (unsigned int i = 0; i < RING_DESC; i++) {
		desc[2 * i] = BUF_IOVA;
		desc[2 * i + 1] = 0;
	}
	wr(dev, RDBAL, (uint32_t)MEM_IOVA);
	wr(dev, RDBAH, (uint32_t)(MEM_IOVA >> 32));
	wr(dev, RDLEN, RING_DESC * 16);
	wr(dev, SRRCTL, SRRCTL_ONEBUF_2K);
	wr(dev, RDH, 0);
	wr(dev, RDT, 0);
	wr(dev, RXDCTL, QUEUE_ENABLE);
}

/*
 * ns per doorbell: ACCESSES tail writes, alternately 1 and 0; with
 * @by_rw through the device's read/write (pwrite on BAR0, as stock QEMU
 * does with a range it cannot mmap), else through libvfmig's accessor.
 */
static double time_doorbells(struct vfmig_device *dev, bool by_rw)
{
	double t0 = bench_now_ns();
	int ret;

	for (int i = 0; i < ACCESSES; i++) {
		uint8_t b[4] = { (i + 1) % 2, 0, 0, 0 };

		if (!by_rw) {
			wr(dev, RDT, (i + 1) % 2);
			continue;
		}
		ret = vfmig_region_write(dev, 0, RDT, b, sizeof(b));
		if (ret)
			bench_die("BAR0 pwrite", -ret, dev);
	}
	return (bench_now_ns() - t0) / ACCESSES;
}

int main(int argc, char **argv)
{
	struct vfmig_range range = { .iova = MEM_IOVA, .length = MEM_LEN };
	double ns[NR_MODES][ROUNDS];
	struct vfmig_device *mediated, *stock;
	struct trap_follower f = { 0 };
	struct vfmig_trap_stats st;
	struct vfmig_error err;
	double median[NR_MODES];
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MEDIATED_VF_BDF STOCK_VF_BDF\n",
			argv[0]);
		return 2;
	}
	ret = vfmig_open(argv[1], &mediated, &err);
	if (ret)
		bench_die(err.msg, -ret, NULL);
	ret = vfmig_open(argv[2], &stock, &err);
	if (ret)
		bench_die(err.msg, -ret, NULL);
	ring_setup(mediated);
	ring_setup(stock);
	trap_follower_start(&f, mediated);

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t page_size = PAGE;

		ns[STOCK][r] = time_doorbells(stock, false);
		ns[MAPPED][r] = time_doorbells(mediated, false);
		ns[TRAPPED][r] = time_doorbells(mediated, true);
		ret = vfmig_dma_logging_start(mediated, &range, 1, &page_size);
		if (ret)
			bench_die("DMA logging start", -ret, mediated);
		ns[TRACKING][r] = time_doorbells(mediated, true);
		ret = vfmig_dma_logging_stop(mediated);
		if (ret)
			bench_die("DMA logging stop", -ret, mediated);
	}
	trap_follower_stop(&f);
	vfmig_trap_stats(mediated, &st);
	vfmig_close(mediated);
	vfmig_close(stock);

	printf("igb VF receive doorbell (RDT write), median of %d rounds of %d:\n",
	       ROUNDS, ACCESSES);
	for (int m = 0; m < NR_MODES; m++)
		median[m] = bench_median(ns[m], ROUNDS);
	for (int m = 0; m < NR_MODES; m++)
		printf("  %-46s %8.0f ns  %6.1fx stock\n", mode_names[m],
		       median[m], median[m] / median[STOCK]);
	printf("  (mediated VF's accessor: %llu accesses by mmap, %llu by read/write, %llu trap changes followed)\n",
	       (unsigned long long)st.mmap_accesses,
	       (unsigned long long)st.rw_accesses,
	       (unsigned long long)st.handled);
	return 0;
}
