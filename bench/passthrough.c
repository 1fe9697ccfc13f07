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
 * Both lab edu devices are open at once, one on stock vfio-pci and one in
 * a mediate configuration, and short batches of accesses alternate between
 * them, so that the noise of this machine (TCG in a shared host) falls on
 * both sides alike.  Rounds alternate between the two mediate
 * configurations and swap the devices every other round, so each
 * configuration meets each device.  Each figure is the median over the
 * rounds that measured it; each ratio the median of the per-round ratios
 * against the stock device measured side by side.
 *
 * Runs inside the lab (bench/passthrough boots it and loads the test
 * mediator).  A benchmark: it prints the ratios against the targets and
 * does not fail on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "vfio_dev.h"

#define EDU_REG_ID 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_ID_VALUE 0x010000edu

/* A multiple of 4: both mediate configurations, each way round. */
#define DEFAULT_ROUNDS 16
#define WARMUP_ACCESSES 2000
/* Batches per figure per round, alternating drivers batch by batch. */
#define BATCHES 40
/* Each batch lasts about this long, so cheap mmap accesses are not lost in
 * timer noise while batches stay short against the machine's drift. */
#define BATCH_NS 2e6

#define MEDIATOR_DEBUGFS "/sys/kernel/debug/vfio_pci_mediate_test/test0"
#define MEDIATOR_NAME "test0"

enum access_kind { PREAD_READ, PWRITE_WRITE, MMAP_READ, MMAP_WRITE,
		   ACCESS_KINDS };

static const char *const access_names[ACCESS_KINDS] = {
	"pread  read ", "pwrite write", "mmap   read ", "mmap   write",
};

enum config { STOCK, MEDIATE, MEDIATED_PT, CONFIGS };

static const struct {
	const char *name;
	const char *driver;
	/* Targets for the ratio to stock: pread/pwrite path, mmap path. */
	double target_rw, target_mmap;
} configs[CONFIGS] = {
	[STOCK] = { DRIVER_VFIO_PCI, DRIVER_VFIO_PCI, 1, 1 },
	[MEDIATE] = { "mediate, none", DRIVER_VFIO_PCI_MEDIATE, 1.02, 1.02 },
	[MEDIATED_PT] = { "mediate, pt", DRIVER_VFIO_PCI_MEDIATE, 1.05, 1.01 },
};

struct bench_device {
	struct vfio_dev vfio;
	uint64_t liveness_offset; /* file offset for pread/pwrite */
	volatile uint32_t *bar0;  /* mmap of BAR0 */
	size_t bar0_size;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "passthrough: %s: %s\n", what, strerror(err));
	exit(1);
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : n;
	close(fd);
	return n < 0 ? (int)n : 0;
}

/* Has test0 serve bdf, and only bdf, at its next open, passing through. */
static void mediator_serve(const char *bdf)
{
	int ret = write_text(MEDIATOR_DEBUGFS "/passthrough", "1");

	if (ret == 0)
		ret = write_text(MEDIATOR_DEBUGFS "/accept", bdf);
	if (ret < 0)
		die("configuring the test mediator (" MEDIATOR_DEBUGFS
		    "; is tests/kernel/vfio-pci-mediate-test.ko loaded?)",
		    -ret);
}

/* Passthrough calls test0 counted for bdf's current open, or -1. */
static long mediator_pt_calls(const char *bdf)
{
	char buf[1024], name[PCI_BDF_LEN];
	int fd = open(MEDIATOR_DEBUGFS "/handles", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *line = buf;
	unsigned int id;
	long pt;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
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

static double median(double *values, int count)
{
	qsort(values, count, sizeof(*values), compare_doubles);
	return count % 2 ? values[count / 2] :
			   (values[count / 2 - 1] + values[count / 2]) / 2;
}

static int env_int(const char *name, int fallback)
{
	const char *value = getenv(name);
	int parsed = value ? atoi(value) : 0;

	return parsed > 0 ? parsed : fallback;
}

/* Mean ns per access of one kind on each device (total_ns[driver]),
 * measured in batches that alternate between the two devices. */
static void time_interleaved(struct bench_device devs[2], enum access_kind kind,
			     double total_ns[2])
{
	double warm = time_accesses(&devs[0], kind, WARMUP_ACCESSES);
	int batch = warm > 0 ? (int)(BATCH_NS / warm) : 1000;

	time_accesses(&devs[1], kind, WARMUP_ACCESSES);
	if (batch < 16)
		batch = 16;
	total_ns[0] = total_ns[1] = 0;
	for (int b = 0; b < BATCHES; b++)
		for (int turn = 0; turn < 2; turn++) {
			/* Alternate who goes first, against drift. */
			int d = (b + turn) % 2;

			total_ns[d] += time_accesses(&devs[d], kind, batch);
		}
	total_ns[0] /= BATCHES;
	total_ns[1] /= BATCHES;
}

int main(void)
{
	int rounds = env_int("BENCH_ROUNDS", DEFAULT_ROUNDS);
	/* ns[c][k][r]: round r's figure for config c, kind k (if measured). */
	double *ns[CONFIGS][ACCESS_KINDS];
	/* ratio[c][k][r] to the stock device of the same round; k ==
	 * ACCESS_KINDS: pread+pwrite, ACCESS_KINDS + 1: mmap read+write. */
	double *ratio[CONFIGS][ACCESS_KINDS + 2];
	int measured[CONFIGS] = { 0 };
	long mediated_calls = 0;
	char bdfs[2][PCI_BDF_LEN];
	struct pci_binding saved[2];
	const char *lab = getenv("LAB");
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
	if (rounds < 4)
		rounds = 4;

	for (int c = 0; c < CONFIGS; c++) {
		for (int k = 0; k < ACCESS_KINDS; k++)
			ns[c][k] = calloc(rounds, sizeof(double));
		for (int k = 0; k < ACCESS_KINDS + 2; k++)
			ratio[c][k] = calloc(rounds, sizeof(double));
	}

	for (int i = 0; i < 2; i++) {
		ret = pci_binding_save(bdfs[i], &saved[i]);
		if (ret < 0)
			die("reading the device's driver", -ret);
	}

	printf("# passthrough: edu %s and %s, BAR0+0x%02x, 4-byte accesses; %d rounds,\n"
	       "# stock vfio-pci against one mediate configuration at a time, devices swapped\n"
	       "# every other round, %d alternating batches of ~%.0f ms per figure\n",
	       bdfs[0], bdfs[1], EDU_REG_LIVENESS, rounds, BATCHES,
	       BATCH_NS / 1e6);
	for (int round = 0; round < rounds; round++) {
		/* This round: stock against cfg, stock on bdfs[swap]. */
		enum config cfg = round % 2 ? MEDIATED_PT : MEDIATE;
		int swap = (round / 2) % 2, r;
		enum config side[2] = { STOCK, cfg };
		struct bench_device devs[2];
		double total[ACCESS_KINDS][2];
		long calls;

		/* test0 serves only the mediated-pt device, from its open. */
		mediator_serve(cfg == MEDIATED_PT ? bdfs[1 - swap] : "none");
		for (int d = 0; d < 2; d++) {
			const char *bdf = bdfs[(swap + d) % 2];

			ret = pci_bind(bdf, configs[side[d]].driver);
			if (ret < 0)
				die(configs[side[d]].driver, -ret);
			open_device(&devs[d], bdf);
		}
		if (cfg == MEDIATED_PT && mediator_pt_calls(bdfs[1 - swap]) < 0)
			die("test0 does not serve the mediated device", ENODEV);

		for (int k = 0; k < ACCESS_KINDS; k++)
			time_interleaved(devs, k, total[k]);

		r = measured[cfg]++;
		for (int k = 0; k < ACCESS_KINDS; k++) {
			ns[STOCK][k][measured[STOCK]] = total[k][0];
			ns[cfg][k][r] = total[k][1];
			ratio[cfg][k][r] = total[k][1] / total[k][0];
		}
		measured[STOCK]++;
		ratio[cfg][ACCESS_KINDS][r] =
			(total[PREAD_READ][1] + total[PWRITE_WRITE][1]) /
			(total[PREAD_READ][0] + total[PWRITE_WRITE][0]);
		ratio[cfg][ACCESS_KINDS + 1][r] =
			(total[MMAP_READ][1] + total[MMAP_WRITE][1]) /
			(total[MMAP_READ][0] + total[MMAP_WRITE][0]);

		if (cfg == MEDIATED_PT) {
			calls = mediator_pt_calls(bdfs[1 - swap]);
			if (calls <= 0)
				die("test0 saw no call for the mediated device",
				    EIO);
			mediated_calls += calls;
		}
		for (int d = 0; d < 2; d++)
			close_device(&devs[d]);
	}
	mediator_serve("none");
	for (int i = 0; i < 2; i++) {
		ret = pci_binding_restore(&saved[i]);
		if (ret < 0)
			die("restoring the device's driver", -ret);
	}

	printf("# the pt mediator's callbacks ran %ld times (each pread and pwrite, approximately)\n",
	       mediated_calls);
	printf("%-14s %12s %14s %8s %14s %8s\n", "ns per access",
	       configs[STOCK].name, configs[MEDIATE].name, "ratio",
	       configs[MEDIATED_PT].name, "ratio");
	for (int k = 0; k < ACCESS_KINDS; k++)
		printf("%-14s %12.1f %14.1f %8.3f %14.1f %8.3f\n",
		       access_names[k],
		       median(ns[STOCK][k], measured[STOCK]),
		       median(ns[MEDIATE][k], measured[MEDIATE]),
		       median(ratio[MEDIATE][k], measured[MEDIATE]),
		       median(ns[MEDIATED_PT][k], measured[MEDIATED_PT]),
		       median(ratio[MEDIATED_PT][k], measured[MEDIATED_PT]));

	for (int c = MEDIATE; c < CONFIGS; c++) {
		double rw = median(ratio[c][ACCESS_KINDS], measured[c]);
		double map = median(ratio[c][ACCESS_KINDS + 1], measured[c]);

		printf("ratio %-13s/stock, pread/pwrite path: %.3f (target <= %.2f: %s)\n",
		       configs[c].name, rw, configs[c].target_rw,
		       rw <= configs[c].target_rw ? "met" : "NOT met");
		printf("ratio %-13s/stock, mmap path:         %.3f (target <= %.2f: %s)\n",
		       configs[c].name, map, configs[c].target_mmap,
		       map <= configs[c].target_mmap ? "met" : "NOT met");
	}
	return 0;
}
