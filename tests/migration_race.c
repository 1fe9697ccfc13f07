// SPDX-License-Identifier: GPL-2.0
/*
 * Races on the v2 migration uAPI of vfio-pci-mediate: one thread moves a
 * device served by the migrating test mediator between states (every
 * target, resets now and then) while another reads, writes and closes the
 * data fds the state changes hand out; then the device fd is closed while
 * a data fd is still being read.  Nothing may crash or hang (the harness
 * times the test out), every call may fail only with an errno that makes
 * sense for a lost race, the framework must never call the mediator out of
 * order, the device must work afterwards, and the lab's dmesg check (run
 * after every lab command) must stay clean.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

/* At least RACE_MS, longer (to RACE_MAX_MS) until both sides met often. */
#define RACE_MS 3000
#define RACE_MAX_MS 15000
#define RACE_MIN_OK 50
#define STATE_SIZE (256u << 10)
#define MAX_ERRNO_SEEN 256

enum op { OP_SET, OP_RESET, OP_READ, OP_WRITE, OP_COUNT };

static const char *const op_names[OP_COUNT] = { "set state", "reset",
						 "read", "write" };

struct race {
	struct vfmig_device *dev;
	struct mg_buf good;		/* a good stream, for resuming fds */
	atomic_int slot;		/* a data fd for the reader, or -1 */
	atomic_bool stop_changer;
	atomic_bool stop_reader;
	/* Calls and their outcomes: [op][0] successes, [op][errno]. */
	atomic_long seen[OP_COUNT][MAX_ERRNO_SEEN];
	atomic_long bytes_read;
	atomic_int unexpected_op;	/* -1 none */
	atomic_int unexpected_errno;
};

/* Errnos a lost race may give, per operation. */
static bool expected(enum op op, int err)
{
	switch (op) {
	case OP_SET:
		/* Unreachable target, or a stream left unfinished/garbled. */
		return err == EINVAL || err == ENODATA || err == EPROTO ||
		       err == EPROTONOSUPPORT || err == ENODEV ||
		       err == EFBIG || err == EBADMSG;
	case OP_RESET:
		return false;
	case OP_READ:
		/*
		 * Nothing now (PRE_COPY), the session is over, or a resuming
		 * fd (write only).
		 */
		return err == ENOMSG || err == EINVAL || err == ENODEV ||
		       err == EBADF;
	case OP_WRITE:
		/* A saving fd (read only), the session is over, refused. */
		return err == EBADF || err == EINVAL || err == ENODEV ||
		       err == EPROTO || err == EPROTONOSUPPORT ||
		       err == EFBIG || err == EBADMSG || err == ENODATA;
	default:
		return false;
	}
}

static void count(struct race *r, enum op op, int err)
{
	atomic_fetch_add(&r->seen[op][err < MAX_ERRNO_SEEN ? err : 0], 1);
	if (err && !expected(op, err) &&
	    atomic_load(&r->unexpected_op) < 0) {
		atomic_store(&r->unexpected_errno, err);
		atomic_store(&r->unexpected_op, (int)op);
	}
}

/* Hands fd to the reader, closing one it has not taken yet. */
static void publish(struct race *r, int fd)
{
	int old = atomic_exchange(&r->slot, fd);

	if (old >= 0)
		close(old);
}

static void *changer(void *arg)
{
	static const enum vfmig_state targets[] = {
		VFMIG_STATE_RUNNING, VFMIG_STATE_STOP, VFMIG_STATE_STOP_COPY,
		VFMIG_STATE_PRE_COPY, VFMIG_STATE_PRE_COPY_P2P,
		VFMIG_STATE_RUNNING_P2P, VFMIG_STATE_RESUMING,
		VFMIG_STATE_STOP_COPY, VFMIG_STATE_STOP,
	};
	struct race *r = arg;
	unsigned int seed = 1;
	enum vfmig_state state;
	int fd, ret;

	while (!atomic_load(&r->stop_changer)) {
		enum vfmig_state t = targets[rand_r(&seed) %
					     (sizeof(targets) /
					      sizeof(targets[0]))];

		if (rand_r(&seed) % 16 == 0) {
			ret = vfmig_reset(r->dev);
			count(r, OP_RESET, -ret);
			continue;
		}
		ret = vfmig_mig_set_state_raw(r->dev, t, &fd);
		count(r, OP_SET, -ret);
		if (!ret && fd >= 0)
			publish(r, fd);
		/* A failed arc leaves ERROR: only a reset gets out. */
		if (ret && !vfmig_mig_get_state(r->dev, &state) &&
		    state == VFMIG_STATE_ERROR) {
			ret = vfmig_reset(r->dev);
			count(r, OP_RESET, -ret);
		}
	}
	return NULL;
}

/* Uses one data fd: reads (or writes a stream) a while, then closes it. */
static void use_fd(struct race *r, int fd, unsigned int *seed)
{
	uint8_t buf[8192];
	int rounds = 1 + (int)(rand_r(seed) % 32);
	size_t pos = 0;
	ssize_t n;

	for (int i = 0; i < rounds && !atomic_load(&r->stop_reader); i++) {
		n = read(fd, buf, 1 + rand_r(seed) % sizeof(buf));
		if (n >= 0) {
			count(r, OP_READ, 0);
			atomic_fetch_add(&r->bytes_read, n);
			if (n == 0)
				break;
			continue;
		}
		count(r, OP_READ, errno);
		if (errno != EBADF && errno != EINVAL)
			continue;
		/* A resuming fd: feed it the good stream, in pieces. */
		if (pos >= r->good.len)
			break;
		n = write(fd, r->good.data + pos,
			  1 + rand_r(seed) % (r->good.len - pos));
		count(r, OP_WRITE, n < 0 ? errno : 0);
		if (n > 0)
			pos += (size_t)n;
	}
	close(fd);
}

static void *reader(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 2;

	while (!atomic_load(&r->stop_reader)) {
		int fd = atomic_exchange(&r->slot, -1);

		if (fd < 0) {
			sched_yield();
			continue;
		}
		use_fd(r, fd, &seed);
	}
	return NULL;
}

static void report(struct race *r)
{
	for (int op = 0; op < OP_COUNT; op++) {
		char line[512];
		size_t used = 0;

		for (int e = 0; e < MAX_ERRNO_SEEN; e++) {
			long n = atomic_load(&r->seen[op][e]);

			if (n && used < sizeof(line))
				used += snprintf(line + used,
						 sizeof(line) - used, " %s:%ld",
						 e ? strerror(e) : "ok", n);
		}
		test_log("%s:%s", op_names[op], used ? line : " none");
	}
	test_log("bytes read: %ld", atomic_load(&r->bytes_read));
}

static void check(struct race *r)
{
	int op = atomic_load(&r->unexpected_op);

	report(r);
	if (op >= 0)
		FAIL("%s failed with %s, which no race explains",
		     op_names[op], strerror(atomic_load(&r->unexpected_errno)));
	/* The threads really ran into each other. */
	ASSERT_GT(atomic_load(&r->seen[OP_SET][0]), RACE_MIN_OK);
	ASSERT_GT(atomic_load(&r->seen[OP_READ][0]), RACE_MIN_OK);
	ASSERT_GT(atomic_load(&r->bytes_read), 0);
}

static struct race *race_new(struct vfmig_device *dev)
{
	struct race *r = calloc(1, sizeof(*r));

	ASSERT_TRUE(r != NULL);
	r->dev = dev;
	atomic_init(&r->slot, -1);
	atomic_init(&r->unexpected_op, -1);
	return r;
}

TEST_NAMED(states_vs_data, "race.states_vs_data_fd", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev, *dst;
	pthread_t t1, t2;
	struct race *r;
	int fd;

	mg_setup_two_edu(a, b);
	mg_state_size(STATE_SIZE);
	dev = mg_open(a);
	r = race_new(dev);
	mg_save(dev, &r->good, false);
	mg_to_running(dev);

	ASSERT_EQ(pthread_create(&t1, NULL, changer, r), 0);
	ASSERT_EQ(pthread_create(&t2, NULL, reader, r), 0);
	/* A slow or busy machine needs longer for as many meetings. */
	mt_sleep_ms(RACE_MS);
	for (int ms = RACE_MS; ms < RACE_MAX_MS &&
	     (atomic_load(&r->seen[OP_SET][0]) <= RACE_MIN_OK ||
	      atomic_load(&r->seen[OP_READ][0]) <= RACE_MIN_OK); ms += 100)
		mt_sleep_ms(100);
	atomic_store(&r->stop_changer, true);
	ASSERT_EQ(pthread_join(t1, NULL), 0);
	atomic_store(&r->stop_reader, true);
	ASSERT_EQ(pthread_join(t2, NULL), 0);
	fd = atomic_exchange(&r->slot, -1);
	if (fd >= 0)
		close(fd);
	check(r);

	/* The device works: reset, then a round trip into edu#2. */
	MG_OK(dev, vfmig_reset(dev));
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_expect_no_violations(a);
	mg_ctl(a, "seed 31");
	mg_buf_free(&r->good);
	mg_save(dev, &r->good, true);
	dst = mg_open(b);
	MG_OK(dst, mg_load(dst, r->good.data, r->good.len, NULL));
	ASSERT_EQ(mg_digest(b), mg_digest(a));
	mg_to_running(dev);
	mg_to_running(dst);
	mg_expect_no_violations(b);
	mg_buf_free(&r->good);
	free(r);
}

/* The device fd closes while the other thread still reads a data fd. */
TEST_NAMED(close_vs_read, "race.close_vs_read", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	pthread_t t2;
	struct race *r;
	struct mg_dev d;
	int fd, round;

	mg_setup_two_edu(a, b);
	mg_state_size(STATE_SIZE);
	for (round = 0; round < 20; round++) {
		dev = mg_open(a);
		r = race_new(dev);
		MG_OK(dev, vfmig_mig_set_state(dev, round % 2 ?
					       VFMIG_STATE_PRE_COPY :
					       VFMIG_STATE_STOP_COPY));
		fd = vfmig_mig_take_data_fd(dev);
		MG_OK(dev, fd);
		publish(r, fd);
		ASSERT_EQ(pthread_create(&t2, NULL, reader, r), 0);
		mt_sleep_ms(round % 5);
		mg_close(dev);
		atomic_store(&r->stop_reader, true);
		ASSERT_EQ(pthread_join(t2, NULL), 0);
		fd = atomic_exchange(&r->slot, -1);
		if (fd >= 0)
			close(fd);
		report(r);
		if (atomic_load(&r->unexpected_op) >= 0)
			FAIL("round %d: %s failed with %s", round,
			     op_names[atomic_load(&r->unexpected_op)],
			     strerror(atomic_load(&r->unexpected_errno)));
		free(r);
		/* Both fds gone: the mediator has let go of the device. */
		for (int i = 0; i < 100 && mg_dev_try(a, &d) == 0; i++)
			mt_sleep_ms(10);
		ASSERT_EQ(mg_dev_try(a, &d), -ENOENT);
	}
	/* And it opens fine, in RUNNING. */
	dev = mg_open(a);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_expect_no_violations(a);
}
