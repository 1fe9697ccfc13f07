// SPDX-License-Identifier: GPL-2.0
/*
 * The v1 migration region of vfio-pci-mediate (type 3, subtype 1, the
 * protocol of QEMU up to 7.2), driven step by step as QEMU 7.2 drives it,
 * through libvfmig, against the migrating test mediator
 * (tests/kernel/mig_test.c): the region and its sparse mmap capability,
 * the default state, the save (pre-copy iterations in RUNNING|SAVING, stop,
 * stop-and-copy, STOP) and the resume (RESUMING, buffers, RUNNING) once by
 * pread/pwrite and once by mmap, with a digest-equal round trip; refused
 * state writes and header accesses, the error state and its recovery by
 * reset, and QEMU's cancel paths.
 *
 * Each test loads the mediator module itself, unloads it at the end, and
 * puts its devices back on their drivers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

#define STATE_SIZE (64u << 10)
#define PRECOPY_SIZE (16u << 10)
#define PAGE 4096u
/* Pre-copy iterations before QEMU would give up waiting for pending 0. */
#define MAX_ITERATIONS 1000

/* --- helpers ------------------------------------------------------------- */

static struct vfmig_device *open_quiet(const char *bdf)
{
	struct vfmig_device *dev = mg_open(bdf);

	free(mg_log_take());
	return dev;
}

static uint32_t v1_state(struct vfmig_device *dev)
{
	uint32_t state;

	MG_OK(dev, vfmig_v1_get_state(dev, &state));
	return state;
}

static void expect_v1_state(struct vfmig_device *dev, uint32_t want)
{
	uint32_t got = v1_state(dev);

	if (got != want)
		FAIL("%s: v1 device_state is %u, expected %u", vfmig_bdf(dev),
		     got, want);
}

/* QEMU's vfio_migration_set_state(mask, value), then the state it gives. */
static void v1_set(struct vfmig_device *dev, uint32_t mask, uint32_t value,
		   uint32_t want)
{
	MG_OK(dev, vfmig_v1_set_state(dev, mask, value));
	expect_v1_state(dev, want);
}

static void append(struct mg_buf *buf, const void *data, size_t len)
{
	buf->data = realloc(buf->data, buf->len + len + 1);
	ASSERT_TRUE(buf->data != NULL);
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
}

/* The chunks a source produced, each loaded as one QEMU DATA record. */
struct chunks {
	size_t n;
	size_t len[4096];
};

/*
 * QEMU's vfio_save_buffer(): data_offset, then data_size, then the data;
 * checks where the data lies in the region.  Returns data_size.
 */
static uint64_t save_buffer(struct vfmig_device *dev,
			    const struct vfmig_v1_info *info, bool mmapped,
			    struct mg_buf *out, struct chunks *chunks)
{
	uint64_t data_offset, data_size;
	void *data;

	MG_OK(dev, vfmig_v1_read_data_offset(dev, &data_offset));
	MG_OK(dev, vfmig_v1_read_data_size(dev, &data_size));
	if (!data_size)
		return 0;
	ASSERT_GE(data_offset, VFMIG_V1_HEADER_SIZE);
	ASSERT_LE(data_offset + data_size, info->size);
	ASSERT_EQ(vfmig_v1_range_mmapped(dev, data_offset, data_size),
		  mmapped);
	data = malloc(data_size);
	ASSERT_TRUE(data != NULL);
	MG_OK(dev, vfmig_v1_read_data(dev, data_offset, data, data_size));
	append(out, data, data_size);
	free(data);
	ASSERT_LT(chunks->n, sizeof(chunks->len) / sizeof(chunks->len[0]));
	chunks->len[chunks->n++] = data_size;
	return data_size;
}

/*
 * QEMU 7.2's source side, step by step: save_setup (SAVING: 3), iterations
 * while pending_bytes is nonzero (QEMU iterates until the pending sum of
 * all devices fits its downtime; the test stops once a buffer comes back
 * empty, the device having nothing more before it stops), vm_stop (2),
 * save_live_complete_precopy (2 again, buffers while pending_bytes > 0),
 * then STOP (0).  Returns the pre-copy bytes.
 */
static size_t qemu_save(struct vfmig_device *dev, bool mmapped,
			struct mg_buf *out, struct chunks *chunks)
{
	struct vfmig_v1_info info;
	uint64_t pending, size, stop_pending, stop_bytes = 0;
	size_t precopy = 0;
	int rounds = 0;

	MG_OK(dev, vfmig_v1_info(dev, &info));
	ASSERT_EQ(info.mmapped, mmapped);
	v1_set(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING,
	       VFMIG_V1_RUNNING | VFMIG_V1_SAVING);

	/* save_live_pending + save_live_iterate. */
	for (;;) {
		MG_OK(dev, vfmig_v1_read_pending(dev, &pending));
		if (!pending) {
			/* QEMU reads it again before it gives up. */
			MG_OK(dev, vfmig_v1_read_pending(dev, &pending));
			if (!pending)
				break;
		}
		size = save_buffer(dev, &info, mmapped, out, chunks);
		if (!rounds++)
			ASSERT_GT(size, 0);
		if (!size)
			break;
		precopy += size;
		if (rounds > MAX_ITERATIONS)
			FAIL("pre-copy data never ends");
	}
	test_log("pre-copy: %zu bytes in %d round(s), pending_bytes then %llu",
		 precopy, rounds, (unsigned long long)pending);
	expect_v1_state(dev, VFMIG_V1_RUNNING | VFMIG_V1_SAVING);

	/* vm_stop, then the redundant rewrite of save_live_complete_precopy. */
	v1_set(dev, ~VFMIG_V1_RUNNING, 0, VFMIG_V1_SAVING);
	v1_set(dev, ~VFMIG_V1_RUNNING, VFMIG_V1_SAVING, VFMIG_V1_SAVING);
	MG_OK(dev, vfmig_v1_read_pending(dev, &pending));
	ASSERT_GT(pending, 0);
	stop_pending = pending;
	while (pending) {
		size = save_buffer(dev, &info, mmapped, out, chunks);
		if (!size)
			break;
		stop_bytes += size;
		MG_OK(dev, vfmig_v1_read_pending(dev, &pending));
	}
	ASSERT_EQ(pending, 0);
	/* pending_bytes on entering stop-and-copy: what then came. */
	ASSERT_EQ(stop_bytes, stop_pending);
	v1_set(dev, ~VFMIG_V1_SAVING, 0, VFMIG_V1_STOP);
	return precopy;
}

/*
 * QEMU's vfio_load_buffer() for one DATA record of @len bytes: data_offset,
 * the data at data_offset, data_size, until all is in.
 */
static void load_buffer(struct vfmig_device *dev,
			const struct vfmig_v1_info *info, bool mmapped,
			const uint8_t *data, size_t len)
{
	while (len) {
		uint64_t data_offset, size;

		MG_OK(dev, vfmig_v1_read_data_offset(dev, &data_offset));
		ASSERT_GE(data_offset, VFMIG_V1_HEADER_SIZE);
		ASSERT_LT(data_offset, info->size);
		size = len;
		if (data_offset + size > info->size)
			size = info->size - data_offset;
		ASSERT_EQ(vfmig_v1_range_mmapped(dev, data_offset, size),
			  mmapped);
		MG_OK(dev, vfmig_v1_write_data(dev, data_offset, data, size));
		MG_OK(dev, vfmig_v1_write_data_size(dev, size));
		data += size;
		len -= size;
	}
}

/* QEMU 7.2's destination side: load_setup (4), the records, VM start (1). */
static void qemu_resume(struct vfmig_device *dev, bool mmapped,
			const struct mg_buf *stream,
			const struct chunks *chunks)
{
	struct vfmig_v1_info info;
	size_t pos = 0;

	MG_OK(dev, vfmig_v1_info(dev, &info));
	v1_set(dev, ~VFMIG_V1_MASK, VFMIG_V1_RESUMING, VFMIG_V1_RESUMING);
	for (size_t i = 0; i < chunks->n; i++) {
		load_buffer(dev, &info, mmapped, stream->data + pos,
			    chunks->len[i]);
		pos += chunks->len[i];
	}
	ASSERT_EQ(pos, stream->len);
	v1_set(dev, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING, VFMIG_V1_RUNNING);
}

/* --- the region ----------------------------------------------------------- */

TEST_NAMED(region, "v1.region", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_region_info info;
	struct vfmig_sparse_area areas[8];
	struct vfmig_device *dev;
	uint64_t data_offset, data_size;
	bool covered = false;
	uint32_t nr_areas;
	int index;

	mg_setup_two_edu(a, b);
	mg_state_size(STATE_SIZE);
	mg_precopy(PRECOPY_SIZE);
	dev = open_quiet(a);

	index = vfmig_region_find(dev, VFMIG_REGION_TYPE_MIGRATION,
				  VFMIG_REGION_SUBTYPE_MIGRATION);
	MG_OK(dev, index);
	MG_OK(dev, vfmig_region_info(dev, (uint32_t)index, &info));
	test_log("v1 region %d: size %llu flags %#x, %u sparse area(s)",
		 index, (unsigned long long)info.size, info.flags,
		 info.nr_areas);
	ASSERT_EQ(info.flags & (VFMIG_REGION_READ | VFMIG_REGION_WRITE |
				VFMIG_REGION_MMAP | VFMIG_REGION_CAPS),
		  VFMIG_REGION_READ | VFMIG_REGION_WRITE | VFMIG_REGION_MMAP |
		  VFMIG_REGION_CAPS);
	ASSERT_TRUE(info.has_type);
	ASSERT_EQ(info.type, VFMIG_REGION_TYPE_MIGRATION);
	ASSERT_EQ(info.subtype, VFMIG_REGION_SUBTYPE_MIGRATION);
	ASSERT_GT(info.size, VFMIG_V1_HEADER_SIZE);
	/* Without a sparse capability QEMU would mmap the header too. */
	ASSERT_TRUE(info.has_sparse);
	ASSERT_GE(info.nr_areas, 1);
	for (uint32_t i = 0; i < info.nr_areas; i++) {
		const struct vfmig_sparse_area *ar = &info.areas[i];

		test_log("sparse area %u: %#llx + %#llx", i,
			 (unsigned long long)ar->offset,
			 (unsigned long long)ar->size);
		ASSERT_EQ(ar->offset % PAGE, 0);
		ASSERT_EQ(ar->size % PAGE, 0);
		ASSERT_GE(ar->offset, VFMIG_V1_HEADER_SIZE);
		ASSERT_LE(ar->offset + ar->size, info.size);
	}

	/* info's areas live until the next region info of this index. */
	nr_areas = info.nr_areas < 8 ? info.nr_areas : 8;
	memcpy(areas, info.areas, nr_areas * sizeof(areas[0]));

	/* Default state: RUNNING, as QEMU 7.2 assumes without writing it. */
	MG_OK(dev, vfmig_v1_setup(dev, NULL));
	expect_v1_state(dev, VFMIG_V1_RUNNING);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);

	/* The data section handed out lies inside a sparse area. */
	v1_set(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING,
	       VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	MG_OK(dev, vfmig_v1_read_data_offset(dev, &data_offset));
	MG_OK(dev, vfmig_v1_read_data_size(dev, &data_size));
	ASSERT_GT(data_size, 0);
	for (uint32_t i = 0; i < nr_areas; i++)
		covered |= data_offset >= areas[i].offset &&
			   data_offset + data_size <=
			   areas[i].offset + areas[i].size;
	if (!covered)
		FAIL("data at %#llx + %#llx lies in no sparse mmap area",
		     (unsigned long long)data_offset,
		     (unsigned long long)data_size);
	v1_set(dev, ~(VFMIG_V1_SAVING | VFMIG_V1_RESUMING), VFMIG_V1_RUNNING,
	       VFMIG_V1_RUNNING);
	mg_expect_no_violations(a);
}

/* --- QEMU 7.2's sequences ------------------------------------------------- */

static void qemu_round_trip(enum vfmig_v1_access access)
{
	const bool mmapped = access == VFMIG_V1_MMAP;
	struct vfmig_v1_options opt = { .access = access };
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN], load_call[64];
	struct mg_buf stream = { 0 };
	struct chunks *chunks = calloc(1, sizeof(*chunks));
	struct vfmig_device *src, *dst;
	struct mg_stream layout;
	struct mg_dev info;
	struct mg_log *log;
	uint64_t digest_a;
	size_t precopy;

	ASSERT_TRUE(chunks != NULL);
	mg_setup_two_edu(a, b);
	mg_state_size(STATE_SIZE);
	mg_precopy(PRECOPY_SIZE);
	src = open_quiet(a);
	dst = open_quiet(b);
	mg_ctl(a, "seed 1234");
	mg_ctl(b, "seed 99");
	digest_a = mg_digest(a);
	ASSERT_NE(digest_a, mg_digest(b));
	MG_OK(src, vfmig_v1_setup(src, &opt));
	MG_OK(dst, vfmig_v1_setup(dst, &opt));

	precopy = qemu_save(src, mmapped, &stream, chunks);
	test_log("saved %zu bytes in %zu buffers, %zu of them in pre-copy",
		 stream.len, chunks->n, precopy);
	ASSERT_GE(precopy, PRECOPY_SIZE);
	mg_stream_parse(stream.data, stream.len, &layout);
	log = mg_log_take();
	mg_log_expect(log, a, false, (const char *const[]){
		"save_start(live=1)", "set_run_state(QUIESCED)",
		"set_run_state(STOPPED)", "save_end", NULL });
	ASSERT_EQ(mg_log_saved(log, a), layout.state_length);
	free(log);
	ASSERT_EQ(mg_digest(a), digest_a);

	qemu_resume(dst, mmapped, &stream, chunks);
	snprintf(load_call, sizeof(load_call), "load(%llu)",
		 (unsigned long long)layout.state_length);
	MG_EXPECT_CALLS(b, "set_run_state(QUIESCED)", "set_run_state(STOPPED)",
			load_call, "set_run_state(QUIESCED)",
			"set_run_state(RUNNING)", NULL);
	mg_dev(b, &info);
	ASSERT_TRUE(info.loaded);
	ASSERT_EQ(info.digest, digest_a);
	mg_expect_state(dst, VFMIG_STATE_RUNNING);

	/* The source resumes too (QEMU's VM start after a failed migration). */
	v1_set(src, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING, VFMIG_V1_RUNNING);
	mg_expect_state(src, VFMIG_STATE_RUNNING);
	vfmig_v1_cleanup(src);
	vfmig_v1_cleanup(dst);
	mg_expect_no_violations(a);
	mg_expect_no_violations(b);
	mg_buf_free(&stream);
	free(chunks);
}

TEST_NAMED(qemu_pread, "v1.qemu_sequence_pread", 300)
{
	qemu_round_trip(VFMIG_V1_PREAD);
}

TEST_NAMED(qemu_mmap, "v1.qemu_sequence_mmap", 120)
{
	qemu_round_trip(VFMIG_V1_MMAP);
}

/* One stream, two protocols: saved through v1, loaded through v2. */
TEST_NAMED(v1_to_v2, "v1.save_v1_load_v2", 120)
{
	struct vfmig_v1_options opt = { .precopy_rounds = 2 };
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *src, *dst;
	struct mg_buf stream = { 0 };

	mg_setup_two_edu(a, b);
	src = open_quiet(a);
	dst = open_quiet(b);
	mg_ctl(a, "seed 5");
	mg_v1_save(src, &opt, &stream);
	expect_v1_state(src, VFMIG_V1_STOP);
	MG_OK(dst, mg_load(dst, stream.data, stream.len, NULL));
	ASSERT_EQ(mg_digest(b), mg_digest(a));
	mg_to_running(dst);
	v1_set(src, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING, VFMIG_V1_RUNNING);
	mg_expect_no_violations(a);
	mg_expect_no_violations(b);
	mg_buf_free(&stream);
}

/* --- refused writes and accesses ------------------------------------------ */

static void expect_bad_state(struct vfmig_device *dev, const char *bdf,
			     uint32_t bad, uint32_t stays)
{
	int ret = vfmig_v1_write_state(dev, bad);

	if (ret != -EINVAL)
		FAIL("device_state %u written in state %u gave %s, expected EINVAL",
		     bad, stays, ret ? strerror(-ret) : "success");
	expect_v1_state(dev, stays);
	MG_EXPECT_CALLS(bdf, NULL);
}

TEST_NAMED(invalid_states, "v1.invalid_states", 120)
{
	static const uint32_t bad[] = {
		VFMIG_V1_SAVING | VFMIG_V1_RESUMING,
		VFMIG_V1_RUNNING | VFMIG_V1_RESUMING,
		VFMIG_V1_MASK,
	};
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_v1_setup(dev, NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_state(dev, a, bad[i], VFMIG_V1_RUNNING);

	/* The same in pre-copy: the save session stays as it was. */
	v1_set(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING,
	       VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	free(mg_log_take());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_state(dev, a, bad[i],
				 VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	v1_set(dev, ~(VFMIG_V1_SAVING | VFMIG_V1_RESUMING), VFMIG_V1_RUNNING,
	       VFMIG_V1_RUNNING);
	mg_expect_no_violations(a);
}

struct bad_access {
	uint64_t offset;
	size_t len;
	bool write;
	const char *what;
};

static const struct bad_access bad_accesses[] = {
	{ 1, 2, false, "2 bytes inside device_state" },
	{ 2, 4, false, "device_state, misaligned" },
	{ 0, 8, false, "device_state and the reserved word at once" },
	{ 8, 4, false, "half of pending_bytes" },
	{ 12, 8, false, "pending_bytes and data_offset straddled" },
	{ 17, 8, false, "data_offset, misaligned" },
	{ 24, 4, true, "half of data_size" },
	{ 8, 8, true, "pending_bytes (read-only)" },
	{ 16, 8, true, "data_offset (read-only)" },
	{ 0, 2, true, "half of device_state" },
};

TEST_NAMED(bad_header_access, "v1.bad_header_access", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	uint8_t buf[8];
	int index;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	index = vfmig_region_find(dev, VFMIG_REGION_TYPE_MIGRATION,
				  VFMIG_REGION_SUBTYPE_MIGRATION);
	MG_OK(dev, index);
	MG_OK(dev, vfmig_v1_setup(dev, NULL));
	for (size_t i = 0; i < sizeof(bad_accesses) / sizeof(bad_accesses[0]);
	     i++) {
		const struct bad_access *ba = &bad_accesses[i];
		int ret;

		memset(buf, 0xff, sizeof(buf));
		if (ba->write)
			ret = vfmig_region_write(dev, (uint32_t)index,
						 ba->offset, buf, ba->len);
		else
			ret = vfmig_region_read(dev, (uint32_t)index,
						ba->offset, buf, ba->len);
		test_log("%s of %zu at %llu (%s): %s",
			 ba->write ? "write" : "read", ba->len,
			 (unsigned long long)ba->offset, ba->what,
			 ret ? strerror(-ret) : "allowed");
		if (ret != -EINVAL)
			FAIL("a %s of %s was not refused with EINVAL",
			     ba->write ? "write" : "read", ba->what);
		expect_v1_state(dev, VFMIG_V1_RUNNING);
	}
	/* The reserved word is a field of its own: it reads as zero. */
	memset(buf, 0xff, sizeof(buf));
	MG_OK(dev, vfmig_region_write(dev, (uint32_t)index, 4, buf, 4));
	MG_OK(dev, vfmig_region_read(dev, (uint32_t)index, 4, buf, 4));
	ASSERT_EQ(mg_get_le(buf, 4), 0);
	expect_v1_state(dev, VFMIG_V1_RUNNING);
	MG_EXPECT_CALLS(a, NULL);
	mg_expect_no_violations(a);
}

/* --- error state ------------------------------------------------------------ */

TEST_NAMED(error_and_reset, "v1.error_state_and_reset", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	struct mg_buf stream = { 0 };
	struct mg_stream layout;
	int ret;

	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_v1_setup(dev, NULL));
	mg_ctl(a, "fail run:STOPPED 5");
	/* 1 -> 2 needs the device stopped, which fails. */
	ret = vfmig_v1_write_state(dev, VFMIG_V1_SAVING);
	test_log("device_state 2 with a failing stop: %s", strerror(-ret));
	ASSERT_EQ(ret, -EIO);
	expect_v1_state(dev, VFMIG_V1_SAVING | VFMIG_V1_RESUMING);
	mg_expect_state(dev, VFMIG_STATE_ERROR);
	/* Nothing but a reset leaves the error state. */
	ASSERT_LT(vfmig_v1_write_state(dev, VFMIG_V1_RUNNING), 0);
	ASSERT_LT(vfmig_v1_write_state(dev, VFMIG_V1_STOP), 0);
	expect_v1_state(dev, VFMIG_V1_SAVING | VFMIG_V1_RESUMING);

	MG_OK(dev, vfmig_reset(dev));
	MG_OK(dev, vfmig_v1_setup(dev, NULL));
	expect_v1_state(dev, VFMIG_V1_RUNNING);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);

	/* A whole save works again. */
	mg_v1_save(dev, NULL, &stream);
	ASSERT_GT(stream.len, 0);
	mg_stream_parse(stream.data, stream.len, &layout);
	v1_set(dev, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING, VFMIG_V1_RUNNING);
	mg_expect_no_violations(a);
	mg_buf_free(&stream);
}

/* A truncated stream is refused when RESUMING is left; reset recovers. */
TEST_NAMED(resume_truncated, "v1.resume_truncated", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *src, *dst;
	struct mg_buf stream = { 0 };
	struct mg_dev info;
	int ret;

	mg_setup_two_edu(a, b);
	src = open_quiet(a);
	dst = open_quiet(b);
	mg_save(src, &stream, false);
	mg_to_running(src);
	MG_OK(dst, vfmig_v1_setup(dst, NULL));
	v1_set(dst, ~VFMIG_V1_MASK, VFMIG_V1_RESUMING, VFMIG_V1_RESUMING);
	MG_OK(dst, vfmig_v1_load_buffer(dst, stream.data, stream.len / 2, 0));
	ret = vfmig_v1_write_state(dst, VFMIG_V1_RUNNING);
	test_log("leaving RESUMING with half a stream: %s", strerror(-ret));
	ASSERT_EQ(ret, -ENODATA);
	mg_dev(b, &info);
	ASSERT_EQ(info.loads, 0);
	MG_OK(dst, vfmig_reset(dst));
	MG_OK(dst, vfmig_v1_setup(dst, NULL));
	expect_v1_state(dst, VFMIG_V1_RUNNING);
	v1_set(dst, ~VFMIG_V1_MASK, VFMIG_V1_RESUMING, VFMIG_V1_RESUMING);
	MG_OK(dst, vfmig_v1_load_buffer(dst, stream.data, stream.len, 0));
	v1_set(dst, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING, VFMIG_V1_RUNNING);
	ASSERT_EQ(mg_digest(b), mg_digest(a));
	mg_expect_no_violations(b);
	mg_buf_free(&stream);
}

/* --- QEMU's cancel paths -------------------------------------------------- */

/* Migration cancelled or failed: mask ~(SAVING|RESUMING), RUNNING. */
static void qemu_cancel(struct vfmig_device *dev)
{
	v1_set(dev, ~(VFMIG_V1_SAVING | VFMIG_V1_RESUMING), VFMIG_V1_RUNNING,
	       VFMIG_V1_RUNNING);
}

TEST_NAMED(cancel, "v1.cancel", 120)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct chunks *chunks = calloc(1, sizeof(*chunks));
	struct mg_buf junk = { 0 }, stream = { 0 };
	struct vfmig_device *dev, *dst;
	struct vfmig_v1_info info;
	uint64_t pending;

	ASSERT_TRUE(chunks != NULL);
	mg_setup_two_edu(a, b);
	dev = open_quiet(a);
	MG_OK(dev, vfmig_v1_setup(dev, NULL));
	MG_OK(dev, vfmig_v1_info(dev, &info));

	/* Cancelled during pre-copy (3 -> 1). */
	v1_set(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING,
	       VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	MG_OK(dev, vfmig_v1_read_pending(dev, &pending));
	ASSERT_GT(save_buffer(dev, &info, info.mmapped, &junk, chunks), 0);
	qemu_cancel(dev);
	MG_EXPECT_CALLS(a, "save_start(live=1)", "save_end", NULL);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);

	/* Cancelled after the stop, VM still stopped (2 -> 1). */
	v1_set(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING,
	       VFMIG_V1_RUNNING | VFMIG_V1_SAVING);
	v1_set(dev, ~VFMIG_V1_RUNNING, 0, VFMIG_V1_SAVING);
	MG_OK(dev, vfmig_v1_read_pending(dev, &pending));
	ASSERT_GT(save_buffer(dev, &info, info.mmapped, &junk, chunks), 0);
	qemu_cancel(dev);
	MG_EXPECT_CALLS(a, "save_start(live=1)", "set_run_state(QUIESCED)",
			"set_run_state(STOPPED)", "save_end",
			"set_run_state(QUIESCED)", "set_run_state(RUNNING)",
			NULL);
	mg_expect_state(dev, VFMIG_STATE_RUNNING);

	/* Nothing of the cancelled sessions is left: a fresh save loads. */
	chunks->n = 0;
	qemu_save(dev, info.mmapped, &stream, chunks);
	dst = open_quiet(b);
	MG_OK(dst, mg_load(dst, stream.data, stream.len, NULL));
	ASSERT_EQ(mg_digest(b), mg_digest(a));
	qemu_cancel(dev);
	mg_to_running(dst);
	mg_expect_no_violations(a);
	mg_buf_free(&junk);
	mg_buf_free(&stream);
	free(chunks);
}
