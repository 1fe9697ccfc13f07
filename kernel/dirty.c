// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pages a mediated device writes by DMA, made known to the user: through
 * VFIO DMA logging, and through type1's dirty tracking where the user's
 * memory may be pinned.
 *
 * A mediator that knows where its device writes (it traps the commands)
 * says which range the device is about to write
 * (vfio_pci_mediate_dirty_begin()) and when it is done
 * (vfio_pci_mediate_dirty_end()).  The framework keeps those writes in
 * flight, and:
 *
 *  - VFIO DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*, what QEMU 8+
 *    uses) is offered for opens whose mediator declared that it announces
 *    every write (vfio_pci_mediate_dirty_enable_logging()).  While logging
 *    runs, the pages of each write are recorded in an xarray; a report
 *    first lets the mediator end the writes that have finished
 *    (->dirty_sync()), then hands out and forgets the recorded pages of
 *    the asked range, and records again the pages of writes still in
 *    flight.  So a report costs what the dirty pages cost, not what the
 *    range does, and a page is reported again only if it is written again
 *    (or its write is still going on).
 *
 *  - Linux 6.1's type1 reports every mapped page dirty on each sync while a
 *    group in the container has never pinned a page through
 *    vfio_pin_pages(); a group that has pinned once is trusted from then on
 *    to pin every page its devices write, and type1 reports for it only
 *    pages pinned since the last report.  Where the user's memory may be
 *    pinned (user_dma_access, for a device alone in its IOMMU group: see
 *    user_dma.c), each write's pages are
 *    pinned until it ends, so QEMU 7.2 re-sends only pages that really
 *    changed; the user unmapping pinned pages (our vfio_device_ops
 *    .dma_unmap) and the end of the open unpin what is left.  Otherwise
 *    nothing is pinned and type1 reports everything dirty.
 */
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_pci_mediate_priv.h"

/*
 * One range given to vfio_pci_mediate_dirty_begin(): its pages, and which
 * of them are pinned (none unless the user's memory may be pinned; of
 * those, the pages the user has mapped writable for the device).
 */
struct vpm_dirty_write {
	struct list_head node;
	struct hlist_node by_range;	/* in vpm_dirty's @index */
	dma_addr_t iova;	/* first page */
	int npage;
	DECLARE_BITMAP(pinned, VFIO_PIN_PAGES_MAX_ENTRIES);
};

void vpm_dirty_init(struct vfio_pci_mediate_device *vpmdev)
{
	mutex_init(&vpmdev->dirty.lock);
	mutex_init(&vpmdev->dirty.log_lock);
	INIT_LIST_HEAD(&vpmdev->dirty.writes);
	hash_init(vpmdev->dirty.index);
	/* Its nodes are charged to the user, whose device made us record. */
	xa_init_flags(&vpmdev->dirty.logged, XA_FLAGS_ACCOUNT);
}

/*
 * Records the pages @first_pfn..+@npage that lie in a logged range: each
 * range once (up to 256 of them), not each page against every range.
 */
static int vpm_log_record(struct vpm_dirty *d, unsigned long first_pfn,
			  unsigned long npage)
{
	unsigned long last_pfn = first_pfn + npage - 1, pfn, p0, p1;
	u32 i;
	int ret;

	lockdep_assert_held(&d->lock);
	for (i = 0; i < d->nr_ranges; i++) {
		p0 = max_t(unsigned long, first_pfn,
			   d->ranges[i].start >> PAGE_SHIFT);
		p1 = min_t(unsigned long, last_pfn,
			   d->ranges[i].last >> PAGE_SHIFT);
		for (pfn = p0; pfn <= p1; pfn++) {
			ret = xa_err(xa_store(&d->logged, pfn, xa_mk_value(0),
					      GFP_KERNEL));
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void vpm_dirty_unpin_pages(struct vfio_pci_mediate_device *vpmdev,
				  struct vpm_dirty_write *w)
{
	struct vfio_device *vdev = &vpmdev->core_device.vdev;
	unsigned int i;

	if (bitmap_full(w->pinned, w->npage))
		vfio_unpin_pages(vdev, w->iova, w->npage);
	else
		for_each_set_bit(i, w->pinned, w->npage)
			vfio_unpin_pages(vdev, w->iova + i * PAGE_SIZE, 1);
	bitmap_zero(w->pinned, w->npage);
}

static void vpm_dirty_drop(struct vfio_pci_mediate_device *vpmdev,
			   struct vpm_dirty_write *w)
{
	lockdep_assert_held(&vpmdev->dirty.lock);
	vpm_dirty_unpin_pages(vpmdev, w);
	list_del(&w->node);
	hash_del(&w->by_range);
	vpmdev->dirty.nr_writes--;
	kfree(w);
}

/* The pages of [@iova, @iova + @len): false if the range wraps. */
static bool vpm_dirty_pages(dma_addr_t iova, size_t len, dma_addr_t *first,
			    int *npage)
{
	dma_addr_t last;

	if (!len || iova + len - 1 < iova)
		return false;
	last = (iova + len - 1) & PAGE_MASK;
	*first = iova & PAGE_MASK;
	if ((last - *first) >> PAGE_SHIFT >= VFIO_PIN_PAGES_MAX_ENTRIES)
		return false;
	*npage = ((last - *first) >> PAGE_SHIFT) + 1;
	return true;
}

/* The key of a write in vpm_dirty's @index: what dirty_end is given. */
static u64 vpm_dirty_key(dma_addr_t first, int npage)
{
	return (u64)first ^ npage;
}

static bool vpm_dirty_cannot_pin(int ret)
{
	switch (ret) {
	case -EINVAL:	/* a page not mapped */
	case -EPERM:	/* a page not writable */
	case -EACCES:	/* type1 v1 */
	case -ENOTTY:	/* a backend without pinning */
		return true;
	}
	return false;
}

/*
 * Pins what can be pinned of @w's pages.  type1 pins all or nothing: if
 * the whole range fails because some page is not mapped or not writable,
 * the others are still pinned one by one, since the device can write them.
 */
static int vpm_dirty_pin(struct vfio_pci_mediate_device *vpmdev,
			 struct vpm_dirty_write *w, struct page **pages)
{
	struct vfio_device *vdev = &vpmdev->core_device.vdev;
	int i, ret;

	ret = vfio_pin_pages(vdev, w->iova, w->npage, IOMMU_WRITE, pages);
	if (ret == w->npage) {
		bitmap_set(w->pinned, 0, w->npage);
		return 0;
	}
	if (WARN_ON_ONCE(ret >= 0)) {
		/* Not in 6.1, which pins all or nothing. */
		if (ret)
			vfio_unpin_pages(vdev, w->iova, ret);
		return -EIO;
	}
	if (!vpm_dirty_cannot_pin(ret))
		return ret;
	if (ret == -EACCES || ret == -ENOTTY || w->npage == 1)
		return 0;

	for (i = 0; i < w->npage; i++) {
		cond_resched();
		ret = vfio_pin_pages(vdev, w->iova + i * PAGE_SIZE, 1,
				     IOMMU_WRITE, pages);
		if (ret == 1)
			__set_bit(i, w->pinned);
		else if (!vpm_dirty_cannot_pin(ret))
			goto unwind;
	}
	return 0;

unwind:
	vpm_dirty_unpin_pages(vpmdev, w);
	return ret < 0 ? ret : -EIO;
}

/**
 * vfio_pci_mediate_dirty_begin() - the device is about to write by DMA
 * @vpmdev: the device, while the mediator serves it
 * @iova: first byte the device may write, as the device addresses it
 * @len: bytes, more than 0, at most VFIO_PIN_PAGES_MAX_ENTRIES pages
 *
 * Call before letting the device start a transfer into the user's memory,
 * and vfio_pci_mediate_dirty_end() with the same range once the transfer
 * has finished (or will never start).  Until then the pages are reported
 * dirty on every DMA logging report and, where they are pinned, on every
 * sync of type1's dirty tracking, and on the first one after.
 *
 * Where user_dma_access allows pinning (see kernel/user_dma.c: on, and the
 * device alone in its IOMMU group), the pages the user has mapped writable
 * for the device are pinned, which
 * tells type1's dirty tracking about them; the first such call trusts
 * this device's IOMMU group with reporting all its DMA writes from then
 * on.  So a mediator that calls it must call it before every transfer its
 * device makes into the user's memory, its own included, whenever the
 * user's type1 dirty tracking may be running, for as long as it serves the
 * device.  A mediator that announces only during a save session (igbvf)
 * relies on the VMM starting type1's tracking for a migration, whose
 * first pass sends every page anyway (QEMU marks all RAM dirty at
 * setup), and opening the device's save session before it syncs again.
 * Nothing is pinned in a container that cannot pin (type1 v1, no IOMMU):
 * it then reports all pages dirty anyway.
 *
 * At most VFIO_PCI_MEDIATE_DIRTY_MAX_WRITES writes are in flight per
 * device; their bookkeeping is charged to the user.
 *
 * Context: process context, may sleep.  The user's own syscalls only (it
 * may fault in the user's memory through the mm that mapped the DMA), not
 * ->open() (the device is not on type1's list of devices to tell about
 * unmaps yet).
 * Return: 0; -EPERM from ->open(); -EINVAL for a zero, wrapping or too
 * long range; -EBUSY when VFIO_PCI_MEDIATE_DIRTY_MAX_WRITES writes are in
 * flight already; -ENOMEM; another negative errno if pinning failed.  On
 * error the device must not start the transfer.
 */
int vfio_pci_mediate_dirty_begin(struct vfio_pci_mediate_device *vpmdev,
				 dma_addr_t iova, size_t len)
{
	struct vpm_dirty *d = &vpmdev->dirty;
	struct vpm_dirty_write *w;
	struct page **pages = NULL;
	dma_addr_t first;
	int npage, ret;

	if (vpmdev->in_open)
		return -EPERM;
	if (!vpm_dirty_pages(iova, len, &first, &npage))
		return -EINVAL;
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (w && vpmdev->user_dma_pin)
		pages = kcalloc(npage, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!w || (vpmdev->user_dma_pin && !pages)) {
		ret = -ENOMEM;
		goto out_free;
	}
	w->iova = first;
	w->npage = npage;

	mutex_lock(&d->lock);
	if (d->nr_writes >= VFIO_PCI_MEDIATE_DIRTY_MAX_WRITES) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/*
	 * Pinned under @lock, so that our dma_unmap, which waits for @lock,
	 * finds these pins and drops them before type1 looks again.
	 */
	if (vpmdev->user_dma_pin) {
		ret = vpm_dirty_pin(vpmdev, w, pages);
		if (ret)
			goto out_unlock;
	}
	if (d->logging) {
		ret = vpm_log_record(d, first >> PAGE_SHIFT, npage);
		if (ret) {
			vpm_dirty_unpin_pages(vpmdev, w);
			goto out_unlock;
		}
	}
	list_add_tail(&w->node, &d->writes);
	hash_add(d->index, &w->by_range, vpm_dirty_key(first, npage));
	d->nr_writes++;
	w = NULL;
	ret = 0;
out_unlock:
	mutex_unlock(&d->lock);
out_free:
	kfree(pages);
	kfree(w);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_dirty_begin);

/**
 * vfio_pci_mediate_dirty_end() - a transfer announced by dirty_begin is over
 * @vpmdev: the device, while the mediator serves it
 * @iova: the @iova given to vfio_pci_mediate_dirty_begin()
 * @len: the @len given to it
 *
 * Forgets the write and unpins its pages, if they are still pinned (the
 * user may have unmapped them meanwhile, which unpins them).  Its pages are
 * reported once more, by the next report or sync.
 *
 * Context: process context, may sleep; may be called from a workqueue.
 */
void vfio_pci_mediate_dirty_end(struct vfio_pci_mediate_device *vpmdev,
				dma_addr_t iova, size_t len)
{
	struct vpm_dirty_write *w;
	dma_addr_t first;
	int npage;

	if (!vpm_dirty_pages(iova, len, &first, &npage))
		return;
	mutex_lock(&vpmdev->dirty.lock);
	hash_for_each_possible(vpmdev->dirty.index, w, by_range,
			       vpm_dirty_key(first, npage)) {
		if (w->iova == first && w->npage == npage) {
			vpm_dirty_drop(vpmdev, w);
			break;
		}
	}
	mutex_unlock(&vpmdev->dirty.lock);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_dirty_end);

/*
 * vfio_device_ops.dma_unmap: type1 calls it, holding its device_list_lock
 * with its iommu->lock dropped, when the user unmaps a range in which some
 * device of the container pinned pages, and unmaps only once none are
 * left (it retries, and BUG()s after ten tries).  A transfer still running
 * there then hits an IOMMU fault, as it would without us.  Without pins
 * this device never makes type1 call it.
 */
void vpm_dirty_dma_unmap(struct vfio_pci_mediate_device *vpmdev, u64 iova,
			 u64 length)
{
	struct vpm_dirty_write *w, *next;

	mutex_lock(&vpmdev->dirty.lock);
	list_for_each_entry_safe(w, next, &vpmdev->dirty.writes, node) {
		u64 end = w->iova + ((u64)w->npage << PAGE_SHIFT);

		if (!bitmap_empty(w->pinned, w->npage) &&
		    w->iova < iova + length && iova < end)
			vpm_dirty_drop(vpmdev, w);
	}
	mutex_unlock(&vpmdev->dirty.lock);
}

/**
 * vfio_pci_mediate_dirty_enable_logging() - offer DMA logging for this open
 * @vpmdev: the device, from the mediator's ->open()
 *
 * Declares that the mediator calls vfio_pci_mediate_dirty_begin() before
 * every transfer its device makes into the user's memory, for as long as
 * this open lasts.  The device then offers VFIO_DEVICE_FEATURE_DMA_LOGGING
 * (START, STOP, REPORT) to the user; without this call it answers ENOTTY,
 * as a device that cannot report its writes must.  Undone if ->open()
 * declines.
 *
 * Context: the mediator's ->open().
 */
void
vfio_pci_mediate_dirty_enable_logging(struct vfio_pci_mediate_device *vpmdev)
{
	if (vpmdev->in_open)
		vpmdev->dirty.logging_offered = true;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_dirty_enable_logging);

static void vpm_log_stop_locked(struct vpm_dirty *d)
{
	lockdep_assert_held(&d->lock);
	d->logging = false;
	xa_destroy(&d->logged);
	kfree(d->ranges);
	d->ranges = NULL;
	d->nr_ranges = 0;
}

/* The mediator's ->dirty_tracking(), outside @lock (it may trap). */
static int vpm_log_tell_mediator(struct vfio_pci_mediate_device *vpmdev,
				 bool on)
{
	const struct vfio_pci_mediate_ops *ops = vpmdev->mediator->ops;

	return ops->dirty_tracking ?
	       ops->dirty_tracking(vpmdev->handle, on) : 0;
}

static int vpm_log_start(struct vfio_device *core_vdev,
			 struct rb_root_cached *ranges, u32 nnodes,
			 u64 *page_size)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	struct vpm_dirty *d = &vpmdev->dirty;
	struct interval_tree_node *node;
	struct vpm_dirty_write *w;
	int ret;
	u32 i = 0;

	mutex_lock(&d->log_lock);
	if (d->logging) {
		ret = -EBUSY;
		goto out_unlock_log;
	}
	ret = vpm_log_tell_mediator(vpmdev, true);
	if (ret)
		goto out_unlock_log;

	mutex_lock(&d->lock);
	d->ranges = kcalloc(nnodes, sizeof(*d->ranges), GFP_KERNEL_ACCOUNT);
	if (!d->ranges) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	/*
	 * vfio core checked them: aligned to the user's page size, not
	 * overlapping, no wrap.  Pages are recorded whole, so a range that
	 * starts or ends inside a page takes that page (a write anywhere in
	 * it may touch the range).
	 */
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX);
	     node && i < nnodes; node = interval_tree_iter_next(node, 0,
								 ULONG_MAX)) {
		d->ranges[i].start = node->start & PAGE_MASK;
		d->ranges[i].last = node->last | ~PAGE_MASK;
		i++;
	}
	d->nr_ranges = i;
	d->logging = true;
	/* Transfers already under way write during the logging too. */
	list_for_each_entry(w, &d->writes, node) {
		ret = vpm_log_record(d, w->iova >> PAGE_SHIFT, w->npage);
		if (ret) {
			vpm_log_stop_locked(d);
			break;
		}
	}
	/* Pages are recorded per CPU page; a report may ask any larger size. */
	if (*page_size < PAGE_SIZE || !is_power_of_2(*page_size))
		*page_size = PAGE_SIZE;
out_unlock:
	mutex_unlock(&d->lock);
	if (ret)
		vpm_log_tell_mediator(vpmdev, false);
out_unlock_log:
	mutex_unlock(&d->log_lock);
	return ret;
}

static int vpm_log_stop(struct vfio_device *core_vdev)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	struct vpm_dirty *d = &vpmdev->dirty;
	bool was_logging;

	mutex_lock(&d->log_lock);
	mutex_lock(&d->lock);
	was_logging = d->logging;
	vpm_log_stop_locked(d);
	mutex_unlock(&d->lock);
	if (was_logging)
		vpm_log_tell_mediator(vpmdev, false);
	mutex_unlock(&d->log_lock);
	return 0;
}

/*
 * Reports and forgets the recorded pages in [@iova, @iova + @length), then
 * records again the pages of transfers still in flight there.  vfio core
 * calls it for consecutive windows of one report, each starting where the
 * last ended, @length a multiple of the report's page size but perhaps
 * the last.
 *
 * A report window that starts inside a page is refused before anything
 * is reported: the page's bit would lie before the window's first bit
 * (iova_bitmap_set() drops it), and since the first window starts where
 * the report does, nothing has been forgotten then.  A window that ends
 * inside a page reports that page but keeps it recorded, for whichever
 * window holds the rest of it.
 */
static int vpm_log_read_and_clear(struct vfio_device *core_vdev,
				  unsigned long iova, unsigned long length,
				  struct iova_bitmap *dirty)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	const struct vfio_pci_mediate_ops *ops = vpmdev->mediator->ops;
	struct vpm_dirty *d = &vpmdev->dirty;
	unsigned long last_byte = iova + length - 1;
	unsigned long first = iova >> PAGE_SHIFT;
	unsigned long last = last_byte >> PAGE_SHIFT;
	struct vpm_dirty_write *w;
	unsigned long pfn;
	void *entry;
	int ret = 0;

	if (!PAGE_ALIGNED(iova))
		return -EINVAL;
	if (!length)
		return 0;
	/* Outside @lock: the mediator ends its finished writes. */
	if (ops->dirty_sync) {
		ret = ops->dirty_sync(vpmdev->handle);
		if (ret)
			return ret;
	}

	mutex_lock(&d->lock);
	if (!d->logging) {
		ret = -EINVAL;
		goto out_unlock;
	}
	xa_for_each_range(&d->logged, pfn, entry, first, last) {
		unsigned long start = pfn << PAGE_SHIFT;
		unsigned long end = min(start + PAGE_SIZE - 1, last_byte);

		iova_bitmap_set(dirty, start, end - start + 1);
		if (end == start + PAGE_SIZE - 1)
			xa_erase(&d->logged, pfn);
	}
	list_for_each_entry(w, &d->writes, node) {
		unsigned long p0 = max(w->iova >> PAGE_SHIFT, first);
		unsigned long p1 = min((w->iova >> PAGE_SHIFT) + w->npage - 1,
				       last);

		if (p0 <= p1) {
			ret = vpm_log_record(d, p0, p1 - p0 + 1);
			if (ret)
				break;
		}
	}
out_unlock:
	mutex_unlock(&d->lock);
	return ret;
}

static const struct vfio_log_ops vpm_log_ops = {
	.log_start		= vpm_log_start,
	.log_stop		= vpm_log_stop,
	.log_read_and_clear	= vpm_log_read_and_clear,
};

/* The open ends: the mediator has been released, nothing writes any more. */
void vpm_dirty_close(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_dirty_write *w, *next;

	mutex_lock(&vpmdev->dirty.lock);
	list_for_each_entry_safe(w, next, &vpmdev->dirty.writes, node)
		vpm_dirty_drop(vpmdev, w);
	vpm_log_stop_locked(&vpmdev->dirty);
	vpmdev->dirty.logging_offered = false;
	mutex_unlock(&vpmdev->dirty.lock);
	vpmdev->core_device.vdev.log_ops = NULL;
}

/* A mediator declined ->open(): it offers no logging after all. */
void vpm_dirty_open_declined(struct vfio_pci_mediate_device *vpmdev)
{
	vpmdev->dirty.logging_offered = false;
}

/*
 * After the mediator's ->open(): DMA logging only for a mediator that
 * accepted and declared it announces every write, and only where the
 * vfio core can report the log (compat.h): a client offered logging
 * that cannot report fails its migration at the first sync, while
 * without it QEMU falls back to type1's dirty pages, which the pins make
 * exact.  log_ops is set per open for the reason migration.c gives for
 * mig_ops; vfio core reads it only in the device feature ioctl, which
 * needs an open device fd.
 */
void vpm_dirty_open(struct vfio_pci_mediate_device *vpmdev)
{
	bool offer = VPM_DMA_LOGGING_REPORTS && vpmdev->mediator &&
		     vpmdev->dirty.logging_offered;

	vpmdev->core_device.vdev.log_ops = offer ? &vpm_log_ops : NULL;
}

VPM_IMPORT_IOVA_BITMAP_NS()
