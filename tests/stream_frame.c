// SPDX-License-Identifier: GPL-2.0
/* The framework's migration stream in memory; see stream_frame.h. */
#include "stream_frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define HDR_SIZE sizeof(struct vfio_pci_mediate_stream_header)
#define REC_SIZE sizeof(struct vfio_pci_mediate_stream_record)
#define TRAILER_SIZE sizeof(struct vfio_pci_mediate_stream_trailer)
#define NAME_OFF offsetof(struct vfio_pci_mediate_stream_header, mediator)

uint64_t mg_get_le(const uint8_t *p, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = bytes; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

void mg_put_le(uint8_t *p, size_t bytes, uint64_t value)
{
	for (size_t i = 0; i < bytes; i++, value >>= 8)
		p[i] = (uint8_t)value;
}

/* The stream trailer's XXH64: Debian's xxHash, inlined (no .so to ship
 * into the lab). */
uint64_t mg_xxh64(const void *data, size_t len, uint64_t seed)
{
	return XXH64(data, len, seed);
}

static __attribute__((format(printf, 4, 5)))
int refuse(int err, char *why, size_t why_size, const char *fmt, ...)
{
	va_list args;

	if (why_size) {
		va_start(args, fmt);
		vsnprintf(why, why_size, fmt, args);
		va_end(args);
	}
	return err;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* The header's checks, kernel/stream.c check_header()'s order. */
static int check_header(const uint8_t *p, const struct mg_stream_dest *dest,
			char *why, size_t why_size)
{
	const size_t name_len = VFIO_PCI_MEDIATE_NAME_LEN;
	size_t used = strnlen((const char *)p + NAME_OFF, name_len);
	char want[VFIO_PCI_MEDIATE_NAME_LEN] = { 0 };

	if (mg_get_le(p, 4) != VFIO_PCI_MEDIATE_STREAM_MAGIC)
		return refuse(-EPROTO, why, why_size, "bad magic %#llx",
			      (unsigned long long)mg_get_le(p, 4));
	if (mg_get_le(p + 4, 2) != VFIO_PCI_MEDIATE_STREAM_VERSION)
		return refuse(-EPROTONOSUPPORT, why, why_size, "version %llu",
			      (unsigned long long)mg_get_le(p + 4, 2));
	if (mg_get_le(p + 6, 2) != HDR_SIZE)
		return refuse(-EPROTO, why, why_size, "header size %llu",
			      (unsigned long long)mg_get_le(p + 6, 2));
	if (mg_get_le(p + offsetof(struct vfio_pci_mediate_stream_header,
				   reserved), 8) ||
	    !all_zero(p + NAME_OFF + used, name_len - used))
		return refuse(-EPROTO, why, why_size,
			      "nonzero reserved bytes in the header");
	if (!dest)
		return 0;

	/* The kernel's name field for dest's mediator: cut, NUL padded. */
	memcpy(want, dest->mediator, strnlen(dest->mediator, name_len));
	if (memcmp(p + NAME_OFF, want, name_len))
		return refuse(-ENODEV, why, why_size, "from mediator '%.*s'",
			      (int)used, (const char *)p + NAME_OFF);
	if (mg_get_le(p + offsetof(struct vfio_pci_mediate_stream_header,
				   vendor), 2) != dest->vendor ||
	    mg_get_le(p + offsetof(struct vfio_pci_mediate_stream_header,
				   device), 2) != dest->device)
		return refuse(-ENODEV, why, why_size, "from another device");
	return 0;
}

int mg_stream_check(const void *data, size_t len,
		    const struct mg_stream_dest *dest, struct mg_stream *out,
		    char *why, size_t why_size)
{
	const uint8_t *p = data;
	size_t pos;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len < HDR_SIZE)
		return refuse(-ENODATA, why, why_size,
			      "a %zu-byte stream has no room for its header",
			      len);
	ret = check_header(p, dest, why, why_size);
	if (ret)
		return ret;
	pos = HDR_SIZE;
	for (;;) {
		uint32_t type;
		uint64_t length;

		if (len - pos < REC_SIZE)
			return refuse(-ENODATA, why, why_size,
				      "stream ends inside a record header at %zu",
				      pos);
		type = (uint32_t)mg_get_le(p + pos, 4);
		if (mg_get_le(p + pos + 4, 4))
			return refuse(-EPROTO, why, why_size,
				      "nonzero reserved bytes in the record at %zu",
				      pos);
		length = mg_get_le(p + pos + 8, 8);
		if (type == VFIO_PCI_MEDIATE_RECORD_END) {
			if (length)
				return refuse(-EPROTO, why, why_size,
					      "END record of length %llu",
					      (unsigned long long)length);
			out->end_off = pos;
			pos += REC_SIZE;
			break;
		}
		if (type != VFIO_PCI_MEDIATE_RECORD_DATA)
			return refuse(-EPROTO, why, why_size,
				      "unknown record type %u at %zu", type,
				      pos);
		if (dest && length > dest->max_state_size - out->state_length)
			return refuse(-EFBIG, why, why_size,
				      "DATA record at %zu: more than %llu bytes of state",
				      pos,
				      (unsigned long long)dest->max_state_size);
		if (out->nr_data == MG_MAX_RECORDS)
			return refuse(-ENOSPC, why, why_size,
				      "more than %d DATA records",
				      MG_MAX_RECORDS);
		/* The kernel takes what is left as state and waits for more. */
		if (length > len - pos - REC_SIZE)
			return refuse(-ENODATA, why, why_size,
				      "DATA record at %zu claims %llu bytes, %zu left",
				      pos, (unsigned long long)length,
				      len - pos - REC_SIZE);
		out->data_off[out->nr_data] = pos;
		out->data_len[out->nr_data++] = length;
		out->state_length += length;
		pos += REC_SIZE + length;
	}
	out->trailer_off = pos;
	if (len - pos < TRAILER_SIZE)
		return refuse(-ENODATA, why, why_size,
			      "stream ends inside its trailer at %zu", pos);
	if (len - pos > TRAILER_SIZE)
		return refuse(-EPROTO, why, why_size,
			      "%zu bytes after its trailer",
			      len - pos - TRAILER_SIZE);
	out->len = len;
	if (mg_get_le(p + pos, 8) != out->state_length)
		return refuse(-EBADMSG, why, why_size,
			      "trailer counts %llu bytes of state, records %llu",
			      (unsigned long long)mg_get_le(p + pos, 8),
			      (unsigned long long)out->state_length);
	if (mg_get_le(p + pos + 8, 8) != mg_xxh64(p, pos, 0))
		return refuse(-EBADMSG, why, why_size, "checksum mismatch");
	return 0;
}
