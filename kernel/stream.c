// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration stream's framing (include/uapi/linux/vfio_pci_mediate.h):
 * wrapping what the mediator's ->save() produces on the source, and
 * checking a stream on the destination before the mediator's ->load() sees
 * any of it.  Whichever protocol carries the bytes, both ends are here.
 *
 * Callers hold the device's mig.lock and have a mediator with migration
 * ops serving the device.
 */

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xxhash.h>

#include "vfio_pci_mediate_priv.h"

#define HEADER_SIZE	sizeof(struct vfio_pci_mediate_stream_header)
#define RECORD_SIZE	sizeof(struct vfio_pci_mediate_stream_record)
#define TRAILER_SIZE	sizeof(struct vfio_pci_mediate_stream_trailer)

/*
 * Every DATA record holds RECORD_PAYLOAD bytes of state, except the last
 * before ->save() said "nothing (more)".  So the stream does not depend on
 * how the user reads it, and the size estimates (MIG_DATA_SIZE,
 * PRECOPY_INFO, v1 pending_bytes) count its record headers exactly.
 */
#define RECORD_PAYLOAD	SZ_64K

/*
 * The save side's own buffer: the header, the END record with the
 * trailer, and whole records for callers whose buffer cannot take one.
 */
#define CARRY_SIZE	(RECORD_SIZE + RECORD_PAYLOAD)

/* Saturating: estimates from the mediator must not wrap around. */
static u64 add_sat(u64 a, u64 b)
{
	return a + b < a ? U64_MAX : a + b;
}

/* The header's mediator field for @name: NUL padded, cut at its size. */
static void fill_name(char field[VFIO_PCI_MEDIATE_NAME_LEN], const char *name)
{
	size_t len = strnlen(name, VFIO_PCI_MEDIATE_NAME_LEN);

	memset(field, 0, VFIO_PCI_MEDIATE_NAME_LEN);
	memcpy(field, name, len);
}

/* ---------------------------------------------------------------------- */
/* Save side                                                                */
/* ---------------------------------------------------------------------- */

/**
 * struct vpm_save_stream - the stream of one save session
 * @hash: xxh64 of every byte handed out so far (all go before the trailer)
 * @state_length: bytes of state in the DATA records handed out so far
 * @live: the device still runs; ->save() returning 0 means "nothing now"
 * @ended: the END record and the trailer have been built
 * @err: sticky error of the session (the stream cannot continue)
 * @carry_len: bytes built in @carry
 * @carry_off: bytes of @carry already handed out
 * @carry: see CARRY_SIZE
 */
struct vpm_save_stream {
	struct xxh64_state hash;
	u64 state_length;
	bool live;
	bool ended;
	int err;
	size_t carry_len;
	size_t carry_off;
	u8 *carry;
};

struct vpm_save_stream *vpm_save_stream_new(struct vfio_pci_mediate_device *mdev,
					    bool live)
{
	struct pci_dev *pdev = mdev->core_device.pdev;
	struct vfio_pci_mediate_stream_header header = {
		.magic = cpu_to_le32(VFIO_PCI_MEDIATE_STREAM_MAGIC),
		.version = cpu_to_le16(VFIO_PCI_MEDIATE_STREAM_VERSION),
		.header_size = cpu_to_le16(HEADER_SIZE),
		.vendor = cpu_to_le16(pdev->vendor),
		.device = cpu_to_le16(pdev->device),
		.subsystem_vendor = cpu_to_le16(pdev->subsystem_vendor),
		.subsystem_device = cpu_to_le16(pdev->subsystem_device),
	};
	struct vpm_save_stream *s;

	BUILD_BUG_ON(HEADER_SIZE > CARRY_SIZE ||
		     RECORD_SIZE + TRAILER_SIZE > CARRY_SIZE);

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return NULL;
	s->carry = kvmalloc(CARRY_SIZE, GFP_KERNEL_ACCOUNT);
	if (!s->carry) {
		kfree(s);
		return NULL;
	}
	fill_name(header.mediator, mdev->mediator->ops->name);
	xxh64_reset(&s->hash, 0);
	xxh64_update(&s->hash, &header, sizeof(header));
	memcpy(s->carry, &header, sizeof(header));
	s->carry_len = sizeof(header);
	s->live = live;
	return s;
}

void vpm_save_stream_free(struct vpm_save_stream *s)
{
	if (!s)
		return;
	kvfree(s->carry);
	kfree(s);
}

void vpm_save_stream_stop(struct vpm_save_stream *s)
{
	s->live = false;
}

/* The state is complete: build the END record and the trailer. */
static void save_end_of_stream(struct vpm_save_stream *s)
{
	struct vfio_pci_mediate_stream_record end = {
		.type = cpu_to_le32(VFIO_PCI_MEDIATE_RECORD_END),
	};
	struct vfio_pci_mediate_stream_trailer trailer;

	xxh64_update(&s->hash, &end, sizeof(end));
	trailer.state_length = cpu_to_le64(s->state_length);
	trailer.checksum = cpu_to_le64(xxh64_digest(&s->hash));

	memcpy(s->carry, &end, sizeof(end));
	memcpy(s->carry + sizeof(end), &trailer, sizeof(trailer));
	s->carry_len = sizeof(end) + sizeof(trailer);
	s->carry_off = 0;
	s->ended = true;
}

/*
 * One DATA record at @dst (room for CARRY_SIZE bytes): the mediator writes
 * its state straight behind the record header until the record is full or
 * it has nothing (more).  Returns the record's size, 0 if the mediator had
 * nothing at all, or an errno.
 */
static ssize_t save_record(struct vpm_save_stream *s,
			   struct vfio_pci_mediate_device *mdev, u8 *dst)
{
	const struct vfio_pci_mediate_migration_ops *ops = mdev->mig.ops;
	struct vfio_pci_mediate_stream_record rec = {
		.type = cpu_to_le32(VFIO_PCI_MEDIATE_RECORD_DATA),
	};
	size_t n = 0;

	while (n < RECORD_PAYLOAD) {
		ssize_t got = ops->save(mdev->handle, dst + RECORD_SIZE + n,
					RECORD_PAYLOAD - n);

		if (got < 0)
			return got;
		if (!got)
			break;
		if ((size_t)got > RECORD_PAYLOAD - n)
			return -EIO;
		n += got;
	}
	if (!n)
		return 0;
	if ((u64)n > ops->max_state_size - s->state_length) {
		pci_warn(mdev->core_device.pdev,
			 "mediator '%s' produced more than its max_state_size (%llu bytes) of state\n",
			 mdev->mediator->ops->name, ops->max_state_size);
		return -EFBIG;
	}

	rec.length = cpu_to_le64(n);
	memcpy(dst, &rec, sizeof(rec));
	xxh64_update(&s->hash, dst, RECORD_SIZE + n);
	s->state_length += n;
	return RECORD_SIZE + n;
}

/**
 * vpm_save_stream_read() - the next bytes of a save session's stream
 * @s: the session's stream
 * @mdev: its device
 * @buf: kernel buffer receiving them
 * @len: its size
 *
 * Fills @buf with whole records as far as it has room and the mediator
 * has state to give now; the mediator writes straight into @buf.  A read
 * with no room for a whole record is served from a record built in the
 * carry buffer, so the stream is the same however it is read.
 *
 * Return: bytes written (fewer than @len only when nothing more is
 * available now or the stream has ended); 0 when nothing is available
 * now (live) or the stream has ended (trailer handed out); or the
 * session's sticky errno.
 */
ssize_t vpm_save_stream_read(struct vpm_save_stream *s,
			     struct vfio_pci_mediate_device *mdev, void *buf,
			     size_t len)
{
	u8 *out = buf;
	size_t done = 0;
	ssize_t n;

	if (s->err)
		return s->err;

	while (done < len) {
		if (s->carry_off < s->carry_len) {
			size_t step = min(len - done, s->carry_len - s->carry_off);

			memcpy(out + done, s->carry + s->carry_off, step);
			s->carry_off += step;
			done += step;
			continue;
		}
		if (s->ended)
			break;

		if (len - done >= CARRY_SIZE) {
			n = save_record(s, mdev, out + done);
			if (n > 0)
				done += n;
		} else {
			n = save_record(s, mdev, s->carry);
			if (n > 0) {
				s->carry_len = n;
				s->carry_off = 0;
			}
		}
		if (n < 0) {
			s->err = n;
			break;
		}
		if (!n) {
			if (s->live)
				break;
			save_end_of_stream(s);
		}
	}
	/* Bytes already in @buf are good; the error comes with the next read. */
	return done ? done : s->err;
}

/* @bytes of state as DATA records: full ones and maybe one partial. */
static u64 framed_size(u64 bytes)
{
	u64 records = bytes / RECORD_PAYLOAD + !!(bytes % RECORD_PAYLOAD);

	return add_sat(bytes, records * RECORD_SIZE);
}

void vpm_save_stream_pending(struct vpm_save_stream *s, u64 live_bytes,
			     u64 stop_bytes, u64 *now, u64 *stop_copy)
{
	u64 unread = s ? s->carry_len - s->carry_off : HEADER_SIZE;

	if (s && s->ended) {
		*now = unread;
		*stop_copy = unread;
		return;
	}

	*stop_copy = add_sat(add_sat(unread, RECORD_SIZE + TRAILER_SIZE),
			     framed_size(stop_bytes));
	if (s && !s->live) {
		*now = *stop_copy;
		return;
	}
	*now = add_sat(unread, framed_size(live_bytes));
}

/* ---------------------------------------------------------------------- */
/* Load side                                                                */
/* ---------------------------------------------------------------------- */

enum vpm_load_phase {
	VPM_LOAD_HEADER,
	VPM_LOAD_RECORD,
	VPM_LOAD_DATA,
	VPM_LOAD_TRAILER,
	VPM_LOAD_DONE,
};

/**
 * struct vpm_load_stream - the stream of one load session
 * @hash: xxh64 of every byte before the trailer received so far
 * @phase: what the next bytes are
 * @err: sticky errno once the stream was refused (or the load failed)
 * @received: stream bytes accepted so far
 * @claimed: bytes of state the DATA records seen so far announce
 * @record_left: bytes of the current DATA record still to come
 * @state: the state received so far, for ->load()
 * @state_len: bytes in @state
 * @state_cap: bytes allocated for @state
 * @part_len: bytes of @part received
 * @part: the header, record header or trailer being received
 */
struct vpm_load_stream {
	struct xxh64_state hash;
	enum vpm_load_phase phase;
	int err;
	u64 received;
	u64 claimed;
	u64 record_left;
	void *state;
	size_t state_len;
	size_t state_cap;
	size_t part_len;
	union {
		struct vfio_pci_mediate_stream_header header;
		struct vfio_pci_mediate_stream_record record;
		struct vfio_pci_mediate_stream_trailer trailer;
	} part;
};

struct vpm_load_stream *vpm_load_stream_new(void)
{
	struct vpm_load_stream *l;

	l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);
	if (!l)
		return NULL;
	xxh64_reset(&l->hash, 0);
	l->phase = VPM_LOAD_HEADER;
	return l;
}

void vpm_load_stream_free(struct vpm_load_stream *l)
{
	if (!l)
		return;
	kvfree(l->state);
	kfree(l);
}

/* The first refusal of the session: log it, make it stick. */
static __printf(4, 5) int refuse(struct vpm_load_stream *l,
				 struct vfio_pci_mediate_device *mdev,
				 int err, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	l->err = err;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pci_warn(mdev->core_device.pdev, "migration stream refused: %pV\n",
		 &vaf);
	va_end(args);
	return err;
}

static int check_header(struct vpm_load_stream *l,
			struct vfio_pci_mediate_device *mdev)
{
	const struct vfio_pci_mediate_stream_header *h = &l->part.header;
	const char *name = mdev->mediator->ops->name;
	struct pci_dev *pdev = mdev->core_device.pdev;
	char want[VFIO_PCI_MEDIATE_NAME_LEN];
	size_t name_len;

	if (le32_to_cpu(h->magic) != VFIO_PCI_MEDIATE_STREAM_MAGIC)
		return refuse(l, mdev, -EPROTO,
			      "bad magic %#x, not a vfio-pci-mediate stream",
			      le32_to_cpu(h->magic));
	if (le16_to_cpu(h->version) != VFIO_PCI_MEDIATE_STREAM_VERSION)
		return refuse(l, mdev, -EPROTONOSUPPORT,
			      "format version %u, this driver reads version %u",
			      le16_to_cpu(h->version),
			      VFIO_PCI_MEDIATE_STREAM_VERSION);
	if (le16_to_cpu(h->header_size) != HEADER_SIZE)
		return refuse(l, mdev, -EPROTO,
			      "header size %u, version %u has %zu",
			      le16_to_cpu(h->header_size),
			      VFIO_PCI_MEDIATE_STREAM_VERSION, HEADER_SIZE);
	name_len = strnlen(h->mediator, sizeof(h->mediator));
	if (h->reserved ||
	    memchr_inv(h->mediator + name_len, 0,
		       sizeof(h->mediator) - name_len))
		return refuse(l, mdev, -EPROTO,
			      "nonzero reserved bytes in the header");

	fill_name(want, name);
	if (memcmp(h->mediator, want, sizeof(want)))
		return refuse(l, mdev, -ENODEV,
			      "from mediator '%*pE', this device is served by '%s'",
			      (int)name_len, h->mediator, name);
	if (le16_to_cpu(h->vendor) != pdev->vendor ||
	    le16_to_cpu(h->device) != pdev->device)
		return refuse(l, mdev, -ENODEV,
			      "from a %04x:%04x device, this one is %04x:%04x",
			      le16_to_cpu(h->vendor), le16_to_cpu(h->device),
			      pdev->vendor, pdev->device);

	l->phase = VPM_LOAD_RECORD;
	return 0;
}

static int check_record(struct vpm_load_stream *l,
			struct vfio_pci_mediate_device *mdev)
{
	const struct vfio_pci_mediate_stream_record *r = &l->part.record;
	u64 max = mdev->mig.ops->max_state_size;
	u64 length = le64_to_cpu(r->length);
	u32 type = le32_to_cpu(r->type);

	if (r->reserved)
		return refuse(l, mdev, -EPROTO,
			      "nonzero reserved bytes in a record");

	switch (type) {
	case VFIO_PCI_MEDIATE_RECORD_END:
		if (length)
			return refuse(l, mdev, -EPROTO,
				      "END record of length %llu", length);
		l->phase = VPM_LOAD_TRAILER;
		return 0;
	case VFIO_PCI_MEDIATE_RECORD_DATA:
		/* Before a byte of it is allocated. */
		if (length > max - l->claimed)
			return refuse(l, mdev, -EFBIG,
				      "it claims more than %llu bytes of state, the most mediator '%s' takes",
				      max, mdev->mediator->ops->name);
		l->claimed += length;
		l->record_left = length;
		l->phase = length ? VPM_LOAD_DATA : VPM_LOAD_RECORD;
		return 0;
	default:
		return refuse(l, mdev, -EPROTO, "unknown record type %u",
			      type);
	}
}

/* The trailer is complete: check it, then hand the state over. */
static int check_trailer(struct vpm_load_stream *l,
			 struct vfio_pci_mediate_device *mdev)
{
	const struct vfio_pci_mediate_stream_trailer *t = &l->part.trailer;
	int ret;

	if (le64_to_cpu(t->state_length) != l->claimed)
		return refuse(l, mdev, -EBADMSG,
			      "its trailer counts %llu bytes of state, its records %llu",
			      le64_to_cpu(t->state_length), l->claimed);
	if (le64_to_cpu(t->checksum) != xxh64_digest(&l->hash))
		return refuse(l, mdev, -EBADMSG,
			      "checksum mismatch, the stream was altered or damaged");

	l->phase = VPM_LOAD_DONE;
	ret = mdev->mig.ops->load(mdev->handle, l->state, l->state_len);
	kvfree(l->state);
	l->state = NULL;
	l->state_len = 0;
	l->state_cap = 0;
	if (ret) {
		l->err = ret;
		pci_warn(mdev->core_device.pdev,
			 "migration state refused by mediator '%s': %d\n",
			 mdev->mediator->ops->name, ret);
	}
	return ret;
}

/*
 * Room for @more bytes of state: grown with what actually arrived (at most
 * twice the bytes received, never above max_state_size, which the records
 * were checked against), not with what the records claim.
 */
static int grow_state(struct vpm_load_stream *l, u64 max, size_t more)
{
	size_t want = l->state_len + more;
	size_t cap, hi;
	void *p;

	if (want <= l->state_cap)
		return 0;
	hi = want > max / 2 ? max : 2 * want;
	cap = clamp_t(size_t, 2 * l->state_cap, want, hi);

	p = kvrealloc(l->state, l->state_cap, cap,
		      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!p)
		return -ENOMEM;
	l->state = p;
	l->state_cap = cap;
	return 0;
}

static size_t part_size(enum vpm_load_phase phase)
{
	switch (phase) {
	case VPM_LOAD_HEADER:
		return HEADER_SIZE;
	case VPM_LOAD_RECORD:
		return RECORD_SIZE;
	default:
		return TRAILER_SIZE;
	}
}

/**
 * vpm_load_stream_write() - feed bytes of a stream to a load session
 * @l: the session's stream
 * @mdev: its device
 * @buf: kernel buffer with the bytes
 * @len: how many
 *
 * Each part is checked as soon as it is complete; the mediator's ->load()
 * runs when the trailer checks out.  A write that carries bytes beyond the
 * trailer is refused before ->load() runs.
 *
 * Return: @len, or the refusal's errno (see the uAPI header), which every
 * later write of the session returns too.
 */
ssize_t vpm_load_stream_write(struct vpm_load_stream *l,
			      struct vfio_pci_mediate_device *mdev,
			      const void *buf, size_t len)
{
	u64 max = mdev->mig.ops->max_state_size;
	const u8 *in = buf;
	size_t done = 0;
	int ret;

	if (l->err)
		return l->err;
	if (!len)
		return 0;
	if (l->phase == VPM_LOAD_DONE)
		return refuse(l, mdev, -EPROTO, "bytes after its trailer");

	while (done < len) {
		size_t step;

		if (l->phase == VPM_LOAD_DATA) {
			step = min_t(u64, l->record_left, len - done);
			if (grow_state(l, max, step))
				return refuse(l, mdev, -ENOMEM,
					      "no memory for %zu bytes of state",
					      l->state_len + step);
			/*
			 * Hash the copy: @in may be the v1 data section,
			 * which the user can change under us through its
			 * mmap, and the checksum must cover what ->load()
			 * will get.
			 */
			memcpy(l->state + l->state_len, in + done, step);
			xxh64_update(&l->hash, l->state + l->state_len, step);
			l->state_len += step;
			l->record_left -= step;
			if (!l->record_left)
				l->phase = VPM_LOAD_RECORD;
		} else {
			step = min(part_size(l->phase) - l->part_len,
				   len - done);
			memcpy((u8 *)&l->part + l->part_len, in + done, step);
			l->part_len += step;
		}
		done += step;
		l->received += step;

		if (l->phase == VPM_LOAD_DATA ||
		    l->part_len < part_size(l->phase))
			continue;

		l->part_len = 0;
		switch (l->phase) {
		case VPM_LOAD_HEADER:
			xxh64_update(&l->hash, &l->part, HEADER_SIZE);
			ret = check_header(l, mdev);
			break;
		case VPM_LOAD_RECORD:
			xxh64_update(&l->hash, &l->part, RECORD_SIZE);
			ret = check_record(l, mdev);
			break;
		default:
			/* Checked before ->load() runs in check_trailer(). */
			if (done < len)
				return refuse(l, mdev, -EPROTO,
					      "bytes after its trailer");
			ret = check_trailer(l, mdev);
			break;
		}
		if (ret)
			return ret;
	}
	return len;
}

/**
 * vpm_load_stream_finish() - the load session ends (RESUMING is left)
 * @l: the session's stream
 * @mdev: its device
 *
 * Return: 0 if a complete stream was loaded; the refusal's errno; or
 * -ENODATA if the stream stopped before its trailer.
 */
int vpm_load_stream_finish(struct vpm_load_stream *l,
			   struct vfio_pci_mediate_device *mdev)
{
	if (l->err)
		return l->err;
	if (l->phase != VPM_LOAD_DONE)
		return refuse(l, mdev, -ENODATA,
			      "it ended after %llu bytes, before its trailer",
			      l->received);
	return 0;
}
