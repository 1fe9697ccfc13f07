// SPDX-License-Identifier: GPL-2.0-only
/*
 * Taking a migration stream apart on the destination (stream_parse.h):
 * each part checked as soon as it is complete, the checksum over every byte
 * before the trailer, the state handed to the owner's memory as it comes.
 */

#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/xxhash.h>
#include <asm/byteorder.h>

#include "stream_parse.h"

/**
 * vpm_stream_fill_name() - a header's mediator field for a name
 * @field: the field
 * @name: the mediator's name
 *
 * NUL padded, cut at the field's size: what the source writes and the
 * destination compares with.
 */
void vpm_stream_fill_name(char field[VFIO_PCI_MEDIATE_NAME_LEN],
			  const char *name)
{
	size_t len = strnlen(name, VFIO_PCI_MEDIATE_NAME_LEN);

	memset(field, 0, VFIO_PCI_MEDIATE_NAME_LEN);
	memcpy(field, name, len);
}

/**
 * vpm_stream_parser_init() - a parser at the start of a stream
 * @p: the parser
 */
void vpm_stream_parser_init(struct vpm_stream_parser *p)
{
	memset(p, 0, sizeof(*p));
	xxh64_reset(&p->hash, 0);
	p->phase = VPM_STREAM_HEADER;
}

static int check_header(struct vpm_stream_parser *p,
			const struct vpm_stream_dest *dest,
			const struct vpm_stream_sink *sink)
{
	const struct vfio_pci_mediate_stream_header *h = &p->part.header;
	char want[VFIO_PCI_MEDIATE_NAME_LEN];
	size_t name_len;

	if (le32_to_cpu(h->magic) != VFIO_PCI_MEDIATE_STREAM_MAGIC)
		return sink->refuse(sink->ctx, -EPROTO,
				    "bad magic %#x, not a vfio-pci-mediate stream",
				    le32_to_cpu(h->magic));
	if (le16_to_cpu(h->version) != VFIO_PCI_MEDIATE_STREAM_VERSION)
		return sink->refuse(sink->ctx, -EPROTONOSUPPORT,
				    "format version %u, this driver reads version %u",
				    le16_to_cpu(h->version),
				    VFIO_PCI_MEDIATE_STREAM_VERSION);
	if (le16_to_cpu(h->header_size) != VPM_STREAM_HEADER_SIZE)
		return sink->refuse(sink->ctx, -EPROTO,
				    "header size %u, version %u has %zu",
				    le16_to_cpu(h->header_size),
				    VFIO_PCI_MEDIATE_STREAM_VERSION,
				    VPM_STREAM_HEADER_SIZE);
	name_len = strnlen(h->mediator, sizeof(h->mediator));
	if (h->reserved ||
	    memchr_inv(h->mediator + name_len, 0,
		       sizeof(h->mediator) - name_len))
		return sink->refuse(sink->ctx, -EPROTO,
				    "nonzero reserved bytes in the header");

	vpm_stream_fill_name(want, dest->mediator);
	if (memcmp(h->mediator, want, sizeof(want)))
		return sink->refuse(sink->ctx, -ENODEV,
				    "from mediator '%*pE', this device is served by '%s'",
				    (int)name_len, h->mediator, dest->mediator);
	if (le16_to_cpu(h->vendor) != dest->vendor ||
	    le16_to_cpu(h->device) != dest->device)
		return sink->refuse(sink->ctx, -ENODEV,
				    "from a %04x:%04x device, this one is %04x:%04x",
				    le16_to_cpu(h->vendor),
				    le16_to_cpu(h->device), dest->vendor,
				    dest->device);

	p->phase = VPM_STREAM_RECORD;
	return 0;
}

static int check_record(struct vpm_stream_parser *p,
			const struct vpm_stream_dest *dest,
			const struct vpm_stream_sink *sink)
{
	const struct vfio_pci_mediate_stream_record *r = &p->part.record;
	u64 length = le64_to_cpu(r->length);
	u32 type = le32_to_cpu(r->type);

	if (r->reserved)
		return sink->refuse(sink->ctx, -EPROTO,
				    "nonzero reserved bytes in a record");

	switch (type) {
	case VFIO_PCI_MEDIATE_RECORD_END:
		if (length)
			return sink->refuse(sink->ctx, -EPROTO,
					    "END record of length %llu",
					    length);
		p->phase = VPM_STREAM_TRAILER;
		return 0;
	case VFIO_PCI_MEDIATE_RECORD_DATA:
		/* Before the owner allocates a byte of it. */
		if (length > dest->max_state_size - p->claimed)
			return sink->refuse(sink->ctx, -EFBIG,
					    "it claims more than %llu bytes of state, the most mediator '%s' takes",
					    dest->max_state_size,
					    dest->mediator);
		p->claimed += length;
		p->record_left = length;
		p->phase = length ? VPM_STREAM_DATA : VPM_STREAM_RECORD;
		return 0;
	default:
		return sink->refuse(sink->ctx, -EPROTO,
				    "unknown record type %u", type);
	}
}

static int check_trailer(struct vpm_stream_parser *p,
			 const struct vpm_stream_sink *sink)
{
	const struct vfio_pci_mediate_stream_trailer *t = &p->part.trailer;

	if (le64_to_cpu(t->state_length) != p->claimed)
		return sink->refuse(sink->ctx, -EBADMSG,
				    "its trailer counts %llu bytes of state, its records %llu",
				    le64_to_cpu(t->state_length),
				    p->claimed);
	if (le64_to_cpu(t->checksum) != xxh64_digest(&p->hash))
		return sink->refuse(sink->ctx, -EBADMSG,
				    "checksum mismatch, the stream was altered or damaged");
	p->phase = VPM_STREAM_DONE;
	return 0;
}

static size_t part_size(enum vpm_stream_phase phase)
{
	switch (phase) {
	case VPM_STREAM_HEADER:
		return VPM_STREAM_HEADER_SIZE;
	case VPM_STREAM_RECORD:
		return VPM_STREAM_RECORD_SIZE;
	default:
		return VPM_STREAM_TRAILER_SIZE;
	}
}

/**
 * vpm_stream_parse() - take the next bytes of a stream
 * @p: the parser
 * @dest: what the stream must match
 * @sink: where its state goes, who is told of a refusal
 * @buf: the bytes (kernel memory)
 * @len: how many
 *
 * Each part is checked as soon as it is complete; bytes of state are copied
 * to @sink's memory and hashed there.  When the trailer checks out, @p's
 * phase is VPM_STREAM_DONE and the state (@p->state_len bytes) is complete.
 * Bytes beyond the trailer in the same call refuse the stream before its
 * trailer is checked; any byte after it does.
 *
 * Return: 0, or the errno @sink->refuse() was called with (see the uAPI
 * header).  After a refusal @p is not to be fed again.
 */
int vpm_stream_parse(struct vpm_stream_parser *p,
		     const struct vpm_stream_dest *dest,
		     const struct vpm_stream_sink *sink,
		     const void *buf, size_t len)
{
	const u8 *in = buf;
	size_t done = 0;
	int ret;

	if (!len)
		return 0;
	if (p->phase == VPM_STREAM_DONE)
		return sink->refuse(sink->ctx, -EPROTO,
				    "bytes after its trailer");

	while (done < len) {
		size_t step, room;
		void *dst;

		if (p->phase == VPM_STREAM_DATA) {
			dst = sink->state_tail(sink->ctx, p->state_len, &room);
			if (!dst)
				return sink->refuse(sink->ctx, -ENOMEM,
						    "no memory for state beyond %zu bytes",
						    p->state_len);
			step = min_t(u64, p->record_left, min(len - done, room));
			/*
			 * Hash the copy: @buf may be the v1 data section,
			 * which the user can change under us through its
			 * mmap, and the checksum must cover what ->load()
			 * will get.  (No test can catch hashing @buf
			 * instead: it takes a second thread in the middle.)
			 */
			memcpy(dst, in + done, step);
			xxh64_update(&p->hash, dst, step);
			p->state_len += step;
			p->record_left -= step;
			if (!p->record_left)
				p->phase = VPM_STREAM_RECORD;
		} else {
			step = min(part_size(p->phase) - p->part_len,
				   len - done);
			memcpy((u8 *)&p->part + p->part_len, in + done, step);
			p->part_len += step;
		}
		done += step;
		p->received += step;

		if (p->phase == VPM_STREAM_DATA ||
		    p->part_len < part_size(p->phase))
			continue;

		p->part_len = 0;
		switch (p->phase) {
		case VPM_STREAM_HEADER:
			xxh64_update(&p->hash, &p->part,
				     VPM_STREAM_HEADER_SIZE);
			ret = check_header(p, dest, sink);
			break;
		case VPM_STREAM_RECORD:
			xxh64_update(&p->hash, &p->part,
				     VPM_STREAM_RECORD_SIZE);
			ret = check_record(p, dest, sink);
			break;
		default:
			/* Before the owner can hand the state over. */
			if (done < len)
				return sink->refuse(sink->ctx, -EPROTO,
						    "bytes after its trailer");
			ret = check_trailer(p, sink);
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vpm_stream_parse_end() - the stream ends here (RESUMING is left)
 * @p: the parser
 * @sink: who is told of a refusal
 *
 * Return: 0 if the whole stream was taken, else -ENODATA through
 * @sink->refuse().
 */
int vpm_stream_parse_end(struct vpm_stream_parser *p,
			 const struct vpm_stream_sink *sink)
{
	if (p->phase != VPM_STREAM_DONE)
		return sink->refuse(sink->ctx, -ENODATA,
				    "it ended after %llu bytes, before its trailer",
				    p->received);
	return 0;
}
