// SPDX-License-Identifier: GPL-2.0
/*
 * Mediate ops under load: eight threads doing mixed accesses on one
 * mediated device (every kind of interception plus passthrough) for ten
 * seconds, and a hundred rounds of loading and unloading the mediator
 * module while another process keeps opening and closing devices.
 * Neither may see an error, and neither may make the kernel log anything.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "vfio_dev.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define CONFIG VFIO_PCI_CONFIG_REGION_INDEX
#define REGION VFIO_PCI_NUM_REGIONS

#define RW_THREADS 8
#define RW_SECONDS 10
#define SLICE 64
#define LOAD_ROUNDS 100
#define UNLOAD_WAIT_MS 10000
#define OPENER_PAUSE_US 2000

/* --- eight threads of mixed rw ------------------------------------------ */

struct rw_shared {
	const struct vfio_dev *dev;
	uint64_t deadline_ms;
	atomic_long ops;
	atomic_long kind_ops[8];
	atomic_long errors;
	atomic_flag reported;
};

struct rw_thread {
	struct rw_shared *shared;
	unsigned int nr;
};

static void rw_error(struct rw_shared *s, unsigned int t, unsigned long i,
		     const char *what, long got)
{
	atomic_fetch_add(&s->errors, 1);
	if (!atomic_flag_test_and_set(&s->reported))
		test_log("thread %u, access %lu: %s (got %ld)", t, i, what,
			 got);
}

/* One access of kind i % 8; a wrong result counts as an error. */
static void rw_once(struct rw_shared *s, unsigned int t, unsigned long i)
{
	const struct vfio_dev *dev = s->dev;
	unsigned char buf[16];
	uint64_t value, back = 0;
	uint32_t word = 0;
	long n;

	atomic_fetch_add(&s->kind_ops[i % 8], 1);
	switch (i % 8) {
	case 0: /* the BAR helper */
		n = vfio_region_read(dev, BAR0, EDU_REG_ID, &word, 4);
		if (n != 4 || word != EDU_ID_VALUE)
			rw_error(s, t, i, "id through the BAR helper", n);
		break;
	case 1: /* shadow */
		n = vfio_region_read(dev, BAR0, 0x100 + t * 16, buf, 16);
		if (n != 16 || buf[0] != 0x5c || buf[15] != 0x5c)
			rw_error(s, t, i, "shadow read", n);
		break;
	case 2: /* swallowed */
		n = vfio_region_write(dev, BAR0, 0x200 + t * 4, &i, 4);
		if (n != 4)
			rw_error(s, t, i, "swallowed write", n);
		break;
	case 3: /* recorded */
		n = vfio_region_write(dev, BAR0, 0x300 + t * 4, &i, 4);
		if (n != 4)
			rw_error(s, t, i, "recorded write", n);
		break;
	case 4: /* device-specific region, this thread's slice */
		value = ((uint64_t)t << 56) | i;
		n = vfio_region_write(dev, REGION, t * SLICE + (i / 8 % 8) * 8,
				      &value, 8);
		if (n == 8)
			n = vfio_region_read(dev, REGION,
					     t * SLICE + (i / 8 % 8) * 8,
					     &back, 8);
		if (n != 8 || back != value)
			rw_error(s, t, i, "region write and read back", n);
		break;
	case 5: /* config space, passed through */
		n = vfio_region_read(dev, CONFIG, 0, &word, 4);
		if (n != 4 || word != ((uint32_t)DEVICE_QEMU_EDU << 16 |
				       VENDOR_QEMU_EDU))
			rw_error(s, t, i, "config ids", n);
		break;
	case 6: /* BAR0 outside any rule, passed through */
		n = vfio_region_read(dev, BAR0, EDU_REG_LIVENESS, &word, 4);
		if (n != 4)
			rw_error(s, t, i, "liveness read", n);
		break;
	default: /* a refused straddle, which must stay an error */
		n = vfio_region_read(dev, BAR0, 0x1f8, buf, 16);
		if (n != -EINVAL)
			rw_error(s, t, i, "straddling read not refused", n);
		break;
	}
}

static void *rw_thread_main(void *arg)
{
	struct rw_thread *self = arg;
	struct rw_shared *s = self->shared;
	unsigned long i = self->nr;

	while (mt_now_ms() < s->deadline_ms) {
		for (int k = 0; k < 64; k++, i++)
			rw_once(s, self->nr, i);
		atomic_fetch_add(&s->ops, 64);
	}
	return NULL;
}

TEST_NAMED(rw_8_threads_10s, "stress.rw_8_threads_10s", 90)
{
	struct rw_thread threads[RW_THREADS];
	pthread_t ids[RW_THREADS];
	struct rw_shared shared = { .reported = ATOMIC_FLAG_INIT };
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *dev;
	struct mt_handle h;
	long mediated, records;
	char writes[8192];
	uint64_t mark;

	mt_setup_edu(bdf, "");
	mt_register(1, true);
	mt_write(1, "accept", "%s", bdf);
	mt_write(1, "rules", "kernel 0 0x0 0x4\n"
			   "shadow 0 0x100 0x100 0x5c\n"
			   "write 0 0x200 0x100 swallow\n"
			   "write 0 0x300 0x100 record\n"
			   "region 0x80001234 7 0x1000\n");
	dev = lab_open(bdf);
	mt_expect_mediator(bdf, "test1");

	mark = kmsg_mark();
	shared.dev = dev;
	shared.deadline_ms = mt_now_ms() + RW_SECONDS * 1000;
	for (unsigned int t = 0; t < RW_THREADS; t++) {
		threads[t] = (struct rw_thread){ .shared = &shared, .nr = t };
		ASSERT_EQ(pthread_create(&ids[t], NULL, rw_thread_main,
					 &threads[t]), 0);
	}
	for (unsigned int t = 0; t < RW_THREADS; t++)
		ASSERT_EQ(pthread_join(ids[t], NULL), 0);

	test_log("%ld accesses by %d threads in %d s", atomic_load(&shared.ops),
		 RW_THREADS, RW_SECONDS);
	ASSERT_EQ(atomic_load(&shared.errors), 0);
	ASSERT_GT(atomic_load(&shared.ops), RW_THREADS * 64);
	/* Each BAR0 and config access reached the mediator exactly once. */
	mediated = 0;
	for (int k = 0; k < 8; k++)
		if (k != 4)
			mediated += atomic_load(&shared.kind_ops[k]);
	ASSERT_EQ(mt_handles(1, &h, 1), 1);
	ASSERT_EQ(h.rw, mediated);
	/* Every recorded write is kept or counted as dropped. */
	records = 0;
	ASSERT_OK(mt_read(1, "writes", writes, sizeof(writes)));
	for (const char *c = writes; *c; c++)
		records += *c == '\n';
	ASSERT_EQ(records, 64);
	ASSERT_EQ(records + mt_stat(1, "records_dropped"),
		  atomic_load(&shared.kind_ops[3]));
	ASSERT_EQ(kmsg_count_since(mark, NULL, NULL), 0);
	mt_check_edu_id(dev);
	lab_close(dev);
	ASSERT_EQ(mt_stat(1, "releases"), 1);
	ASSERT_EQ(mt_stat(1, "region_releases"), 1);
}

/* --- loading and unloading while devices open and close ------------------ */

struct opener_result {
	atomic_bool stop;
	atomic_long opens;
	atomic_long served;
	atomic_long errors;
	char first_error[256];
};

/*
 * The other process: opens and closes both devices until told to stop.
 * It pauses between opens: each open and close switches the device's
 * memory decode, which makes QEMU 7.2's TCG rebuild its memory map, and
 * at full speed that, racing with the IPIs of module unload, has been
 * seen to send a vCPU's xAPIC ICR write astray ("vtd_mem_write: MMIO
 * over range: addr=0x300") and hang the guest in a TLB shootdown.
 */
static int opener_main(struct opener_result *r, char bdfs[2][PCI_BDF_LEN])
{
	for (unsigned long i = 0; !atomic_load(&r->stop); i++) {
		const char *bdf = bdfs[i % 2];
		char mediator[MT_NAME_LEN] = "";
		struct vfio_dev dev;
		uint32_t id = 0;
		int ret = vfio_dev_open(&dev, bdf);

		if (ret == 0) {
			ret = vfio_region_read32(&dev, BAR0, EDU_REG_ID, &id);
			if (ret == 0 && id != EDU_ID_VALUE)
				ret = -EIO;
			if (ret == 0)
				ret = pci_read_attr(bdf, "mediator", mediator,
						    sizeof(mediator));
			vfio_dev_close(&dev);
		}
		if (ret < 0) {
			if (atomic_fetch_add(&r->errors, 1) == 0)
				snprintf(r->first_error,
					 sizeof(r->first_error),
					 "open %lu of %s: %s (id 0x%x)", i, bdf,
					 strerror(-ret), id);
			continue;
		}
		usleep(OPENER_PAUSE_US);
		atomic_fetch_add(&r->opens, 1);
		if (strcmp(mediator, "test0") == 0)
			atomic_fetch_add(&r->served, 1);
		else if (strcmp(mediator, "none") != 0 &&
			 atomic_fetch_add(&r->errors, 1) == 0)
			snprintf(r->first_error, sizeof(r->first_error),
				 "%s served by \"%s\"", bdf, mediator);
	}
	return 0;
}

static int stop_opener(void *arg)
{
	atomic_store(&((struct opener_result *)arg)->stop, true);
	return 0;
}

/* Unloads, retrying while in use; returns how many tries were refused. */
static long unload_retrying(void)
{
	uint64_t deadline = mt_now_ms() + UNLOAD_WAIT_MS;
	long refused = 0;
	int ret;

	while ((ret = mt_module_unload()) != 0) {
		if (ret != -EAGAIN && ret != -EBUSY)
			FAIL("unloading %s: %s", MT_MODULE, strerror(-ret));
		if (mt_now_ms() > deadline)
			FAIL("%s still in use after %d ms", MT_MODULE,
			     UNLOAD_WAIT_MS);
		refused++;
		usleep(1000);
	}
	return refused;
}

TEST_NAMED(load_unload_100_rounds, "stress.load_unload_100_rounds", 300)
{
	char bdfs[2][PCI_BDF_LEN];
	struct opener_result *r;
	long refused = 0, refused_rounds = 0;
	uint64_t mark, start;
	pid_t opener;
	int status;

	lab_require();
	mt_find_two_edu(bdfs[0], bdfs[1]);
	mt_bind_mediate(bdfs[0]);
	mt_bind_mediate(bdfs[1]);
	ASSERT_FALSE(mt_module_loaded());
	mt_unload_at_end();

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(r != MAP_FAILED);
	memset(r, 0, sizeof(*r));
	mark = kmsg_mark();
	fflush(stdout);
	opener = fork();
	ASSERT_OK(opener);
	if (opener == 0) {
		mt_close_inherited_fds(-1);
		_exit(opener_main(r, bdfs));
	}
	mt_kill_at_end(opener);
	test_add_cleanup(stop_opener, r, "stop the opener");

	start = mt_now_ms();
	for (int round = 0; round < LOAD_ROUNDS; round++) {
		long n;

		/* test0 registered at load, serving every device. */
		ASSERT_OK(mt_module_load("autoaccept=1"));
		usleep((useconds_t)(round % 10) * 2000);
		n = unload_retrying();
		refused += n;
		refused_rounds += n > 0;
		ASSERT_FALSE(mt_module_loaded());
	}
	atomic_store(&r->stop, true);
	status = 0;
	ASSERT_EQ(waitpid(opener, &status, 0), opener);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	test_log("%d rounds in %llu ms: %ld unloads refused while in use (in %ld rounds), %ld unloads succeeded",
		 LOAD_ROUNDS, (unsigned long long)(mt_now_ms() - start),
		 refused, refused_rounds, (long)LOAD_ROUNDS);
	test_log("opener: %ld opens, %ld served by test0, %ld errors",
		 atomic_load(&r->opens), atomic_load(&r->served),
		 atomic_load(&r->errors));
	if (atomic_load(&r->errors))
		FAIL("opener: %s", r->first_error);
	ASSERT_GT(atomic_load(&r->opens), LOAD_ROUNDS / 10);
	ASSERT_GT(atomic_load(&r->served), 0);
	ASSERT_EQ(kmsg_count_since(mark, "WARNING", NULL), 0);
	ASSERT_EQ(kmsg_count_since(mark, "BUG", NULL), 0);
}
