// SPDX-License-Identifier: GPL-2.0
/*
 * Passthrough cost of vfio-pci-mediate against stock vfio-pci: 4-byte reads
 * and writes of edu's liveness register (BAR0 + 0x04) through pread/pwrite
 * on the device fd and through an mmap of BAR0, in three configurations:
 * stock vfio-pci, vfio-pci-mediate with no mediator, and vfio-pci-mediate
 * with a mediator that has every callback set and passes everything
 * through (instance test0 of the test mediator, tests/kernel, in its
 * passthrough mode; it must be loaded).
 *
 * Method.  This machine is noisy (TCG, 2 host cores shared with other
 * VMs) and its speed drifts by more than the 2% to be resolved.  The cost
 * of an access also shifts by several percent from one open of a device
 * to the next and stays so while it is open: per-round ratios spread as
 * widely with 24 batches a round as with 6.  So the benchmark compares
 * side by side, over many opens:
 *
 * - In a round one edu device is on stock vfio-pci and the other on
 *   vfio-pci-mediate, and the round opens both.  It times the stock device against
 *   the mediate one with no mediator, then reopens the mediate one with
 *   test0 serving it and times it again against the same stock device.
 *   Each timing alternates short batches (~BATCH_NS) between the two
 *   devices, who goes first alternating too, so drift falls on both.
 * - Rounds alternate the order of the two mediate configurations and
 *   swap the devices' roles (binding each to the other driver) every
 *   ROLE_ROUNDS rounds, so device and order effects cancel; every round
 *   reopens every device, so each round is a fresh draw.  Roles do not
 *   swap every round because the first open after a bind to
 *   vfio-pci-mediate asks modprobe for a mediator module (~0.3 s here).
 * - Each round gives paired ratios: mediate / stock for each access kind
 *   and path (pread+pwrite, mmap read+write), and pt / none, the
 *   mediator's callbacks alone.  A figure is the median of its per-round
 *   ratios, with a distribution-free 95% confidence interval for that
 *   median from order statistics: sorted, the interval runs from the
 *   k-th smallest to the k-th largest ratio, k the largest with
 *   P(Binomial(rounds, 1/2) < k) <= 2.5%.  It assumes only that rounds
 *   are independent draws of one distribution, not its shape.
 * - A target counts as met when the whole interval is at or below it,
 *   missed when the whole interval is above it, and unresolved otherwise.
 *
 * Runs inside the lab (bench/passthrough boots it and loads the test
 * mediator).  A benchmark: it prints the ratios against the targets and
 * does not fail on them.  BENCH_ROUNDS and BENCH_BATCHES set the rounds
 * and the batches per timing, BENCH_VERBOSE=1 prints each round's ratios,
 * and BENCH_CONTROL=1 binds the "mediate" device to vfio-pci as well: an
 * A/A run whose ratios show the method's own bias and spread.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "sysfs_attr.h"
#include "vfio_dev.h"
#include "../include/edu_regs.h"

/* About 0.3 s a round (0.2 s of it timing): about 2 minutes in all. */
#define DEFAULT_ROUNDS 400
/* Rounds between swaps of the devices' roles. */
#define ROLE_ROUNDS 4
#define WARMUP_ACCESSES 500
/* Batches per device per access kind per timing, alternating devices. */
#define DEFAULT_BATCHES 6
/* Each batch lasts about this long, so cheap mmap accesses are not lost in
 * timer noise while batches stay short against the machine's drift. */
#define BATCH_NS 2e6
/* Two-sided confidence of the intervals. */
#define CI_LEVEL 0.95

#define MEDIATOR_DEBUGFS "/sys/kernel/debug/vfio_pci_mediate_test/test0"
#define MEDIATOR_NAME "test0"

enum access_kind { PREAD_READ, PWRITE_WRITE, MMAP_READ, MMAP_WRITE,
		   ACCESS_KINDS };

/* The per-round ratios: one per access kind, then the two paths. */
enum figure { RW_PATH = ACCESS_KINDS, MMAP_PATH, FIGURES };

static const char *const figure_names[FIGURES] = {
	"pread  read", "pwrite write", "mmap   read", "mmap   write",
	"pread/pwrite path", "mmap path",
};

enum config { STOCK, MEDIATE, MEDIATED_PT, CONFIGS };

static const struct {
	const char *name;
	/* Targets for the ratio to stock: pread/pwrite path, mmap path. */
	double target_rw, target_mmap;
} configs[CONFIGS] = {
	[STOCK] = { DRIVER_VFIO_PCI, 1, 1 },
	[MEDIATE] = { "mediate, none", 1.02, 1.02 },
	[MEDIATED_PT] = { "mediate, pt", 1.05, 1.01 },
};

struct bench_device {
	struct vfio_dev vfio;
	uint64_t liveness_offset; /* file offset for pread/pwrite */
	volatile uint32_t *bar0;  /* mmap of BAR0 */
	size_t bar0_size;
};

/* A median and its confidence interval. */
struct estimate {
	double median, low, high;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "passthrough: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Has test0 serve bdf, and only bdf, at its next open, passing through. */
static void mediator_serve(const char *bdf)
{
	int ret = sysfs_write(MEDIATOR_DEBUGFS "/passthrough", "1");

	if (ret == 0)
		ret = sysfs_write(MEDIATOR_DEBUGFS "/accept", bdf);
	if (ret < 0)
		die("configuring the test mediator (" MEDIATOR_DEBUGFS
		    "; is tests/kernel/vfio-pci-mediate-test.ko loaded?)",
		    -ret);
}

/* Passthrough calls test0 counted for bdf's current open, or -1. */
static long mediator_pt_calls(const char *bdf)
{
	char buf[1024], name[PCI_BDF_LEN];
	const char *line = buf;
	unsigned int id;
	long pt;

	if (sysfs_read_all(MEDIATOR_DEBUGFS "/handles", buf, sizeof(buf)) < 0)
		return -1;
	while (line && *line) {
		if (sscanf(line, "%31s %u rw=%*d mmap=%*d info=%*d pt=%ld",
			   name, &id, &pt) == 3 && strcmp(name, bdf) == 0)
			return pt;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* Dies unless bdf's current open is served by the mediator named. */
static void expect_mediator(const char *bdf, const char *mediator)
{
	char name[64];
	int ret = pci_read_attr(bdf, "mediator", name, sizeof(name));

	if (ret < 0)
		die("reading the device's mediator attribute", -ret);
	if (strcmp(name, mediator) != 0) {
		fprintf(stderr, "passthrough: %s is served by %s, not %s\n",
			bdf, name, mediator);
		exit(1);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void access_once(struct bench_device *dev, enum access_kind kind,
			uint32_t value)
{
	uint32_t read_back;

	switch (kind) {
	case PREAD_READ:
		if (pread(dev->vfio.device_fd, &read_back, 4,
			  (off_t)dev->liveness_offset) != 4)
			die("pread", errno);
		break;
	case PWRITE_WRITE:
		if (pwrite(dev->vfio.device_fd, &value, 4,
			   (off_t)dev->liveness_offset) != 4)
			die("pwrite", errno);
		break;
	case MMAP_READ:
		read_back = dev->bar0[EDU_REG_LIVENESS / 4];
		(void)read_back;
		break;
	case MMAP_WRITE:
		dev->bar0[EDU_REG_LIVENESS / 4] = value;
		break;
	case ACCESS_KINDS:
		break;
	}
}

/* Mean ns per access over count accesses. */
static double time_accesses(struct bench_device *dev, enum access_kind kind,
			    int count)
{
	double start = now_ns();

	for (int i = 0; i < count; i++)
		access_once(dev, kind, (uint32_t)i);
	return (now_ns() - start) / count;
}

static void open_device(struct bench_device *dev, const char *bdf)
{
	uint32_t id = 0, live = 0;
	int ret = vfio_dev_open(&dev->vfio, bdf);
	void *map;

	if (ret < 0)
		die("opening the device through VFIO", -ret);
	dev->liveness_offset =
		dev->vfio.regions[VFIO_PCI_BAR0_REGION_INDEX].offset +
		EDU_REG_LIVENESS;
	dev->bar0_size = dev->vfio.regions[VFIO_PCI_BAR0_REGION_INDEX].size;
	map = mmap(NULL, dev->bar0_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   dev->vfio.device_fd,
		   (off_t)dev->vfio.regions[VFIO_PCI_BAR0_REGION_INDEX].offset);
	if (map == MAP_FAILED)
		die("mmap of BAR0", errno);
	dev->bar0 = map;

	/* Make sure both paths really reach edu before timing them. */
	ret = vfio_region_read32(&dev->vfio, VFIO_PCI_BAR0_REGION_INDEX,
				 EDU_REG_ID, &id);
	if (ret < 0 || id != EDU_ID_VALUE)
		die("edu id register through pread", ret < 0 ? -ret : EIO);
	dev->bar0[EDU_REG_LIVENESS / 4] = 0x1234;
	ret = vfio_region_read32(&dev->vfio, VFIO_PCI_BAR0_REGION_INDEX,
				 EDU_REG_LIVENESS, &live);
	if (ret < 0 || live != ~0x1234u)
		die("edu liveness register through mmap", ret < 0 ? -ret : EIO);
}

static void close_device(struct bench_device *dev)
{
	munmap((void *)dev->bar0, dev->bar0_size);
	vfio_dev_close(&dev->vfio);
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The median of count values (sorted in place) and the interval between
 * the k-th smallest and the k-th largest, k the largest for which
 * P(B < k) <= (1 - CI_LEVEL) / 2, B ~ Binomial(count, 1/2): the median
 * lies below the k-th smallest only if fewer than k values fall below
 * it, which for independent draws happens with probability P(B < k).
 * With fewer than 6 values no k qualifies; the interval is then the range.
 */
static struct estimate estimate_median(double *values, int count)
{
	double tail = (1 - CI_LEVEL) / 2, below = 0;
	struct estimate e;
	int k = 0;

	qsort(values, count, sizeof(*values), compare_doubles);
	e.median = count % 2 ? values[count / 2] :
			       (values[count / 2 - 1] + values[count / 2]) / 2;
	for (int j = 0; j < count; j++) {
		/* P(B = j), through logarithms: 2^-count underflows. */
		below += exp(lgamma(count + 1.0) - lgamma(j + 1.0) -
			     lgamma(count - j + 1.0) - count * log(2.0));
		if (below > tail)
			break;
		k = j + 1;
	}
	if (k == 0)
		k = 1;
	e.low = values[k - 1];
	e.high = values[count - k];
	return e;
}

static int env_int(const char *name, int fallback)
{
	const char *value = getenv(name);
	int parsed = value ? atoi(value) : 0;

	return parsed > 0 ? parsed : fallback;
}

/* Mean ns per access of one kind on each device (ns[0], ns[1]),
 * measured in batches that alternate between the two devices. */
static void time_interleaved(struct bench_device *devs[2],
			     enum access_kind kind, int batches, int round,
			     double ns[2])
{
	double warm = time_accesses(devs[0], kind, WARMUP_ACCESSES);
	int batch = warm > 0 ? (int)(BATCH_NS / warm) : 1000;

	time_accesses(devs[1], kind, WARMUP_ACCESSES);
	if (batch < 16)
		batch = 16;
	ns[0] = ns[1] = 0;
	for (int b = 0; b < batches; b++)
		for (int turn = 0; turn < 2; turn++) {
			/* Alternate who goes first, against drift. */
			int d = (b + turn + round) % 2;

			ns[d] += time_accesses(devs[d], kind, batch);
		}
	ns[0] /= batches;
	ns[1] /= batches;
}

/* Per-round ratios of mediated to stock, ns[0] stock and ns[1] mediated. */
static void round_ratios(double ns[2][ACCESS_KINDS], double ratio[FIGURES])
{
	for (int k = 0; k < ACCESS_KINDS; k++)
		ratio[k] = ns[1][k] / ns[0][k];
	ratio[RW_PATH] = (ns[1][PREAD_READ] + ns[1][PWRITE_WRITE]) /
			 (ns[0][PREAD_READ] + ns[0][PWRITE_WRITE]);
	ratio[MMAP_PATH] = (ns[1][MMAP_READ] + ns[1][MMAP_WRITE]) /
			   (ns[0][MMAP_READ] + ns[0][MMAP_WRITE]);
}

static void print_estimate(struct estimate e)
{
	printf("  %6.3f [%5.3f, %5.3f]", e.median, e.low, e.high);
}

static const char *verdict(struct estimate e, double target)
{
	if (e.high <= target)
		return "met";
	if (e.low > target)
		return "NOT met";
	return "unresolved (interval spans it)";
}

int main(void)
{
	int rounds = env_int("BENCH_ROUNDS", DEFAULT_ROUNDS);
	int batches = env_int("BENCH_BATCHES", DEFAULT_BATCHES);
	int verbose = env_int("BENCH_VERBOSE", 0);
	int control = env_int("BENCH_CONTROL", 0);
	const char *mediate_driver = control ? DRIVER_VFIO_PCI :
					       DRIVER_VFIO_PCI_MEDIATE;
	/* ns[c][k][i]: figure i of config c, kind k; stock has two a round. */
	double *ns[CONFIGS][ACCESS_KINDS];
	/* ratio[c][f][round] to the stock device of the same round, for
	 * MEDIATE and MEDIATED_PT (ratio[STOCK] stays unused). */
	double *ratio[CONFIGS][FIGURES];
	/* The two mediate configurations against each other, by round. */
	double *pt_over_none[FIGURES];
	struct estimate est[CONFIGS][FIGURES], pt_over_none_est[FIGURES];
	long mediated_calls = 0;
	char bdfs[2][PCI_BDF_LEN];
	struct pci_binding saved[2];
	const char *lab = getenv("LAB");
	double start = now_ns(), timing_ns = 0;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!lab || strcmp(lab, "1") != 0 ||
	    pci_find_devices(VENDOR_QEMU_EDU, DEVICE_QEMU_EDU, bdfs, 2) < 2) {
		printf("passthrough: skipped: needs the lab (LAB=1) and two edu devices; run bench/passthrough\n");
		return 0;
	}
	if (!pci_driver_registered(DRIVER_VFIO_PCI) ||
	    !pci_driver_registered(DRIVER_VFIO_PCI_MEDIATE))
		die("vfio-pci and vfio-pci-mediate must both be loaded", ENODEV);
	if (access(MEDIATOR_DEBUGFS "/accept", W_OK) != 0)
		die("the test mediator must be loaded (insmod tests/kernel/vfio-pci-mediate-test.ko, debugfs mounted)",
		    errno);
	/* Whole cycles of the role swap (which holds the order's). */
	rounds = (rounds + 2 * ROLE_ROUNDS - 1) / (2 * ROLE_ROUNDS) *
		 (2 * ROLE_ROUNDS);

	for (int c = 0; c < CONFIGS; c++) {
		for (int k = 0; k < ACCESS_KINDS; k++)
			ns[c][k] = calloc(2 * rounds, sizeof(double));
		for (int f = 0; f < FIGURES; f++)
			ratio[c][f] = calloc(rounds, sizeof(double));
	}
	for (int f = 0; f < FIGURES; f++)
		pt_over_none[f] = calloc(rounds, sizeof(double));

	for (int i = 0; i < 2; i++) {
		ret = pci_binding_save(bdfs[i], &saved[i]);
		if (ret < 0)
			die("reading the device's driver", -ret);
	}

	printf("# passthrough: edu %s and %s, BAR0+0x%02x, 4-byte accesses; %d rounds,\n"
	       "# each: stock vfio-pci on one device against vfio-pci-mediate on the\n"
	       "# other, with no mediator and with test0 passing through (reopened in\n"
	       "# between), %d alternating batches of ~%.0f ms per device and access kind;\n"
	       "# the mediate configurations' order alternating, roles swapped every %d\n"
	       "# rounds\n",
	       bdfs[0], bdfs[1], EDU_REG_LIVENESS, rounds, batches,
	       BATCH_NS / 1e6, ROLE_ROUNDS);
	if (control)
		printf("# CONTROL (BENCH_CONTROL=1): the \"mediate\" device is on vfio-pci too, so\n"
		       "# every ratio compares vfio-pci with itself and should be 1\n");
	for (int round = 0; round < rounds; round++) {
		int swap = (round / ROLE_ROUNDS) % 2;
		const char *stock_bdf = bdfs[swap];
		const char *mediate_bdf = bdfs[1 - swap];
		int pt_first = round % 2;
		struct bench_device stock, mediate;
		struct bench_device *devs[2] = { &stock, &mediate };
		double round_ns[CONFIGS][2][ACCESS_KINDS];
		double start_timing;

		ret = pci_bind(stock_bdf, DRIVER_VFIO_PCI);
		if (ret < 0)
			die(DRIVER_VFIO_PCI, -ret);
		ret = pci_bind(mediate_bdf, mediate_driver);
		if (ret < 0)
			die(mediate_driver, -ret);
		open_device(&stock, stock_bdf);

		for (int turn = 0; turn < 2; turn++) {
			enum config cfg = turn == pt_first ? MEDIATED_PT :
							     MEDIATE;

			/* test0 serves only the mediated-pt open. */
			if (!control)
				mediator_serve(cfg == MEDIATED_PT ?
					       mediate_bdf : "none");
			open_device(&mediate, mediate_bdf);
			if (!control)
				expect_mediator(mediate_bdf,
						cfg == MEDIATED_PT ?
						MEDIATOR_NAME : "none");
			start_timing = now_ns();
			for (int k = 0; k < ACCESS_KINDS; k++) {
				double both[2];

				time_interleaved(devs, k, batches, round,
						 both);
				round_ns[cfg][0][k] = both[0];
				round_ns[cfg][1][k] = both[1];
			}
			timing_ns += now_ns() - start_timing;
			if (cfg == MEDIATED_PT && !control) {
				long calls = mediator_pt_calls(mediate_bdf);

				if (calls <= 0)
					die("test0 saw no call for the mediated device",
					    EIO);
				mediated_calls += calls;
			}
			close_device(&mediate);
		}
		close_device(&stock);

		for (int c = MEDIATE; c < CONFIGS; c++) {
			double r[FIGURES];

			round_ratios(round_ns[c], r);
			for (int f = 0; f < FIGURES; f++)
				ratio[c][f][round] = r[f];
			for (int k = 0; k < ACCESS_KINDS; k++) {
				ns[STOCK][k][2 * round + c - MEDIATE] =
					round_ns[c][0][k];
				ns[c][k][round] = round_ns[c][1][k];
			}
		}
		for (int f = 0; f < FIGURES; f++)
			pt_over_none[f][round] = ratio[MEDIATED_PT][f][round] /
						 ratio[MEDIATE][f][round];
		if (verbose)
			printf("# round %3d stock on %s: none/stock rw %.3f mmap %.3f, pt/stock rw %.3f mmap %.3f\n",
			       round, stock_bdf, ratio[MEDIATE][RW_PATH][round],
			       ratio[MEDIATE][MMAP_PATH][round],
			       ratio[MEDIATED_PT][RW_PATH][round],
			       ratio[MEDIATED_PT][MMAP_PATH][round]);
	}
	mediator_serve("none");
	for (int i = 0; i < 2; i++) {
		ret = pci_binding_restore(&saved[i]);
		if (ret < 0)
			die("restoring the device's driver", -ret);
	}

	printf("# %.0f s in all, %.0f s of it timing accesses; the pt mediator's callbacks\n"
	       "# ran %ld times (each pread and pwrite, approximately)\n",
	       (now_ns() - start) / 1e9, timing_ns / 1e9, mediated_calls);
	for (int f = 0; f < FIGURES; f++) {
		for (int c = MEDIATE; c < CONFIGS; c++)
			est[c][f] = estimate_median(ratio[c][f], rounds);
		pt_over_none_est[f] = estimate_median(pt_over_none[f], rounds);
	}

	printf("\nns per access, median  %12s %14s %14s\n",
	       configs[STOCK].name, configs[MEDIATE].name,
	       configs[MEDIATED_PT].name);
	for (int k = 0; k < ACCESS_KINDS; k++)
		printf("%-21s %13.1f %14.1f %14.1f\n", figure_names[k],
		       estimate_median(ns[STOCK][k], 2 * rounds).median,
		       estimate_median(ns[MEDIATE][k], rounds).median,
		       estimate_median(ns[MEDIATED_PT][k], rounds).median);

	printf("\nratio, median of %d per-round ratios [%.0f%% CI]\n", rounds,
	       CI_LEVEL * 100);
	printf("%-18s   %-24s %-24s %-24s\n", "", "mediate, none / stock",
	       "mediate, pt / stock", "pt / none");
	for (int f = 0; f < FIGURES; f++) {
		printf("%-18s", figure_names[f]);
		print_estimate(est[MEDIATE][f]);
		print_estimate(est[MEDIATED_PT][f]);
		print_estimate(pt_over_none_est[f]);
		printf("\n");
	}

	printf("\n");
	for (int c = MEDIATE; c < CONFIGS && !control; c++) {
		printf("%-13s / stock, pread/pwrite path: %.3f [%.3f, %.3f], target <= %.2f: %s\n",
		       configs[c].name, est[c][RW_PATH].median,
		       est[c][RW_PATH].low, est[c][RW_PATH].high,
		       configs[c].target_rw,
		       verdict(est[c][RW_PATH], configs[c].target_rw));
		printf("%-13s / stock, mmap path:         %.3f [%.3f, %.3f], target <= %.2f: %s\n",
		       configs[c].name, est[c][MMAP_PATH].median,
		       est[c][MMAP_PATH].low, est[c][MMAP_PATH].high,
		       configs[c].target_mmap,
		       verdict(est[c][MMAP_PATH], configs[c].target_mmap));
	}
	return 0;
}
