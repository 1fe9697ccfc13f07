// SPDX-License-Identifier: GPL-2.0
/*
 * Bad migration streams into a destination device (DESIGN rule 4): a real
 * stream saved from edu#1 through vfio-pci-mediate and the migrating test
 * mediator, then truncated, bit-flipped, taken from another mediator or
 * another device, empty, claiming an absurd length, or followed by extra
 * bytes, written into edu#2 through the v2 data fd.  Each must be refused
 * with the errno include/uapi/linux/vfio_pci_mediate.h documents, at the
 * first point the kernel can tell, without the mediator's ->load() ever
 * running, counted once in the device's migration_refused (and logged at
 * most once); and edu#2 must load a good stream after a reset.  A user
 * sending refused streams in a loop does not flood the kernel log, and
 * ->load() finds zeroes after the state in its last page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

/* Small, so that the bit flips land in every part of the stream. */
#define STATE_SIZE 4096u
#define HDR sizeof(struct vfio_pci_mediate_stream_header)
#define REC sizeof(struct vfio_pci_mediate_stream_record)
#define OFF(field) offsetof(struct vfio_pci_mediate_stream_header, field)
/* The test mediator's max_state_size: twice 512 MiB, and headers. */
#define MGT_MAX_SAVED ((2ull << 29) + 16 + 3 * 16)

struct ctx {
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *src, *dst;
	struct mg_buf good;
	struct mg_stream layout;
	uint64_t digest_a;
	/*
	 * The refused bytes follow a complete good stream, whose ->load()
	 * may have run before they arrived.
	 */
	bool load_may_run;
};

/* Both edu served by migtest; a good stream of edu#1 in c->good. */
static void setup(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	mg_setup_two_edu(c->a, c->b);
	mg_state_size(STATE_SIZE);
	c->src = mg_open(c->a);
	c->dst = mg_open(c->b);
	mg_ctl(c->a, "seed 77");
	mg_ctl(c->b, "seed 88");
	c->digest_a = mg_digest(c->a);
	ASSERT_NE(c->digest_a, mg_digest(c->b));
	mg_save(c->src, &c->good, false);
	mg_to_running(c->src);
	mg_stream_parse(c->good.data, c->good.len, &c->layout);
	free(mg_log_take());
}

static uint8_t *copy_of(const struct mg_buf *buf, size_t extra)
{
	uint8_t *p = malloc(buf->len + extra + 1);

	ASSERT_TRUE(p != NULL);
	memcpy(p, buf->data, buf->len);
	return p;
}

static const char *step_name(enum mg_load_step at)
{
	switch (at) {
	case MG_AT_RESUMING:
		return "entering RESUMING";
	case MG_AT_WRITE:
		return "the write";
	case MG_AT_LEAVE:
		return "leaving RESUMING";
	default:
		return "nowhere";
	}
}

/* Errnos a refusal may give when the test cannot tell which one. */
#define ANY_REFUSAL 0

static bool refusal_errno(int err)
{
	return err == EPROTO || err == EPROTONOSUPPORT || err == ENODEV ||
	       err == EFBIG || err == EBADMSG || err == ENODATA;
}

/* The device's count of refused migration streams (sysfs). */
static uint64_t refused_count(const char *bdf)
{
	uint64_t n = 0;

	ASSERT_OK(pci_read_attr_u64(bdf, "migration_refused", &n));
	return n;
}

/*
 * Writes len bytes of data into edu#2 and expects the refusal: errno want
 * (ANY_REFUSAL: any documented one) at step want_at (MG_AT_NONE: the write
 * or leaving RESUMING).  Then: the mediator never saw the stream, it was
 * counted once and logged at most once (ratelimited), and after a reset a
 * good stream loads.
 */
static void expect_refused(struct ctx *c, const void *data, size_t len,
			   int want, enum mg_load_step want_at,
			   const char *what)
{
	struct mg_dev before, after;
	enum mg_load_step at;
	uint64_t mark, refused;
	int ret, warns;

	mg_dev(c->b, &before);
	refused = refused_count(c->b);
	mark = kmsg_mark();
	ret = mg_load(c->dst, data, len, &at);
	test_log("%s: %s at %s", what, ret ? strerror(-ret) : "accepted",
		 step_name(at));
	if (!ret)
		FAIL("%s was accepted", what);
	if (want != ANY_REFUSAL && ret != -want)
		FAIL("%s refused with %s, expected %s", what, strerror(-ret),
		     strerror(want));
	if (want == ANY_REFUSAL && !refusal_errno(-ret))
		FAIL("%s refused with %s, not a documented stream errno",
		     what, strerror(-ret));
	if (want_at != MG_AT_NONE && at != want_at)
		FAIL("%s refused at %s, expected at %s", what, step_name(at),
		     step_name(want_at));
	if (at != MG_AT_WRITE && at != MG_AT_LEAVE)
		FAIL("%s refused at %s", what, step_name(at));

	if (at == MG_AT_WRITE) {
		/* Refused once, refused for good until RESUMING anew. */
		ASSERT_EQ(vfmig_mig_write(c->dst, data, 1), ret);
		ASSERT_LT(vfmig_mig_set_state(c->dst, VFMIG_STATE_STOP), 0);
	}

	mg_dev(c->b, &after);
	if (!c->load_may_run) {
		ASSERT_EQ(after.loads, before.loads);
		ASSERT_EQ(after.digest, before.digest);
	}
	ASSERT_EQ(refused_count(c->b), refused + 1);
	warns = kmsg_count_since(mark, c->b, NULL);
	if (warns > 1)
		FAIL("%s: %d kernel log lines name %s, expected at most one dev_warn",
		     what, warns, c->b);

	/* Reset, and the destination takes a good stream. */
	MG_OK(c->dst, vfmig_reset(c->dst));
	mg_expect_state(c->dst, VFMIG_STATE_RUNNING);
	ASSERT_NE(mg_digest(c->b), c->digest_a);
	MG_OK(c->dst, mg_load(c->dst, c->good.data, c->good.len, NULL));
	ASSERT_EQ(mg_digest(c->b), c->digest_a);
	MG_OK(c->dst, vfmig_reset(c->dst));
	mg_expect_no_violations(c->b);
	free(mg_log_take());
}

/* --- the good stream --------------------------------------------------- */

TEST_NAMED(good, "stream.good", 120)
{
	const struct vfio_pci_mediate_stream_header *h;
	struct ctx c;
	char name[VFIO_PCI_MEDIATE_NAME_LEN + 1] = { 0 };

	setup(&c);
	h = (const void *)c.good.data;
	memcpy(name, h->mediator, VFIO_PCI_MEDIATE_NAME_LEN);
	test_log("stream: %zu bytes, %zu DATA record(s), state %llu bytes",
		 c.good.len, c.layout.nr_data,
		 (unsigned long long)c.layout.state_length);
	ASSERT_EQ(strcmp(name, MG_MIGTEST), 0);
	for (size_t i = strlen(MG_MIGTEST); i < VFIO_PCI_MEDIATE_NAME_LEN; i++)
		ASSERT_EQ(h->mediator[i], 0);
	ASSERT_EQ(mg_get_le(c.good.data + OFF(vendor), 2), VENDOR_QEMU_EDU);
	ASSERT_EQ(mg_get_le(c.good.data + OFF(device), 2), DEVICE_QEMU_EDU);
	ASSERT_EQ(mg_get_le(c.good.data + OFF(reserved), 8), 0);
	/* The mediator's bytes: its header, one segment, the buffer. */
	ASSERT_EQ(c.layout.state_length, 32 + STATE_SIZE);
	ASSERT_EQ(mg_get_le(c.good.data + c.layout.trailer_off + 8, 8),
		  mg_xxh64(c.good.data, c.layout.trailer_off, 0));
	/* A resealed copy loads: the tests below change only what they say. */
	mg_stream_reseal(c.good.data, c.good.len);
	MG_OK(c.dst, mg_load(c.dst, c.good.data, c.good.len, NULL));
	ASSERT_EQ(mg_digest(c.b), c.digest_a);
	mg_to_running(c.dst);
	mg_expect_no_violations(c.b);
}

/* --- truncated --------------------------------------------------------- */

TEST_NAMED(truncated, "stream.truncated", 300)
{
	struct ctx c;
	struct {
		size_t at;
		const char *where;
	} cuts[8];
	const struct mg_stream *l = &c.layout;

	setup(&c);
	cuts[0].at = 10, cuts[0].where = "inside the header";
	cuts[1].at = HDR, cuts[1].where = "right after the header";
	cuts[2].at = HDR + 8, cuts[2].where = "inside a record header";
	cuts[3].at = l->data_off[0] + REC + l->data_len[0] / 2;
	cuts[3].where = "inside a record's payload";
	cuts[4].at = l->end_off, cuts[4].where = "at the END record";
	cuts[5].at = l->end_off + 8, cuts[5].where = "inside the END record";
	cuts[6].at = l->trailer_off, cuts[6].where = "before the trailer";
	cuts[7].at = l->trailer_off + 8, cuts[7].where = "inside the trailer";

	for (int i = 0; i < 8; i++) {
		char what[96];

		snprintf(what, sizeof(what), "stream cut at %zu (%s)",
			 cuts[i].at, cuts[i].where);
		/* Only leaving RESUMING tells a cut stream from a slow one. */
		expect_refused(&c, c.good.data, cuts[i].at, ENODATA,
			       MG_AT_LEAVE, what);
	}
	mg_buf_free(&c.good);
}

/* --- single-bit flips -------------------------------------------------- */

struct flip {
	size_t byte;
	unsigned int bit;
	int want;		/* errno, or ANY_REFUSAL */
	bool anywhere;		/* may be found only when RESUMING is left */
	const char *what;
};

#define MAX_FLIPS 64

/* The flips: every field of the framing, then the payload, 64 in all. */
static int plan_flips(const struct mg_stream *l, struct flip *f)
{
	const size_t r0 = l->data_off[0], end = l->end_off,
		     tr = l->trailer_off;
	const struct flip fields[] = {
		{ OFF(magic), 0, EPROTO, false, "magic" },
		{ OFF(magic) + 3, 7, EPROTO, false, "magic" },
		{ OFF(version), 0, EPROTONOSUPPORT, false, "version" },
		{ OFF(version) + 1, 7, EPROTONOSUPPORT, false, "version" },
		{ OFF(header_size), 3, ANY_REFUSAL, false, "header_size" },
		{ OFF(mediator), 0, ENODEV, false, "mediator name" },
		{ OFF(mediator) + 7, 0, ENODEV, false, "mediator name's NUL" },
		{ OFF(mediator) + 31, 6, ANY_REFUSAL, false,
		  "mediator name padding" },
		{ OFF(vendor), 0, ENODEV, false, "vendor id" },
		{ OFF(device), 1, ENODEV, false, "device id" },
		{ OFF(subsystem_vendor), 0, EBADMSG, false,
		  "subsystem vendor (informational)" },
		{ OFF(subsystem_device), 2, EBADMSG, false,
		  "subsystem id (informational)" },
		{ OFF(reserved), 0, EPROTO, false, "header reserved" },
		{ OFF(reserved) + 7, 7, EPROTO, false, "header reserved" },
		{ r0, 0, EPROTO, false, "record type" },
		{ r0, 1, EPROTO, false, "record type" },
		{ r0 + 3, 7, EPROTO, false, "record type" },
		{ r0 + 4, 0, EPROTO, false, "record reserved" },
		{ r0 + 15, 7, EFBIG, false, "record length bit 63" },
		{ r0 + 13, 0, EFBIG, false, "record length bit 40" },
		{ r0 + 8, 2, ANY_REFUSAL, true, "record length bit 2" },
		{ end, 0, EPROTO, false, "END type" },
		{ end, 1, EPROTO, false, "END type" },
		{ end + 4, 0, EPROTO, false, "END reserved" },
		{ end + 8, 0, ANY_REFUSAL, true, "END length" },
		{ tr, 0, EBADMSG, false, "trailer state_length" },
		{ tr + 7, 7, EBADMSG, false, "trailer state_length" },
		{ tr + 8, 0, EBADMSG, false, "trailer checksum" },
		{ tr + 15, 7, EBADMSG, false, "trailer checksum" },
	};
	const int nfields = sizeof(fields) / sizeof(fields[0]);
	const int npayload = MAX_FLIPS - nfields;
	uint64_t total = l->state_length;
	int n = 0;

	for (int i = 0; i < nfields; i++)
		f[n++] = fields[i];
	/* Spread over the payload bytes of all DATA records. */
	for (int k = 0; k < npayload; k++) {
		uint64_t idx = (total - 1) * (uint64_t)k / (npayload - 1);
		size_t r = 0;

		while (idx >= l->data_len[r]) {
			idx -= l->data_len[r];
			r++;
		}
		f[n++] = (struct flip){ l->data_off[r] + REC + idx,
					(unsigned int)k % 8, EBADMSG, false,
					"payload" };
	}
	return n;
}

TEST_NAMED(bit_flips, "stream.bit_flips", 600)
{
	struct flip flips[MAX_FLIPS];
	struct ctx c;
	uint8_t *bad;
	int n;

	setup(&c);
	n = plan_flips(&c.layout, flips);
	ASSERT_EQ(n, MAX_FLIPS);
	bad = copy_of(&c.good, 0);
	for (int i = 0; i < n; i++) {
		char what[128];

		ASSERT_LT(flips[i].byte, c.good.len);
		snprintf(what, sizeof(what), "flip %d: bit %u of byte %zu (%s)",
			 i, flips[i].bit, flips[i].byte, flips[i].what);
		bad[flips[i].byte] ^= (uint8_t)(1u << flips[i].bit);
		expect_refused(&c, bad, c.good.len, flips[i].want,
			       flips[i].anywhere ? MG_AT_NONE : MG_AT_WRITE,
			       what);
		bad[flips[i].byte] ^= (uint8_t)(1u << flips[i].bit);
	}
	free(bad);
	mg_buf_free(&c.good);
}

/* --- another mediator, another device ---------------------------------- */

TEST_NAMED(other_mediator, "stream.other_mediator", 120)
{
	struct mg_buf other = { 0 };
	struct ctx c;

	setup(&c);
	/* edu#1 again, now served by migtest-b. */
	mg_close(c.src);
	mg_accept(MG_A, c.b);
	mg_accept(MG_B, c.a);
	c.src = mg_open(c.a);
	mt_expect_mediator(c.a, MG_MIGTEST_B);
	mg_save(c.src, &other, false);
	mg_to_running(c.src);
	ASSERT_EQ(memcmp(other.data + OFF(mediator), MG_MIGTEST_B,
			 sizeof(MG_MIGTEST_B)), 0);
	free(mg_log_take());
	expect_refused(&c, other.data, other.len, ENODEV, MG_AT_WRITE,
		       "a stream of migtest-b into migtest");
	mg_buf_free(&other);
	mg_buf_free(&c.good);
}

TEST_NAMED(other_device, "stream.other_device", 180)
{
	char vf[PCI_BDF_LEN];
	struct mg_buf nvme = { 0 };
	struct vfmig_device *vdev;
	uint8_t *bad;
	struct ctx c;

	lab_require();
	lab_find_nvme_vf(vf);
	mt_bind_mediate(vf);
	setup(&c);

	/* The same edu stream with another device id, checksum right. */
	bad = copy_of(&c.good, 0);
	mg_put_le(bad + OFF(device), 2, 0x11e9);
	mg_stream_reseal(bad, c.good.len);
	expect_refused(&c, bad, c.good.len, ENODEV, MG_AT_WRITE,
		       "an edu stream claiming device 1234:11e9");
	mg_put_le(bad + OFF(device), 2, DEVICE_QEMU_EDU);
	mg_put_le(bad + OFF(vendor), 2, 0x8086);
	mg_stream_reseal(bad, c.good.len);
	expect_refused(&c, bad, c.good.len, ENODEV, MG_AT_WRITE,
		       "an edu stream claiming vendor 8086");
	free(bad);

	/* A real stream of an NVMe VF, served by the same mediator. */
	vdev = mg_open(vf);
	mt_expect_mediator(vf, MG_MIGTEST);
	mg_save(vdev, &nvme, false);
	mg_to_running(vdev);
	ASSERT_EQ(mg_get_le(nvme.data + OFF(vendor), 2), VENDOR_REDHAT_QEMU);
	free(mg_log_take());
	expect_refused(&c, nvme.data, nvme.len, ENODEV, MG_AT_WRITE,
		       "an NVMe VF's stream into edu");
	mg_buf_free(&nvme);
	mg_buf_free(&c.good);
}

/* --- empty, absurd, too long ------------------------------------------- */

TEST_NAMED(zero_length, "stream.zero_length", 120)
{
	struct ctx c;

	setup(&c);
	expect_refused(&c, NULL, 0, ENODATA, MG_AT_LEAVE, "an empty stream");
	mg_buf_free(&c.good);
}

/* A record claiming len bytes: refused at once, nothing allocated. */
static void huge_record(struct ctx *c, uint64_t len, const char *what)
{
	const size_t r0 = c->layout.data_off[0];
	uint64_t avail0, avail1, t0, t1;
	uint8_t *bad = copy_of(&c->good, 0);

	mg_put_le(bad + r0 + 8, 8, len);
	avail0 = mg_mem_available();
	t0 = mt_now_ms();
	/* The header, the record header and a little of its payload. */
	expect_refused(c, bad, r0 + REC + 64, EFBIG, MG_AT_WRITE, what);
	t1 = mt_now_ms();
	avail1 = mg_mem_available();
	test_log("%s: refused in %llu ms, MemAvailable %llu -> %llu KiB", what,
		 (unsigned long long)(t1 - t0),
		 (unsigned long long)(avail0 >> 10),
		 (unsigned long long)(avail1 >> 10));
	/* Memory the kernel took for the claim would show here. */
	ASSERT_LT(avail0 > avail1 ? avail0 - avail1 : 0, 64ull << 20);
	free(bad);
}

TEST_NAMED(huge_record, "stream.huge_record", 120)
{
	struct ctx c;

	setup(&c);
	huge_record(&c, 1ull << 40, "a record claiming 1 TiB");
	huge_record(&c, MGT_MAX_SAVED + 1,
		    "a record one byte over the mediator's maximum");
	huge_record(&c, UINT64_MAX, "a record claiming 2^64-1 bytes");
	mg_buf_free(&c.good);
}

TEST_NAMED(trailing_bytes, "stream.trailing_bytes", 120)
{
	struct ctx c;
	uint8_t *bad;

	setup(&c);
	c.load_may_run = true;
	bad = copy_of(&c.good, c.good.len);
	bad[c.good.len] = 0;
	expect_refused(&c, bad, c.good.len + 1, EPROTO, MG_AT_WRITE,
		       "a stream with a byte after its trailer");
	memcpy(bad + c.good.len, c.good.data, c.good.len);
	expect_refused(&c, bad, 2 * c.good.len, EPROTO, MG_AT_WRITE,
		       "two streams back to back");
	free(bad);
	mg_buf_free(&c.good);
}

/*
 * A user loops {RESUMING, a stream with a bad header, reset}: every
 * refusal is counted, and the kernel log gets only the first few.
 */
TEST_NAMED(refusals_counted_not_logged_each,
	   "stream.refusals_counted_not_logged_each", 300)
{
	const unsigned int rounds = 200;
	uint64_t mark, refused, start;
	bool have_count;
	struct ctx c;
	uint8_t *bad;
	int lines;

	setup(&c);
	bad = copy_of(&c.good, 0);
	bad[OFF(magic)] ^= 0xff;
	have_count = pci_has_attr(c.b, "migration_refused");
	refused = have_count ? refused_count(c.b) : 0;
	mark = kmsg_mark();
	start = mt_now_ms();
	for (unsigned int i = 0; i < rounds; i++) {
		ASSERT_EQ(mg_load(c.dst, bad, HDR, NULL), -EPROTO);
		MG_OK(c.dst, vfmig_reset(c.dst));
	}
	lines = kmsg_count_since(mark, c.b, NULL);
	test_log("%u refused streams in %llu ms: %d kernel log lines name %s",
		 rounds, (unsigned long long)(mt_now_ms() - start), lines, c.b);
	ASSERT_LT(lines, 50);
	ASSERT_TRUE(have_count);
	ASSERT_EQ(refused_count(c.b), refused + rounds);
	/* And a good stream still loads. */
	MG_OK(c.dst, mg_load(c.dst, c.good.data, c.good.len, NULL));
	ASSERT_EQ(mg_digest(c.b), c.digest_a);
	free(bad);
	mg_buf_free(&c.good);
}

/* A stream of a migtest state of @size bytes, saved from @bdf. */
static void save_sized(const char *bdf, uint64_t size, struct mg_buf *out)
{
	struct vfmig_device *dev;

	mg_state_size(size);
	dev = mg_open(bdf);
	mg_ctl(bdf, "seed %llu", (unsigned long long)size);
	mg_save(dev, out, false);
	mg_close(dev);
}

/*
 * ->load() of a state that ends inside a page finds zeroes after it (the
 * migrating test mediator counts a violation otherwise).  Large loads in
 * between leave their freed pages full of state for the small ones.
 */
TEST_NAMED(load_tail_zeroed, "stream.load_tail_zeroed", 300)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct mg_buf big = { 0 }, small[4] = { { 0 } };
	struct vfmig_device *dst;

	mg_setup_two_edu(a, b);
	save_sized(a, 1u << 20, &big);
	for (unsigned int i = 0; i < 4; i++)
		save_sized(a, 4096 + 1000 * (i + 1), &small[i]);
	mg_state_size(4096);
	dst = mg_open(b);
	for (unsigned int round = 0; round < 20; round++) {
		MG_OK(dst, mg_load(dst, big.data, big.len, NULL));
		MG_OK(dst, vfmig_reset(dst));
		MG_OK(dst, mg_load(dst, small[round % 4].data,
				   small[round % 4].len, NULL));
		MG_OK(dst, vfmig_reset(dst));
	}
	mg_expect_no_violations(b);
	mg_buf_free(&big);
	for (unsigned int i = 0; i < 4; i++)
		mg_buf_free(&small[i]);
}
