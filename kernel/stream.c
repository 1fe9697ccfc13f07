// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration stream's framing (include/uapi/linux/vfio_pci_mediate.h):
 * wrapping what the mediator's ->save() produces on the source, and on the
 * destination holding what a stream carries until its checks
 * (stream_parse.c) let the mediator's ->load() see it.  Whichever protocol
 * carries the bytes, both ends are here.
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

#include "stream_parse.h"
#include "vfio_pci_mediate_priv.h"

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
#define CARRY_SIZE	(VPM_STREAM_RECORD_SIZE + RECORD_PAYLOAD)

/* Saturating: estimates from the mediator must not wrap around. */
static u64 add_sat(u64 a, u64 b)
{
	return a + b < a ? U64_MAX : a + b;
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
		.header_size = cpu_to_le16(VPM_STREAM_HEADER_SIZE),
		.vendor = cpu_to_le16(pdev->vendor),
		.device = cpu_to_le16(pdev->device),
		.subsystem_vendor = cpu_to_le16(pdev->subsystem_vendor),
		.subsystem_device = cpu_to_le16(pdev->subsystem_device),
	};
	struct vpm_save_stream *s;

	BUILD_BUG_ON(VPM_STREAM_HEADER_SIZE > CARRY_SIZE ||
		     VPM_STREAM_RECORD_SIZE + VPM_STREAM_TRAILER_SIZE >
		     CARRY_SIZE);

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return NULL;
	s->carry = kvmalloc(CARRY_SIZE, GFP_KERNEL_ACCOUNT);
	if (!s->carry) {
		kfree(s);
		return NULL;
	}
	vpm_stream_fill_name(header.mediator, vpmdev->mediator->ops->name);
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
 * What goes beyond @room (at least VPM_STREAM_RECORD_SIZE) bytes at @dst
 * goes to the start of the carry buffer, which must hold nothing unread.
 * Returns the record's size, 0 if the mediator had nothing at all, or an
 * errno.
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
	size_t split = min_t(size_t, room - VPM_STREAM_RECORD_SIZE,
			     RECORD_PAYLOAD);
	size_t n = 0;

	while (n < RECORD_PAYLOAD) {
		size_t ask = n < split ? split - n : RECORD_PAYLOAD - n;
		u8 *to = n < split ? dst + VPM_STREAM_RECORD_SIZE + n :
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
	xxh64_update(&s->hash, dst, VPM_STREAM_RECORD_SIZE + min(n, split));
	if (n > split)
		xxh64_update(&s->hash, s->carry, n - split);
	s->state_length += n;
	return VPM_STREAM_RECORD_SIZE + n;
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
		if (room >= VPM_STREAM_RECORD_SIZE) {
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

	return add_sat(bytes, records * VPM_STREAM_RECORD_SIZE);
}

void vpm_save_stream_pending(struct vpm_save_stream *s, u64 live_bytes,
			     u64 stop_bytes, u64 *initial, u64 *dirty,
			     u64 *stop_copy)
{
	u64 unread = s ? s->carry_len - s->carry_off : VPM_STREAM_HEADER_SIZE;
	u64 now;

	if (s && s->ended) {
		now = unread;
		*stop_copy = unread;
	} else {
		*stop_copy = add_sat(add_sat(unread, VPM_STREAM_RECORD_SIZE +
					     VPM_STREAM_TRAILER_SIZE),
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

/**
 * struct vpm_load_stream - the stream of one load session
 * @parse: where it is in the stream; @pages holds its @parse.state_len
 *	bytes of state until ->load() has run
 * @err: sticky errno once the stream was refused (or the load failed)
 * @pages: the state received so far, page by page, for ->load()
 * @nr_pages: pages allocated in @pages
 * @pages_cap: entries of @pages
 */
struct vpm_load_stream {
	struct vpm_stream_parser parse;
	int err;
	struct page **pages;
	unsigned long nr_pages;
	unsigned long pages_cap;
};

struct vpm_load_stream *vpm_load_stream_new(void)
{
	struct vpm_load_stream *l;

	l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);
	if (!l)
		return NULL;
	vpm_stream_parser_init(&l->parse);
	return l;
}

static void free_state(struct vpm_load_stream *l)
{
	while (l->nr_pages)
		__free_page(l->pages[--l->nr_pages]);
	kvfree(l->pages);
	l->pages = NULL;
	l->pages_cap = 0;
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

/* One write's (or the end's) session and device, for the parser's calls. */
struct load_call {
	struct vpm_load_stream *l;
	struct vfio_pci_mediate_device *vpmdev;
};

/* The first refusal of the session: note it, make it stick. */
static __printf(3, 4) int refuse(void *ctx, int err, const char *fmt, ...)
{
	struct load_call *call = ctx;
	struct va_format vaf;
	va_list args;

	call->l->err = err;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	note_refusal(call->vpmdev, &vaf);
	va_end(args);
	return err;
}

/*
 * The state as one buffer for ->load(): its pages mapped contiguously
 * (vunmap() undoes it), NULL with no state.  The rest of the last page is
 * zeroed, so that a mediator that reads past the state's length sees no
 * stale kernel memory.
 */
static void *map_state(struct vpm_load_stream *l)
{
	size_t used = offset_in_page(l->parse.state_len);

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

/* The trailer checked out: hand the state over. */
static int load_state(struct load_call *call)
{
	struct vfio_pci_mediate_device *vpmdev = call->vpmdev;
	struct vpm_load_stream *l = call->l;
	size_t len = l->parse.state_len;
	void *state;
	int ret;

	state = map_state(l);
	if (IS_ERR(state))
		return refuse(call, PTR_ERR(state),
			      "no memory to map %zu bytes of state", len);

	ret = vpmdev->mig.ops->load(vpmdev->handle, state, len);
	vunmap(state);
	free_state(l);
	if (ret)
		return refuse(call, ret, "state refused by mediator '%s': %d",
			      vpmdev->mediator->ops->name, ret);
	return 0;
}

/*
 * Where the next bytes of state go (the parser's state_tail()): the page
 * they fall in, allocated when they are its first.  The state grows page
 * by page with what actually arrived, never with what the records claim
 * (whose total the parser checked against max_state_size), and growing it
 * never moves what is already there; only ->load() sees it contiguous
 * (map_state()).  Returns the address, with the room left in that page in
 * *@room, or NULL.
 */
static void *state_tail(void *ctx, size_t state_len, size_t *room)
{
	struct vpm_load_stream *l = ((struct load_call *)ctx)->l;
	unsigned long index = state_len >> PAGE_SHIFT;
	struct page **pages;
	unsigned long cap;

	*room = PAGE_SIZE - offset_in_page(state_len);
	if (index < l->nr_pages)
		return page_address(l->pages[index]) +
		       offset_in_page(state_len);

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

/**
 * vpm_load_stream_write() - feed bytes of a stream to a load session
 * @l: the session's stream
 * @vpmdev: its device
 * @buf: kernel buffer with the bytes
 * @len: how many
 *
 * Each part is checked as soon as it is complete (stream_parse.c); the
 * mediator's ->load() runs when the trailer checks out.  A write that
 * carries bytes beyond the trailer is refused before ->load() runs.
 *
 * Return: @len, or the refusal's errno (see the uAPI header), which every
 * later write of the session returns too.
 */
ssize_t vpm_load_stream_write(struct vpm_load_stream *l,
			      struct vfio_pci_mediate_device *vpmdev,
			      const void *buf, size_t len)
{
	const struct vpm_stream_dest dest = {
		.mediator = vpmdev->mediator->ops->name,
		.vendor = vpmdev->core_device.pdev->vendor,
		.device = vpmdev->core_device.pdev->device,
		.max_state_size = vpmdev->mig.ops->max_state_size,
	};
	struct load_call call = { .l = l, .vpmdev = vpmdev };
	const struct vpm_stream_sink sink = {
		.state_tail = state_tail,
		.refuse = refuse,
		.ctx = &call,
	};
	int ret;

	if (l->err)
		return l->err;
	if (!len)
		return 0;
	/* Past the trailer the parser refuses: DONE now is new. */
	ret = vpm_stream_parse(&l->parse, &dest, &sink, buf, len);
	if (!ret && l->parse.phase == VPM_STREAM_DONE)
		ret = load_state(&call);
	return ret ?: len;
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
	struct load_call call = { .l = l, .vpmdev = vpmdev };
	const struct vpm_stream_sink sink = {
		.refuse = refuse,
		.ctx = &call,
	};

	if (l->err)
		return l->err;
	return vpm_stream_parse_end(&l->parse, &sink);
}
