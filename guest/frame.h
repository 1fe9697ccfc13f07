/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test frames the igbvf guest workload (igbvf_workload.c) and its peer
 * on the PF's netdev (tools/frame-peer.c) exchange.  One header for both
 * sides, so that they cannot disagree: it needs only <stdint.h> and
 * <stdbool.h>, which a freestanding compiler provides too.
 *
 * Each side sends its own stream of frames, numbered from 0, to the other
 * side's MAC, and checks every frame of the other side's stream.
 *
 *   offset  size
 *    0       6   destination MAC
 *    6       6   source MAC
 *   12       2   EtherType FRAME_ETHERTYPE (big endian, like every field)
 *   14       4   FRAME_MAGIC
 *   18       2   stream: FRAME_STREAM_GUEST or FRAME_STREAM_PEER
 *   20       2   length of the whole frame, without FCS
 *   22       4   sequence number
 *   26       4   checksum: FNV-1a over bytes 14..25, then 30..length-1
 *   30       ..  data: a pattern of the stream and sequence number
 *
 * A frame's length is frame_len_for(stream, seq), between FRAME_MIN_LEN
 * and FRAME_MAX_LEN, so every length gets used and the receiver knows
 * which length to expect.  The data is a pattern of stream and sequence
 * number: a buffer left over from an older frame, or a frame put together
 * from two, does not pass for the right one even where a checksum would
 * happen to match.
 */
#ifndef GUEST_FRAME_H
#define GUEST_FRAME_H

#include <stdbool.h>
#include <stdint.h>

/* IEEE 802 "local experimental EtherType 1": no stack on the PF takes it. */
#define FRAME_ETHERTYPE		0x88b5
#define FRAME_MAGIC		0x56465452u	/* "VFTR" */
#define FRAME_STREAM_GUEST	1
#define FRAME_STREAM_PEER	2

#define FRAME_ETH_HLEN		14
#define FRAME_HDR_LEN		30	/* Ethernet header and ours */
#define FRAME_MIN_LEN		60	/* Ethernet minimum, without FCS */
#define FRAME_MAX_LEN		1514	/* 1500-byte MTU, without FCS */

#define FRAME_OFF_MAGIC		14
#define FRAME_OFF_STREAM	18
#define FRAME_OFF_LEN		20
#define FRAME_OFF_SEQ		22
#define FRAME_OFF_CSUM		26

static inline void frame_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void frame_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t frame_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t frame_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A 32-bit mix of two words (a finaliser in the style of murmur3). */
static inline uint32_t frame_mix(uint32_t a, uint32_t b)
{
	uint32_t h = a * 0x9e3779b1u ^ b;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* The length frame @seq of @stream has: spread over the whole range. */
static inline uint16_t frame_len_for(uint16_t stream, uint32_t seq)
{
	return (uint16_t)(FRAME_MIN_LEN + frame_mix(stream, seq) %
			  (FRAME_MAX_LEN - FRAME_MIN_LEN + 1));
}

/*
 * The data of frame @seq of @stream: an xorshift32 sequence seeded from
 * both, four bytes per step, lowest byte first.  Cheap on purpose: the
 * guest builds and checks every frame under nested TCG.
 */
static inline uint32_t frame_pattern_seed(uint16_t stream, uint32_t seq)
{
	return frame_mix(stream, seq) | 1;	/* xorshift never leaves 0 */
}

static inline uint32_t frame_pattern_next(uint32_t *x)
{
	uint32_t v = *x;

	v ^= v << 13;
	v ^= v >> 17;
	v ^= v << 5;
	*x = v;
	return v;
}

static inline uint32_t frame_fnv1a(uint32_t h, const uint8_t *p, uint32_t len)
{
	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* The checksum of a frame of @len bytes, whatever its checksum field holds. */
static inline uint32_t frame_checksum(const uint8_t *f, uint32_t len)
{
	uint32_t h = 2166136261u;

	h = frame_fnv1a(h, f + FRAME_OFF_MAGIC, FRAME_OFF_CSUM - FRAME_OFF_MAGIC);
	return frame_fnv1a(h, f + FRAME_HDR_LEN, len - FRAME_HDR_LEN);
}

/*
 * Writes frame @seq of @stream from @src to @dst into @f (room for
 * FRAME_MAX_LEN bytes); returns its length.
 */
static inline uint16_t frame_build(uint8_t *f, const uint8_t dst[6],
				   const uint8_t src[6], uint16_t stream,
				   uint32_t seq)
{
	uint16_t len = frame_len_for(stream, seq);
	uint32_t i, x, w = 0;

	for (i = 0; i < 6; i++) {
		f[i] = dst[i];
		f[6 + i] = src[i];
	}
	frame_put16(f + 12, FRAME_ETHERTYPE);
	frame_put32(f + FRAME_OFF_MAGIC, FRAME_MAGIC);
	frame_put16(f + FRAME_OFF_STREAM, stream);
	frame_put16(f + FRAME_OFF_LEN, len);
	frame_put32(f + FRAME_OFF_SEQ, seq);
	x = frame_pattern_seed(stream, seq);
	for (i = FRAME_HDR_LEN; i < len; i++) {
		if ((i - FRAME_HDR_LEN) % 4 == 0)
			w = frame_pattern_next(&x);
		f[i] = (uint8_t)w;
		w >>= 8;
	}
	frame_put32(f + FRAME_OFF_CSUM, frame_checksum(f, len));
	return len;
}

/* What frame_check() found. */
enum frame_verdict {
	FRAME_OK,
	FRAME_FOREIGN,		/* not our EtherType: someone else's frame */
	FRAME_BAD_MAGIC,
	FRAME_BAD_STREAM,	/* not the stream this side checks */
	FRAME_BAD_LEN,		/* received length, length field, expected */
	FRAME_BAD_CSUM,
	FRAME_BAD_DATA,		/* checksum right, pattern wrong */
};

static inline const char *frame_verdict_name(enum frame_verdict v)
{
	switch (v) {
	case FRAME_OK:		return "ok";
	case FRAME_FOREIGN:	return "not our EtherType";
	case FRAME_BAD_MAGIC:	return "bad magic";
	case FRAME_BAD_STREAM:	return "wrong stream";
	case FRAME_BAD_LEN:	return "bad length";
	case FRAME_BAD_CSUM:	return "bad checksum";
	case FRAME_BAD_DATA:	return "bad data";
	}
	return "?";
}

/*
 * Checks a received frame of @len bytes that should belong to @stream;
 * on FRAME_OK, *@seq is its sequence number.  Every field is checked
 * before the sequence number is believed.
 */
static inline enum frame_verdict frame_check(const uint8_t *f, uint32_t len,
					     uint16_t stream, uint32_t *seq)
{
	uint32_t i, n, x, w = 0;

	if (len < FRAME_HDR_LEN || frame_get16(f + 12) != FRAME_ETHERTYPE)
		return FRAME_FOREIGN;
	if (frame_get32(f + FRAME_OFF_MAGIC) != FRAME_MAGIC)
		return FRAME_BAD_MAGIC;
	if (frame_get16(f + FRAME_OFF_STREAM) != stream)
		return FRAME_BAD_STREAM;
	n = frame_get16(f + FRAME_OFF_LEN);
	if (n != len || n < FRAME_MIN_LEN || n > FRAME_MAX_LEN)
		return FRAME_BAD_LEN;
	if (frame_checksum(f, n) != frame_get32(f + FRAME_OFF_CSUM))
		return FRAME_BAD_CSUM;
	*seq = frame_get32(f + FRAME_OFF_SEQ);
	if (n != frame_len_for(stream, *seq))
		return FRAME_BAD_LEN;
	x = frame_pattern_seed(stream, *seq);
	for (i = FRAME_HDR_LEN; i < n; i++) {
		if ((i - FRAME_HDR_LEN) % 4 == 0)
			w = frame_pattern_next(&x);
		if (f[i] != (uint8_t)w)
			return FRAME_BAD_DATA;
		w >>= 8;
	}
	return FRAME_OK;
}

/*
 * The receiving side's view of the other side's stream.  The first frame
 * expected is 0: frames missing before the first one seen are lost too.
 */
struct frame_seq {
	uint32_t next;		/* the sequence number expected next */
	uint32_t received;	/* good frames, in order */
	uint32_t lost;		/* sequence numbers skipped */
	uint32_t misordered;	/* duplicates and frames going backwards */
};

/* What frame_seq_account() made of a sequence number. */
enum frame_order {
	FRAME_IN_ORDER,		/* the next one, or after a gap */
	FRAME_MISORDERED,	/* seen before, or older than one seen */
};

/* Accounts for good frame @seq; *@gap is how many were skipped before it. */
static inline enum frame_order frame_seq_account(struct frame_seq *s,
						 uint32_t seq, uint32_t *gap)
{
	*gap = 0;
	if (seq < s->next) {
		s->misordered++;
		return FRAME_MISORDERED;
	}
	*gap = seq - s->next;
	s->lost += *gap;
	s->received++;
	s->next = seq + 1;
	return FRAME_IN_ORDER;
}

#endif /* GUEST_FRAME_H */
