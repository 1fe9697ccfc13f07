/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The framework's migration stream (include/uapi/linux/vfio_pci_mediate.h)
 * taken apart in memory: its layout, its checksum, and the checks the
 * destination's kernel makes (kernel/stream.c) with the errno it refuses
 * a stream with.  No device, no harness: the lab tests' fixture and the
 * host unit tests share it.
 */
#ifndef TESTS_STREAM_FRAME_H
#define TESTS_STREAM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <uapi/linux/vfio_pci_mediate.h>

#define MG_MAX_RECORDS 1024	/* 64 MiB of state in 64 KiB records */

struct mg_stream {
	size_t header;		/* 0; header bytes: header_size */
	size_t nr_data;		/* DATA records */
	size_t data_off[MG_MAX_RECORDS];	/* record headers */
	uint64_t data_len[MG_MAX_RECORDS];	/* their lengths */
	size_t end_off;		/* END record */
	size_t trailer_off;
	size_t len;		/* whole stream */
	uint64_t state_length;	/* sum of the DATA lengths */
};

/* What the destination's kernel compares a stream's header and size with. */
struct mg_stream_dest {
	const char *mediator;		/* its mediator's name */
	uint16_t vendor;		/* its PCI ids */
	uint16_t device;
	uint64_t max_state_size;	/* its mediator's */
};

/*
 * Checks len bytes as one complete stream, in the kernel's order: 0, or
 * the errno the kernel refuses it with when it gets them in one write and
 * RESUMING is then left (-EPROTO, -EPROTONOSUPPORT, -ENODEV, -EFBIG,
 * -EBADMSG, -ENODATA), with the reason in why.  dest NULL skips the checks
 * that need the destination (-ENODEV, -EFBIG).  -ENOSPC: more than
 * MG_MAX_RECORDS DATA records, a limit of this parser, not of the kernel.
 * out holds the layout as far as it was parsed.
 */
int mg_stream_check(const void *data, size_t len,
		    const struct mg_stream_dest *dest, struct mg_stream *out,
		    char *why, size_t why_size);

/* xxh64, as the framework's trailer checksum. */
uint64_t mg_xxh64(const void *data, size_t len, uint64_t seed);

/* Little-endian field access at a byte offset. */
uint64_t mg_get_le(const uint8_t *p, size_t bytes);
void mg_put_le(uint8_t *p, size_t bytes, uint64_t value);

#endif
