/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The destination's reading of a migration stream: its framing, and every
 * check made before a mediator's ->load() sees a byte of it.  stream.c owns
 * the rest (the state's memory, the log, ->load()).  Kept pure (no
 * allocation, no device, no lock, no log) so that the host unit tests
 * compile this same code (tests/unit/stream_frame.c, over the small
 * stand-ins for kernel headers in tests/unit/kshim/).
 */
#ifndef VPM_STREAM_PARSE_H
#define VPM_STREAM_PARSE_H

#include <linux/types.h>
#include <linux/xxhash.h>
#include <uapi/linux/vfio_pci_mediate.h>

/* The stream's parts (the save side writes them too, stream.c) */
#define VPM_STREAM_HEADER_SIZE \
	sizeof(struct vfio_pci_mediate_stream_header)
#define VPM_STREAM_RECORD_SIZE \
	sizeof(struct vfio_pci_mediate_stream_record)
#define VPM_STREAM_TRAILER_SIZE \
	sizeof(struct vfio_pci_mediate_stream_trailer)

/**
 * enum vpm_stream_phase - what a parser takes next
 * @VPM_STREAM_HEADER: the stream's header
 * @VPM_STREAM_RECORD: a record header (DATA or END)
 * @VPM_STREAM_DATA: state, the rest of a DATA record
 * @VPM_STREAM_TRAILER: the trailer, after END
 * @VPM_STREAM_DONE: nothing: the stream checked out
 */
enum vpm_stream_phase {
	VPM_STREAM_HEADER,
	VPM_STREAM_RECORD,
	VPM_STREAM_DATA,
	VPM_STREAM_TRAILER,
	VPM_STREAM_DONE,
};

/**
 * struct vpm_stream_dest - what a stream must match on this destination
 * @mediator: the name of the mediator serving the device
 * @vendor: the device's PCI vendor ID
 * @device: its PCI device ID
 * @max_state_size: the most state that mediator takes
 */
struct vpm_stream_dest {
	const char *mediator;
	u16 vendor;
	u16 device;
	u64 max_state_size;
};

/**
 * struct vpm_stream_sink - the parser's calls to the stream's owner
 * @state_tail: where the next bytes of state go, the @len bytes before
 *	them being stored already, with the room there in *@room; NULL if
 *	there is no memory for them
 * @refuse: the stream is refused with @err (negative errno) for the reason
 *	@fmt says; returns @err
 * @ctx: passed to both
 */
struct vpm_stream_sink {
	void *(*state_tail)(void *ctx, size_t len, size_t *room);
	int (*refuse)(void *ctx, int err, const char *fmt, ...) __printf(3, 4);
	void *ctx;
};

/**
 * struct vpm_stream_parser - how far a load session got in its stream
 * @hash: xxh64 of every byte before the trailer received so far
 * @phase: what the next bytes are
 * @received: stream bytes taken so far
 * @claimed: bytes of state the DATA records seen so far announce
 * @record_left: bytes of the current DATA record still to come
 * @state_len: bytes of state handed to the sink's state_tail()
 * @part_len: bytes of @part received
 * @part: the header, record header or trailer being received
 */
struct vpm_stream_parser {
	struct xxh64_state hash;
	enum vpm_stream_phase phase;
	u64 received;
	u64 claimed;
	u64 record_left;
	size_t state_len;
	size_t part_len;
	union {
		struct vfio_pci_mediate_stream_header header;
		struct vfio_pci_mediate_stream_record record;
		struct vfio_pci_mediate_stream_trailer trailer;
	} part;
};

void vpm_stream_fill_name(char field[VFIO_PCI_MEDIATE_NAME_LEN],
			  const char *name);
void vpm_stream_parser_init(struct vpm_stream_parser *p);
int vpm_stream_parse(struct vpm_stream_parser *p,
		     const struct vpm_stream_dest *dest,
		     const struct vpm_stream_sink *sink,
		     const void *buf, size_t len);
int vpm_stream_parse_end(struct vpm_stream_parser *p,
			 const struct vpm_stream_sink *sink);

#endif /* VPM_STREAM_PARSE_H */
