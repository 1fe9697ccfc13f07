// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_pci_mediate_migtest: a migrating mediator for the lab tests and for
 * bench/migration.  Built for them only, never installed.
 *
 * It registers three mediators at load, in this order:
 *
 *   migtest        migration ops and a reset
 *   migtest-b      the same ops under another name, so that a test can
 *                  make a stream that "migtest" must refuse
 *   migtest-plain  neither migration nor reset
 *
 * Each serves the PCI devices (any kind) named in its accept list and
 * leaves the BARs and config space to vfio-pci; it never binds a device.
 * The migrated "device state" is a buffer of state_size bytes per open,
 * allocated at ->open() and freed at ->release(), filled with a pattern
 * derived from a seed.  Its wire format, what ->save() produces and
 * ->load() takes, is a struct mgt_state_header followed by segments, each
 * a struct mgt_segment and the bytes of the buffer at that offset:
 *
 *   - a save that starts with the device stopped: the whole buffer;
 *   - a live (pre-copy) save: the first precopy bytes while the device
 *     runs, then nothing; once it is stopped, the rest, and the pre-copied
 *     part again if the test marked it dirty in between.
 *
 * Everything is driven through debugfs, /sys/kernel/debug/
 * vfio_pci_mediate_migtest/:
 *
 *   accept, accept_b, accept_plain   rw  "none", "all" or BDFs (spaces or
 *                    commas) that migtest, migtest-b, migtest-plain serve
 *   state_size   rw  bytes of state of the next opens (1 to 512 MiB)
 *   precopy      rw  bytes a live save gives before the device stops, for
 *                    the next opens (capped at the state size)
 *   devices      r   one line per open being served:
 *                    "BDF mediator=NAME size=N precopy=N seed=S|loaded
 *                    digest=XXH64 run=RUNNING|QUIESCED|STOPPED
 *                    session=none|live|stopped saves=N loads=N resets=N
 *                    violations=N"; digest is xxh64 (seed 0) of the buffer,
 *                    violations counts calls the framework should not make
 *                    or break its promises (a run state step skipping
 *                    QUIESCED, save outside a session, load while not
 *                    STOPPED, nonzero bytes after the loaded state in its
 *                    last page, ...)
 *   ctl          w   one command for one open device, "BDF COMMAND":
 *                      seed S           refill the buffer from seed S
 *                      dirty            change the pre-copy part (bytes
 *                                       inverted); a live session then
 *                                       sends it again once stopped
 *                      precopy N        this open's pre-copy size
 *                      fail OP ERRNO    the next call of OP fails with
 *                                       -ERRNO, once; OP is save_start,
 *                                       save, load, reset, or run:STATE
 *                                       (set_run_state to STATE)
 *                      fail clear       no pending failure
 *                      wrote IOVA LEN   the device wrote that range
 *                                       (vfio_pci_mediate_dirty_begin()
 *                                       and _end(); every open offers
 *                                       VFIO DMA logging, which then
 *                                       reports it)
 *   log          r   the calls made since the last read, oldest first,
 *                    "BDF CALL" per line, then cleared on open: open,
 *                    release, set_run_state(STATE), save_start(live=N),
 *                    save(BYTES) (consecutive calls summed), save_end,
 *                    load(LEN), reset; "=ERR" appended when the call
 *                    returned an error; "dropped N" when the log was full
 *   reset        w   config back to the module parameters, log cleared
 *
 * Module parameters accept=, accept_b=, state_size= and precopy= give the
 * initial configuration (for bench/migration).  Configuration is copied
 * into each open at ->open(); changes apply from the next open.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio_pci_mediate.h>
#include <linux/xxhash.h>

#define MGT_MAX_STATE		SZ_512M
#define MGT_DEFAULT_STATE	SZ_64K
#define MGT_DEFAULT_PRECOPY	SZ_16K
#define MGT_MAX_ACCEPT		8
#define MGT_BDF_LEN		32
#define MGT_LOG_ENTRIES		512
#define MGT_MAX_INPUT		1024
#define MGT_SHOW_SIZE		SZ_64K
/* Work between two cond_resched() on large buffers. */
#define MGT_CHUNK		SZ_1M

#define MGT_STATE_MAGIC		0x5354474du	/* "MGTS" read as LE */
#define MGT_STATE_VERSION	1

/**
 * struct mgt_state_header - start of the state ->save() produces
 * @magic: MGT_STATE_MAGIC
 * @version: MGT_STATE_VERSION
 * @size: bytes of the buffer the state describes
 */
struct mgt_state_header {
	__le32 magic;
	__le32 version;
	__le64 size;
};

/**
 * struct mgt_segment - introduces @length bytes of the buffer at @offset
 * @offset: where the bytes that follow go in the buffer
 * @length: how many follow
 */
struct mgt_segment {
	__le64 offset;
	__le64 length;
};

/*
 * The most ->save() produces in one session: header, pre-copy segment,
 * the rest and the pre-copy part again, with three segment headers.
 */
#define MGT_MAX_SAVED	(2ULL * MGT_MAX_STATE + \
			 sizeof(struct mgt_state_header) + \
			 3 * sizeof(struct mgt_segment))

enum mgt_inst_id {
	MGT_INST_A,
	MGT_INST_B,
	MGT_INST_PLAIN,
	MGT_INSTANCES,
};

struct mgt_accept {
	bool all;
	unsigned int nr;
	char bdfs[MGT_MAX_ACCEPT][MGT_BDF_LEN];
};

struct mgt_config {
	struct mgt_accept accept[MGT_INSTANCES];
	u64 state_size;
	u64 precopy;
};

enum mgt_call {
	MGT_CALL_OPEN,
	MGT_CALL_RELEASE,
	MGT_CALL_RUN_STATE,
	MGT_CALL_SAVE_START,
	MGT_CALL_SAVE,
	MGT_CALL_SAVE_END,
	MGT_CALL_LOAD,
	MGT_CALL_RESET,
};

struct mgt_log_entry {
	char bdf[MGT_BDF_LEN];
	enum mgt_call call;
	u64 arg;
	int ret;
};

/* What a save session sends, in order. */
enum mgt_item_kind {
	MGT_ITEM_HEADER,
	MGT_ITEM_SEGMENT,
};

struct mgt_item {
	enum mgt_item_kind kind;
	u64 offset;
	u64 length;
};

/* Header, pre-copy part, the rest, the pre-copy part again. */
#define MGT_MAX_ITEMS 4

/**
 * struct mgt_session - a save session
 * @active: between ->save_start() and ->save_end()
 * @live: the device has not been STOPPED since the session started
 * @resend: the pre-copy part changed during the live phase
 * @items: what the session sends; grows when a live session stops
 * @nr_items: entries of @items
 * @cur: the item being sent
 * @pos: bytes of @items[@cur] sent
 */
struct mgt_session {
	bool active;
	bool live;
	bool resend;
	struct mgt_item items[MGT_MAX_ITEMS];
	unsigned int nr_items;
	unsigned int cur;
	u64 pos;
};

enum mgt_fail {
	MGT_FAIL_RUNNING,
	MGT_FAIL_QUIESCED,
	MGT_FAIL_STOPPED,
	MGT_FAIL_SAVE_START,
	MGT_FAIL_SAVE,
	MGT_FAIL_LOAD,
	MGT_FAIL_RESET,
	MGT_FAILS,
};

/* Indexed by enum mgt_fail; the run states first, by their value. */
static const char *const mgt_fail_names[MGT_FAILS] = {
	[MGT_FAIL_RUNNING] = "run:RUNNING",
	[MGT_FAIL_QUIESCED] = "run:QUIESCED",
	[MGT_FAIL_STOPPED] = "run:STOPPED",
	[MGT_FAIL_SAVE_START] = "save_start",
	[MGT_FAIL_SAVE] = "save",
	[MGT_FAIL_LOAD] = "load",
	[MGT_FAIL_RESET] = "reset",
};

static const char *const mgt_run_names[] = {
	[VFIO_PCI_MEDIATE_RUNNING] = "RUNNING",
	[VFIO_PCI_MEDIATE_QUIESCED] = "QUIESCED",
	[VFIO_PCI_MEDIATE_STOPPED] = "STOPPED",
};

/**
 * struct mgt_handle - one open being served
 * @vpmdev: the framework's handle, for the dirty-page helpers
 * @inst: which mediator serves it
 * @node: in mgt_handles, under mgt_lock
 * @bdf: the device's PCI name
 * @lock: protects every member below; taken by the migration callbacks
 *	(which the framework serialises per device) and by debugfs
 * @buf: the state, @size bytes (kvmalloc)
 * @size: bytes of @buf
 * @precopy: bytes a live save gives before the device stops
 * @seed: what @buf was filled from, unless @loaded
 * @loaded: @buf holds loaded state
 * @digest: xxh64 of @buf when @digest_valid
 * @digest_valid: @digest is up to date
 * @run: the run state as last set
 * @s: the save session
 * @fail: pending one-shot failures, positive errnos (0: none)
 * @saves: save sessions started
 * @loads: successful loads
 * @resets: ->reset() calls
 * @violations: calls the framework should not have made
 */
struct mgt_handle {
	struct vfio_pci_mediate_device *vpmdev;
	enum mgt_inst_id inst;
	struct list_head node;
	char bdf[MGT_BDF_LEN];
	struct mutex lock;
	void *buf;
	u64 size;
	u64 precopy;
	u64 seed;
	bool loaded;
	u64 digest;
	bool digest_valid;
	enum vfio_pci_mediate_run_state run;
	struct mgt_session s;
	int fail[MGT_FAILS];
	unsigned long saves;
	unsigned long loads;
	unsigned long resets;
	unsigned long violations;
};

static char *accept;
module_param(accept, charp, 0444);
MODULE_PARM_DESC(accept, "Devices migtest serves: all, none or BDFs");

static char *accept_b;
module_param(accept_b, charp, 0444);
MODULE_PARM_DESC(accept_b, "Devices migtest-b serves: all, none or BDFs");

static ulong state_size = MGT_DEFAULT_STATE;
module_param(state_size, ulong, 0444);
MODULE_PARM_DESC(state_size, "Bytes of state per open (default 64 KiB)");

static ulong precopy = MGT_DEFAULT_PRECOPY;
module_param(precopy, ulong, 0444);
MODULE_PARM_DESC(precopy, "Bytes a live save gives first (default 16 KiB)");

static const char *const mgt_inst_names[MGT_INSTANCES] = {
	[MGT_INST_A] = "migtest",
	[MGT_INST_B] = "migtest-b",
	[MGT_INST_PLAIN] = "migtest-plain",
};

/*
 * Protects mgt_cfg and mgt_handles.  Taken by ->open() and ->release(),
 * which run under the framework's registry lock: never call into the
 * registry while holding it.  Nests outside a handle's lock.
 */
static DEFINE_MUTEX(mgt_lock);
static struct mgt_config mgt_cfg;
static LIST_HEAD(mgt_handles);

/* Protects the log; innermost lock. */
static DEFINE_MUTEX(mgt_log_lock);
static struct mgt_log_entry mgt_log[MGT_LOG_ENTRIES];
static unsigned int mgt_log_len;
static unsigned long mgt_log_dropped;

static struct dentry *mgt_root;

/* --- log ----------------------------------------------------------------- */

static void mgt_log_call(const struct mgt_handle *h, enum mgt_call call,
			 u64 arg, int ret)
{
	struct mgt_log_entry *e;

	mutex_lock(&mgt_log_lock);
	e = mgt_log_len ? &mgt_log[mgt_log_len - 1] : NULL;
	/* Saves come in many small calls: one line per run of them. */
	if (call == MGT_CALL_SAVE && !ret && e && e->call == MGT_CALL_SAVE &&
	    !e->ret && !strcmp(e->bdf, h->bdf)) {
		e->arg += arg;
	} else if (mgt_log_len == MGT_LOG_ENTRIES) {
		mgt_log_dropped++;
	} else {
		e = &mgt_log[mgt_log_len++];
		strscpy(e->bdf, h->bdf, sizeof(e->bdf));
		e->call = call;
		e->arg = arg;
		e->ret = ret;
	}
	mutex_unlock(&mgt_log_lock);
}

/* --- the state ----------------------------------------------------------- */

/* splitmix64: every word of the pattern from the seed and its index. */
static u64 mgt_pattern_word(u64 seed, u64 index)
{
	u64 z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void mgt_fill(struct mgt_handle *h, u64 seed)
{
	u64 i, words = h->size / sizeof(u64);
	__le64 *p = h->buf;
	__le64 last;

	for (i = 0; i < words; i++) {
		p[i] = cpu_to_le64(mgt_pattern_word(seed, i));
		if (!(i % (MGT_CHUNK / sizeof(u64))))
			cond_resched();
	}
	if (h->size % sizeof(u64)) {
		last = cpu_to_le64(mgt_pattern_word(seed, words));
		memcpy(&p[words], &last, h->size % sizeof(u64));
	}
	h->seed = seed;
	h->loaded = false;
	h->digest_valid = false;
}

static u64 mgt_digest(struct mgt_handle *h)
{
	struct xxh64_state st;
	u64 off, n;

	if (h->digest_valid)
		return h->digest;
	xxh64_reset(&st, 0);
	for (off = 0; off < h->size; off += n) {
		n = min_t(u64, h->size - off, MGT_CHUNK);
		xxh64_update(&st, h->buf + off, n);
		cond_resched();
	}
	h->digest = xxh64_digest(&st);
	h->digest_valid = true;
	return h->digest;
}

static void mgt_violation(struct mgt_handle *h, const char *what)
{
	h->violations++;
	pr_warn_ratelimited("%s: framework called %s\n", h->bdf, what);
}

/* One-shot failure injection: the errno to fail with, or 0. */
static int mgt_take_fail(struct mgt_handle *h, enum mgt_fail which)
{
	int err = h->fail[which];

	h->fail[which] = 0;
	return err ? -err : 0;
}

/* --- save session -------------------------------------------------------- */

static u64 mgt_item_bytes(const struct mgt_item *it)
{
	if (it->kind == MGT_ITEM_HEADER)
		return sizeof(struct mgt_state_header);
	return sizeof(struct mgt_segment) + it->length;
}

static void mgt_add_item(struct mgt_session *s, enum mgt_item_kind kind,
			 u64 offset, u64 length)
{
	if (kind == MGT_ITEM_SEGMENT && !length)
		return;
	if (WARN_ON_ONCE(s->nr_items == MGT_MAX_ITEMS))
		return;
	s->items[s->nr_items++] = (struct mgt_item){
		.kind = kind,
		.offset = offset,
		.length = length,
	};
}

static u64 mgt_pre(const struct mgt_handle *h)
{
	return min(h->precopy, h->size);
}

/* Bytes a live session adds once the device stops. */
static u64 mgt_stop_extra(const struct mgt_handle *h, bool resend)
{
	u64 pre = mgt_pre(h), bytes = 0;

	if (h->size > pre)
		bytes += sizeof(struct mgt_segment) + h->size - pre;
	if (resend && pre)
		bytes += sizeof(struct mgt_segment) + pre;
	return bytes;
}

/* A live session whose device just stopped sends the rest. */
static void mgt_session_stop(struct mgt_handle *h)
{
	struct mgt_session *s = &h->s;
	u64 pre = mgt_pre(h);

	mgt_add_item(s, MGT_ITEM_SEGMENT, pre, h->size - pre);
	if (s->resend)
		mgt_add_item(s, MGT_ITEM_SEGMENT, 0, pre);
	s->live = false;
}

static u64 mgt_session_left(const struct mgt_session *s)
{
	u64 left = 0;
	unsigned int i;

	for (i = s->cur; i < s->nr_items; i++)
		left += mgt_item_bytes(&s->items[i]);
	return left - (s->cur < s->nr_items ? s->pos : 0);
}

/* Copies up to @len bytes of item @it from byte @pos on. */
static size_t mgt_item_copy(struct mgt_handle *h, const struct mgt_item *it,
			    u64 pos, u8 *buf, size_t len)
{
	struct mgt_state_header hdr;
	struct mgt_segment seg;
	const void *meta;
	size_t meta_len, n, done = 0;

	if (it->kind == MGT_ITEM_HEADER) {
		hdr.magic = cpu_to_le32(MGT_STATE_MAGIC);
		hdr.version = cpu_to_le32(MGT_STATE_VERSION);
		hdr.size = cpu_to_le64(h->size);
		meta = &hdr;
		meta_len = sizeof(hdr);
	} else {
		seg.offset = cpu_to_le64(it->offset);
		seg.length = cpu_to_le64(it->length);
		meta = &seg;
		meta_len = sizeof(seg);
	}
	if (pos < meta_len) {
		n = min_t(size_t, len, meta_len - pos);
		memcpy(buf, meta + pos, n);
		done = n;
		pos += n;
	}
	if (it->kind == MGT_ITEM_SEGMENT && done < len) {
		pos -= meta_len;
		n = min_t(u64, len - done, it->length - pos);
		memcpy(buf + done, h->buf + it->offset + pos, n);
		done += n;
	}
	return done;
}

/* --- migration ops ------------------------------------------------------- */

static int mgt_set_run_state(void *handle,
			     enum vfio_pci_mediate_run_state state)
{
	struct mgt_handle *h = handle;
	int ret;

	mutex_lock(&h->lock);
	if (state > VFIO_PCI_MEDIATE_STOPPED) {
		mgt_violation(h, "set_run_state() with an unknown state");
		ret = -EINVAL;
		goto out;
	}
	if (abs((int)state - (int)h->run) != 1)
		mgt_violation(h, "set_run_state() not one step away");
	ret = mgt_take_fail(h, (enum mgt_fail)state);
	if (ret)
		goto out;
	h->run = state;
	if (state == VFIO_PCI_MEDIATE_STOPPED && h->s.active && h->s.live)
		mgt_session_stop(h);
out:
	mgt_log_call(h, MGT_CALL_RUN_STATE, state, ret);
	mutex_unlock(&h->lock);
	return ret;
}

static int mgt_save_start(void *handle, bool live)
{
	struct mgt_handle *h = handle;
	struct mgt_session *s = &h->s;
	int ret;

	mutex_lock(&h->lock);
	if (s->active)
		mgt_violation(h, "save_start() inside a session");
	if (live != (h->run != VFIO_PCI_MEDIATE_STOPPED))
		mgt_violation(h, "save_start() with live not matching the run state");
	ret = mgt_take_fail(h, MGT_FAIL_SAVE_START);
	if (ret)
		goto out;

	memset(s, 0, sizeof(*s));
	s->active = true;
	s->live = live;
	mgt_add_item(s, MGT_ITEM_HEADER, 0, 0);
	mgt_add_item(s, MGT_ITEM_SEGMENT, 0, live ? mgt_pre(h) : h->size);
	h->saves++;
out:
	mgt_log_call(h, MGT_CALL_SAVE_START, live, ret);
	mutex_unlock(&h->lock);
	return ret;
}

static ssize_t mgt_save(void *handle, void *buf, size_t len)
{
	struct mgt_handle *h = handle;
	struct mgt_session *s = &h->s;
	size_t done = 0, n;
	int err;

	mutex_lock(&h->lock);
	if (!s->active) {
		mgt_violation(h, "save() outside a session");
		err = -EINVAL;
		goto fail;
	}
	err = mgt_take_fail(h, MGT_FAIL_SAVE);
	if (err)
		goto fail;
	while (done < len && s->cur < s->nr_items) {
		const struct mgt_item *it = &s->items[s->cur];

		n = mgt_item_copy(h, it, s->pos, buf + done, len - done);
		done += n;
		s->pos += n;
		if (s->pos == mgt_item_bytes(it)) {
			s->cur++;
			s->pos = 0;
		}
	}
	if (done)
		mgt_log_call(h, MGT_CALL_SAVE, done, 0);
	mutex_unlock(&h->lock);
	return done;

fail:
	mgt_log_call(h, MGT_CALL_SAVE, len, err);
	mutex_unlock(&h->lock);
	return err;
}

static void mgt_save_size(void *handle, u64 *live_bytes, u64 *stop_bytes)
{
	struct mgt_handle *h = handle;
	struct mgt_session *s = &h->s;
	u64 left;

	mutex_lock(&h->lock);
	if (!s->active) {
		*live_bytes = sizeof(struct mgt_state_header) +
			      (mgt_pre(h) ? sizeof(struct mgt_segment) +
					    mgt_pre(h) : 0);
		*stop_bytes = sizeof(struct mgt_state_header) +
			      sizeof(struct mgt_segment) + h->size;
	} else {
		left = mgt_session_left(s);
		*live_bytes = s->live ? left : 0;
		*stop_bytes = left + (s->live ? mgt_stop_extra(h, s->resend) :
						0);
	}
	mutex_unlock(&h->lock);
}

static void mgt_save_end(void *handle)
{
	struct mgt_handle *h = handle;

	mutex_lock(&h->lock);
	if (!h->s.active)
		mgt_violation(h, "save_end() outside a session");
	memset(&h->s, 0, sizeof(h->s));
	mgt_log_call(h, MGT_CALL_SAVE_END, 0, 0);
	mutex_unlock(&h->lock);
}

/*
 * Checks that @data is a state this mediator produced for a buffer of at
 * most MGT_MAX_STATE bytes; returns that size or a negative errno.
 */
static s64 mgt_check_state(const void *data, size_t len)
{
	const struct mgt_state_header *hdr = data;
	struct mgt_segment seg;
	size_t pos = sizeof(*hdr);
	u64 size, off, n, end;

	if (len < sizeof(*hdr) || le32_to_cpu(hdr->magic) != MGT_STATE_MAGIC ||
	    le32_to_cpu(hdr->version) != MGT_STATE_VERSION)
		return -EINVAL;
	size = le64_to_cpu(hdr->size);
	if (!size || size > MGT_MAX_STATE)
		return -EINVAL;
	while (pos < len) {
		if (len - pos < sizeof(seg))
			return -EINVAL;
		memcpy(&seg, data + pos, sizeof(seg));
		pos += sizeof(seg);
		off = le64_to_cpu(seg.offset);
		n = le64_to_cpu(seg.length);
		if (check_add_overflow(off, n, &end) || end > size ||
		    n > len - pos)
			return -EINVAL;
		pos += n;
	}
	return size;
}

static int mgt_load(void *handle, const void *data, size_t len)
{
	struct mgt_handle *h = handle;
	const u8 *p = data;
	struct mgt_segment seg;
	size_t pos = sizeof(struct mgt_state_header);
	void *buf = NULL;
	s64 size;
	int ret;

	mutex_lock(&h->lock);
	if (h->run != VFIO_PCI_MEDIATE_STOPPED)
		mgt_violation(h, "load() while not STOPPED");
	if (h->s.active)
		mgt_violation(h, "load() inside a save session");
	ret = mgt_take_fail(h, MGT_FAIL_LOAD);
	if (ret)
		goto out;
	/* The framework zeroes the rest of the last page (its contract). */
	if (len && memchr_inv(p + len, 0,
			      (PAGE_SIZE - offset_in_page(p + len)) % PAGE_SIZE))
		mgt_violation(h, "load() with nonzero bytes after the state in its last page");
	size = mgt_check_state(data, len);
	if (size < 0) {
		ret = size;
		goto out;
	}
	if ((u64)size != h->size) {
		buf = kvzalloc(size, GFP_KERNEL);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
		kvfree(h->buf);
		h->buf = buf;
		h->size = size;
	}
	while (pos < len) {
		memcpy(&seg, p + pos, sizeof(seg));
		pos += sizeof(seg);
		memcpy(h->buf + le64_to_cpu(seg.offset), p + pos,
		       le64_to_cpu(seg.length));
		pos += le64_to_cpu(seg.length);
		cond_resched();
	}
	h->loaded = true;
	h->digest_valid = false;
	h->loads++;
out:
	mgt_log_call(h, MGT_CALL_LOAD, len, ret);
	mutex_unlock(&h->lock);
	return ret;
}

static int mgt_reset(void *handle)
{
	struct mgt_handle *h = handle;
	int ret;

	mutex_lock(&h->lock);
	h->resets++;
	ret = mgt_take_fail(h, MGT_FAIL_RESET);
	if (!ret) {
		/* Power-on: the seed 0 pattern, running. */
		mgt_fill(h, 0);
		h->run = VFIO_PCI_MEDIATE_RUNNING;
	}
	mgt_log_call(h, MGT_CALL_RESET, 0, ret);
	mutex_unlock(&h->lock);
	return ret;
}

static struct vfio_pci_mediate_migration_ops mgt_migration_ops = {
	.max_state_size = MGT_MAX_SAVED,
	.set_run_state = mgt_set_run_state,
	.save_start = mgt_save_start,
	.save = mgt_save,
	.save_size = mgt_save_size,
	.save_end = mgt_save_end,
	.load = mgt_load,
};

/* --- open and release ---------------------------------------------------- */

static bool mgt_accepts(const struct mgt_accept *a, const char *bdf)
{
	unsigned int i;

	if (a->all)
		return true;
	for (i = 0; i < a->nr; i++)
		if (!strcmp(a->bdfs[i], bdf))
			return true;
	return false;
}

static int mgt_open(enum mgt_inst_id inst,
		    struct vfio_pci_mediate_device *vpmdev,
		    struct pci_dev *pdev, void **handle)
{
	struct mgt_handle *h;
	u64 size, pre;

	mutex_lock(&mgt_lock);
	if (!mgt_accepts(&mgt_cfg.accept[inst], pci_name(pdev))) {
		mutex_unlock(&mgt_lock);
		return -ENODEV;
	}
	size = mgt_cfg.state_size;
	pre = mgt_cfg.precopy;
	mutex_unlock(&mgt_lock);

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->buf = kvmalloc(size, GFP_KERNEL);
	if (!h->buf) {
		kfree(h);
		return -ENOMEM;
	}
	mutex_init(&h->lock);
	h->vpmdev = vpmdev;
	h->inst = inst;
	h->size = size;
	h->precopy = pre;
	h->run = VFIO_PCI_MEDIATE_RUNNING;
	strscpy(h->bdf, pci_name(pdev), sizeof(h->bdf));
	mgt_fill(h, 0);

	mutex_lock(&mgt_lock);
	list_add_tail(&h->node, &mgt_handles);
	mutex_unlock(&mgt_lock);
	mgt_log_call(h, MGT_CALL_OPEN, 0, 0);
	/* Its device writes only what "wrote" says: all reported. */
	vfio_pci_mediate_dirty_enable_logging(vpmdev);
	*handle = h;
	return 0;
}

static void mgt_release(void *handle)
{
	struct mgt_handle *h = handle;

	mutex_lock(&mgt_lock);
	list_del(&h->node);
	mutex_unlock(&mgt_lock);
	/* The framework ends its sessions before it lets go of the device. */
	if (h->s.active)
		mgt_violation(h, "release() inside a save session");
	mgt_log_call(h, MGT_CALL_RELEASE, 0, 0);
	mutex_destroy(&h->lock);
	kvfree(h->buf);
	kfree(h);
}

static int mgt_open_a(struct vfio_pci_mediate_device *vpmdev,
		      struct pci_dev *pdev, void **handle)
{
	return mgt_open(MGT_INST_A, vpmdev, pdev, handle);
}

static int mgt_open_b(struct vfio_pci_mediate_device *vpmdev,
		      struct pci_dev *pdev, void **handle)
{
	return mgt_open(MGT_INST_B, vpmdev, pdev, handle);
}

static int mgt_open_plain(struct vfio_pci_mediate_device *vpmdev,
			  struct pci_dev *pdev, void **handle)
{
	return mgt_open(MGT_INST_PLAIN, vpmdev, pdev, handle);
}

static const struct vfio_pci_mediate_ops mgt_ops_a = {
	.owner = THIS_MODULE,
	.name = "migtest",
	.open = mgt_open_a,
	.release = mgt_release,
	.reset = mgt_reset,
	.migration = &mgt_migration_ops,
};

static const struct vfio_pci_mediate_ops mgt_ops_b = {
	.owner = THIS_MODULE,
	.name = "migtest-b",
	.open = mgt_open_b,
	.release = mgt_release,
	.reset = mgt_reset,
	.migration = &mgt_migration_ops,
};

static const struct vfio_pci_mediate_ops mgt_ops_plain = {
	.owner = THIS_MODULE,
	.name = "migtest-plain",
	.open = mgt_open_plain,
	.release = mgt_release,
};

static const struct vfio_pci_mediate_ops *const mgt_ops[MGT_INSTANCES] = {
	[MGT_INST_A] = &mgt_ops_a,
	[MGT_INST_B] = &mgt_ops_b,
	[MGT_INST_PLAIN] = &mgt_ops_plain,
};

/* --- configuration ------------------------------------------------------- */

static char *mgt_token(char **s)
{
	char *tok;

	do {
		tok = strsep(s, " \t\n,");
	} while (tok && !*tok);
	return tok;
}

static int mgt_parse_accept(const char *text, struct mgt_accept *a)
{
	char *copy, *s, *tok;
	int ret = 0;

	memset(a, 0, sizeof(*a));
	if (!text)
		return 0;
	copy = kstrdup(text, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	s = strim(copy);
	if (!strcmp(s, "all")) {
		a->all = true;
	} else if (*s && strcmp(s, "none")) {
		while ((tok = mgt_token(&s))) {
			if (a->nr == MGT_MAX_ACCEPT ||
			    strscpy(a->bdfs[a->nr], tok, MGT_BDF_LEN) < 0) {
				ret = -EINVAL;
				break;
			}
			a->nr++;
		}
	}
	kfree(copy);
	return ret;
}

static int mgt_check_size(u64 size)
{
	return size && size <= MGT_MAX_STATE ? 0 : -EINVAL;
}

/* The configuration the module parameters give. */
static int mgt_config_default(struct mgt_config *cfg)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = mgt_parse_accept(accept, &cfg->accept[MGT_INST_A]);
	if (!ret)
		ret = mgt_parse_accept(accept_b, &cfg->accept[MGT_INST_B]);
	if (!ret)
		ret = mgt_check_size(state_size);
	cfg->state_size = state_size;
	cfg->precopy = precopy;
	return ret;
}

/* --- debugfs ------------------------------------------------------------- */

/* Text a debugfs file shows, built in a buffer of @size bytes. */
struct mgt_text {
	char *p;
	size_t len;
	size_t size;
};

static __printf(2, 3) void mgt_printf(struct mgt_text *b, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	b->len += vscnprintf(b->p + b->len, b->size - b->len, fmt, args);
	va_end(args);
}

/*
 * A debugfs file: @show fills the text that reads give (built once, at
 * open, so a read-and-clear file loses nothing to short reads), @store
 * takes one write.  @arg tells files sharing callbacks apart.
 */
struct mgt_attr {
	const char *name;
	umode_t mode;
	void (*show)(int arg, struct mgt_text *b);
	int (*store)(int arg, char *input);
	int arg;
};

static void mgt_show_accept(int inst, struct mgt_text *b)
{
	const struct mgt_accept *a;
	unsigned int i;

	mutex_lock(&mgt_lock);
	a = &mgt_cfg.accept[inst];
	if (a->all)
		mgt_printf(b, "all");
	else if (!a->nr)
		mgt_printf(b, "none");
	for (i = 0; i < a->nr; i++)
		mgt_printf(b, "%s%s", i ? " " : "", a->bdfs[i]);
	mgt_printf(b, "\n");
	mutex_unlock(&mgt_lock);
}

static int mgt_store_accept(int inst, char *input)
{
	struct mgt_accept a;
	int ret;

	ret = mgt_parse_accept(input, &a);
	if (ret)
		return ret;
	mutex_lock(&mgt_lock);
	mgt_cfg.accept[inst] = a;
	mutex_unlock(&mgt_lock);
	return 0;
}

static void mgt_show_state_size(int arg, struct mgt_text *b)
{
	mutex_lock(&mgt_lock);
	mgt_printf(b, "%llu\n", mgt_cfg.state_size);
	mutex_unlock(&mgt_lock);
}

static int mgt_store_state_size(int arg, char *input)
{
	u64 size;

	if (kstrtou64(strim(input), 0, &size) || mgt_check_size(size))
		return -EINVAL;
	mutex_lock(&mgt_lock);
	mgt_cfg.state_size = size;
	mutex_unlock(&mgt_lock);
	return 0;
}

static void mgt_show_precopy(int arg, struct mgt_text *b)
{
	mutex_lock(&mgt_lock);
	mgt_printf(b, "%llu\n", mgt_cfg.precopy);
	mutex_unlock(&mgt_lock);
}

static int mgt_store_precopy(int arg, char *input)
{
	u64 bytes;

	if (kstrtou64(strim(input), 0, &bytes))
		return -EINVAL;
	mutex_lock(&mgt_lock);
	mgt_cfg.precopy = bytes;
	mutex_unlock(&mgt_lock);
	return 0;
}

static const char *mgt_session_name(const struct mgt_session *s)
{
	if (!s->active)
		return "none";
	return s->live ? "live" : "stopped";
}

static void mgt_show_devices(int arg, struct mgt_text *b)
{
	struct mgt_handle *h;

	mutex_lock(&mgt_lock);
	list_for_each_entry(h, &mgt_handles, node) {
		mutex_lock(&h->lock);
		mgt_printf(b, "%s mediator=%s size=%llu precopy=%llu ", h->bdf,
			   mgt_inst_names[h->inst], h->size, h->precopy);
		if (h->loaded)
			mgt_printf(b, "seed=loaded ");
		else
			mgt_printf(b, "seed=%llu ", h->seed);
		mgt_printf(b, "digest=%016llx run=%s session=%s ",
			   mgt_digest(h), mgt_run_names[h->run],
			   mgt_session_name(&h->s));
		mgt_printf(b, "saves=%lu loads=%lu resets=%lu violations=%lu\n",
			   h->saves, h->loads, h->resets, h->violations);
		mutex_unlock(&h->lock);
	}
	mutex_unlock(&mgt_lock);
}

static int mgt_ctl_fail(struct mgt_handle *h, char **s)
{
	char *op = mgt_token(s), *tok;
	int which, err;

	if (!op)
		return -EINVAL;
	if (!strcmp(op, "clear")) {
		memset(h->fail, 0, sizeof(h->fail));
		return 0;
	}
	which = match_string(mgt_fail_names, MGT_FAILS, op);
	tok = mgt_token(s);
	if (which < 0 || !tok || kstrtoint(tok, 0, &err))
		return -EINVAL;
	err = abs(err);
	if (!err || err > MAX_ERRNO)
		return -EINVAL;
	h->fail[which] = err;
	return 0;
}

/*
 * "wrote IOVA LEN": report that the device wrote [IOVA, IOVA + LEN), as a
 * mediator does around a transfer, in pieces as large as the framework
 * takes.  From the user's own write to ctl, as the framework requires.
 */
static int mgt_ctl_wrote(struct mgt_handle *h, char **s)
{
	const u64 piece = (u64)VFIO_PIN_PAGES_MAX_ENTRIES << PAGE_SHIFT;
	u64 iova, len, n;
	int ret;

	if (kstrtou64(mgt_token(s) ?: "", 0, &iova) ||
	    kstrtou64(mgt_token(s) ?: "", 0, &len) || !len ||
	    iova + len < iova)
		return -EINVAL;
	for (; len; iova += n, len -= n) {
		n = min(len, piece - (iova & (piece - 1)));
		ret = vfio_pci_mediate_dirty_begin(h->vpmdev, iova, n);
		if (ret)
			return ret;
		vfio_pci_mediate_dirty_end(h->vpmdev, iova, n);
		cond_resched();
	}
	return 0;
}

/* One command for the open device @h; its lock held. */
static int mgt_ctl(struct mgt_handle *h, char **s)
{
	char *cmd = mgt_token(s);
	u64 v;
	u64 i, pre;
	u8 *p;

	if (!cmd)
		return -EINVAL;
	if (!strcmp(cmd, "seed")) {
		if (kstrtou64(mgt_token(s) ?: "", 0, &v))
			return -EINVAL;
		mgt_fill(h, v);
		return 0;
	}
	if (!strcmp(cmd, "precopy")) {
		if (kstrtou64(mgt_token(s) ?: "", 0, &v))
			return -EINVAL;
		if (h->s.active)
			return -EBUSY;
		h->precopy = v;
		return 0;
	}
	if (!strcmp(cmd, "dirty")) {
		pre = mgt_pre(h);
		p = h->buf;
		for (i = 0; i < pre; i++)
			p[i] = ~p[i];
		h->digest_valid = false;
		if (h->s.active && h->s.live)
			h->s.resend = true;
		return 0;
	}
	if (!strcmp(cmd, "fail"))
		return mgt_ctl_fail(h, s);
	if (!strcmp(cmd, "wrote"))
		return mgt_ctl_wrote(h, s);
	return -EINVAL;
}

static int mgt_store_ctl(int arg, char *input)
{
	struct mgt_handle *h;
	char *s = input, *bdf = mgt_token(&s);
	int ret = -ENODEV;

	if (!bdf)
		return -EINVAL;
	mutex_lock(&mgt_lock);
	list_for_each_entry(h, &mgt_handles, node) {
		if (strcmp(h->bdf, bdf))
			continue;
		mutex_lock(&h->lock);
		ret = mgt_ctl(h, &s);
		if (!ret && mgt_token(&s))
			ret = -EINVAL;
		mutex_unlock(&h->lock);
		break;
	}
	mutex_unlock(&mgt_lock);
	return ret;
}

static const char *const mgt_call_names[] = {
	[MGT_CALL_OPEN] = "open",
	[MGT_CALL_RELEASE] = "release",
	[MGT_CALL_RUN_STATE] = "set_run_state",
	[MGT_CALL_SAVE_START] = "save_start",
	[MGT_CALL_SAVE] = "save",
	[MGT_CALL_SAVE_END] = "save_end",
	[MGT_CALL_LOAD] = "load",
	[MGT_CALL_RESET] = "reset",
};

static void mgt_show_entry(const struct mgt_log_entry *e, struct mgt_text *b)
{
	mgt_printf(b, "%s %s", e->bdf, mgt_call_names[e->call]);
	switch (e->call) {
	case MGT_CALL_RUN_STATE:
		mgt_printf(b, "(%s)", e->arg < ARRAY_SIZE(mgt_run_names) ?
				      mgt_run_names[e->arg] : "?");
		break;
	case MGT_CALL_SAVE_START:
		mgt_printf(b, "(live=%llu)", e->arg);
		break;
	case MGT_CALL_SAVE:
	case MGT_CALL_LOAD:
		mgt_printf(b, "(%llu)", e->arg);
		break;
	default:
		break;
	}
	if (e->ret)
		mgt_printf(b, "=%d", e->ret);
	mgt_printf(b, "\n");
}

/* Read-and-clear: taken when the file is opened. */
static void mgt_show_log(int arg, struct mgt_text *b)
{
	unsigned int i;

	mutex_lock(&mgt_log_lock);
	for (i = 0; i < mgt_log_len; i++)
		mgt_show_entry(&mgt_log[i], b);
	if (mgt_log_dropped)
		mgt_printf(b, "dropped %lu\n", mgt_log_dropped);
	mgt_log_len = 0;
	mgt_log_dropped = 0;
	mutex_unlock(&mgt_log_lock);
}

static int mgt_store_reset(int arg, char *input)
{
	struct mgt_config cfg;
	int ret;

	ret = mgt_config_default(&cfg);
	if (ret)
		return ret;
	mutex_lock(&mgt_lock);
	mgt_cfg = cfg;
	mutex_unlock(&mgt_lock);
	mutex_lock(&mgt_log_lock);
	mgt_log_len = 0;
	mgt_log_dropped = 0;
	mutex_unlock(&mgt_log_lock);
	return 0;
}

static const struct mgt_attr mgt_attrs[] = {
	{ "accept", 0600, mgt_show_accept, mgt_store_accept, MGT_INST_A },
	{ "accept_b", 0600, mgt_show_accept, mgt_store_accept, MGT_INST_B },
	{ "accept_plain", 0600, mgt_show_accept, mgt_store_accept,
	  MGT_INST_PLAIN },
	{ "state_size", 0600, mgt_show_state_size, mgt_store_state_size },
	{ "precopy", 0600, mgt_show_precopy, mgt_store_precopy },
	{ "devices", 0400, mgt_show_devices, NULL },
	{ "ctl", 0200, NULL, mgt_store_ctl },
	{ "log", 0400, mgt_show_log, NULL },
	{ "reset", 0200, NULL, mgt_store_reset },
};

static int mgt_file_open(struct inode *inode, struct file *file)
{
	const struct mgt_attr *attr = inode->i_private;
	struct mgt_text *b;

	file->private_data = NULL;
	if (!(file->f_mode & FMODE_READ) || !attr->show)
		return 0;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->size = MGT_SHOW_SIZE;
	b->p = kvzalloc(b->size, GFP_KERNEL);
	if (!b->p) {
		kfree(b);
		return -ENOMEM;
	}
	attr->show(attr->arg, b);
	file->private_data = b;
	return 0;
}

static ssize_t mgt_file_read(struct file *file, char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct mgt_text *b = file->private_data;

	if (!b)
		return -EINVAL;
	return simple_read_from_buffer(ubuf, count, ppos, b->p, b->len);
}

static ssize_t mgt_file_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	const struct mgt_attr *attr = file_inode(file)->i_private;
	char *input;
	int ret;

	if (!attr->store)
		return -EINVAL;
	if (*ppos || count > MGT_MAX_INPUT)
		return -EINVAL;
	input = memdup_user_nul(ubuf, count);
	if (IS_ERR(input))
		return PTR_ERR(input);
	ret = attr->store(attr->arg, input);
	kfree(input);
	return ret ? ret : count;
}

/* May run after the file was removed: touches only what open allocated. */
static int mgt_file_release(struct inode *inode, struct file *file)
{
	struct mgt_text *b = file->private_data;

	if (b) {
		kvfree(b->p);
		kfree(b);
	}
	return 0;
}

static const struct file_operations mgt_fops = {
	.owner = THIS_MODULE,
	.open = mgt_file_open,
	.read = mgt_file_read,
	.write = mgt_file_write,
	.release = mgt_file_release,
	.llseek = default_llseek,
};

/* --- module -------------------------------------------------------------- */

static void mgt_unregister(unsigned int n)
{
	while (n--)
		vfio_pci_unregister_mediate_ops(mgt_ops[n]);
}

static int __init mgt_init(void)
{
	unsigned int i;
	int ret;

	ret = mgt_config_default(&mgt_cfg);
	if (ret) {
		pr_err("bad accept=, accept_b= or state_size= parameter\n");
		return ret;
	}
	mgt_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	for (i = 0; i < ARRAY_SIZE(mgt_attrs); i++)
		debugfs_create_file(mgt_attrs[i].name, mgt_attrs[i].mode,
				    mgt_root, (void *)&mgt_attrs[i], &mgt_fops);

	for (i = 0; i < MGT_INSTANCES; i++) {
		ret = vfio_pci_register_mediate_ops(mgt_ops[i]);
		if (ret) {
			mgt_unregister(i);
			debugfs_remove_recursive(mgt_root);
			return ret;
		}
	}
	return 0;
}

static void __exit mgt_exit(void)
{
	/* The files go first: no debugfs writer is left to race with. */
	debugfs_remove_recursive(mgt_root);
	mgt_unregister(MGT_INSTANCES);
}

module_init(mgt_init);
module_exit(mgt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Migrating test mediator for vfio-pci-mediate (lab tests and bench only)");
