// SPDX-License-Identifier: GPL-2.0
/* Shared by the trapped-against-mapped benchmarks: trap_follower.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trap_follower.h"

void bench_die(const char *what, int err, struct vfmig_device *dev)
{
	fprintf(stderr, "%s: %s: %s%s%s\n", program_invocation_short_name,
		what, strerror(err), dev ? ": " : "",
		dev ? vfmig_strerror(dev) : "");
	exit(1);
}

double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void *follow(void *arg)
{
	struct trap_follower *f = arg;
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

	while (!atomic_load(&f->stop))
		if (poll(&pfd, 1, 50) > 0 && vfmig_trap_handle(f->dev) < 0)
			bench_die("following a trap", EIO, f->dev);
	return NULL;
}

void trap_follower_start(struct trap_follower *f, struct vfmig_device *dev)
{
	int ret;

	f->dev = dev;
	atomic_store(&f->stop, false);
	ret = vfmig_trap_follow(dev, &f->fd);
	if (ret)
		bench_die("following traps", -ret, dev);
	if (pthread_create(&f->thread, NULL, follow, f))
		bench_die("pthread_create", EAGAIN, NULL);
}

void trap_follower_stop(struct trap_follower *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
}
