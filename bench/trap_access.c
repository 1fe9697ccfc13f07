// SPDX-License-Identifier: GPL-2.0
/*
 * Per-access cost of edu's register page reached through libvfmig's
 * trap-following BAR accessor: untrapped (an mmap, what a client that
 * follows traps gets at normal time) against trapped (read/write through
 * edu-mediate's ->rw, what it gets while DMA logging or migration runs,
 * and what a client that does not follow traps always gets).  Rounds
 * alternate between the two, side by side in one run; the trap is set
 * and lifted by starting and stopping VFIO DMA logging, and a thread
 * follows the notifications.
 *
 * Runs inside the lab, started by bench/dirty with the device's BDF (bound
 * to vfio-pci-mediate, edu-mediate loaded).  Prints each mode's median
 * over ROUNDS and their ratio; asserts nothing beyond the calls working.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfmig.h>

#include "trap_follower.h"
#include "../include/edu_regs.h"

#define PAGE 4096u
#define MEM_IOVA 0x1000000ull
#define MEM_LEN (64ull * PAGE)
#define ROUNDS 7
#define ACCESSES 20000

/* ns per access: ACCESSES reads and writes of the liveness register. */
static double time_accesses(struct vfmig_device *dev)
{
	double t0 = bench_now_ns();
	uint64_t v;
	int ret;

	for (int i = 0; i < ACCESSES / 2; i++) {
		ret = vfmig_bar_write(dev, 0, EDU_REG_LIVENESS, 4, (uint64_t)i);
		if (!ret)
			ret = vfmig_bar_read(dev, 0, EDU_REG_LIVENESS, 4, &v);
		if (ret)
			bench_die("register access", -ret, dev);
		if ((uint32_t)v != ~(uint32_t)i)
			bench_die("register read back", EIO, NULL);
	}
	return (bench_now_ns() - t0) / ACCESSES;
}

int main(int argc, char **argv)
{
	struct vfmig_range range = { .iova = MEM_IOVA, .length = MEM_LEN };
	double mapped[ROUNDS], trapped[ROUNDS], mapped_ns, trapped_ns;
	struct trap_follower f = { 0 };
	struct vfmig_trap_stats st;
	struct vfmig_device *dev;
	struct vfmig_error err;
	void *mem;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BDF\n", argv[0]);
		return 2;
	}
	ret = vfmig_open(argv[1], &dev, &err);
	if (ret)
		bench_die(err.msg, -ret, NULL);
	ret = vfmig_dma_alloc(dev, MEM_IOVA, MEM_LEN, &mem);
	if (!ret)
		ret = vfmig_enable_mem_and_dma(dev);
	if (ret)
		bench_die("setup", -ret, dev);
	trap_follower_start(&f, dev);

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t page_size = PAGE;

		mapped[r] = time_accesses(dev);
		ret = vfmig_dma_logging_start(dev, &range, 1, &page_size);
		if (ret)
			bench_die("DMA logging start (trap)", -ret, dev);
		trapped[r] = time_accesses(dev);
		ret = vfmig_dma_logging_stop(dev);
		if (ret)
			bench_die("DMA logging stop (untrap)", -ret, dev);
	}
	trap_follower_stop(&f);
	vfmig_trap_stats(dev, &st);
	vfmig_close(dev);

	mapped_ns = bench_median(mapped, ROUNDS);
	trapped_ns = bench_median(trapped, ROUNDS);
	printf("edu register access through libvfmig's trap-following accessor (median of %d rounds of %d):\n",
	       ROUNDS, ACCESSES);
	printf("  untrapped (mmap):     %8.0f ns\n", mapped_ns);
	printf("  trapped (read/write): %8.0f ns\n", trapped_ns);
	printf("  trapped / untrapped:  %8.1fx\n", trapped_ns / mapped_ns);
	printf("  (%llu accesses by mmap, %llu by read/write, %llu trap changes followed)\n",
	       (unsigned long long)st.mmap_accesses,
	       (unsigned long long)st.rw_accesses,
	       (unsigned long long)st.handled);
	return 0;
}
