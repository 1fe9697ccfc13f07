/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libvfmig benchmarks that time trapped against mapped accesses
 * share: dying with a message, a clock, medians, and a thread that
 * follows the device's trap notifications as a trap-following VMM does.
 */
#ifndef BENCH_TRAP_FOLLOWER_H
#define BENCH_TRAP_FOLLOWER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <vfmig.h>

/* Prints "PROGRAM: @what: strerror(@err)[: the device's last error]", exits 1. */
void bench_die(const char *what, int err, struct vfmig_device *dev)
	__attribute__((noreturn));

double bench_now_ns(void);

/* Sorts @v and returns its median. */
double bench_median(double *v, size_t n);

struct trap_follower {
	struct vfmig_device *dev;
	int fd;
	atomic_bool stop;
	pthread_t thread;
};

/* Follows @dev's trap notifications in a thread until trap_follower_stop(). */
void trap_follower_start(struct trap_follower *f, struct vfmig_device *dev);
void trap_follower_stop(struct trap_follower *f);

#endif /* BENCH_TRAP_FOLLOWER_H */
