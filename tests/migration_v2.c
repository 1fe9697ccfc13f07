// SPDX-License-Identifier: GPL-2.0
/*
 * The v2 migration uAPI (VFIO_DEVICE_FEATURE_MIGRATION) of
 * vfio-pci-mediate, driven through libvfmig against the migrating test
 * mediator (tests/kernel/mig_test.c), whose call log shows what the
 * framework asked of it on each arc: the feature flags, every arc of the
 * state machine with P2P and PRE_COPY, refused targets, PRECOPY_INFO and
 * MIG_DATA_SIZE against the bytes then read, a round trip between the two
 * edu devices, failures injected into the mediator and recovery by reset,
 * and the exclusion of the v1 region while v2 drives the device.
 *
 * Each test loads the mediator module itself, unloads it at the end, and
 * puts its devices back on their drivers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

#define ALL_FLAGS (VFMIG_MIG_STOP_COPY | VFMIG_MIG_P2P | VFMIG_MIG_PRE_COPY)
#define STATE_SIZE (64u << 10)
#define PRECOPY_SIZE (16u << 10)
/* What the test mediator's ->save() adds to its buffer: header, segment. */
#define MGT_OVERHEAD 32u

/* --- helpers ------------------------------------------------------------- */

/*
 * SET MIG_DEVICE_STATE by hand, for values libvfmig has no name for: 0 or
 * -errno; *data_fd gets the fd the kernel returned, or -1.
 */
static int raw_set_state(struct vfmig_device *dev, uint32_t state,
			 int *data_fd)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) +
		      sizeof(struct vfio_device_feature_mig_state) + 7) / 8];
	struct vfio_device_feature *f = (void *)buf;
	struct vfio_device_feature_mig_state *ms = (void *)f->data;

	memset(buf, 0, sizeof(buf));
	f->argsz = sizeof(buf);
	f->flags = VFIO_DEVICE_FEATURE_SET |
		   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	ms->device_state = state;
	ms->data_fd = -1;
	*data_fd = -1;
	if (ioctl(vfmig_device_fd(dev), VFIO_DEVICE_FEATURE, f) < 0)
		return -errno;
	*data_fd = ms->data_fd;
	return 0;
}

/* Opens bdf and empties the call log of what opening it logged. */
static struct vfmig_device *open_quiet(const char *bdf)
{
	struct vfmig_device *dev = mg_open(bdf);

	free(mg_log_take());
	return dev;
}

static void write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0)
			FAIL("write of %zu bytes to the data fd: %s",
			     len - done, strerror(errno));
		ASSERT_GT(n, 0);
		done += (size_t)n;
	}
}

/* A saved stream of device bdf (opened, saved, left RUNNING). */
static void stream_of(const char *bdf, uint64_t seed, struct mg_buf *out)
{
	struct vfmig_device *dev = mg_open(bdf);

	mg_ctl(bdf, "seed %llu", (unsigned long long)seed);
	mg_save(dev, out, false);
	mg_to_running(dev);
	mg_close(dev);
	free(mg_log_take());
}

static void expect_stream_identity(const struct mg_buf *s, const char *name,
				   uint16_t vendor, uint16_t device)
{
	const struct vfio_pci_mediate_stream_header *h = (void *)s->data;
	char got[VFIO_PCI_MEDIATE_NAME_LEN + 1] = { 0 };

	ASSERT_GE(s->len, sizeof(*h));
	memcpy(got, h->mediator, VFIO_PCI_MEDIATE_NAME_LEN);
	if (strcmp(got, name) != 0)
		FAIL("stream names mediator \"%s\", expected \"%s\"", got,
		     name);
	ASSERT_EQ(mg_get_le((const uint8_t *)&h->vendor, 2), vendor);
	ASSERT_EQ(mg_get_le((const uint8_t *)&h->device, 2), device);
	ASSERT_EQ(mg_get_le((const uint8_t *)&h->reserved, 8), 0);
}

static void expect_str(const char *got, const char *want, const char *what)
{
	if (strcmp(got, want) != 0)
		FAIL("%s is %s, expected %s", what, got, want);
}

/* --- feature flags --------------------------------------------------------- */

TEST_NAMED(flags, "v2.flags", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	uint64_t flags = 0;

	mg_setup_two_edu(a, b);
	dev = mg_open(a);
	mt_expect_mediator(a, MG_MIGTEST);
	MG_OK(dev, vfmig_mig_flags(dev, &flags));
	ASSERT_EQ(flags, ALL_FLAGS);
	/* The mediator has a reset: the device offers one although edu has none. */
	ASSERT_TRUE(vfmig_reset_supported(dev));
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_expect_no_violations(a);
}

/* Without a migrating mediator: no v2 feature, no MIG_DATA_SIZE, no v1. */
static void expect_no_migration(const char *bdf, const char *mediator)
{
	struct vfmig_device *dev = mg_open(bdf);
	uint64_t flags = 0, size = 0;
	enum vfmig_state state;

	mt_expect_mediator(bdf, mediator);
	ASSERT_EQ(vfmig_mig_flags(dev, &flags), -ENOTTY);
	ASSERT_EQ(vfmig_mig_data_size(dev, &size), -ENOTTY);
	ASSERT_EQ(vfmig_mig_get_state(dev, &state), -ENOTTY);
	ASSERT_EQ(vfmig_region_find(dev, VFMIG_REGION_TYPE_MIGRATION,
				    VFMIG_REGION_SUBTYPE_MIGRATION), -ENOENT);
	/* edu has no reset of its own and these mediators add none. */
	ASSERT_FALSE(vfmig_reset_supported(dev));
	mg_close(dev);
}

TEST_NAMED(no_migration, "v2.no_migration", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];

	mg_setup_two_edu(a, b);
	mg_accept(MG_A, "none");
	expect_no_migration(a, "none");
	mg_accept(MG_PLAIN, a);
	expect_no_migration(a, MG_MIGTEST_PLAIN);
}

/* --- arcs ------------------------------------------------------------------ */

struct arc {
	enum vfmig_state to;
	bool data_fd;		/* the arc returns a new data fd */
	const char *calls[2];	/* the mediator calls it makes, NULL-ended */
};

/*
 * A walk over every arc of the uAPI's state machine with P2P and PRE_COPY,
 * from RUNNING back to RUNNING.  At RESUMING the test writes a good stream
 * (its load shows up on the arc out of RESUMING).
 */
static const struct arc walk[] = {
	{ VFMIG_STATE_RUNNING_P2P, false, { "set_run_state(QUIESCED)" } },
	{ VFMIG_STATE_STOP, false, { "set_run_state(STOPPED)" } },
	{ VFMIG_STATE_STOP_COPY, true, { "save_start(live=0)" } },
	{ VFMIG_STATE_STOP, false, { "save_end" } },
	{ VFMIG_STATE_RESUMING, true, { NULL } },
	{ VFMIG_STATE_STOP, false, { "load" } },
	{ VFMIG_STATE_RUNNING_P2P, false, { "set_run_state(QUIESCED)" } },
	{ VFMIG_STATE_PRE_COPY_P2P, true, { "save_start(live=1)" } },
	{ VFMIG_STATE_PRE_COPY, false, { "set_run_state(RUNNING)" } },
	{ VFMIG_STATE_PRE_COPY_P2P, false, { "set_run_state(QUIESCED)" } },
	{ VFMIG_STATE_RUNNING_P2P, false, { "save_end" } },
	{ VFMIG_STATE_RUNNING, false, { "set_run_state(RUNNING)" } },
	{ VFMIG_STATE_PRE_COPY, true, { "save_start(live=1)" } },
	{ VFMIG_STATE_RUNNING, false, { "save_end" } },
	{ VFMIG_STATE_PRE_COPY, true, { "save_start(live=1)" } },
	{ VFMIG_STATE_PRE_COPY_P2P, false, { "set_run_state(QUIESCED)" } },
	/* The pre-copy fd carries on: no new one. */
	{ VFMIG_STATE_STOP_COPY, false, { "set_run_state(STOPPED)" } },
	{ VFMIG_STATE_STOP, false, { "save_end" } },
	{ VFMIG_STATE_RUNNING_P2P, false, { "set_run_state(QUIESCED)" } },
	{ VFMIG_STATE_RUNNING, false, { "set_run_state(RUNNING)" } },
};

TEST_NAMED(arcs, "v2.arcs", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN], load_call[64];
	struct mg_buf stream = { 0 };
	struct mg_stream layout;
	struct vfmig_device *dev;
	enum vfmig_state cur = VFMIG_STATE_RUNNING;
	int fd = -1;

	mg_setup_two_edu(a, b);
	stream_of(b, 5, &stream);
	mg_stream_parse(stream.data, stream.len, &layout);
	snprintf(load_call, sizeof(load_call), "load(%llu)",
		 (unsigned long long)layout.state_length);

	dev = open_quiet(a);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	for (size_t i = 0; i < sizeof(walk) / sizeof(walk[0]); i++) {
		const struct arc *arc = &walk[i];
		const char *want[3] = { arc->calls[0], NULL, NULL };
		struct mg_log *log;
		int new_fd, ret;

		test_log("arc %s -> %s", vfmig_state_name(cur),
			 vfmig_state_name(arc->to));
		if (cur == VFMIG_STATE_RESUMING) {
			ASSERT_GE(fd, 0);
			write_all(fd, stream.data, stream.len);
		}
		ret = vfmig_mig_set_state_raw(dev, arc->to, &new_fd);
		if (ret < 0)
			FAIL("%s -> %s: %s (%s)", vfmig_state_name(cur),
			     vfmig_state_name(arc->to), strerror(-ret),
			     vfmig_strerror(dev));
		mg_expect_state(dev, arc->to);
		if (arc->data_fd) {
			if (new_fd < 0)
				FAIL("%s -> %s returned no data fd",
				     vfmig_state_name(cur),
				     vfmig_state_name(arc->to));
			if (fd >= 0)
				close(fd);
			fd = new_fd;
		} else if (new_fd >= 0) {
			close(new_fd);
			FAIL("%s -> %s returned a data fd it should not",
			     vfmig_state_name(cur), vfmig_state_name(arc->to));
		}
		if (want[0] && !strcmp(want[0], "load"))
			want[0] = load_call;
		log = mg_log_take();
		mg_log_expect(log, a, false, want);
		free(log);
		/* The session is over: its fd is done with. */
		if (fd >= 0 && (arc->to == VFMIG_STATE_STOP ||
				arc->to == VFMIG_STATE_RUNNING ||
				arc->to == VFMIG_STATE_RUNNING_P2P)) {
			close(fd);
			fd = -1;
		}
		cur = arc->to;
	}
	ASSERT_EQ(fd, -1);
	mg_expect_no_violations(a);
	mg_buf_free(&stream);
}

/* --- refused targets ------------------------------------------------------ */

static void expect_refused(struct vfmig_device *dev, const char *bdf,
			   uint32_t target, enum vfmig_state stays)
{
	struct mg_log *log;
	int fd, ret;

	ret = raw_set_state(dev, target, &fd);
	if (ret != -EINVAL)
		FAIL("SET MIG_DEVICE_STATE %u from %s gave %s, expected EINVAL",
		     target, vfmig_state_name(stays),
		     ret ? strerror(-ret) : "success");
	ASSERT_EQ(fd, -1);
	mg_expect_state(dev, stays);
	log = mg_log_take();
	mg_log_expect(log, bdf, true, (const char *const[]){ NULL });
	free(log);
}

TEST_NAMED(invalid_targets, "v2.invalid_targets", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	expect_refused(dev, a, 8, VFMIG_STATE_RUNNING);
	expect_refused(dev, a, 0xffffffffu, VFMIG_STATE_RUNNING);
	expect_refused(dev, a, 0x80000002u, VFMIG_STATE_RUNNING);
	/* ERROR is where a failure leaves a device, never a target. */
	expect_refused(dev, a, VFMIG_STATE_ERROR, VFMIG_STATE_RUNNING);

	/* No way leads from STOP_COPY back into pre-copy. */
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY));
	free(mg_log_take());
	expect_refused(dev, a, VFMIG_STATE_PRE_COPY, VFMIG_STATE_STOP_COPY);
	expect_refused(dev, a, VFMIG_STATE_PRE_COPY_P2P,
		       VFMIG_STATE_STOP_COPY);
	expect_refused(dev, a, 8, VFMIG_STATE_STOP_COPY);
	expect_refused(dev, a, VFMIG_STATE_ERROR, VFMIG_STATE_STOP_COPY);
	mg_to_running(dev);
	mg_expect_no_violations(a);
}

/* --- PRE_COPY ------------------------------------------------------------- */

static void precopy_info(struct vfmig_device *dev, uint64_t *initial,
			 uint64_t *dirty)
{
	MG_OK(dev, vfmig_mig_precopy_info(dev, initial, dirty));
	test_log("PRECOPY_INFO initial %llu dirty %llu",
		 (unsigned long long)*initial, (unsigned long long)*dirty);
}

/*
 * PRE_COPY read in chunks of read_size bytes: PRECOPY_INFO and
 * MIG_DATA_SIZE against the bytes then read, ENOMSG when drained, dirtied
 * state, STOP_COPY on the same fd, and the whole stream loaded into edu#2.
 */
static void precopy_case(size_t read_size)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	uint64_t initial0, dirty0, initial, dirty, size, stop_size;
	struct mg_buf stream = { 0 };
	struct mg_stream layout;
	struct vfmig_device *dev, *dst;
	uint8_t *chunk = malloc(read_size);
	size_t pre_bytes = 0, stop_bytes;
	struct mg_log *log;
	ssize_t n;

	ASSERT_TRUE(chunk != NULL);
	mg_setup_two_edu(a, b);
	mg_state_size(STATE_SIZE);
	mg_precopy(PRECOPY_SIZE);
	dev = open_quiet(a);
	mg_ctl(a, "seed 11");

	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_PRE_COPY));
	precopy_info(dev, &initial0, &dirty0);
	/* Nothing has been read, so nothing has changed since. */
	ASSERT_EQ(dirty0, 0);
	/* The pre-copy part, framed: at least the mediator's own bytes. */
	ASSERT_GE(initial0, PRECOPY_SIZE + MGT_OVERHEAD +
			    sizeof(struct vfio_pci_mediate_stream_header));
	MG_OK(dev, vfmig_mig_data_size(dev, &size));
	ASSERT_GE(size, STATE_SIZE - PRECOPY_SIZE);

	/* Each read takes exactly its bytes off initial_bytes. */
	initial = initial0;
	for (;;) {
		uint64_t before = initial;

		n = vfmig_mig_read(dev, chunk, read_size);
		if (n == -ENOMSG)
			break;
		MG_OK(dev, n);
		ASSERT_GT(n, 0);
		stream.data = realloc(stream.data, stream.len + (size_t)n);
		ASSERT_TRUE(stream.data != NULL);
		memcpy(stream.data + stream.len, chunk, (size_t)n);
		stream.len += (size_t)n;
		pre_bytes += (size_t)n;
		precopy_info(dev, &initial, &dirty);
		ASSERT_EQ(initial, before - (uint64_t)n);
	}
	ASSERT_EQ(pre_bytes, initial0);
	ASSERT_EQ(initial, 0);

	/* Drained: both 0 is the temporary end of stream (ENOMSG above). */
	ASSERT_EQ(dirty, 0);
	MG_OK(dev, vfmig_mig_data_size(dev, &size));

	/*
	 * Change the pre-copied part: this mediator sends changed state only
	 * once stopped, so nothing is readable now (PRECOPY_INFO stays 0, as
	 * it counts only that) and MIG_DATA_SIZE grows by the part, framed.
	 */
	mg_ctl(a, "dirty");
	precopy_info(dev, &initial, &dirty);
	ASSERT_EQ(initial, 0);
	ASSERT_EQ(dirty, 0);
	ASSERT_EQ(vfmig_mig_read(dev, chunk, read_size), -ENOMSG);

	MG_OK(dev, vfmig_mig_data_size(dev, &stop_size));
	ASSERT_GE(stop_size, size + PRECOPY_SIZE);
	/* STOP_COPY carries on on the same fd, to the end of the stream. */
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY));
	stop_bytes = mg_read_to_eof(dev, &stream);
	test_log("pre-copy %zu bytes, stop-copy %zu, MIG_DATA_SIZE said %llu",
		 pre_bytes, stop_bytes, (unsigned long long)stop_size);
	ASSERT_EQ(stop_bytes, stop_size);

	mg_stream_parse(stream.data, stream.len, &layout);
	/* The mediator's bytes: live part, the rest, the live part again. */
	ASSERT_EQ(layout.state_length,
		  16 + 16 + PRECOPY_SIZE + 16 + (STATE_SIZE - PRECOPY_SIZE) +
		  16 + PRECOPY_SIZE);
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP));
	log = mg_log_take();
	mg_log_expect(log, a, false, (const char *const[]){
		"save_start(live=1)", "set_run_state(QUIESCED)",
		"set_run_state(STOPPED)", "save_end", NULL });
	ASSERT_EQ(mg_log_saved(log, a), layout.state_length);
	free(log);

	/* The stream, dirtied part and all, rebuilds A in B. */
	dst = open_quiet(b);
	mg_ctl(b, "seed 22");
	ASSERT_NE(mg_digest(a), mg_digest(b));
	MG_OK(dst, mg_load(dst, stream.data, stream.len, NULL));
	ASSERT_EQ(mg_digest(a), mg_digest(b));
	mg_to_running(dev);
	mg_to_running(dst);
	mg_expect_no_violations(a);
	mg_expect_no_violations(b);
	mg_buf_free(&stream);
	free(chunk);
}

/* Reads large enough for the whole pre-copy part at once. */
TEST_NAMED(precopy, "v2.precopy", 120)
{
	precopy_case(64u << 10);
}

/* Reads smaller than the state: the stream must not depend on them. */
TEST_NAMED(precopy_small_reads, "v2.precopy_4k_reads", 120)
{
	precopy_case(4096);
}

/* PRE_COPY_P2P: the same info, and leaving pre-copy ends the session. */
TEST_NAMED(precopy_p2p, "v2.precopy_p2p", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	uint64_t initial, dirty;
	struct vfmig_device *dev;
	uint8_t chunk[1024];

	mg_setup_two_edu(a, b);
	mg_state_size(STATE_SIZE);
	mg_precopy(PRECOPY_SIZE);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_PRE_COPY_P2P));
	precopy_info(dev, &initial, &dirty);
	ASSERT_GE(initial, PRECOPY_SIZE + MGT_OVERHEAD);
	ASSERT_EQ(vfmig_mig_read(dev, chunk, sizeof(chunk)),
		  (ssize_t)sizeof(chunk));
	precopy_info(dev, &initial, &dirty);
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING));
	MG_EXPECT_CALLS(a, "set_run_state(QUIESCED)", "save_start(live=1)",
			"save_end", "set_run_state(RUNNING)", NULL);
	/* PRECOPY_INFO needs a pre-copy state. */
	ASSERT_LT(vfmig_mig_precopy_info(dev, &initial, &dirty), 0);
	mg_expect_no_violations(a);
}

/* --- MIG_DATA_SIZE -------------------------------------------------------- */

/*
 * MIG_DATA_SIZE against the bytes STOP_COPY then gives: the first read
 * takes first_read bytes (0: everything, in 1 MiB reads), and the size
 * must drop by exactly that.
 */
static void data_size_case(size_t first_read)
{
	/* Odd on purpose: no multiple of any chunk or word size. */
	const uint64_t state_size = 100003;
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	uint64_t idle, stopped, partial, after;
	struct mg_buf stream = { 0 };
	struct mg_stream layout;
	struct vfmig_device *dev;
	struct mg_log *log;
	size_t rest;

	mg_setup_two_edu(a, b);
	mg_state_size(state_size);
	dev = open_quiet(a);

	MG_OK(dev, vfmig_mig_data_size(dev, &idle));
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY));
	MG_OK(dev, vfmig_mig_data_size(dev, &stopped));
	test_log("MIG_DATA_SIZE running %llu, in STOP_COPY %llu",
		 (unsigned long long)idle, (unsigned long long)stopped);
	ASSERT_EQ(stopped, idle);

	partial = stopped;
	if (first_read) {
		stream.data = malloc(first_read);
		ASSERT_TRUE(stream.data != NULL);
		ASSERT_EQ(vfmig_mig_read(dev, stream.data, first_read),
			  (ssize_t)first_read);
		stream.len = first_read;
		MG_OK(dev, vfmig_mig_data_size(dev, &partial));
		test_log("after a read of %zu: MIG_DATA_SIZE %llu", first_read,
			 (unsigned long long)partial);
		ASSERT_EQ(partial, stopped - first_read);
	}
	rest = mg_read_to_eof(dev, &stream);
	test_log("read %zu bytes in all", stream.len);
	ASSERT_EQ(rest, partial);
	ASSERT_EQ(stream.len, stopped);
	MG_OK(dev, vfmig_mig_data_size(dev, &after));
	ASSERT_EQ(after, 0);

	mg_stream_parse(stream.data, stream.len, &layout);
	ASSERT_EQ(layout.state_length, MGT_OVERHEAD + state_size);
	ASSERT_EQ(mg_get_le(stream.data + layout.trailer_off + 8, 8),
		  mg_xxh64(stream.data, layout.trailer_off, 0));
	expect_stream_identity(&stream, MG_MIGTEST, VENDOR_QEMU_EDU,
			       DEVICE_QEMU_EDU);

	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP));
	log = mg_log_take();
	mg_log_expect(log, a, false, (const char *const[]){
		"set_run_state(QUIESCED)", "set_run_state(STOPPED)",
		"save_start(live=0)", "save_end", NULL });
	ASSERT_EQ(mg_log_saved(log, a), layout.state_length);
	free(log);
	/* Outside a session: what a whole save would give. */
	MG_OK(dev, vfmig_mig_data_size(dev, &after));
	ASSERT_EQ(after, stopped);
	mg_to_running(dev);
	mg_expect_no_violations(a);
	mg_buf_free(&stream);
}

TEST_NAMED(data_size, "v2.data_size", 120)
{
	data_size_case(0);
}

TEST_NAMED(data_size_partial, "v2.data_size_partial_read", 120)
{
	data_size_case(1000);
}

/* --- round trip ----------------------------------------------------------- */

static void round_trip(uint64_t state_size, bool precopy)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *src, *dst;
	struct mg_buf stream = { 0 };
	struct mg_stream layout;
	struct mg_dev info;
	uint64_t digest_a;
	struct mg_log *log;
	char load_call[64];

	mg_setup_two_edu(a, b);
	mg_state_size(state_size);
	src = open_quiet(a);
	dst = open_quiet(b);
	mg_ctl(a, "seed 42");
	mg_ctl(b, "seed 7");
	digest_a = mg_digest(a);
	ASSERT_NE(digest_a, mg_digest(b));

	mg_save(src, &stream, precopy);
	mg_stream_parse(stream.data, stream.len, &layout);
	log = mg_log_take();
	if (precopy)
		mg_log_expect(log, a, false, (const char *const[]){
			"save_start(live=1)", "set_run_state(QUIESCED)",
			"set_run_state(STOPPED)", "save_end", NULL });
	else
		mg_log_expect(log, a, false, (const char *const[]){
			"set_run_state(QUIESCED)", "set_run_state(STOPPED)",
			"save_start(live=0)", "save_end", NULL });
	ASSERT_EQ(mg_log_saved(log, a), layout.state_length);
	free(log);
	/* Saving does not change the source. */
	ASSERT_EQ(mg_digest(a), digest_a);

	MG_OK(dst, mg_load(dst, stream.data, stream.len, NULL));
	snprintf(load_call, sizeof(load_call), "load(%llu)",
		 (unsigned long long)layout.state_length);
	MG_EXPECT_CALLS(b, "set_run_state(QUIESCED)", "set_run_state(STOPPED)",
			load_call, NULL);
	mg_dev(b, &info);
	ASSERT_TRUE(info.loaded);
	ASSERT_EQ(info.loads, 1);
	ASSERT_EQ(info.size, state_size);
	ASSERT_EQ(info.digest, digest_a);

	mg_to_running(src);
	mg_to_running(dst);
	MG_EXPECT_CALLS(b, "set_run_state(QUIESCED)", "set_run_state(RUNNING)",
			NULL);
	ASSERT_EQ(mg_digest(b), digest_a);
	mg_expect_no_violations(a);
	mg_expect_no_violations(b);
	mg_buf_free(&stream);
}

TEST_NAMED(round_trip_stop_copy, "v2.round_trip", 120)
{
	round_trip(STATE_SIZE, false);
}

TEST_NAMED(round_trip_precopy, "v2.round_trip_precopy", 120)
{
	round_trip(STATE_SIZE, true);
}

TEST_NAMED(round_trip_large, "v2.round_trip_8m", 300)
{
	round_trip(8u << 20, false);
}

/* --- failures and reset --------------------------------------------------- */

struct fault {
	const char *fail;		/* the mediator op that fails */
	enum vfmig_state from;		/* where the device is taken first */
	enum vfmig_state target;	/* the move that fails */
	const char *call;		/* the failing call in the log */
};

static const struct fault faults[] = {
	{ "run:QUIESCED", VFMIG_STATE_RUNNING, VFMIG_STATE_RUNNING_P2P,
	  "set_run_state(QUIESCED)=-5" },
	{ "run:STOPPED", VFMIG_STATE_RUNNING_P2P, VFMIG_STATE_STOP,
	  "set_run_state(STOPPED)=-5" },
	{ "run:RUNNING", VFMIG_STATE_RUNNING_P2P, VFMIG_STATE_RUNNING,
	  "set_run_state(RUNNING)=-5" },
	{ "save_start", VFMIG_STATE_STOP, VFMIG_STATE_STOP_COPY,
	  "save_start(live=0)=-5" },
	{ "save_start", VFMIG_STATE_RUNNING, VFMIG_STATE_PRE_COPY,
	  "save_start(live=1)=-5" },
	{ "run:STOPPED", VFMIG_STATE_PRE_COPY_P2P, VFMIG_STATE_STOP_COPY,
	  "set_run_state(STOPPED)=-5" },
};

/* After a failure: ERROR, nothing but reset leaves it, reset recovers. */
static void expect_error_then_reset(struct vfmig_device *dev, const char *bdf)
{
	struct mg_buf stream = { 0 };
	struct mg_dev before, after;
	int ret;

	mg_expect_state(dev, VFMIG_STATE_ERROR);
	ret = vfmig_mig_set_state_raw(dev, VFMIG_STATE_RUNNING, NULL);
	ASSERT_LT(ret, 0);
	mg_expect_state(dev, VFMIG_STATE_ERROR);

	mg_dev(bdf, &before);
	MG_OK(dev, vfmig_reset(dev));
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_dev(bdf, &after);
	ASSERT_EQ(after.resets, before.resets + 1);
	expect_str(after.run, "RUNNING", "the mediator's run state");
	expect_str(after.session, "none", "the mediator's save session");

	/* Usable again: a whole save works. */
	mg_save(dev, &stream, true);
	mg_to_running(dev);
	mg_buf_free(&stream);
}

TEST_NAMED(faults_arcs, "v2.fault_arcs", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		const struct fault *f = &faults[i];
		struct mg_log *log;
		bool seen = false;
		int ret;

		test_log("fail %s on the way %s -> %s", f->fail,
			 vfmig_state_name(f->from),
			 vfmig_state_name(f->target));
		MG_OK(dev, vfmig_mig_set_state(dev, f->from));
		free(mg_log_take());
		mg_ctl(a, "fail %s 5", f->fail);
		ret = vfmig_mig_set_state(dev, f->target);
		ASSERT_EQ(ret, -EIO);
		log = mg_log_take();
		for (int j = 0; j < log->n; j++)
			seen |= strstr(log->line[j], f->call) != NULL;
		free(log);
		if (!seen)
			FAIL("the mediator log lacks %s", f->call);
		expect_error_then_reset(dev, a);
		free(mg_log_take());
	}
	mg_expect_no_violations(a);
}

TEST_NAMED(fault_load, "v2.fault_load", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *src, *dst;
	struct mg_buf stream = { 0 };
	enum mg_load_step at;
	uint64_t digest_a;
	int ret;

	mg_setup_two_edu(a, b);
	src = open_quiet(a);
	dst = open_quiet(b);
	mg_ctl(a, "seed 3");
	digest_a = mg_digest(a);
	mg_save(src, &stream, false);
	mg_to_running(src);

	mg_ctl(b, "fail load 5");
	ret = mg_load(dst, stream.data, stream.len, &at);
	test_log("failed load: %s at step %d", strerror(-ret), at);
	ASSERT_EQ(ret, -EIO);
	ASSERT_TRUE(at == MG_AT_WRITE || at == MG_AT_LEAVE);
	if (at == MG_AT_WRITE)
		ASSERT_LT(vfmig_mig_set_state(dst, VFMIG_STATE_STOP), 0);
	expect_error_then_reset(dst, b);
	/* And the same stream loads now. */
	MG_OK(dst, mg_load(dst, stream.data, stream.len, NULL));
	ASSERT_EQ(mg_digest(b), digest_a);
	mg_to_running(dst);
	mg_expect_no_violations(b);
	mg_buf_free(&stream);
}

TEST_NAMED(fault_reset, "v2.fault_reset", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY));
	mg_ctl(a, "fail reset 5");
	ASSERT_EQ(vfmig_reset(dev), -EIO);
	/* A second reset works and leaves the device RUNNING. */
	MG_OK(dev, vfmig_reset(dev));
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_expect_no_violations(a);
}

/*
 * The offset of the PCI Express capability in @dev's config space, or 0.
 */
static uint32_t pcie_cap(struct vfmig_device *dev)
{
	uint32_t pos, id;
	int hops;

	MG_OK(dev, vfmig_config_read(dev, 0x34, 1, &pos));
	for (hops = 0; pos >= 0x40 && hops < 48; hops++) {
		MG_OK(dev, vfmig_config_read(dev, pos, 1, &id));
		if (id == 0x10)
			return pos;
		MG_OK(dev, vfmig_config_read(dev, pos + 1, 1, &pos));
	}
	return 0;
}

/*
 * A reset of the function that does not come through VFIO_DEVICE_RESET
 * (an FLR the user starts through the PCIe capability in config space,
 * which vfio-pci carries out) ends migration all the same: the next
 * migration call finds the device RUNNING, the mediator reset, and a new
 * save works.  Uses an NVMe VF, which has FLR (edu has no reset).
 */
TEST_NAMED(reset_by_config_flr, "v2.reset_by_config_flr", 180)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN], vf[PCI_BDF_LEN];
	uint32_t cap, devcap, devctl;
	struct mg_buf saved = { 0 };
	struct vfmig_device *dev;
	struct mg_dev info;

	mg_setup_two_edu(a, b);
	lab_find_nvme_vf(vf);
	mt_bind_mediate(vf);
	dev = open_quiet(vf);
	mt_expect_mediator(vf, MG_MIGTEST);

	cap = pcie_cap(dev);
	ASSERT_NE(cap, 0);
	MG_OK(dev, vfmig_config_read(dev, cap + 4, 4, &devcap));
	if (!(devcap & (1u << 28)))
		SKIP("%s has no FLR (PCI_EXP_DEVCAP_FLR clear)", vf);

	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY));
	mg_dev(vf, &info);
	ASSERT_EQ(info.resets, 0);
	free(mg_log_take());

	/* Initiate FLR (PCI_EXP_DEVCTL_BCR_FLR). */
	MG_OK(dev, vfmig_config_read(dev, cap + 8, 2, &devctl));
	MG_OK(dev, vfmig_config_write(dev, cap + 8, 2, devctl | 0x8000));

	/* Nothing migration-related ran yet: it catches up on this call. */
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_dev(vf, &info);
	ASSERT_EQ(info.resets, 1);
	ASSERT_EQ(strcmp(info.run, "RUNNING"), 0);
	ASSERT_EQ(strcmp(info.session, "none"), 0);

	mg_save(dev, &saved, false);
	ASSERT_GT(saved.len, 0);
	mg_to_running(dev);
	mg_expect_no_violations(vf);
	mg_buf_free(&saved);
}

/* --- one protocol at a time ----------------------------------------------- */

TEST_NAMED(exclusive, "v2.exclusive_with_v1", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	uint32_t v1;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_v1_setup(dev, NULL));

	/* v2 holds the device in STOP: the v1 region refuses to move it. */
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP));
	free(mg_log_take());
	ASSERT_EQ(vfmig_v1_write_state(dev, VFMIG_V1_RUNNING), -EBUSY);
	ASSERT_EQ(vfmig_v1_write_state(dev, VFMIG_V1_SAVING), -EBUSY);
	mg_expect_state(dev, VFMIG_STATE_STOP);
	MG_EXPECT_CALLS(a, NULL);

	/* Back in RUNNING, v1 may take it; then v2 is refused. */
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING));
	MG_OK(dev, vfmig_v1_set_state(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING));
	MG_OK(dev, vfmig_v1_get_state(dev, &v1));
	ASSERT_EQ(v1, VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	free(mg_log_take());
	ASSERT_EQ(vfmig_mig_set_state_raw(dev, VFMIG_STATE_STOP, NULL), -EBUSY);
	ASSERT_EQ(vfmig_mig_set_state_raw(dev, VFMIG_STATE_RUNNING_P2P, NULL),
		  -EBUSY);
	MG_OK(dev, vfmig_v1_get_state(dev, &v1));
	ASSERT_EQ(v1, VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	MG_EXPECT_CALLS(a, NULL);

	/* v1 cancels (QEMU's path back to RUNNING): v2 may drive again. */
	MG_OK(dev, vfmig_v1_set_state(dev, ~(VFMIG_V1_SAVING |
					     VFMIG_V1_RESUMING),
				      VFMIG_V1_RUNNING));
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP));
	mg_to_running(dev);
	mg_expect_no_violations(a);
}

/* --- closing in the middle ------------------------------------------------ */

static void close_in(enum vfmig_state state)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	uint8_t chunk[512];
	struct mg_log *log;
	int save_end = -1, release = -1;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_mig_set_state(dev, state));
	ASSERT_EQ(vfmig_mig_read(dev, chunk, sizeof(chunk)),
		  (ssize_t)sizeof(chunk));
	mg_close(dev);
	log = mg_log_take();
	for (int i = 0; i < log->n; i++) {
		if (strstr(log->line[i], " save_end"))
			save_end = i;
		if (strstr(log->line[i], " release"))
			release = i;
	}
	free(log);
	if (save_end < 0 || release < 0 || save_end > release)
		FAIL("closing in %s: save_end at line %d, release at %d",
		     vfmig_state_name(state), save_end, release);

	/* Opened again, it starts over in RUNNING. */
	dev = open_quiet(a);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
	mg_expect_no_violations(a);
}

TEST_NAMED(close_in_precopy, "v2.close_in_precopy", 120)
{
	close_in(VFMIG_STATE_PRE_COPY);
}

TEST_NAMED(close_in_stop_copy, "v2.close_in_stop_copy", 120)
{
	close_in(VFMIG_STATE_STOP_COPY);
}

/* The data fd outlives the device fd: no crash, the session still ends. */
TEST_NAMED(data_fd_outlives_device, "v2.data_fd_outlives_device", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	uint8_t chunk[512];
	ssize_t n;
	int fd;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY));
	fd = vfmig_mig_take_data_fd(dev);
	MG_OK(dev, fd);
	mg_close(dev);
	n = read(fd, chunk, sizeof(chunk));
	test_log("read after the device was closed: %zd (%s)", n,
		 n < 0 ? strerror(errno) : "no error");
	close(fd);
	/* Whichever closed last, the mediator let go of the device. */
	for (int i = 0; i < 100; i++) {
		struct mg_dev d;

		if (mg_dev_try(a, &d) == -ENOENT)
			return;
		mt_sleep_ms(10);
	}
	FAIL("the mediator still serves %s after both fds were closed", a);
}

