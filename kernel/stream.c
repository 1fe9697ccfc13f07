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
#include <linux/vmalloc.h>
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
 * trailer, and what of a record does not fit the caller's buffer (all of
 * it when not even its header does).
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
 * @initial_sent: pre-copy ran dry once: what it gives from now on is
 *	state that changed (PRECOPY_INFO's dirty_bytes), not initial data
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
	bool initial_sent;
	bool ended;
	int err;
	size_t carry_len;
	size_t carry_off;
	u8 *carry;
};

struct vpm_save_stream *vpm_save_stream_new(struct vfio_pci_mediate_device *vpmdev,
					    bool live)
{
	struct pci_dev *pdev = vpmdev->core_device.pdev;
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
	fill_name(header.mediator, vpmdev->mediator->ops->name);
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
 * One DATA record: the mediator writes its state straight behind the
 * record header at @dst until the record is full or it has nothing (more).
 * What goes beyond @room (at least RECORD_SIZE) bytes at @dst goes to the
 * start of the carry buffer, which must hold nothing unread.  Returns the
 * record's size, 0 if the mediator had nothing at all, or an errno.
 */
static ssize_t save_record(struct vpm_save_stream *s,
			   struct vfio_pci_mediate_device *vpmdev, u8 *dst,
			   size_t room)
{
	const struct vfio_pci_mediate_migration_ops *ops = vpmdev->mig.ops;
	struct vfio_pci_mediate_stream_record rec = {
		.type = cpu_to_le32(VFIO_PCI_MEDIATE_RECORD_DATA),
	};
	/* Bytes of state that go to @dst; the rest to the carry buffer. */
	size_t split = min_t(size_t, room - RECORD_SIZE, RECORD_PAYLOAD);
	size_t n = 0;

	while (n < RECORD_PAYLOAD) {
		size_t ask = n < split ? split - n : RECORD_PAYLOAD - n;
		u8 *to = n < split ? dst + RECORD_SIZE + n :
				     s->carry + (n - split);
		ssize_t got = ops->save(vpmdev->handle, to, ask);

		if (got < 0)
			return got;
		if (!got)
			break;
		if ((size_t)got > ask)
			return -EIO;
		n += got;
	}
	if (!n)
		return 0;
	if ((u64)n > ops->max_state_size - s->state_length) {
		dev_warn_ratelimited(&vpmdev->core_device.pdev->dev,
				     "mediator '%s' produced more than its max_state_size (%llu bytes) of state\n",
				     vpmdev->mediator->ops->name,
				     ops->max_state_size);
		return -EFBIG;
	}

	rec.length = cpu_to_le64(n);
	memcpy(dst, &rec, sizeof(rec));
	xxh64_update(&s->hash, dst, RECORD_SIZE + min(n, split));
	if (n > split)
		xxh64_update(&s->hash, s->carry, n - split);
	s->state_length += n;
	return RECORD_SIZE + n;
}

/**
 * vpm_save_stream_read() - the next bytes of a save session's stream
 * @s: the session's stream
 * @vpmdev: its device
 * @buf: kernel buffer receiving them
 * @len: its size
 *
 * Fills @buf with records as far as it has room and the mediator has
 * state to give now; the mediator writes straight into @buf.  The part of
 * a record that does not fit (all of it when not even its header does)
 * is built in the carry buffer and handed out by the next read, so the
 * stream is the same however it is read.
 *
 * Return: bytes written (fewer than @len only when nothing more is
 * available now or the stream has ended); 0 when nothing is available
 * now (live) or the stream has ended (trailer handed out); or the
 * session's sticky errno.
 */
ssize_t vpm_save_stream_read(struct vpm_save_stream *s,
			     struct vfio_pci_mediate_device *vpmdev, void *buf,
			     size_t len)
{
	u8 *out = buf;
	size_t done = 0, room, head;
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

		room = len - done;
		if (room >= RECORD_SIZE) {
			n = save_record(s, vpmdev, out + done, room);
			if (n > 0) {
				head = min_t(size_t, n, room);
				done += head;
				/* The rest, if any, went to the carry buffer. */
				s->carry_len = n - head;
				s->carry_off = 0;
			}
		} else {
			n = save_record(s, vpmdev, s->carry, CARRY_SIZE);
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
			if (s->live) {
				s->initial_sent = true;
				break;
			}
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
			     u64 stop_bytes, u64 *initial, u64 *dirty,
			     u64 *stop_copy)
{
	u64 unread = s ? s->carry_len - s->carry_off : HEADER_SIZE;
	u64 now;

	if (s && s->ended) {
		now = unread;
		*stop_copy = unread;
	} else {
		*stop_copy = add_sat(add_sat(unread,
					     RECORD_SIZE + TRAILER_SIZE),
				     framed_size(stop_bytes));
		now = s && !s->live ? *stop_copy :
		      add_sat(unread, framed_size(live_bytes));
	}
	/*
	 * Only what can be read now counts, as initial data until pre-copy
	 * first runs dry and as changed state after: both 0 is the
	 * temporary end of stream, where read() gives -ENOMSG.  The rest is
	 * MIG_DATA_SIZE's (later kernels' VFIO_MIG_GET_PRECOPY_INFO).
	 */
	*initial = s && s->initial_sent ? 0 : now;
	*dirty = s && s->initial_sent ? now : 0;
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
 * @pages: the state received so far, page by page, for ->load()
 * @nr_pages: pages allocated in @pages
 * @pages_cap: entries of @pages
 * @state_len: bytes of state in @pages
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
	struct page **pages;
	unsigned long nr_pages;
	unsigned long pages_cap;
	size_t state_len;
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

static void free_state(struct vpm_load_stream *l)
{
	while (l->nr_pages)
		__free_page(l->pages[--l->nr_pages]);
	kvfree(l->pages);
	l->pages = NULL;
	l->pages_cap = 0;
	l->state_len = 0;
}

void vpm_load_stream_free(struct vpm_load_stream *l)
{
	if (!l)
		return;
	free_state(l);
	kfree(l);
}

/*
 * The device's user can send refused streams in a loop (RESUMING, a bad
 * header, reset): each refusal is counted (sysfs migration_refused), and
 * logged as long as the device's own ratelimit allows.
 */
static void note_refusal(struct vfio_pci_mediate_device *vpmdev,
			 struct va_format *vaf)
{
	struct vpm_migration *mig = &vpmdev->mig;

	lockdep_assert_held(&mig->lock);
	WRITE_ONCE(mig->refused, mig->refused + 1);
	if (__ratelimit(&mig->refusal_rs))
		pci_warn(vpmdev->core_device.pdev, "migration stream refused: %pV\n",
			 vaf);
}

/* The first refusal of the session: note it, make it stick. */
static __printf(4, 5) int refuse(struct vpm_load_stream *l,
				 struct vfio_pci_mediate_device *vpmdev,
				 int err, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	l->err = err;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	note_refusal(vpmdev, &vaf);
	va_end(args);
	return err;
}

static int check_header(struct vpm_load_stream *l,
			struct vfio_pci_mediate_device *vpmdev)
{
	const struct vfio_pci_mediate_stream_header *h = &l->part.header;
	const char *name = vpmdev->mediator->ops->name;
	struct pci_dev *pdev = vpmdev->core_device.pdev;
	char want[VFIO_PCI_MEDIATE_NAME_LEN];
	size_t name_len;

	if (le32_to_cpu(h->magic) != VFIO_PCI_MEDIATE_STREAM_MAGIC)
		return refuse(l, vpmdev, -EPROTO,
			      "bad magic %#x, not a vfio-pci-mediate stream",
			      le32_to_cpu(h->magic));
	if (le16_to_cpu(h->version) != VFIO_PCI_MEDIATE_STREAM_VERSION)
		return refuse(l, vpmdev, -EPROTONOSUPPORT,
			      "format version %u, this driver reads version %u",
			      le16_to_cpu(h->version),
			      VFIO_PCI_MEDIATE_STREAM_VERSION);
	if (le16_to_cpu(h->header_size) != HEADER_SIZE)
		return refuse(l, vpmdev, -EPROTO,
			      "header size %u, version %u has %zu",
			      le16_to_cpu(h->header_size),
			      VFIO_PCI_MEDIATE_STREAM_VERSION, HEADER_SIZE);
	name_len = strnlen(h->mediator, sizeof(h->mediator));
	if (h->reserved ||
	    memchr_inv(h->mediator + name_len, 0,
		       sizeof(h->mediator) - name_len))
		return refuse(l, vpmdev, -EPROTO,
			      "nonzero reserved bytes in the header");

	fill_name(want, name);
	if (memcmp(h->mediator, want, sizeof(want)))
		return refuse(l, vpmdev, -ENODEV,
			      "from mediator '%*pE', this device is served by '%s'",
			      (int)name_len, h->mediator, name);
	if (le16_to_cpu(h->vendor) != pdev->vendor ||
	    le16_to_cpu(h->device) != pdev->device)
		return refuse(l, vpmdev, -ENODEV,
			      "from a %04x:%04x device, this one is %04x:%04x",
			      le16_to_cpu(h->vendor), le16_to_cpu(h->device),
			      pdev->vendor, pdev->device);

	l->phase = VPM_LOAD_RECORD;
	return 0;
}

static int check_record(struct vpm_load_stream *l,
			struct vfio_pci_mediate_device *vpmdev)
{
	const struct vfio_pci_mediate_stream_record *r = &l->part.record;
	u64 max = vpmdev->mig.ops->max_state_size;
	u64 length = le64_to_cpu(r->length);
	u32 type = le32_to_cpu(r->type);

	if (r->reserved)
		return refuse(l, vpmdev, -EPROTO,
			      "nonzero reserved bytes in a record");

	switch (type) {
	case VFIO_PCI_MEDIATE_RECORD_END:
		if (length)
			return refuse(l, vpmdev, -EPROTO,
				      "END record of length %llu", length);
		l->phase = VPM_LOAD_TRAILER;
		return 0;
	case VFIO_PCI_MEDIATE_RECORD_DATA:
		/* Before a byte of it is allocated. */
		if (length > max - l->claimed)
			return refuse(l, vpmdev, -EFBIG,
				      "it claims more than %llu bytes of state, the most mediator '%s' takes",
				      max, vpmdev->mediator->ops->name);
		l->claimed += length;
		l->record_left = length;
		l->phase = length ? VPM_LOAD_DATA : VPM_LOAD_RECORD;
		return 0;
	default:
		return refuse(l, vpmdev, -EPROTO, "unknown record type %u",
			      type);
	}
}

/*
 * The state as one buffer for ->load(): its pages mapped contiguously
 * (vunmap() undoes it), NULL with no state.  The rest of the last page is
 * zeroed, so that a mediator that reads past @state_len sees no stale
 * kernel memory.
 */
static void *map_state(struct vpm_load_stream *l)
{
	size_t used = offset_in_page(l->state_len);

	if (!l->nr_pages)
		return NULL;
	if (l->nr_pages > UINT_MAX)
		return ERR_PTR(-ENOMEM);
	if (used)
		memset(page_address(l->pages[l->nr_pages - 1]) + used, 0,
		       PAGE_SIZE - used);
	return vmap(l->pages, l->nr_pages, VM_MAP, PAGE_KERNEL) ?:
	       ERR_PTR(-ENOMEM);
}

/* The trailer is complete: check it, then hand the state over. */
static int check_trailer(struct vpm_load_stream *l,
			 struct vfio_pci_mediate_device *vpmdev)
{
	const struct vfio_pci_mediate_stream_trailer *t = &l->part.trailer;
	void *state;
	int ret;

	if (le64_to_cpu(t->state_length) != l->claimed)
		return refuse(l, vpmdev, -EBADMSG,
			      "its trailer counts %llu bytes of state, its records %llu",
			      le64_to_cpu(t->state_length), l->claimed);
	if (le64_to_cpu(t->checksum) != xxh64_digest(&l->hash))
		return refuse(l, vpmdev, -EBADMSG,
			      "checksum mismatch, the stream was altered or damaged");

	state = map_state(l);
	if (IS_ERR(state))
		return refuse(l, vpmdev, PTR_ERR(state),
			      "no memory to map %zu bytes of state",
			      l->state_len);

	l->phase = VPM_LOAD_DONE;
	ret = vpmdev->mig.ops->load(vpmdev->handle, state, l->state_len);
	vunmap(state);
	free_state(l);
	if (ret)
		return refuse(l, vpmdev, ret, "state refused by mediator '%s': %d",
			      vpmdev->mediator->ops->name, ret);
	return 0;
}

/*
 * Where the next bytes of state go: the page they fall in, allocated when
 * they are its first.  The state grows page by page with what actually
 * arrived, never with what the records claim (whose total was checked
 * against max_state_size), and growing it never moves what is already
 * there; only ->load() sees it contiguous (map_state()).  Returns the
 * address, with the room left in that page in *@room, or NULL.
 */
static void *state_tail(struct vpm_load_stream *l, size_t *room)
{
	unsigned long index = l->state_len >> PAGE_SHIFT;
	struct page **pages;
	unsigned long cap;

	*room = PAGE_SIZE - offset_in_page(l->state_len);
	if (index < l->nr_pages)
		return page_address(l->pages[index]) +
		       offset_in_page(l->state_len);

	if (l->nr_pages == l->pages_cap) {
		cap = max(2 * l->pages_cap, 16UL);
		pages = vpm_kvrealloc(l->pages, l->pages_cap * sizeof(*pages),
				      cap * sizeof(*pages),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!pages)
			return NULL;
		l->pages = pages;
		l->pages_cap = cap;
	}
	l->pages[index] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!l->pages[index])
		return NULL;
	l->nr_pages++;
	return page_address(l->pages[index]);
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
 * @vpmdev: its device
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
			      struct vfio_pci_mediate_device *vpmdev,
			      const void *buf, size_t len)
{
	const u8 *in = buf;
	size_t done = 0;
	int ret;

	if (l->err)
		return l->err;
	if (!len)
		return 0;
	if (l->phase == VPM_LOAD_DONE)
		return refuse(l, vpmdev, -EPROTO, "bytes after its trailer");

	while (done < len) {
		size_t step, room;
		void *dst;

		if (l->phase == VPM_LOAD_DATA) {
			dst = state_tail(l, &room);
			if (!dst)
				return refuse(l, vpmdev, -ENOMEM,
					      "no memory for state beyond %zu bytes",
					      l->state_len);
			step = min_t(u64, l->record_left, min(len - done, room));
			/*
			 * Hash the copy: @in may be the v1 data section,
			 * which the user can change under us through its
			 * mmap, and the checksum must cover what ->load()
			 * will get.
			 */
			memcpy(dst, in + done, step);
			xxh64_update(&l->hash, dst, step);
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
			ret = check_header(l, vpmdev);
			break;
		case VPM_LOAD_RECORD:
			xxh64_update(&l->hash, &l->part, RECORD_SIZE);
			ret = check_record(l, vpmdev);
			break;
		default:
			/* Checked before ->load() runs in check_trailer(). */
			if (done < len)
				return refuse(l, vpmdev, -EPROTO,
					      "bytes after its trailer");
			ret = check_trailer(l, vpmdev);
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
 * @vpmdev: its device
 *
 * Return: 0 if a complete stream was loaded; the refusal's errno; or
 * -ENODATA if the stream stopped before its trailer.
 */
int vpm_load_stream_finish(struct vpm_load_stream *l,
			   struct vfio_pci_mediate_device *vpmdev)
{
	if (l->err)
		return l->err;
	if (l->phase != VPM_LOAD_DONE)
		return refuse(l, vpmdev, -ENODATA,
			      "it ended after %llu bytes, before its trailer",
			      l->received);
	return 0;
}
