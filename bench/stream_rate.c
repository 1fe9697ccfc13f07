// SPDX-License-Identifier: GPL-2.0
/*
 * Migration throughput of vfio-pci-mediate against memcpy.
 *
 * Two edu devices bound to vfio-pci-mediate are served by the migration
 * test mediator (tests/kernel, "migtest"), whose device state is a buffer
 * of a configurable size.  For each size, rounds measure side by side, in
 * one process:
 *
 *   memcpy       copying that many bytes between two user buffers
 *   rep movsb    the same copy done by `rep movsb`, which is how this
 *                kernel (ERMS) copies to and from user memory: a
 *                reference for what one kernel copy costs here (under
 *                TCG much more than glibc's vector memcpy)
 *   v2 read      STOP -> STOP_COPY, read() of the data fd to end of stream
 *                (1 MiB reads, as QEMU 8+), -> STOP: the stop-copy time
 *   v2 resume    -> RESUMING on the other device, write() of the stream,
 *                -> STOP (the framework checks it and the mediator loads)
 *   v1 mmap      QEMU 7.2's stop-copy loop on the v1 region (pending_bytes,
 *                data_offset, data_size, then the data out of the mmapped
 *                data section), state SAVING -> STOP
 *   v1 pread     the same loop with the data read by naturally aligned
 *                8-byte preads (QEMU 7.2 when it cannot mmap); only for
 *                sizes up to BENCH_PREAD_MAX_MIB, as it is very slow
 *
 * Every figure is bytes of mediator state per second (framing excluded),
 * and every ratio is taken against the memcpy of the same round, so that
 * the machine's drift falls on both sides; the median over the rounds is
 * printed.  Each round's stream is loaded into the other device and the
 * mediator's digests compared, so a fast but wrong path cannot pass.
 *
 * Runs inside the lab: bench/migration binds the devices, loads the test
 * mediator and passes the two BDFs.  Environment: BENCH_SIZES_MIB (default
 * "1 16 256"), BENCH_ROUNDS (default 3), BENCH_PREAD_MAX_MIB (default 16).
 * A benchmark: it prints the figures against the targets and fails only
 * when something does not work.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfmig.h>

#include "sysfs_attr.h"

#define DEBUGFS "/sys/kernel/debug/vfio_pci_mediate_migtest"
#define MIB ((uint64_t)1024 * 1024)
#define MAX_ROUNDS 64
/* Room for the framework's header, record headers and trailer. */
#define STREAM_SLACK (1 * MIB)

enum method { MEMCPY, REP_MOVSB, V2_SAVE, V2_RESUME, V1_MMAP, V1_PREAD,
	      METHODS };

static const char *const method_names[METHODS] = {
	"memcpy", "rep movsb (ref.)", "v2 read (stop-copy)", "v2 resume",
	"v1 mmap", "v1 pread 8B",
};

/* Targets from the issue, as a ratio to memcpy; 0: none. */
static const double method_targets[METHODS] = {
	0, 0, 0.6, 0, 0.8, 0,
};

struct bench {
	const char *src_bdf;
	const char *dst_bdf;
	uint64_t size;
	unsigned int rounds;
	uint64_t pread_max;
	unsigned char *stream;	/* one saved stream, STREAM_SLACK + size */
	size_t stream_cap;
	size_t stream_len;
	double secs[METHODS][MAX_ROUNDS];
	bool measured[METHODS];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The digest migtest shows for an open device, 0 if not found. */
static uint64_t mediator_digest(const char *bdf)
{
	char line[512];
	uint64_t digest = 0;
	FILE *f = fopen(DEBUGFS "/devices", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		const char *d = strstr(line, " digest=");

		if (strncmp(line, bdf, strlen(bdf)) || line[strlen(bdf)] != ' ')
			continue;
		if (d)
			digest = strtoull(d + 8, NULL, 16);
		break;
	}
	fclose(f);
	return digest;
}

static int fail(struct vfmig_device *dev, const char *what, int err)
{
	fprintf(stderr, "bench/migration: %s: %s (%s)\n", what,
		strerror(-err), dev ? vfmig_strerror(dev) : "");
	return err;
}

static int open_pair(struct bench *b, struct vfmig_device **src,
		     struct vfmig_device **dst)
{
	struct vfmig_error err = { 0 };
	int ret;

	ret = vfmig_open(b->src_bdf, src, &err);
	if (ret) {
		fprintf(stderr, "bench/migration: %s\n", err.msg);
		return ret;
	}
	ret = vfmig_open(b->dst_bdf, dst, &err);
	if (ret) {
		fprintf(stderr, "bench/migration: %s\n", err.msg);
		vfmig_close(*src);
		return ret;
	}
	return 0;
}

static double time_memcpy(struct bench *b, unsigned char *from,
			  unsigned char *to)
{
	double t0 = now();

	memcpy(to, from, b->size);
	/* Keep the copy from being optimised away. */
	__asm__ volatile("" : : "r"(to) : "memory");
	return now() - t0;
}

static double time_rep_movsb(struct bench *b, unsigned char *from,
			     unsigned char *to)
{
	void *d = to;
	const void *src = from;
	size_t n = b->size;
	double t0 = now();

	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
	return now() - t0;
}

/* STOP -> STOP_COPY, read to end of stream into b->stream, -> STOP. */
static int time_v2_save(struct bench *b, struct vfmig_device *src,
			double *secs)
{
	size_t len = 0;
	double t0;
	int ret;

	ret = vfmig_mig_set_state(src, VFMIG_STATE_STOP);
	if (ret)
		return fail(src, "v2: to STOP", ret);
	t0 = now();
	ret = vfmig_mig_set_state(src, VFMIG_STATE_STOP_COPY);
	if (ret)
		return fail(src, "v2: to STOP_COPY", ret);
	for (;;) {
		size_t want = b->stream_cap - len;
		ssize_t n;

		if (want > VFMIG_DEFAULT_CHUNK)
			want = VFMIG_DEFAULT_CHUNK;
		if (!want)
			return fail(src, "v2: stream larger than expected",
				    -EFBIG);
		n = vfmig_mig_read(src, b->stream + len, want);
		if (n < 0)
			return fail(src, "v2: read of the data fd", (int)n);
		if (!n)
			break;
		len += n;
	}
	ret = vfmig_mig_set_state(src, VFMIG_STATE_STOP);
	*secs = now() - t0;
	if (ret)
		return fail(src, "v2: STOP_COPY to STOP", ret);
	b->stream_len = len;
	return vfmig_mig_set_state(src, VFMIG_STATE_RUNNING);
}

/* RESUMING, write b->stream, STOP: the load is checked and applied. */
static int time_v2_resume(struct bench *b, struct vfmig_device *dst,
			  double *secs)
{
	double t0 = now();
	size_t off;
	int ret;

	ret = vfmig_mig_set_state(dst, VFMIG_STATE_RESUMING);
	if (ret)
		return fail(dst, "v2: to RESUMING", ret);
	for (off = 0; off < b->stream_len; off += VFMIG_DEFAULT_CHUNK) {
		size_t n = b->stream_len - off;

		if (n > VFMIG_DEFAULT_CHUNK)
			n = VFMIG_DEFAULT_CHUNK;
		ret = vfmig_mig_write(dst, b->stream + off, n);
		if (ret)
			return fail(dst, "v2: write of the data fd", ret);
	}
	ret = vfmig_mig_set_state(dst, VFMIG_STATE_STOP);
	*secs = now() - t0;
	if (ret)
		return fail(dst, "v2: RESUMING to STOP", ret);
	return vfmig_mig_set_state(dst, VFMIG_STATE_RUNNING);
}

/*
 * QEMU 7.2's stop-copy on the v1 region: stop (mask ~RUNNING), SAVING,
 * buffers while pending_bytes > 0, then mask ~SAVING (STOP); back to
 * RUNNING as QEMU does when the VM runs again.
 */
static int time_v1_save(struct bench *b, struct vfmig_device *src,
			enum vfmig_v1_access access, double *secs)
{
	struct vfmig_v1_options opt = { .access = access };
	size_t len = 0;
	double t0;
	int ret;

	ret = vfmig_v1_setup(src, &opt);
	if (ret < 0)
		return fail(src, "v1: setup", ret);
	t0 = now();
	ret = vfmig_v1_set_state(src, ~VFMIG_V1_RUNNING, 0);
	if (!ret)
		ret = vfmig_v1_set_state(src, ~VFMIG_V1_RUNNING,
					 VFMIG_V1_SAVING);
	if (ret)
		return fail(src, "v1: to SAVING", ret);
	for (;;) {
		uint64_t pending, chunk;

		ret = vfmig_v1_read_pending(src, &pending);
		if (ret)
			return fail(src, "v1: pending_bytes", ret);
		if (!pending)
			break;
		ret = vfmig_v1_save_buffer(src, b->stream + len,
					   b->stream_cap - len, &chunk);
		if (ret)
			return fail(src, "v1: data", ret);
		if (!chunk)
			break;
		len += chunk;
	}
	ret = vfmig_v1_set_state(src, ~VFMIG_V1_SAVING, 0);
	*secs = now() - t0;
	if (ret)
		return fail(src, "v1: SAVING to STOP", ret);
	b->stream_len = len;
	ret = vfmig_v1_set_state(src, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING);
	vfmig_v1_cleanup(src);
	return ret;
}

/* Load the last saved stream into the destination and compare digests. */
static int check_stream(struct bench *b, struct vfmig_device *dst,
			const char *method)
{
	uint64_t want = mediator_digest(b->src_bdf);
	uint64_t got;
	double unused;
	int ret;

	ret = time_v2_resume(b, dst, &unused);
	if (ret)
		return ret;
	got = mediator_digest(b->dst_bdf);
	if (!want || got != want) {
		fprintf(stderr,
			"bench/migration: %s: state loaded into %s has digest %016" PRIx64 ", source %s has %016" PRIx64 "\n",
			method, b->dst_bdf, got, b->src_bdf, want);
		return -EIO;
	}
	return 0;
}

static int run_round(struct bench *b, unsigned int round,
		     struct vfmig_device *src, struct vfmig_device *dst,
		     unsigned char *from, unsigned char *to)
{
	char seed[64];
	int ret;

	/* A new state each round, so no round loads what is already there. */
	snprintf(seed, sizeof(seed), "%s seed %u\n", b->src_bdf, round + 1);
	ret = sysfs_write(DEBUGFS "/ctl", seed);
	if (ret)
		return fail(NULL, "migtest ctl seed", ret);

	b->secs[MEMCPY][round] = time_memcpy(b, from, to);
	b->measured[MEMCPY] = true;
	b->secs[REP_MOVSB][round] = time_rep_movsb(b, from, to);
	b->measured[REP_MOVSB] = true;

	ret = time_v2_save(b, src, &b->secs[V2_SAVE][round]);
	if (ret)
		return ret;
	b->measured[V2_SAVE] = true;
	ret = time_v2_resume(b, dst, &b->secs[V2_RESUME][round]);
	if (ret)
		return ret;
	b->measured[V2_RESUME] = true;
	if (mediator_digest(b->dst_bdf) != mediator_digest(b->src_bdf))
		return fail(NULL, "v2: loaded state differs from the source",
			    -EIO);

	ret = time_v1_save(b, src, VFMIG_V1_MMAP, &b->secs[V1_MMAP][round]);
	if (!ret)
		ret = check_stream(b, dst, "v1 mmap");
	if (ret)
		return ret;
	b->measured[V1_MMAP] = true;

	if (b->size <= b->pread_max) {
		ret = time_v1_save(b, src, VFMIG_V1_PREAD,
				   &b->secs[V1_PREAD][round]);
		if (!ret)
			ret = check_stream(b, dst, "v1 pread");
		if (ret)
			return ret;
		b->measured[V1_PREAD] = true;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(struct bench *b)
{
	unsigned int m, r;

	printf("state %" PRIu64 " MiB, %u rounds, stream %zu bytes:\n",
	       b->size / MIB, b->rounds, b->stream_len);
	printf("  %-20s %12s %10s %8s  %s\n", "method", "MiB/s", "ms",
	       "x memcpy", "target");
	for (m = 0; m < METHODS; m++) {
		double ratios[MAX_ROUNDS], secs[MAX_ROUNDS], s;

		if (!b->measured[m]) {
			printf("  %-20s not measured (size above BENCH_PREAD_MAX_MIB=%" PRIu64 ")\n",
			       method_names[m], b->pread_max / MIB);
			continue;
		}
		for (r = 0; r < b->rounds; r++) {
			secs[r] = b->secs[m][r];
			ratios[r] = b->secs[MEMCPY][r] / b->secs[m][r];
		}
		s = median(secs, b->rounds);
		printf("  %-20s %12.1f %10.2f %8.3f", method_names[m],
		       b->size / MIB / s, s * 1e3, median(ratios, b->rounds));
		if (method_targets[m])
			printf("  >= %.1f", method_targets[m]);
		printf("\n");
	}
}

static int bench_size(struct bench *b)
{
	struct vfmig_device *src, *dst;
	unsigned char *from, *to;
	char text[32];
	unsigned int r;
	int ret;

	snprintf(text, sizeof(text), "%" PRIu64 "\n", b->size);
	ret = sysfs_write(DEBUGFS "/state_size", text);
	if (ret)
		return fail(NULL, "migtest state_size", ret);

	b->stream_cap = b->size + STREAM_SLACK;
	b->stream = malloc(b->stream_cap);
	from = malloc(b->size);
	to = malloc(b->size);
	if (!b->stream || !from || !to) {
		ret = fail(NULL, "allocating the buffers", -ENOMEM);
		goto out_free;
	}
	/* Touch everything once so page faults are not timed. */
	memset(b->stream, 0, b->stream_cap);
	memset(from, 0x5a, b->size);
	memset(to, 0, b->size);

	ret = open_pair(b, &src, &dst);
	if (ret)
		goto out_free;
	memset(b->measured, 0, sizeof(b->measured));
	for (r = 0; r < b->rounds && !ret; r++)
		ret = run_round(b, r, src, dst, from, to);
	if (!ret)
		report(b);
	vfmig_close(dst);
	vfmig_close(src);
out_free:
	free(to);
	free(from);
	free(b->stream);
	return ret;
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

int main(int argc, char **argv)
{
	const char *sizes = getenv("BENCH_SIZES_MIB");
	struct bench b = { 0 };
	char *list, *tok, *save;
	int ret = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SOURCE_BDF DESTINATION_BDF (inside the lab; see bench/migration)\n",
			argv[0]);
		return 2;
	}
	b.src_bdf = argv[1];
	b.dst_bdf = argv[2];
	b.rounds = env_ulong("BENCH_ROUNDS", 3);
	if (!b.rounds || b.rounds > MAX_ROUNDS) {
		fprintf(stderr, "BENCH_ROUNDS must be 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	b.pread_max = env_ulong("BENCH_PREAD_MAX_MIB", 16) * MIB;

	list = strdup(sizes && *sizes ? sizes : "1 16 256");
	if (!list)
		return 1;
	for (tok = strtok_r(list, " ,", &save); tok && !ret;
	     tok = strtok_r(NULL, " ,", &save)) {
		b.size = strtoull(tok, NULL, 0) * MIB;
		if (!b.size) {
			fprintf(stderr, "bad size '%s' in BENCH_SIZES_MIB\n", tok);
			ret = 2;
			break;
		}
		ret = bench_size(&b) ? 1 : 0;
	}
	free(list);
	return ret;
}
