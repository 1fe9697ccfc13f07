// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_pci_mediate_test: a mediator for the lab tests of vfio-pci-mediate.
 * Built for the tests only, never installed.
 *
 * One module provides VMT_INSTANCES independent mediators, "test0" to
 * "test3", each with its own const ops table and its own state, so that
 * tests can register several mediators in any order.  At load the
 * instances named by the autoregister bitmask (default: test0 only) are
 * registered; every instance starts out refusing every device, so loading
 * the module (by hand or by autoload) changes no device until a test says
 * so.  Everything else is driven through debugfs, one directory per
 * instance, /sys/kernel/debug/vfio_pci_mediate_test/testN/:
 *
 *   registered   rw  "1" registers the instance, "0" unregisters it (this
 *                    waits for the release of every open it serves)
 *   accept       rw  "all", "none", or BDFs separated by spaces or commas
 *   open_error   rw  errno (e.g. "5") that an accepted ->open() fails with;
 *                    0 serves normally; ENODEV (19) declines
 *   passthrough  rw  "1": every rw, mmap and get_region_info callback only
 *                    answers "pass through" (for the benchmark)
 *   rules        rw  one rule per line, appended; "clear" drops them all:
 *     info I [size=N] [flags=N] [sparse=OFF:LEN[,OFF:LEN...]]
 *                    override region info of index I (BAR0-5 or config 7)
 *     shadow I OFF LEN FILL   reads inside the range come from a per-open
 *                    buffer filled with byte FILL
 *     write I OFF LEN swallow|record|forward   writes inside the range are
 *                    dropped, dropped and recorded, or recorded and done on
 *                    the device by vfio_pci_mediate_passthrough_rw()
 *     kernel I OFF LEN   accesses inside the range (at most 64 bytes each)
 *                    are done with vfio_pci_mediate_bar_read()/_write()
 *     ident I OFF    a 4-byte read at OFF returns the open's handle id
 *     nommap I OFF LEN   mmap of BAR I touching the range fails (EACCES)
 *     region TYPE SUBTYPE SIZE [mmap] [sparse]   a device-specific region
 *                    backed by a buffer whose byte i is (i & 0xff) ^ 0x5a;
 *                    "mmap" makes it mappable (SIZE page aligned), "sparse"
 *                    adds a sparse mmap capability for its first page
 *     trappable I OFF LEN [open]   declared a trappable range of BAR I
 *                    (vfio_pci_mediate_add_trappable()); "open" untraps it
 *                    at once, so a client that follows traps may mmap it
 *     logging        the open offers VFIO DMA logging
 *                    (vfio_pci_mediate_dirty_enable_logging())
 *     decline        ->open() declines (-ENODEV) after everything the
 *                    other rules set up: regions, trappable ranges, logging
 *   stats        r   counters: open calls, accepted opens, declines, failed
 *                    opens, releases, region releases, order errors
 *                    (a ->release() before its regions' release), pdev
 *                    mismatches, dropped records
 *   handles      r   one line per open being served: "BDF ID rw=N mmap=N
 *                    info=N pt=N": calls of each callback for that open,
 *                    and of all three in passthrough mode (approximate:
 *                    counted without atomics)
 *   writes       rw  recorded writes, "ID INDEX OFFSET LEN DATA" (DATA: the
 *                    first 8 bytes in hex); any write clears them
 *   reset        w   refuse every device, no error, no passthrough, no
 *                    rules, no records, zero counters (registration and
 *                    the opens being served stay)
 *
 * An access that overlaps a rule's range without lying inside it gets
 * -EINVAL.  The configuration is copied into each open at ->open(), so a
 * change applies from the next open of a device; open devices keep what
 * they were opened with.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_mediate.h>
#include <linux/vmalloc.h>

#define VMT_INSTANCES		4
#define VMT_MAX_BDFS		8
#define VMT_BDF_LEN		32
#define VMT_MAX_RULES		16
#define VMT_MAX_SPARSE		4
#define VMT_MAX_REGIONS		2
#define VMT_MAX_BUF		SZ_1M
#define VMT_MAX_KERNEL_ACCESS	64
#define VMT_RECORDS		64
#define VMT_RECORD_BYTES		8
#define VMT_MAX_INPUT		PAGE_SIZE
#define VMT_SHOW_SIZE		SZ_16K
#define VMT_REGION_PATTERN	0x5a
/* Page offset inside a region, whether or not vm_pgoff carries the index. */
#define VMT_PGOFF_MASK		(VFIO_PCI_OFFSET_MASK >> PAGE_SHIFT)

static unsigned int autoregister = BIT(0);
module_param(autoregister, uint, 0444);
MODULE_PARM_DESC(autoregister,
		 "Instances registered at load, bit n: testn (default 1)");

static bool autoaccept;
module_param(autoaccept, bool, 0444);
MODULE_PARM_DESC(autoaccept,
		 "Instances registered at load accept all (default N)");

enum vmt_rule_kind {
	VMT_RULE_INFO,
	VMT_RULE_SHADOW,
	VMT_RULE_WRITE,
	VMT_RULE_KERNEL,
	VMT_RULE_IDENT,
	VMT_RULE_NOMMAP,
	VMT_RULE_REGION,
	VMT_RULE_TRAPPABLE,
	VMT_RULE_LOGGING,
	VMT_RULE_DECLINE,
};

enum vmt_write_mode {
	VMT_WRITE_SWALLOW,
	VMT_WRITE_RECORD,
	VMT_WRITE_FORWARD,
};

static const char *const vmt_write_modes[] = {
	[VMT_WRITE_SWALLOW] = "swallow",
	[VMT_WRITE_RECORD] = "record",
	[VMT_WRITE_FORWARD] = "forward",
};

/*
 * One rule.  @index, @offset and @len place it in a region (for
 * VMT_RULE_REGION, @len is the region's size and @index is unused); the
 * other members belong to one kind each.
 */
struct vmt_rule {
	enum vmt_rule_kind kind;
	u32 index;
	u64 offset;
	u64 len;
	u8 fill;
	enum vmt_write_mode mode;
	bool set_size;
	bool set_flags;
	u64 size;
	u32 flags;
	u32 nr_areas;
	struct vfio_region_sparse_mmap_area areas[VMT_MAX_SPARSE];
	u32 type;
	u32 subtype;
	bool mmap;
	bool sparse;
	bool untrapped;
};

struct vmt_config {
	bool accept_all;
	unsigned int nr_bdfs;
	char bdfs[VMT_MAX_BDFS][VMT_BDF_LEN];
	int open_error;
	bool passthrough;
	unsigned int nr_rules;
	struct vmt_rule rules[VMT_MAX_RULES];
};

struct vmt_record {
	u32 handle_id;
	u32 index;
	u64 offset;
	u64 len;
	u8 data[VMT_RECORD_BYTES];
};

enum vmt_stat {
	VMT_STAT_OPEN_CALLS,
	VMT_STAT_OPENS,
	VMT_STAT_DECLINES,
	VMT_STAT_FAILURES,
	VMT_STAT_RELEASES,
	VMT_STAT_REGION_RELEASES,
	VMT_STAT_ORDER_ERRORS,
	VMT_STAT_PDEV_MISMATCHES,
	VMT_STAT_RECORDS_DROPPED,
	VMT_STATS,
};

static const char *const vmt_stat_names[VMT_STATS] = {
	[VMT_STAT_OPEN_CALLS] = "open_calls",
	[VMT_STAT_OPENS] = "opens",
	[VMT_STAT_DECLINES] = "declines",
	[VMT_STAT_FAILURES] = "failures",
	[VMT_STAT_RELEASES] = "releases",
	[VMT_STAT_REGION_RELEASES] = "region_releases",
	[VMT_STAT_ORDER_ERRORS] = "order_errors",
	[VMT_STAT_PDEV_MISMATCHES] = "pdev_mismatches",
	[VMT_STAT_RECORDS_DROPPED] = "records_dropped",
};

struct vmt_inst;

/* Text a debugfs file shows, built in a buffer of @size bytes. */
struct vmt_text {
	char *p;
	size_t len;
	size_t size;
};

/* A debugfs file of one instance. */
struct vmt_attr {
	const char *name;
	umode_t mode;
	void (*show)(struct vmt_inst *inst, struct vmt_text *b);
	int (*store)(struct vmt_inst *inst, char *input);
};

struct vmt_file {
	struct vmt_inst *inst;
	const struct vmt_attr *attr;
};

#define VMT_FILES 9

struct vmt_inst {
	unsigned int nr;
	const struct vfio_pci_mediate_ops *ops;
	struct vmt_file files[VMT_FILES];
	/*
	 * Serialises registration and unregistration of @ops and protects
	 * @registered.  Never taken by an ops callback, so unregistering
	 * (which waits for ->release()) under it cannot deadlock.
	 */
	struct mutex reg_lock;
	bool registered;
	/*
	 * Protects @cfg, @handles and @next_id.  Taken by ->open() and
	 * ->release(), which the framework calls under its registry lock:
	 * never call into the registry while holding it.
	 */
	struct mutex lock;
	struct vmt_config cfg;
	struct list_head handles;
	u32 next_id;
	/* Protects @records and @nr_records; rw calls record concurrently. */
	spinlock_t rec_lock;
	struct vmt_record records[VMT_RECORDS];
	unsigned int nr_records;
	/* Counters, atomic: no lock. */
	atomic_t stats[VMT_STATS];
};

struct vmt_handle;

/* A device-specific region of one open; holds a reference on its open. */
struct vmt_region {
	struct vmt_handle *h;
	void *buf;
	size_t size;
	bool sparse;
};

/*
 * The state of one open.  Freed when the last reference goes: the open's
 * own (dropped by ->release() or by a failed ->open()) or a region's
 * (dropped by the region's ->release()).
 */
struct vmt_handle {
	struct kref ref;
	struct vmt_inst *inst;
	struct vfio_pci_mediate_device *vpmdev;
	/* In inst->handles from a successful ->open() to ->release(). */
	struct list_head node;
	u32 id;
	char bdf[VMT_BDF_LEN];
	/* Copy of the instance's configuration at ->open(); read-only. */
	struct vmt_config cfg;
	/* Protects the bytes of @shadow[] and of the regions' buffers. */
	struct mutex data_lock;
	u8 *shadow[VMT_MAX_RULES];
	struct vmt_region regions[VMT_MAX_REGIONS];
	unsigned int nr_regions;
	/* Regions registered and not yet released. */
	atomic_t live_regions;
	/* Calls of each callback outside passthrough mode. */
	atomic_long_t rw_calls;
	atomic_long_t mmap_calls;
	atomic_long_t info_calls;
	/*
	 * Calls in passthrough mode, counted without atomics (concurrent
	 * calls may lose counts) to keep the benchmarked path minimal.
	 */
	unsigned long pt_calls;
};

static struct vmt_inst vmt_insts[VMT_INSTANCES];
static struct dentry *vmt_root;

/* --- text output for debugfs ------------------------------------------ */

static __printf(2, 3) void vmt_printf(struct vmt_text *b,
				     const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	b->len += vscnprintf(b->p + b->len, b->size - b->len, fmt, args);
	va_end(args);
}

/* --- rules ------------------------------------------------------------- */

enum vmt_place {
	VMT_OUTSIDE,
	VMT_INSIDE,
	VMT_STRADDLE,
};

/* Where [start, start + count) lies against a rule's range. */
static enum vmt_place vmt_place(u64 start, u64 count, const struct vmt_rule *r)
{
	u64 end = start + count, rend = r->offset + r->len;

	if (start >= rend || end <= r->offset)
		return VMT_OUTSIDE;
	if (start >= r->offset && end <= rend)
		return VMT_INSIDE;
	return VMT_STRADDLE;
}

static bool vmt_rule_serves(const struct vmt_rule *r, bool iswrite)
{
	switch (r->kind) {
	case VMT_RULE_SHADOW:
	case VMT_RULE_IDENT:
		return !iswrite;
	case VMT_RULE_WRITE:
		return iswrite;
	case VMT_RULE_KERNEL:
		return true;
	default:
		return false;
	}
}

/* --- the ops ----------------------------------------------------------- */

static void vmt_handle_free(struct kref *ref)
{
	struct vmt_handle *h = container_of(ref, struct vmt_handle, ref);
	unsigned int i;

	for (i = 0; i < h->nr_regions; i++)
		vfree(h->regions[i].buf);
	for (i = 0; i < VMT_MAX_RULES; i++)
		kvfree(h->shadow[i]);
	mutex_destroy(&h->data_lock);
	kvfree(h);
}

static void vmt_handle_put(struct vmt_handle *h)
{
	kref_put(&h->ref, vmt_handle_free);
}

static void vmt_count_pt(struct vmt_handle *h)
{
	WRITE_ONCE(h->pt_calls, READ_ONCE(h->pt_calls) + 1);
}

static int vmt_decide(const struct vmt_config *cfg, const char *bdf)
{
	unsigned int i;
	bool mine = cfg->accept_all;

	for (i = 0; !mine && i < cfg->nr_bdfs; i++)
		mine = !strcmp(cfg->bdfs[i], bdf);
	if (!mine)
		return -ENODEV;
	return cfg->open_error ? -cfg->open_error : 0;
}

static ssize_t vmt_region_rw(void *data, char __user *buf, size_t count,
			     loff_t offset, bool iswrite)
{
	struct vmt_region *reg = data;
	unsigned long left;

	if (offset < 0 || (u64)offset >= reg->size ||
	    count > reg->size - (u64)offset)
		return -EINVAL;

	mutex_lock(&reg->h->data_lock);
	if (iswrite)
		left = copy_from_user(reg->buf + offset, buf, count);
	else
		left = copy_to_user(buf, reg->buf + offset, count);
	mutex_unlock(&reg->h->data_lock);
	return left ? -EFAULT : count;
}

static int vmt_region_mmap(void *data, struct vm_area_struct *vma)
{
	struct vmt_region *reg = data;
	unsigned long pgoff = vma->vm_pgoff & VMT_PGOFF_MASK;
	unsigned long len = vma->vm_end - vma->vm_start;

	if (pgoff >= (reg->size >> PAGE_SHIFT) ||
	    len > reg->size - (pgoff << PAGE_SHIFT))
		return -EINVAL;
	return remap_vmalloc_range(vma, reg->buf, pgoff);
}

static int vmt_region_add_capability(void *data, struct vfio_info_cap *caps)
{
	struct vmt_region *reg = data;
	struct vfio_region_sparse_mmap_area area = {
		.offset = 0,
		.size = PAGE_SIZE,
	};

	if (!reg->sparse)
		return 0;
	return vfio_pci_mediate_add_sparse_mmap(caps, &area, 1);
}

static void vmt_region_release(void *data)
{
	struct vmt_region *reg = data;
	struct vmt_handle *h = reg->h;

	atomic_inc(&h->inst->stats[VMT_STAT_REGION_RELEASES]);
	atomic_dec(&h->live_regions);
	vmt_handle_put(h);
}

static const struct vfio_pci_mediate_region_ops vmt_region_ops = {
	.rw = vmt_region_rw,
	.mmap = vmt_region_mmap,
	.add_capability = vmt_region_add_capability,
	.release = vmt_region_release,
};

static int vmt_alloc_shadows(struct vmt_handle *h)
{
	unsigned int i;

	for (i = 0; i < h->cfg.nr_rules; i++) {
		const struct vmt_rule *r = &h->cfg.rules[i];

		if (r->kind != VMT_RULE_SHADOW)
			continue;
		h->shadow[i] = kvmalloc(r->len, GFP_KERNEL);
		if (!h->shadow[i])
			return -ENOMEM;
		memset(h->shadow[i], r->fill, r->len);
	}
	return 0;
}

/*
 * Registers the regions the rules ask for.  Each registered region holds a
 * reference on @h, dropped by its ->release(), so that a failed open can
 * drop its own reference whether or not the framework has released the
 * regions registered so far.
 */
static int vmt_add_regions(struct vmt_handle *h)
{
	unsigned int i;
	size_t j;
	int ret;

	for (i = 0; i < h->cfg.nr_rules; i++) {
		const struct vmt_rule *r = &h->cfg.rules[i];
		struct vmt_region *reg;
		u32 flags = VFIO_REGION_INFO_FLAG_READ |
			    VFIO_REGION_INFO_FLAG_WRITE;

		if (r->kind != VMT_RULE_REGION)
			continue;
		reg = &h->regions[h->nr_regions];
		reg->h = h;
		reg->size = r->len;
		reg->sparse = r->sparse;
		reg->buf = vmalloc_user(reg->size);
		if (!reg->buf)
			return -ENOMEM;
		h->nr_regions++;
		for (j = 0; j < reg->size; j++)
			((u8 *)reg->buf)[j] = (j & 0xff) ^ VMT_REGION_PATTERN;
		if (r->mmap)
			flags |= VFIO_REGION_INFO_FLAG_MMAP;

		kref_get(&h->ref);
		atomic_inc(&h->live_regions);
		ret = vfio_pci_mediate_register_region(h->vpmdev, r->type,
						       r->subtype,
						       &vmt_region_ops,
						       reg->size, flags, reg);
		if (ret) {
			atomic_dec(&h->live_regions);
			vmt_handle_put(h);
			return ret;
		}
	}
	return 0;
}

/* Whether a rule of @kind is among @h's. */
static bool vmt_has_rule(const struct vmt_handle *h, enum vmt_rule_kind kind)
{
	unsigned int i;

	for (i = 0; i < h->cfg.nr_rules; i++)
		if (h->cfg.rules[i].kind == kind)
			return true;
	return false;
}

/* Declares the trappable ranges the rules ask for. */
static int vmt_add_trappables(struct vmt_handle *h)
{
	unsigned int i;
	int id;

	for (i = 0; i < h->cfg.nr_rules; i++) {
		const struct vmt_rule *r = &h->cfg.rules[i];

		if (r->kind != VMT_RULE_TRAPPABLE)
			continue;
		id = vfio_pci_mediate_add_trappable(h->vpmdev, r->index,
						    r->offset, r->len);
		if (id < 0)
			return id;
		if (r->untrapped)
			vfio_pci_mediate_untrap(h->vpmdev, id);
	}
	return 0;
}

static int vmt_open(struct vmt_inst *inst,
		    struct vfio_pci_mediate_device *vpmdev,
		    struct pci_dev *pdev, void **handle)
{
	struct vmt_handle *h;
	int ret;

	atomic_inc(&inst->stats[VMT_STAT_OPEN_CALLS]);
	if (vfio_pci_mediate_pdev(vpmdev) != pdev)
		atomic_inc(&inst->stats[VMT_STAT_PDEV_MISMATCHES]);

	h = kvzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	kref_init(&h->ref);
	mutex_init(&h->data_lock);
	INIT_LIST_HEAD(&h->node);
	h->inst = inst;
	h->vpmdev = vpmdev;
	strscpy(h->bdf, pci_name(pdev), sizeof(h->bdf));

	mutex_lock(&inst->lock);
	ret = vmt_decide(&inst->cfg, h->bdf);
	if (!ret) {
		h->cfg = inst->cfg;
		h->id = ++inst->next_id;
	}
	mutex_unlock(&inst->lock);
	if (ret)
		goto out_put;

	ret = vmt_alloc_shadows(h);
	if (ret)
		goto out_put;
	ret = vmt_add_regions(h);
	if (!ret)
		ret = vmt_add_trappables(h);
	if (ret)
		goto out_put;
	if (vmt_has_rule(h, VMT_RULE_LOGGING))
		vfio_pci_mediate_dirty_enable_logging(vpmdev);
	/* After all of the above: the framework must take it all back. */
	if (vmt_has_rule(h, VMT_RULE_DECLINE)) {
		ret = -ENODEV;
		goto out_put;
	}

	mutex_lock(&inst->lock);
	list_add_tail(&h->node, &inst->handles);
	mutex_unlock(&inst->lock);
	atomic_inc(&inst->stats[VMT_STAT_OPENS]);
	*handle = h;
	return 0;

out_put:
	atomic_inc(&inst->stats[ret == -ENODEV ? VMT_STAT_DECLINES :
						 VMT_STAT_FAILURES]);
	vmt_handle_put(h);
	return ret;
}

static void vmt_release(void *handle)
{
	struct vmt_handle *h = handle;
	struct vmt_inst *inst = h->inst;

	mutex_lock(&inst->lock);
	list_del_init(&h->node);
	mutex_unlock(&inst->lock);
	if (atomic_read(&h->live_regions))
		atomic_inc(&inst->stats[VMT_STAT_ORDER_ERRORS]);
	atomic_inc(&inst->stats[VMT_STAT_RELEASES]);
	vmt_handle_put(h);
}

static int vmt_get_region_info(void *handle, unsigned int index,
			       struct vfio_region_info *info,
			       struct vfio_info_cap *caps, bool *pt)
{
	struct vmt_handle *h = handle;
	const struct vmt_rule *r;
	unsigned int i;

	if (h->cfg.passthrough) {
		vmt_count_pt(h);
		goto pass;
	}
	atomic_long_inc(&h->info_calls);
	for (i = 0; i < h->cfg.nr_rules; i++) {
		r = &h->cfg.rules[i];
		if (r->kind != VMT_RULE_INFO || r->index != index)
			continue;
		if (r->set_size)
			info->size = r->size;
		if (r->set_flags)
			info->flags = r->flags;
		if (!r->nr_areas)
			return 0;
		return vfio_pci_mediate_add_sparse_mmap(caps, r->areas,
							r->nr_areas);
	}
pass:
	*pt = true;
	return 0;
}

static int vmt_record(struct vmt_handle *h, unsigned int index, loff_t offset,
		      const char __user *buf, size_t count)
{
	struct vmt_inst *inst = h->inst;
	struct vmt_record rec = {
		.handle_id = h->id,
		.index = index,
		.offset = offset,
		.len = count,
	};

	if (copy_from_user(rec.data, buf, min_t(size_t, count,
						VMT_RECORD_BYTES)))
		return -EFAULT;
	spin_lock(&inst->rec_lock);
	if (inst->nr_records < VMT_RECORDS)
		inst->records[inst->nr_records++] = rec;
	else
		atomic_inc(&inst->stats[VMT_STAT_RECORDS_DROPPED]);
	spin_unlock(&inst->rec_lock);
	return 0;
}

static ssize_t vmt_rw_write_rule(struct vmt_handle *h, const struct vmt_rule *r,
				 char __user *buf, size_t count, loff_t offset)
{
	ssize_t ret;
	int err;

	switch (r->mode) {
	case VMT_WRITE_SWALLOW:
		return count;
	case VMT_WRITE_RECORD:
		err = vmt_record(h, r->index, offset, buf, count);
		return err ? err : count;
	case VMT_WRITE_FORWARD:
		ret = vfio_pci_mediate_passthrough_rw(h->vpmdev, r->index, buf,
						      count, offset, true);
		if (ret <= 0)
			return ret;
		err = vmt_record(h, r->index, offset, buf, ret);
		return err ? err : ret;
	}
	return -EINVAL;
}

static ssize_t vmt_rw_kernel_rule(struct vmt_handle *h,
				  const struct vmt_rule *r, char __user *buf,
				  size_t count, loff_t offset, bool iswrite)
{
	u8 bounce[VMT_MAX_KERNEL_ACCESS];
	int ret;

	if (count > sizeof(bounce))
		return -EINVAL;
	if (iswrite) {
		if (copy_from_user(bounce, buf, count))
			return -EFAULT;
		ret = vfio_pci_mediate_bar_write(h->vpmdev, r->index, offset,
						 bounce, count);
		return ret ? ret : count;
	}
	ret = vfio_pci_mediate_bar_read(h->vpmdev, r->index, offset, bounce,
					count);
	if (ret)
		return ret;
	return copy_to_user(buf, bounce, count) ? -EFAULT : count;
}

static ssize_t vmt_rw(void *handle, unsigned int index, char __user *buf,
		      size_t count, loff_t offset, bool iswrite, bool *pt)
{
	struct vmt_handle *h = handle;
	const struct vmt_rule *r;
	unsigned int i;
	unsigned long left;
	u64 end;

	if (h->cfg.passthrough) {
		vmt_count_pt(h);
		*pt = true;
		return 0;
	}
	atomic_long_inc(&h->rw_calls);
	if (offset < 0 || check_add_overflow((u64)offset, (u64)count, &end))
		return -EINVAL;

	for (i = 0; i < h->cfg.nr_rules; i++) {
		r = &h->cfg.rules[i];
		if (r->index != index || !vmt_rule_serves(r, iswrite))
			continue;
		switch (vmt_place(offset, count, r)) {
		case VMT_OUTSIDE:
			continue;
		case VMT_STRADDLE:
			return -EINVAL;
		case VMT_INSIDE:
			break;
		}

		switch (r->kind) {
		case VMT_RULE_SHADOW:
			mutex_lock(&h->data_lock);
			left = copy_to_user(buf, h->shadow[i] +
					    (offset - r->offset), count);
			mutex_unlock(&h->data_lock);
			return left ? -EFAULT : count;
		case VMT_RULE_IDENT:
			if (offset != r->offset || count != sizeof(h->id))
				return -EINVAL;
			return copy_to_user(buf, &h->id, sizeof(h->id)) ?
			       -EFAULT : count;
		case VMT_RULE_WRITE:
			return vmt_rw_write_rule(h, r, buf, count, offset);
		case VMT_RULE_KERNEL:
			return vmt_rw_kernel_rule(h, r, buf, count, offset,
						 iswrite);
		default:
			return -EINVAL;
		}
	}
	*pt = true;
	return 0;
}

static int vmt_mmap(void *handle, unsigned int index,
		    struct vm_area_struct *vma, bool *pt)
{
	struct vmt_handle *h = handle;
	const struct vmt_rule *r;
	u64 start, len;
	unsigned int i;

	if (h->cfg.passthrough) {
		vmt_count_pt(h);
		goto pass;
	}
	atomic_long_inc(&h->mmap_calls);
	start = (u64)(vma->vm_pgoff & VMT_PGOFF_MASK) << PAGE_SHIFT;
	len = vma->vm_end - vma->vm_start;
	for (i = 0; i < h->cfg.nr_rules; i++) {
		r = &h->cfg.rules[i];
		if (r->kind == VMT_RULE_NOMMAP && r->index == index &&
		    vmt_place(start, len, r) != VMT_OUTSIDE)
			return -EACCES;
	}
pass:
	*pt = true;
	return 0;
}

/* ->open() cannot tell which table it was called through: one per table. */
#define VMT_DEFINE_OPS(n)						\
static int vmt_open##n(struct vfio_pci_mediate_device *vpmdev,		\
		      struct pci_dev *pdev, void **handle)		\
{									\
	return vmt_open(&vmt_insts[n], vpmdev, pdev, handle);		\
}									\
									\
static const struct vfio_pci_mediate_ops vmt_ops##n = {			\
	.owner = THIS_MODULE,						\
	.name = "test" #n,						\
	.open = vmt_open##n,						\
	.release = vmt_release,						\
	.get_region_info = vmt_get_region_info,				\
	.rw = vmt_rw,							\
	.mmap = vmt_mmap,						\
}

VMT_DEFINE_OPS(0);
VMT_DEFINE_OPS(1);
VMT_DEFINE_OPS(2);
VMT_DEFINE_OPS(3);

static const struct vfio_pci_mediate_ops *const vmt_ops[VMT_INSTANCES] = {
	&vmt_ops0, &vmt_ops1, &vmt_ops2, &vmt_ops3,
};

MODULE_ALIAS_VFIO_PCI_MEDIATE(1234, 11E8);

/* --- configuration ----------------------------------------------------- */

static void vmt_config_default(struct vmt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static int vmt_set_registered(struct vmt_inst *inst, bool on)
{
	int ret = 0;

	mutex_lock(&inst->reg_lock);
	if (on && !inst->registered) {
		ret = vfio_pci_register_mediate_ops(inst->ops);
		if (!ret)
			inst->registered = true;
	} else if (!on && inst->registered) {
		vfio_pci_unregister_mediate_ops(inst->ops);
		inst->registered = false;
	}
	mutex_unlock(&inst->reg_lock);
	return ret;
}

/* Next token separated by blanks (and commas when @commas), or NULL. */
static char *vmt_token(char **s, bool commas)
{
	const char *delims = commas ? " \t," : " \t";
	char *tok;

	do {
		tok = strsep(s, delims);
	} while (tok && !*tok);
	return tok;
}

static int vmt_u64(char **s, u64 *v)
{
	char *tok = vmt_token(s, false);

	return tok ? kstrtou64(tok, 0, v) : -EINVAL;
}

static int vmt_u32(char **s, u32 *v)
{
	char *tok = vmt_token(s, false);

	return tok ? kstrtou32(tok, 0, v) : -EINVAL;
}

/* Region indexes the framework passes to rw and get_region_info. */
static bool vmt_index_ok(u32 index)
{
	return index <= VFIO_PCI_BAR5_REGION_INDEX ||
	       index == VFIO_PCI_CONFIG_REGION_INDEX;
}

/* "I OFF LEN": a range of at most VMT_MAX_BUF bytes that does not wrap. */
static int vmt_parse_range(char **s, struct vmt_rule *r)
{
	u64 end;

	if (vmt_u32(s, &r->index) || vmt_u64(s, &r->offset) ||
	    vmt_u64(s, &r->len))
		return -EINVAL;
	if (!vmt_index_ok(r->index) || !r->len || r->len > VMT_MAX_BUF ||
	    check_add_overflow(r->offset, r->len, &end) ||
	    end > VFIO_PCI_OFFSET_MASK + 1)
		return -EINVAL;
	return 0;
}

static int vmt_parse_sparse(char *list, struct vmt_rule *r)
{
	char *area, *colon;
	u64 off, len, end;

	while ((area = vmt_token(&list, true))) {
		if (r->nr_areas == VMT_MAX_SPARSE)
			return -EINVAL;
		colon = strchr(area, ':');
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		if (kstrtou64(area, 0, &off) || kstrtou64(colon + 1, 0, &len) ||
		    check_add_overflow(off, len, &end))
			return -EINVAL;
		r->areas[r->nr_areas].offset = off;
		r->areas[r->nr_areas].size = len;
		r->nr_areas++;
	}
	return r->nr_areas ? 0 : -EINVAL;
}

static int vmt_parse_info(char **s, struct vmt_rule *r)
{
	char *tok;

	if (vmt_u32(s, &r->index) || !vmt_index_ok(r->index))
		return -EINVAL;
	while ((tok = vmt_token(s, false))) {
		if (str_has_prefix(tok, "size=")) {
			if (kstrtou64(tok + 5, 0, &r->size))
				return -EINVAL;
			r->set_size = true;
		} else if (str_has_prefix(tok, "flags=")) {
			if (kstrtou32(tok + 6, 0, &r->flags))
				return -EINVAL;
			r->set_flags = true;
		} else if (str_has_prefix(tok, "sparse=")) {
			if (r->nr_areas || vmt_parse_sparse(tok + 7, r))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int vmt_parse_region(char **s, struct vmt_rule *r,
			    const struct vmt_config *cfg)
{
	unsigned int i, regions = 0;
	char *tok;

	for (i = 0; i < cfg->nr_rules; i++)
		regions += cfg->rules[i].kind == VMT_RULE_REGION;
	if (regions == VMT_MAX_REGIONS)
		return -EINVAL;
	r->index = U32_MAX;
	if (vmt_u32(s, &r->type) || vmt_u32(s, &r->subtype) ||
	    vmt_u64(s, &r->len) || !r->len || r->len > VMT_MAX_BUF)
		return -EINVAL;
	while ((tok = vmt_token(s, false))) {
		if (!strcmp(tok, "mmap"))
			r->mmap = true;
		else if (!strcmp(tok, "sparse"))
			r->sparse = true;
		else
			return -EINVAL;
	}
	if (r->mmap && !PAGE_ALIGNED(r->len))
		return -EINVAL;
	if (r->sparse && r->len < PAGE_SIZE)
		return -EINVAL;
	return 0;
}

static int vmt_parse_rule(char *line, struct vmt_config *cfg)
{
	struct vmt_rule *r;
	char *kind = vmt_token(&line, false);
	u32 fill = 0;
	int ret;

	if (!kind)
		return 0;
	if (!strcmp(kind, "clear")) {
		if (vmt_token(&line, false))
			return -EINVAL;
		cfg->nr_rules = 0;
		return 0;
	}
	if (cfg->nr_rules == VMT_MAX_RULES)
		return -EINVAL;
	r = &cfg->rules[cfg->nr_rules];
	memset(r, 0, sizeof(*r));

	if (!strcmp(kind, "info")) {
		r->kind = VMT_RULE_INFO;
		ret = vmt_parse_info(&line, r);
	} else if (!strcmp(kind, "shadow")) {
		r->kind = VMT_RULE_SHADOW;
		ret = vmt_parse_range(&line, r);
		if (!ret)
			ret = vmt_u32(&line, &fill);
		if (!ret && fill > U8_MAX)
			ret = -EINVAL;
		r->fill = fill;
	} else if (!strcmp(kind, "write")) {
		r->kind = VMT_RULE_WRITE;
		ret = vmt_parse_range(&line, r);
		if (!ret) {
			char *mode = vmt_token(&line, false);

			ret = mode ? match_string(vmt_write_modes,
						  ARRAY_SIZE(vmt_write_modes),
						  mode) : -EINVAL;
			if (ret >= 0) {
				r->mode = ret;
				ret = 0;
			}
		}
	} else if (!strcmp(kind, "kernel")) {
		r->kind = VMT_RULE_KERNEL;
		ret = vmt_parse_range(&line, r);
		if (!ret && r->index > VFIO_PCI_BAR5_REGION_INDEX)
			ret = -EINVAL;
	} else if (!strcmp(kind, "ident")) {
		r->kind = VMT_RULE_IDENT;
		r->len = sizeof(u32);
		if (vmt_u32(&line, &r->index) || vmt_u64(&line, &r->offset) ||
		    !vmt_index_ok(r->index) ||
		    r->offset > VFIO_PCI_OFFSET_MASK - sizeof(u32))
			ret = -EINVAL;
		else
			ret = 0;
	} else if (!strcmp(kind, "nommap")) {
		r->kind = VMT_RULE_NOMMAP;
		ret = vmt_parse_range(&line, r);
		if (!ret && r->index > VFIO_PCI_BAR5_REGION_INDEX)
			ret = -EINVAL;
	} else if (!strcmp(kind, "region")) {
		r->kind = VMT_RULE_REGION;
		ret = vmt_parse_region(&line, r, cfg);
	} else if (!strcmp(kind, "trappable")) {
		char *open;

		r->kind = VMT_RULE_TRAPPABLE;
		ret = vmt_parse_range(&line, r);
		if (!ret && r->index > VFIO_PCI_BAR5_REGION_INDEX)
			ret = -EINVAL;
		open = ret ? NULL : vmt_token(&line, false);
		if (open && strcmp(open, "open"))
			ret = -EINVAL;
		r->untrapped = open;
	} else if (!strcmp(kind, "logging")) {
		r->kind = VMT_RULE_LOGGING;
		ret = 0;
	} else if (!strcmp(kind, "decline")) {
		r->kind = VMT_RULE_DECLINE;
		ret = 0;
	} else {
		ret = -EINVAL;
	}
	/* Nothing may follow a complete rule (info and region ate all). */
	if (!ret && vmt_token(&line, false))
		ret = -EINVAL;
	if (!ret)
		cfg->nr_rules++;
	return ret;
}

static void vmt_show_rule(const struct vmt_rule *r, struct vmt_text *b)
{
	unsigned int i;

	switch (r->kind) {
	case VMT_RULE_INFO:
		vmt_printf(b, "info %u", r->index);
		if (r->set_size)
			vmt_printf(b, " size=0x%llx", r->size);
		if (r->set_flags)
			vmt_printf(b, " flags=0x%x", r->flags);
		for (i = 0; i < r->nr_areas; i++)
			vmt_printf(b, "%s0x%llx:0x%llx", i ? "," : " sparse=",
				   r->areas[i].offset, r->areas[i].size);
		break;
	case VMT_RULE_SHADOW:
		vmt_printf(b, "shadow %u 0x%llx 0x%llx 0x%x", r->index,
			   r->offset, r->len, r->fill);
		break;
	case VMT_RULE_WRITE:
		vmt_printf(b, "write %u 0x%llx 0x%llx %s", r->index, r->offset,
			   r->len, vmt_write_modes[r->mode]);
		break;
	case VMT_RULE_KERNEL:
		vmt_printf(b, "kernel %u 0x%llx 0x%llx", r->index, r->offset,
			   r->len);
		break;
	case VMT_RULE_IDENT:
		vmt_printf(b, "ident %u 0x%llx", r->index, r->offset);
		break;
	case VMT_RULE_NOMMAP:
		vmt_printf(b, "nommap %u 0x%llx 0x%llx", r->index, r->offset,
			   r->len);
		break;
	case VMT_RULE_REGION:
		vmt_printf(b, "region 0x%x 0x%x 0x%llx%s%s", r->type,
			   r->subtype, r->len, r->mmap ? " mmap" : "",
			   r->sparse ? " sparse" : "");
		break;
	case VMT_RULE_TRAPPABLE:
		vmt_printf(b, "trappable %u 0x%llx 0x%llx%s", r->index,
			   r->offset, r->len, r->untrapped ? " open" : "");
		break;
	case VMT_RULE_LOGGING:
		vmt_printf(b, "logging");
		break;
	case VMT_RULE_DECLINE:
		vmt_printf(b, "decline");
		break;
	}
	vmt_printf(b, "\n");
}

/* --- debugfs files ----------------------------------------------------- */

static void vmt_show_registered(struct vmt_inst *inst, struct vmt_text *b)
{
	mutex_lock(&inst->reg_lock);
	vmt_printf(b, "%d\n", inst->registered);
	mutex_unlock(&inst->reg_lock);
}

static int vmt_store_registered(struct vmt_inst *inst, char *input)
{
	bool on;

	if (kstrtobool(strim(input), &on))
		return -EINVAL;
	return vmt_set_registered(inst, on);
}

static void vmt_show_accept(struct vmt_inst *inst, struct vmt_text *b)
{
	unsigned int i;

	mutex_lock(&inst->lock);
	if (inst->cfg.accept_all)
		vmt_printf(b, "all");
	else if (!inst->cfg.nr_bdfs)
		vmt_printf(b, "none");
	for (i = 0; i < inst->cfg.nr_bdfs; i++)
		vmt_printf(b, "%s%s", i ? " " : "", inst->cfg.bdfs[i]);
	mutex_unlock(&inst->lock);
	vmt_printf(b, "\n");
}

static int vmt_store_accept(struct vmt_inst *inst, char *input)
{
	char bdfs[VMT_MAX_BDFS][VMT_BDF_LEN];
	unsigned int n = 0;
	bool all = false;
	char *tok;

	input = strim(input);
	if (!strcmp(input, "all")) {
		all = true;
	} else if (strcmp(input, "none")) {
		while ((tok = vmt_token(&input, true))) {
			if (n == VMT_MAX_BDFS ||
			    strscpy(bdfs[n], tok, VMT_BDF_LEN) < 0)
				return -EINVAL;
			n++;
		}
		if (!n)
			return -EINVAL;
	}

	mutex_lock(&inst->lock);
	inst->cfg.accept_all = all;
	inst->cfg.nr_bdfs = n;
	memcpy(inst->cfg.bdfs, bdfs, n * sizeof(bdfs[0]));
	mutex_unlock(&inst->lock);
	return 0;
}

static void vmt_show_open_error(struct vmt_inst *inst, struct vmt_text *b)
{
	mutex_lock(&inst->lock);
	vmt_printf(b, "%d\n", inst->cfg.open_error);
	mutex_unlock(&inst->lock);
}

static int vmt_store_open_error(struct vmt_inst *inst, char *input)
{
	int err;

	if (kstrtoint(strim(input), 0, &err) || err < -MAX_ERRNO ||
	    err > MAX_ERRNO)
		return -EINVAL;
	mutex_lock(&inst->lock);
	inst->cfg.open_error = abs(err);
	mutex_unlock(&inst->lock);
	return 0;
}

static void vmt_show_passthrough(struct vmt_inst *inst, struct vmt_text *b)
{
	mutex_lock(&inst->lock);
	vmt_printf(b, "%d\n", inst->cfg.passthrough);
	mutex_unlock(&inst->lock);
}

static int vmt_store_passthrough(struct vmt_inst *inst, char *input)
{
	bool on;

	if (kstrtobool(strim(input), &on))
		return -EINVAL;
	mutex_lock(&inst->lock);
	inst->cfg.passthrough = on;
	mutex_unlock(&inst->lock);
	return 0;
}

static void vmt_show_rules(struct vmt_inst *inst, struct vmt_text *b)
{
	unsigned int i;

	mutex_lock(&inst->lock);
	for (i = 0; i < inst->cfg.nr_rules; i++)
		vmt_show_rule(&inst->cfg.rules[i], b);
	mutex_unlock(&inst->lock);
}

/* All lines apply or none does. */
static int vmt_store_rules(struct vmt_inst *inst, char *input)
{
	struct vmt_config *cfg;
	char *line;
	int ret = 0;

	cfg = kvmalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	mutex_lock(&inst->lock);
	*cfg = inst->cfg;
	while (!ret && (line = strsep(&input, "\n;")))
		ret = vmt_parse_rule(line, cfg);
	if (!ret)
		inst->cfg = *cfg;
	mutex_unlock(&inst->lock);
	kvfree(cfg);
	return ret;
}

static void vmt_show_stats(struct vmt_inst *inst, struct vmt_text *b)
{
	unsigned int i;

	for (i = 0; i < VMT_STATS; i++)
		vmt_printf(b, "%s %d\n", vmt_stat_names[i],
			   atomic_read(&inst->stats[i]));
}

static void vmt_show_handles(struct vmt_inst *inst, struct vmt_text *b)
{
	struct vmt_handle *h;

	mutex_lock(&inst->lock);
	list_for_each_entry(h, &inst->handles, node)
		vmt_printf(b, "%s %u rw=%ld mmap=%ld info=%ld pt=%lu\n",
			   h->bdf, h->id, atomic_long_read(&h->rw_calls),
			   atomic_long_read(&h->mmap_calls),
			   atomic_long_read(&h->info_calls),
			   READ_ONCE(h->pt_calls));
	mutex_unlock(&inst->lock);
}

static void vmt_show_writes(struct vmt_inst *inst, struct vmt_text *b)
{
	struct vmt_record *recs;
	unsigned int i, n;

	recs = kmalloc_array(VMT_RECORDS, sizeof(*recs), GFP_KERNEL);
	if (!recs)
		return;
	spin_lock(&inst->rec_lock);
	n = inst->nr_records;
	memcpy(recs, inst->records, n * sizeof(*recs));
	spin_unlock(&inst->rec_lock);

	for (i = 0; i < n; i++)
		vmt_printf(b, "%u %u 0x%llx %llu %*phN\n", recs[i].handle_id,
			   recs[i].index, recs[i].offset, recs[i].len,
			   (int)min_t(u64, recs[i].len, VMT_RECORD_BYTES),
			   recs[i].data);
	kfree(recs);
}

static void vmt_clear_records(struct vmt_inst *inst)
{
	spin_lock(&inst->rec_lock);
	inst->nr_records = 0;
	spin_unlock(&inst->rec_lock);
}

static int vmt_store_writes(struct vmt_inst *inst, char *input)
{
	vmt_clear_records(inst);
	return 0;
}

static int vmt_store_reset(struct vmt_inst *inst, char *input)
{
	unsigned int i;

	mutex_lock(&inst->lock);
	vmt_config_default(&inst->cfg);
	mutex_unlock(&inst->lock);
	vmt_clear_records(inst);
	for (i = 0; i < VMT_STATS; i++)
		atomic_set(&inst->stats[i], 0);
	return 0;
}

static const struct vmt_attr vmt_attrs[VMT_FILES] = {
	{ "registered", 0600, vmt_show_registered, vmt_store_registered },
	{ "accept", 0600, vmt_show_accept, vmt_store_accept },
	{ "open_error", 0600, vmt_show_open_error, vmt_store_open_error },
	{ "passthrough", 0600, vmt_show_passthrough, vmt_store_passthrough },
	{ "rules", 0600, vmt_show_rules, vmt_store_rules },
	{ "stats", 0400, vmt_show_stats, NULL },
	{ "handles", 0400, vmt_show_handles, NULL },
	{ "writes", 0600, vmt_show_writes, vmt_store_writes },
	{ "reset", 0200, NULL, vmt_store_reset },
};

static ssize_t vmt_file_read(struct file *file, char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct vmt_file *f = file->private_data;
	struct vmt_text b = { .size = VMT_SHOW_SIZE };
	ssize_t ret;

	if (!f->attr->show)
		return -EINVAL;
	b.p = kvzalloc(b.size, GFP_KERNEL);
	if (!b.p)
		return -ENOMEM;
	f->attr->show(f->inst, &b);
	ret = simple_read_from_buffer(ubuf, count, ppos, b.p, b.len);
	kvfree(b.p);
	return ret;
}

static ssize_t vmt_file_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct vmt_file *f = file->private_data;
	char *input;
	int ret;

	if (!f->attr->store)
		return -EINVAL;
	if (*ppos || count > VMT_MAX_INPUT)
		return -EINVAL;
	input = memdup_user_nul(ubuf, count);
	if (IS_ERR(input))
		return PTR_ERR(input);
	ret = f->attr->store(f->inst, input);
	kfree(input);
	return ret ? ret : count;
}

static const struct file_operations vmt_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = vmt_file_read,
	.write = vmt_file_write,
	.llseek = default_llseek,
};

/* --- module ------------------------------------------------------------ */

static void vmt_inst_init(struct vmt_inst *inst, unsigned int nr)
{
	struct dentry *dir;
	char name[8];
	unsigned int i;

	inst->nr = nr;
	inst->ops = vmt_ops[nr];
	mutex_init(&inst->reg_lock);
	mutex_init(&inst->lock);
	spin_lock_init(&inst->rec_lock);
	INIT_LIST_HEAD(&inst->handles);
	vmt_config_default(&inst->cfg);

	snprintf(name, sizeof(name), "test%u", nr);
	dir = debugfs_create_dir(name, vmt_root);
	for (i = 0; i < VMT_FILES; i++) {
		inst->files[i].inst = inst;
		inst->files[i].attr = &vmt_attrs[i];
		debugfs_create_file(vmt_attrs[i].name, vmt_attrs[i].mode, dir,
				    &inst->files[i], &vmt_fops);
	}
}

/* Unregisters every instance and tears down; debugfs must be gone. */
static void vmt_teardown(void)
{
	unsigned int i;

	for (i = 0; i < VMT_INSTANCES; i++) {
		vmt_set_registered(&vmt_insts[i], false);
		mutex_destroy(&vmt_insts[i].lock);
		mutex_destroy(&vmt_insts[i].reg_lock);
	}
}

static int __init vmt_init(void)
{
	unsigned int i;
	int ret;

	vmt_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	for (i = 0; i < VMT_INSTANCES; i++)
		vmt_inst_init(&vmt_insts[i], i);

	for (i = 0; i < VMT_INSTANCES; i++) {
		if (!(autoregister & BIT(i)))
			continue;
		vmt_insts[i].cfg.accept_all = autoaccept;
		ret = vmt_set_registered(&vmt_insts[i], true);
		if (ret)
			goto err_teardown;
	}
	return 0;

err_teardown:
	debugfs_remove_recursive(vmt_root);
	vmt_teardown();
	return ret;
}

static void __exit vmt_exit(void)
{
	/* No debugfs writer can (un)register once the files are gone. */
	debugfs_remove_recursive(vmt_root);
	vmt_teardown();
}

module_init(vmt_init);
module_exit(vmt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test mediator for vfio-pci-mediate (lab tests only)");
