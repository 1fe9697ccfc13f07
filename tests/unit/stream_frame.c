// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit test (TAP): the migration stream of the uAPI header, taken
 * apart on both sides of it: by the tests' stream_frame.c, and by the
 * kernel's own parser (kernel/stream_parse.c, compiled here as it is over
 * tests/unit/kshim/).  The layout the tests assume, their xxh64 against
 * reference values, and streams built here the way kernel/stream.c writes
 * them: the good one accepted with the right offsets (and, by the kernel's
 * parser, its state handed over intact), each damaged one refused with the
 * same errno by both, the kernel's parser fed whole and a byte at a time.
 *
 * The xxh64 reference values come from an implementation of the xxHash
 * specification (doc/xxhash_spec.md) written apart from the library, which
 * gives the published XXH64("") = 0xEF46DB3751D8E999, XXH64("a") =
 * 0xD24EC4F1A98C6E5B and XXH64("abc") = 0x44BC2CF5AD770999 too.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_frame.h"
#include "stream_parse.h"

#define HDR struct vfio_pci_mediate_stream_header
#define REC struct vfio_pci_mediate_stream_record
#define TRAILER struct vfio_pci_mediate_stream_trailer

#define PAYLOAD_MAX 65536	/* kernel/stream.c RECORD_PAYLOAD */

static int tests, failed;

static void result(int ok, const char *what)
{
	printf("%sok %d %s\n", ok ? "" : "not ", ++tests, what);
	failed += !ok;
}

static void same(unsigned long long got, unsigned long long want,
		 const char *what)
{
	if (got != want)
		printf("# %s: got %#llx, want %#llx\n", what, got, want);
	result(got == want, what);
}

/* --- the layout -------------------------------------------------------- */

static void layout(void)
{
	same(sizeof(HDR), 56, "header.size");
	same(offsetof(HDR, magic), 0, "header.magic");
	same(offsetof(HDR, version), 4, "header.version");
	same(offsetof(HDR, header_size), 6, "header.header_size");
	same(offsetof(HDR, mediator), 8, "header.mediator");
	same(sizeof(((HDR *)0)->mediator), 32, "header.mediator.size");
	same(offsetof(HDR, vendor), 40, "header.vendor");
	same(offsetof(HDR, device), 42, "header.device");
	same(offsetof(HDR, subsystem_vendor), 44, "header.subsystem_vendor");
	same(offsetof(HDR, subsystem_device), 46, "header.subsystem_device");
	same(offsetof(HDR, reserved), 48, "header.reserved");
	same(sizeof(REC), 16, "record.size");
	same(offsetof(REC, type), 0, "record.type");
	same(offsetof(REC, reserved), 4, "record.reserved");
	same(offsetof(REC, length), 8, "record.length");
	same(sizeof(TRAILER), 16, "trailer.size");
	same(offsetof(TRAILER, state_length), 0, "trailer.state_length");
	same(offsetof(TRAILER, checksum), 8, "trailer.checksum");
	same(VFIO_PCI_MEDIATE_STREAM_MAGIC, 0x4d455056, "magic");
	same(mg_get_le((const uint8_t *)"VPEM", 4),
	     VFIO_PCI_MEDIATE_STREAM_MAGIC, "magic.is_VPEM_le");
	same(VFIO_PCI_MEDIATE_STREAM_VERSION, 1, "version");
	same(VFIO_PCI_MEDIATE_NAME_LEN, 32, "name_len");
	same(VFIO_PCI_MEDIATE_RECORD_DATA, 1, "record.DATA");
	same(VFIO_PCI_MEDIATE_RECORD_END, 2, "record.END");
}

/* --- xxh64 ------------------------------------------------------------- */

/* Byte i of the test pattern: every byte value, no short period. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 31 + 7);
}

static void xxh64_vectors(void)
{
	/* Lengths through each of xxh64's paths: 1, 4, 8 and 32 bytes. */
	static const struct {
		size_t len;
		uint64_t seed;
		uint64_t want;
	} v[] = {
		{ 0, 0, 0xEF46DB3751D8E999ull },
		{ 1, 0, 0xA96C7F0CE858BBB7ull },
		{ 3, 0, 0x56E6957632A487F9ull },
		{ 4, 0, 0xC60D15B1E3FF8F04ull },
		{ 7, 0, 0xAFBEFC3D6C6F9A8Eull },
		{ 8, 0, 0x3DA5C7AA269683E0ull },
		{ 31, 0, 0x4A74F3A1A39AD4A1ull },
		{ 32, 0, 0x8D57D6A4671CC43Dull },
		{ 33, 0, 0x62C9FD21ED857664ull },
		{ 100, 0, 0xEFA0AD2D3E70C151ull },
		{ 100, 0x9E3779B185EBCA8Dull, 0x8DA83BA6A3C5979Dull },
		{ PAYLOAD_MAX + 16, 0, 0x8A1AAAF1B7D1E80Dull },
		{ 0, 1, 0xD5AFBA1336A3BE4Bull },
	};
	static uint8_t buf[PAYLOAD_MAX + 16];
	char what[64];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(what, sizeof(what), "xxh64.pattern.len%zu.seed%#llx",
			 v[i].len, (unsigned long long)v[i].seed);
		same(mg_xxh64(buf, v[i].len, v[i].seed), v[i].want, what);
	}
	same(mg_xxh64("a", 1, 0), 0xD24EC4F1A98C6E5Bull, "xxh64.a");
	same(mg_xxh64("abc", 3, 0), 0x44BC2CF5AD770999ull, "xxh64.abc");
}

/* --- streams ----------------------------------------------------------- */

static const struct mg_stream_dest edu = {
	.mediator = "migtest",
	.vendor = 0x1234,
	.device = 0x11e8,
	.max_state_size = 1 << 20,
};

/*
 * A stream as kernel/stream.c writes it for @state_len bytes of the
 * pattern: header, DATA records of PAYLOAD_MAX bytes but the last, END,
 * trailer.  Returns its length; *out is malloc()ed.
 */
static size_t build(size_t state_len, uint8_t **out)
{
	size_t records = (state_len + PAYLOAD_MAX - 1) / PAYLOAD_MAX;
	size_t len = sizeof(HDR) + records * sizeof(REC) + state_len +
		     sizeof(REC) + sizeof(TRAILER);
	uint8_t *s = calloc(1, len), *p = s;
	HDR h = {
		.magic = htole32(VFIO_PCI_MEDIATE_STREAM_MAGIC),
		.version = htole16(VFIO_PCI_MEDIATE_STREAM_VERSION),
		.header_size = htole16(sizeof(HDR)),
		.vendor = htole16(edu.vendor),
		.device = htole16(edu.device),
		.subsystem_vendor = htole16(0x1af4),
		.subsystem_device = htole16(0x1100),
	};
	REC end = { .type = htole32(VFIO_PCI_MEDIATE_RECORD_END) };
	TRAILER t;

	if (!s) {
		perror("calloc");
		exit(2);
	}
	strncpy(h.mediator, edu.mediator, sizeof(h.mediator));
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (size_t n = 0; n < state_len;) {
		size_t chunk = state_len - n < PAYLOAD_MAX ? state_len - n :
							     PAYLOAD_MAX;
		REC r = {
			.type = htole32(VFIO_PCI_MEDIATE_RECORD_DATA),
			.length = htole64(chunk),
		};

		memcpy(p, &r, sizeof(r));
		p += sizeof(r);
		for (size_t i = 0; i < chunk; i++)
			*p++ = pattern(n + i);
		n += chunk;
	}
	memcpy(p, &end, sizeof(end));
	p += sizeof(end);
	t.state_length = htole64(state_len);
	t.checksum = htole64(mg_xxh64(s, (size_t)(p - s), 0));
	memcpy(p, &t, sizeof(t));
	*out = s;
	return len;
}

/* Rewrites the trailer's checksum, as mg_stream_reseal() does. */
static void reseal(uint8_t *s, size_t len)
{
	mg_put_le(s + len - 8, 8, mg_xxh64(s, len - sizeof(TRAILER), 0));
}

static struct mg_stream layout_buf;

/* --- the kernel's parser ----------------------------------------------- */

#define STATE_PAGE 4096		/* the kernel keeps the state in pages */
#define MAX_PAGES 256		/* 1 MiB, the largest max_state_size here */

/*
 * What kernel/stream.c is to the parser: the state's memory, a page each
 * allocated as it comes (so a write past a page's room is a heap overflow
 * a sanitizer sees), and the refusal.
 */
struct kernel_side {
	struct vpm_stream_parser p;
	uint8_t *pages[MAX_PAGES];
	size_t nr_pages;
	size_t max_pages;	/* beyond it, state_tail() has no memory */
	int refusals;
	int err;
	char why[160];
};

static void *state_tail(void *ctx, size_t len, size_t *room)
{
	struct kernel_side *k = ctx;
	size_t index = len / STATE_PAGE;

	*room = STATE_PAGE - len % STATE_PAGE;
	if (index < k->nr_pages)
		return k->pages[index] + len % STATE_PAGE;
	if (index != k->nr_pages) {
		printf("# state_tail() for page %zu with %zu pages\n", index,
		       k->nr_pages);
		return NULL;
	}
	if (index >= k->max_pages)
		return NULL;
	k->pages[index] = malloc(STATE_PAGE);
	if (!k->pages[index]) {
		perror("malloc");
		exit(2);
	}
	k->nr_pages++;
	return k->pages[index];
}

/* On the host, %pE (the mediator name, escaped) prints as %p and an E. */
static __printf(3, 4) int refuse(void *ctx, int err, const char *fmt, ...)
{
	struct kernel_side *k = ctx;
	va_list args;

	k->refusals++;
	k->err = err;
	va_start(args, fmt);
	vsnprintf(k->why, sizeof(k->why), fmt, args);
	va_end(args);
	return err;
}

static void kernel_side_init(struct kernel_side *k, size_t max_pages)
{
	memset(k, 0, sizeof(*k));
	k->max_pages = max_pages;
}

static void kernel_side_free(struct kernel_side *k)
{
	while (k->nr_pages)
		free(k->pages[--k->nr_pages]);
}

/* Whether the parser's state is the len bytes at want. */
static bool state_is(const struct kernel_side *k, const uint8_t *want,
		     size_t len)
{
	if (k->p.state_len != len)
		return false;
	for (size_t off = 0; off < len; off += STATE_PAGE) {
		size_t n = len - off < STATE_PAGE ? len - off : STATE_PAGE;

		if (memcmp(k->pages[off / STATE_PAGE], want + off, n))
			return false;
	}
	return true;
}

/*
 * Feeds len bytes of s to k's parser, @chunk bytes per call (as many
 * writes), then ends the stream, as kernel/stream.c does for a load
 * session.  Returns the session's errno (0: the state is complete); the
 * parser must have refused it exactly once, with that errno.
 */
static int kernel_parse(const uint8_t *s, size_t len, size_t chunk,
			const struct mg_stream_dest *d, struct kernel_side *k)
{
	const struct vpm_stream_dest dest = {
		.mediator = d->mediator, .vendor = d->vendor,
		.device = d->device, .max_state_size = d->max_state_size,
	};
	const struct vpm_stream_sink sink = {
		.state_tail = state_tail, .refuse = refuse, .ctx = k,
	};
	struct vpm_stream_parser *p = &k->p;
	int ret = 0;

	vpm_stream_parser_init(p);
	for (size_t off = 0; !ret && off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		ret = vpm_stream_parse(p, &dest, &sink, s + off, n);
	}
	if (!ret)
		ret = vpm_stream_parse_end(p, &sink);
	if (k->refusals != !!ret || (ret && k->err != ret)) {
		printf("# %d refusals (last %d) for a session that ended %d\n",
		       k->refusals, k->err, ret);
		return -EILSEQ;	/* no errno the kernel refuses with */
	}
	return ret;
}

/*
 * The kernel's parser on s, whole and a byte at a time: want both times,
 * and for an accepted stream the state (state_len bytes) in state.
 */
static void expect_kernel(const char *what, const uint8_t *s, size_t len,
			  const struct mg_stream_dest *dest, int want,
			  const uint8_t *state, size_t state_len)
{
	static const size_t chunks[] = { SIZE_MAX, 1 };
	static const char *const how[] = { "whole", "bytewise" };
	struct kernel_side k;
	char name[120];

	for (size_t i = 0; i < 2; i++) {
		int got;
		bool ok;

		kernel_side_init(&k, MAX_PAGES);
		got = kernel_parse(s, len, chunks[i], dest, &k);
		snprintf(name, sizeof(name), "kernel.%s.%s", what, how[i]);
		ok = got == want;
		if (!ok)
			printf("# %s: got %d (%s), want %d\n", name, got, k.why,
			       want);
		if (ok && !got && !state_is(&k, state, state_len)) {
			printf("# %s: its state (%zu bytes) is not the "
			       "stream's DATA (%zu bytes)\n", name,
			       k.p.state_len, state_len);
			ok = false;
		}
		result(ok, name);
		kernel_side_free(&k);
	}
}

/* The DATA records' payloads of s, one after the other, as parsed. */
static uint8_t *stream_state(const uint8_t *s, const struct mg_stream *l,
			     size_t *len)
{
	uint8_t *state = malloc(l->state_length + 1);
	size_t at = 0;

	if (!state) {
		perror("malloc");
		exit(2);
	}
	for (size_t i = 0; i < l->nr_data; i++) {
		memcpy(state + at, s + l->data_off[i] + sizeof(REC),
		       l->data_len[i]);
		at += l->data_len[i];
	}
	*len = at;
	return state;
}

static void expect(const char *what, const uint8_t *s, size_t len,
		   const struct mg_stream_dest *dest, int want)
{
	char why[160] = "";
	int got = mg_stream_check(s, len, dest, &layout_buf, why, sizeof(why));
	uint8_t *state = NULL;
	size_t state_len = 0;

	if (got != want)
		printf("# %s: got %d (%s), want %d\n", what, got, why, want);
	else if (got)
		printf("# %s: %s\n", what, why);
	result(got == want, what);
	/* The kernel always has a destination to compare with. */
	if (!dest)
		return;
	if (!got)
		state = stream_state(s, &layout_buf, &state_len);
	expect_kernel(what, s, len, dest, want, state, state_len);
	free(state);
}

static void good_streams(void)
{
	const struct mg_stream *l = &layout_buf;
	uint8_t *s;
	size_t len;

	/* No state: header, END, trailer. */
	len = build(0, &s);
	same(len, 88, "empty.len");
	expect("empty.accepted", s, len, &edu, 0);
	same(l->nr_data, 0, "empty.nr_data");
	same(l->end_off, 56, "empty.end_off");
	same(l->trailer_off, 72, "empty.trailer_off");
	same(l->len, 88, "empty.layout_len");
	same(l->state_length, 0, "empty.state_length");
	same(mg_get_le(s + 80, 8), 0x368FB2922891A1D1ull, "empty.checksum");
	free(s);

	/* Two full records and a partial one. */
	len = build(2 * PAYLOAD_MAX + 1000, &s);
	same(len, 132208, "three.len");
	expect("three.accepted", s, len, &edu, 0);
	expect("three.accepted_without_dest", s, len, NULL, 0);
	same(l->nr_data, 3, "three.nr_data");
	same(l->data_off[0], 56, "three.data_off0");
	same(l->data_len[0], 65536, "three.data_len0");
	same(l->data_off[1], 65608, "three.data_off1");
	same(l->data_len[1], 65536, "three.data_len1");
	same(l->data_off[2], 131160, "three.data_off2");
	same(l->data_len[2], 1000, "three.data_len2");
	same(l->end_off, 132176, "three.end_off");
	same(l->trailer_off, 132192, "three.trailer_off");
	same(l->len, 132208, "three.layout_len");
	same(l->state_length, 132072, "three.state_length");
	same(mg_get_le(s + 132192, 8), 132072, "three.trailer_state_length");
	same(mg_get_le(s + 132200, 8), 0x2F26FA2E3A7D2AD3ull,
	     "three.checksum");
	free(s);
}

/*
 * One damage to a good three-record stream, resealed or not; with bytes
 * and value 0 the stream stays good and the destination differs.
 */
struct damage {
	const char *what;
	size_t off;		/* where to write */
	size_t bytes;		/* how many: a little-endian value */
	uint64_t value;		/* with bytes 0: XORed into byte off */
	bool reseal;
	const struct mg_stream_dest *dest;
	int want;
};

static void damaged_streams(void)
{
	static const struct mg_stream_dest other_mediator = {
		.mediator = "edu-mediate", .vendor = 0x1234,
		.device = 0x11e8, .max_state_size = 1 << 20,
	};
	static const struct mg_stream_dest other_device = {
		.mediator = "migtest", .vendor = 0x8086, .device = 0x10ca,
		.max_state_size = 1 << 20,
	};
	/* One byte short of the state, refused at the third record. */
	static const struct mg_stream_dest small = {
		.mediator = "migtest", .vendor = 0x1234, .device = 0x11e8,
		.max_state_size = 132071,
	};
	static const struct damage d[] = {
		{ "magic", 0, 0, 0x01, true, &edu, -EPROTO },
		{ "version.2", 4, 2, 2, true, &edu, -EPROTONOSUPPORT },
		{ "version.0", 4, 2, 0, true, &edu, -EPROTONOSUPPORT },
		{ "header_size", 6, 2, 64, true, &edu, -EPROTO },
		{ "header.reserved", 48, 8, 1, true, &edu, -EPROTO },
		{ "name.padding", 8 + 20, 0, 0x41, true, &edu, -EPROTO },
		{ "mediator", 0, 0, 0, true, &other_mediator, -ENODEV },
		{ "mediator.not_checked_without_dest", 0, 0, 0, true, NULL, 0 },
		{ "mediator.name_changed", 8, 0, 0x20, true, &edu, -ENODEV },
		{ "device", 0, 0, 0, true, &other_device, -ENODEV },
		{ "device.vendor_changed", 40, 2, 0x1af4, true, &edu, -ENODEV },
		{ "record.reserved", 65608 + 4, 4, 1, true, &edu, -EPROTO },
		{ "record.type", 65608, 4, 3, true, &edu, -EPROTO },
		{ "end.length", 132176 + 8, 8, 1, true, &edu, -EPROTO },
		{ "oversized.record", 56 + 8, 8, 2 << 20, true, &edu, -EFBIG },
		{ "oversized.record_without_dest", 56 + 8, 8, 2 << 20, true,
		  NULL, -ENODATA },
		{ "oversized.total", 0, 0, 0, true, &small, -EFBIG },
		{ "payload.flipped", 100000, 0, 0x01, false, &edu, -EBADMSG },
		{ "payload.flipped_resealed", 100000, 0, 0x01, true, &edu, 0 },
		{ "header.flipped_subsystem", 44, 0, 0x80, false, &edu,
		  -EBADMSG },
		{ "checksum.flipped", 132200, 0, 0x80, false, &edu, -EBADMSG },
		{ "trailer.state_length", 132192, 8, 132073, false, &edu,
		  -EBADMSG },
		{ "trailer.state_length_resealed", 132192, 8, 132071, true,
		  &edu, -EBADMSG },
	};
	char what[80];
	uint8_t *good, *s;
	size_t len = build(2 * PAYLOAD_MAX + 1000, &good);

	s = malloc(len + 1);
	if (!s) {
		perror("malloc");
		exit(2);
	}
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		memcpy(s, good, len);
		if (d[i].bytes)
			mg_put_le(s + d[i].off, d[i].bytes, d[i].value);
		else
			s[d[i].off] ^= (uint8_t)d[i].value;
		if (d[i].reseal)
			reseal(s, len);
		snprintf(what, sizeof(what), "damaged.%s", d[i].what);
		expect(what, s, len, d[i].dest, d[i].want);
	}

	/* Cut short anywhere: the kernel waits for more, then ENODATA. */
	static const size_t cut[] = { 0, 10, 55, 56, 70, 72, 65608, 132175,
				      132176, 132191, 132192, 132207 };
	memcpy(s, good, len);
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		snprintf(what, sizeof(what), "truncated.at%zu", cut[i]);
		expect(what, s, cut[i], &edu, -ENODATA);
	}

	/* A byte past the trailer. */
	s[len] = 0;
	expect("trailing_byte", s, len + 1, &edu, -EPROTO);

	free(s);
	free(good);
}

/*
 * What only the kernel's parser does: hand the state over (here in writes
 * of 4093 bytes, which split records, parts and pages elsewhere than
 * whole or bytewise), and refuse a stream once its memory runs out.
 */
static void kernel_state(void)
{
	size_t state_len = 2 * PAYLOAD_MAX + 1000;
	struct kernel_side k;
	uint8_t *s, *want;
	size_t len = build(state_len, &s);
	int got;

	want = malloc(state_len);
	if (!want) {
		perror("malloc");
		exit(2);
	}
	for (size_t i = 0; i < state_len; i++)
		want[i] = pattern(i);

	kernel_side_init(&k, MAX_PAGES);
	got = kernel_parse(s, len, 4093, &edu, &k);
	if (got)
		printf("# refused: %d (%s)\n", got, k.why);
	result(got == 0, "kernel.three.chunked4093");
	result(state_is(&k, want, state_len), "kernel.three.state_handed_over");
	kernel_side_free(&k);

	kernel_side_init(&k, 2);
	got = kernel_parse(s, len, SIZE_MAX, &edu, &k);
	if (got != -ENOMEM)
		printf("# got %d (%s), want %d\n", got, k.why, -ENOMEM);
	result(got == -ENOMEM && k.nr_pages == 2,
	       "kernel.three.out_of_memory");
	kernel_side_free(&k);
	free(want);
	free(s);
}

int main(void)
{
	printf("TAP version 13\n");
	layout();
	xxh64_vectors();
	good_streams();
	damaged_streams();
	kernel_state();
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
