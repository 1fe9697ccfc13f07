// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pages a mediated device writes by DMA, made known to the IOMMU backend's
 * dirty tracking.
 *
 * Linux 6.1's type1 reports every mapped page dirty on every
 * VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP while a group in the container
 * has never pinned a page through vfio_pin_pages(): it cannot know what
 * the device wrote.  A group that has pinned once is trusted from then on
 * to have pinned every page its devices write, and type1 reports for it
 * only pages that were pinned since the last report (a page pinned across
 * a report is reported again).  So a mediator that knows where its device
 * writes (it traps the commands) pins those pages before the device may
 * write them and unpins them once it has, and QEMU 7.2 re-sends only
 * pages that really changed.
 *
 * The pins are the framework's: a mediator says which range the device
 * is about to write (vfio_pci_mediate_dirty_begin()) and when it is done
 * (vfio_pci_mediate_dirty_end()); the user unmapping a range with pins
 * (our vfio_device_ops.dma_unmap) and the end of the open unpin what is
 * left.
 *
 * The same calls feed VFIO's DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*,
 * what QEMU 8+ uses), offered for opens whose mediator declared that it
 * reports every write (vfio_pci_mediate_dirty_enable_logging()): while
 * logging runs, the pages of each range are recorded in an xarray, and a
 * report walks only the recorded pages of the asked range, so its cost
 * follows the dirty pages, not the range's size.  Pages of a transfer
 * still in flight (pinned) are recorded again after each report.
 */
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_pci_mediate_priv.h"

/* Ranges pinned at once per device: a bound on what a user can make us hold. */
#define VPM_DIRTY_MAX_PINS	64

/*
 * One range given to vfio_pci_mediate_dirty_begin(): its pages, and which
 * of them are pinned (those the user has mapped writable for the device).
 */
struct vpm_dirty_pin {
	struct list_head node;
	dma_addr_t iova;	/* first page */
	int npage;
	DECLARE_BITMAP(pinned, VFIO_PIN_PAGES_MAX_ENTRIES);
};

void vpm_dirty_init(struct vfio_pci_mediate_device *mdev)
{
	mutex_init(&mdev->dirty.lock);
	mutex_init(&mdev->dirty.log_lock);
	INIT_LIST_HEAD(&mdev->dirty.pins);
	xa_init(&mdev->dirty.logged);
}

/* Records the pages @first_pfn..+@npage that lie in a logged range. */
static int vpm_log_record(struct vpm_dirty *d, unsigned long first_pfn,
			  unsigned int npage)
{
	unsigned long pfn;
	u32 i;
	int ret;

	lockdep_assert_held(&d->lock);
	for (pfn = first_pfn; pfn < first_pfn + npage; pfn++) {
		u64 iova = (u64)pfn << PAGE_SHIFT;

		for (i = 0; i < d->nr_ranges; i++)
			if (iova >= d->ranges[i].start && iova <= d->ranges[i].last)
				break;
		if (i == d->nr_ranges)
			continue;
		ret = xa_err(xa_store(&d->logged, pfn, xa_mk_value(0),
				      GFP_KERNEL));
		if (ret)
			return ret;
	}
	return 0;
}

static void vpm_dirty_unpin_pages(struct vfio_pci_mediate_device *mdev,
				  struct vpm_dirty_pin *pin)
{
	struct vfio_device *vdev = &mdev->core_device.vdev;
	unsigned int i;

	if (bitmap_full(pin->pinned, pin->npage))
		vfio_unpin_pages(vdev, pin->iova, pin->npage);
	else
		for_each_set_bit(i, pin->pinned, pin->npage)
			vfio_unpin_pages(vdev, pin->iova + i * PAGE_SIZE, 1);
	bitmap_zero(pin->pinned, pin->npage);
}

static void vpm_dirty_unpin(struct vfio_pci_mediate_device *mdev,
			    struct vpm_dirty_pin *pin)
{
	lockdep_assert_held(&mdev->dirty.lock);
	vpm_dirty_unpin_pages(mdev, pin);
	list_del(&pin->node);
	mdev->dirty.nr_pins--;
	kfree(pin);
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
 * Pins what can be pinned of @pin's pages.  type1 pins all or nothing: if
 * the whole range fails because some page is not mapped or not writable,
 * the others are still pinned one by one, since the device can write them.
 */
static int vpm_dirty_pin(struct vfio_pci_mediate_device *mdev,
			 struct vpm_dirty_pin *pin, struct page **pages)
{
	struct vfio_device *vdev = &mdev->core_device.vdev;
	int i, ret;

	ret = vfio_pin_pages(vdev, pin->iova, pin->npage, IOMMU_WRITE, pages);
	if (ret == pin->npage) {
		bitmap_set(pin->pinned, 0, pin->npage);
		return 0;
	}
	if (WARN_ON_ONCE(ret >= 0)) {
		/* Not in 6.1, which pins all or nothing. */
		if (ret)
			vfio_unpin_pages(vdev, pin->iova, ret);
		return -EIO;
	}
	if (!vpm_dirty_cannot_pin(ret))
		return ret;
	if (ret == -EACCES || ret == -ENOTTY || pin->npage == 1)
		return 0;

	for (i = 0; i < pin->npage; i++) {
		ret = vfio_pin_pages(vdev, pin->iova + i * PAGE_SIZE, 1,
				     IOMMU_WRITE, pages);
		if (ret == 1)
			__set_bit(i, pin->pinned);
		else if (!vpm_dirty_cannot_pin(ret))
			goto unwind;
	}
	return 0;

unwind:
	vpm_dirty_unpin_pages(mdev, pin);
	return ret < 0 ? ret : -EIO;
}

/**
 * vfio_pci_mediate_dirty_begin() - the device is about to write by DMA
 * @mdev: the device, while the mediator serves it
 * @iova: first byte the device may write, as the device addresses it
 * @len: bytes, more than 0, at most VFIO_PIN_PAGES_MAX_ENTRIES pages
 *
 * Call before letting the device start a transfer into the user's memory,
 * and vfio_pci_mediate_dirty_end() with the same range once the transfer
 * has finished (or will never start).  Until then the pages are reported
 * dirty on every sync of the IOMMU backend's dirty tracking, and on the
 * first one after.  The first call trusts this device's IOMMU group with
 * reporting all its DMA writes from then on: a mediator that calls it must
 * call it before every transfer its device makes into the user's memory,
 * its own included, for as long as it serves the device.
 *
 * Pages the user has not mapped writable for the device are not pinned:
 * the device cannot write them.  Neither is anything when the container
 * cannot pin (a type1 v1 container, no IOMMU): it then reports all pages
 * dirty anyway.  Both return 0.
 *
 * Context: process context, may sleep.  The user's own syscalls only (it
 * may fault in the user's memory through the mm that mapped the DMA).
 * Return: 0; -EINVAL for a zero, wrapping or too long range; -EBUSY when
 * VPM_DIRTY_MAX_PINS ranges are pinned already; -ENOMEM; another negative
 * errno if pinning failed.  On error the device must not start the
 * transfer.
 */
int vfio_pci_mediate_dirty_begin(struct vfio_pci_mediate_device *mdev,
				 dma_addr_t iova, size_t len)
{
	struct vpm_dirty_pin *pin;
	struct page **pages;
	dma_addr_t first;
	int npage, ret;

	if (!vpm_dirty_pages(iova, len, &first, &npage))
		return -EINVAL;
	pin = kzalloc(sizeof(*pin), GFP_KERNEL);
	pages = kcalloc(npage, sizeof(*pages), GFP_KERNEL);
	if (!pin || !pages) {
		ret = -ENOMEM;
		goto out_free;
	}
	pin->iova = first;
	pin->npage = npage;

	mutex_lock(&mdev->dirty.lock);
	if (mdev->dirty.nr_pins >= VPM_DIRTY_MAX_PINS) {
		ret = -EBUSY;
		goto out_unlock;
	}
	ret = vpm_dirty_pin(mdev, pin, pages);
	if (ret)
		goto out_unlock;
	/*
	 * Without pins (nothing mapped writable, or a container that cannot
	 * pin) the whole range is logged: a few false positives at worst.
	 */
	if (mdev->dirty.logging) {
		ret = vpm_log_record(&mdev->dirty, first >> PAGE_SHIFT, npage);
		if (ret) {
			vpm_dirty_unpin_pages(mdev, pin);
			goto out_unlock;
		}
	}
	if (bitmap_empty(pin->pinned, npage))
		goto out_unlock;
	list_add_tail(&pin->node, &mdev->dirty.pins);
	mdev->dirty.nr_pins++;
	pin = NULL;
	ret = 0;
out_unlock:
	mutex_unlock(&mdev->dirty.lock);
out_free:
	kfree(pages);
	kfree(pin);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_dirty_begin);

/**
 * vfio_pci_mediate_dirty_end() - a transfer announced by dirty_begin is over
 * @mdev: the device, while the mediator serves it
 * @iova: the @iova given to vfio_pci_mediate_dirty_begin()
 * @len: the @len given to it
 *
 * Unpins the range, if it is still pinned (the user may have unmapped it
 * meanwhile, which unpins it).  The pages are reported dirty once more,
 * at the next sync.
 *
 * Context: process context, may sleep.
 */
void vfio_pci_mediate_dirty_end(struct vfio_pci_mediate_device *mdev,
				dma_addr_t iova, size_t len)
{
	struct vpm_dirty_pin *pin;
	dma_addr_t first;
	int npage;

	if (!vpm_dirty_pages(iova, len, &first, &npage))
		return;
	mutex_lock(&mdev->dirty.lock);
	list_for_each_entry(pin, &mdev->dirty.pins, node) {
		if (pin->iova == first && pin->npage == npage) {
			vpm_dirty_unpin(mdev, pin);
			break;
		}
	}
	mutex_unlock(&mdev->dirty.lock);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_dirty_end);

/*
 * vfio_device_ops.dma_unmap: type1 calls it, with its iommu->lock dropped,
 * when the user unmaps a range holding pages we pinned, and unmaps only
 * once none are left (it retries, and BUG()s after ten tries).  A transfer
 * still running there then hits an IOMMU fault, as it would without us.
 */
void vpm_dirty_dma_unmap(struct vfio_pci_mediate_device *mdev, u64 iova,
			 u64 length)
{
	struct vpm_dirty_pin *pin, *next;

	mutex_lock(&mdev->dirty.lock);
	list_for_each_entry_safe(pin, next, &mdev->dirty.pins, node) {
		u64 end = pin->iova + ((u64)pin->npage << PAGE_SHIFT);

		if (pin->iova < iova + length && iova < end)
			vpm_dirty_unpin(mdev, pin);
	}
	mutex_unlock(&mdev->dirty.lock);
}

/**
 * vfio_pci_mediate_dirty_enable_logging() - offer DMA logging for this open
 * @mdev: the device, from the mediator's ->open()
 *
 * Declares that the mediator calls vfio_pci_mediate_dirty_begin() before
 * every transfer its device makes into the user's memory, for as long as
 * this open lasts.  The device then offers VFIO_DEVICE_FEATURE_DMA_LOGGING
 * (START, STOP, REPORT) to the user; without this call it answers ENOTTY,
 * as a device that cannot report its writes must.
 *
 * Context: the mediator's ->open().
 */
void vfio_pci_mediate_dirty_enable_logging(struct vfio_pci_mediate_device *mdev)
{
	mdev->dirty.logging_offered = true;
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
static int vpm_log_tell_mediator(struct vfio_pci_mediate_device *mdev,
				 bool on)
{
	const struct vfio_pci_mediate_ops *ops = mdev->mediator->ops;

	return ops->dirty_tracking ? ops->dirty_tracking(mdev->handle, on) : 0;
}

static int vpm_log_start(struct vfio_device *core_vdev,
			 struct rb_root_cached *ranges, u32 nnodes,
			 u64 *page_size)
{
	struct vfio_pci_mediate_device *mdev = to_mediate_device(core_vdev);
	struct vpm_dirty *d = &mdev->dirty;
	struct interval_tree_node *node;
	struct vpm_dirty_pin *pin;
	int ret;
	u32 i = 0;

	mutex_lock(&d->log_lock);
	if (d->logging) {
		ret = -EBUSY;
		goto out_unlock_log;
	}
	ret = vpm_log_tell_mediator(mdev, true);
	if (ret)
		goto out_unlock_log;

	mutex_lock(&d->lock);
	d->ranges = kcalloc(nnodes, sizeof(*d->ranges), GFP_KERNEL);
	if (!d->ranges) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	/* vfio core checked them: aligned, not overlapping, no wrap. */
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX);
	     node && i < nnodes; node = interval_tree_iter_next(node, 0,
								 ULONG_MAX)) {
		d->ranges[i].start = node->start;
		d->ranges[i].last = node->last;
		i++;
	}
	d->nr_ranges = i;
	d->logging = true;
	/* Transfers already under way write during the logging too. */
	list_for_each_entry(pin, &d->pins, node) {
		ret = vpm_log_record(d, pin->iova >> PAGE_SHIFT, pin->npage);
		if (ret) {
			vpm_log_stop_locked(d);
			break;
		}
	}
	/* Pages are recorded per CPU page; a report may ask any size. */
	if (*page_size < PAGE_SIZE)
		*page_size = PAGE_SIZE;
out_unlock:
	mutex_unlock(&d->lock);
	if (ret)
		vpm_log_tell_mediator(mdev, false);
out_unlock_log:
	mutex_unlock(&d->log_lock);
	return ret;
}

static int vpm_log_stop(struct vfio_device *core_vdev)
{
	struct vfio_pci_mediate_device *mdev = to_mediate_device(core_vdev);
	struct vpm_dirty *d = &mdev->dirty;
	bool was_logging;

	mutex_lock(&d->log_lock);
	mutex_lock(&d->lock);
	was_logging = d->logging;
	vpm_log_stop_locked(d);
	mutex_unlock(&d->lock);
	if (was_logging)
		vpm_log_tell_mediator(mdev, false);
	mutex_unlock(&d->log_lock);
	return 0;
}

/*
 * Reports and forgets the recorded pages in [@iova, @iova + @length), then
 * records again the pages of transfers still in flight there.
 */
static int vpm_log_read_and_clear(struct vfio_device *core_vdev,
				  unsigned long iova, unsigned long length,
				  struct iova_bitmap *dirty)
{
	struct vpm_dirty *d = &to_mediate_device(core_vdev)->dirty;
	unsigned long first = iova >> PAGE_SHIFT;
	unsigned long last = (iova + length - 1) >> PAGE_SHIFT;
	struct vpm_dirty_pin *pin;
	unsigned long pfn;
	void *entry;
	int ret = 0;

	mutex_lock(&d->lock);
	if (!d->logging) {
		ret = -EINVAL;
		goto out_unlock;
	}
	xa_for_each_range(&d->logged, pfn, entry, first, last) {
		iova_bitmap_set(dirty, (u64)pfn << PAGE_SHIFT, PAGE_SIZE);
		xa_erase(&d->logged, pfn);
	}
	list_for_each_entry(pin, &d->pins, node) {
		unsigned long p0 = max(pin->iova >> PAGE_SHIFT, first);
		unsigned long p1 = min((pin->iova >> PAGE_SHIFT) + pin->npage - 1,
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
void vpm_dirty_close(struct vfio_pci_mediate_device *mdev)
{
	struct vpm_dirty_pin *pin, *next;

	mutex_lock(&mdev->dirty.lock);
	list_for_each_entry_safe(pin, next, &mdev->dirty.pins, node)
		vpm_dirty_unpin(mdev, pin);
	vpm_log_stop_locked(&mdev->dirty);
	mdev->dirty.logging_offered = false;
	mutex_unlock(&mdev->dirty.lock);
	mdev->core_device.vdev.log_ops = NULL;
}

/*
 * After the mediator's ->open(): DMA logging only for a mediator that
 * declared it reports every write.  log_ops is set per open for the reason
 * migration.c gives for mig_ops; vfio core reads it only in the device
 * feature ioctl, which needs an open device fd.
 */
void vpm_dirty_open(struct vfio_pci_mediate_device *mdev)
{
	mdev->core_device.vdev.log_ops =
		mdev->dirty.logging_offered ? &vpm_log_ops : NULL;
}
