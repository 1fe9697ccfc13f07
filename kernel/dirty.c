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
 */
#include <linux/iommu.h>
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
	INIT_LIST_HEAD(&mdev->dirty.pins);
}

static void vpm_dirty_unpin(struct vfio_pci_mediate_device *mdev,
			    struct vpm_dirty_pin *pin)
{
	struct vfio_device *vdev = &mdev->core_device.vdev;
	unsigned int i;

	lockdep_assert_held(&mdev->dirty.lock);
	if (bitmap_full(pin->pinned, pin->npage))
		vfio_unpin_pages(vdev, pin->iova, pin->npage);
	else
		for_each_set_bit(i, pin->pinned, pin->npage)
			vfio_unpin_pages(vdev, pin->iova + i * PAGE_SIZE, 1);
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
	for_each_set_bit(i, pin->pinned, pin->npage)
		vfio_unpin_pages(vdev, pin->iova + i * PAGE_SIZE, 1);
	bitmap_zero(pin->pinned, pin->npage);
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
	if (ret || bitmap_empty(pin->pinned, npage))
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

/* The open ends: the mediator has been released, nothing writes any more. */
void vpm_dirty_close(struct vfio_pci_mediate_device *mdev)
{
	struct vpm_dirty_pin *pin, *next;

	mutex_lock(&mdev->dirty.lock);
	list_for_each_entry_safe(pin, next, &mdev->dirty.pins, node)
		vpm_dirty_unpin(mdev, pin);
	mutex_unlock(&mdev->dirty.lock);
}
