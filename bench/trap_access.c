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
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vfmig.h>

#define PAGE 4096u
#define MEM_IOVA 0x1000000ull
#define MEM_LEN (64ull * PAGE)
#define ROUNDS 7
#define ACCESSES 20000
#define REG_LIVENESS 0x04

struct follower {
	struct vfmig_device *dev;
	int fd;
	atomic_bool stop;
};

static void die(const char *what, int err, struct vfmig_device *dev)
{
	fprintf(stderr, "trap-access: %s: %s%s%s\n", what, strerror(err),
		dev ? ": " : "", dev ? vfmig_strerror(dev) : "");
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *follow(void *arg)
{
	struct follower *f = arg;
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

	while (!atomic_load(&f->stop))
		if (poll(&pfd, 1, 50) > 0 && vfmig_trap_handle(f->dev) < 0)
			die("following a trap", EIO, f->dev);
	return NULL;
}

/* ns per access: ACCESSES reads and writes of the liveness register. */
static double time_accesses(struct vfmig_device *dev)
{
	double t0 = now_ns();
	uint64_t v;
	int ret;

	for (int i = 0; i < ACCESSES / 2; i++) {
		ret = vfmig_bar_write(dev, 0, REG_LIVENESS, 4, (uint64_t)i);
		if (!ret)
			ret = vfmig_bar_read(dev, 0, REG_LIVENESS, 4, &v);
		if (ret)
			die("register access", -ret, dev);
		if ((uint32_t)v != ~(uint32_t)i)
			die("register read back", EIO, NULL);
	}
	return (now_ns() - t0) / ACCESSES;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct vfmig_range range = { .iova = MEM_IOVA, .length = MEM_LEN };
	double mapped[ROUNDS], trapped[ROUNDS];
	struct follower f = { 0 };
	struct vfmig_trap_stats st;
	struct vfmig_error err;
	pthread_t thread;
	void *mem;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BDF\n", argv[0]);
		return 2;
	}
	ret = vfmig_open(argv[1], &f.dev, &err);
	if (ret)
		die(err.msg, -ret, NULL);
	ret = vfmig_dma_alloc(f.dev, MEM_IOVA, MEM_LEN, &mem);
	if (!ret)
		ret = vfmig_enable_mem_and_dma(f.dev);
	if (!ret)
		ret = vfmig_trap_follow(f.dev, &f.fd);
	if (ret)
		die("setup", -ret, f.dev);
	if (pthread_create(&thread, NULL, follow, &f))
		die("pthread_create", EAGAIN, NULL);

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t page_size = PAGE;

		mapped[r] = time_accesses(f.dev);
		ret = vfmig_dma_logging_start(f.dev, &range, 1, &page_size);
		if (ret)
			die("DMA logging start (trap)", -ret, f.dev);
		trapped[r] = time_accesses(f.dev);
		ret = vfmig_dma_logging_stop(f.dev);
		if (ret)
			die("DMA logging stop (untrap)", -ret, f.dev);
	}
	atomic_store(&f.stop, true);
	pthread_join(thread, NULL);
	vfmig_trap_stats(f.dev, &st);
	vfmig_close(f.dev);

	qsort(mapped, ROUNDS, sizeof(double), cmp_double);
	qsort(trapped, ROUNDS, sizeof(double), cmp_double);
	printf("edu register access through libvfmig's trap-following accessor (median of %d rounds of %d):\n",
	       ROUNDS, ACCESSES);
	printf("  untrapped (mmap):     %8.0f ns\n", mapped[ROUNDS / 2]);
	printf("  trapped (read/write): %8.0f ns\n", trapped[ROUNDS / 2]);
	printf("  trapped / untrapped:  %8.1fx\n",
	       trapped[ROUNDS / 2] / mapped[ROUNDS / 2]);
	printf("  (%llu accesses by mmap, %llu by read/write, %llu trap changes followed)\n",
	       (unsigned long long)st.mmap_accesses,
	       (unsigned long long)st.rw_accesses,
	       (unsigned long long)st.handled);
	return 0;
}
