// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user's DMA memory: whether mediators may reach it, and reaching it.
 *
 * Linux's type1 IOMMU backend offers two calls that reach the memory a
 * device's user mapped for DMA: vfio_dma_rw() (the CPU reads or writes it
 * as the device would) and vfio_pin_pages() (which also tells type1's
 * dirty tracking which pages the device may write).  type1 makes both for
 * devices behind an emulated IOMMU (mdev): it refuses
 * VFIO_DMA_UNMAP_FLAG_VADDR in a container that holds one, and it WARNs
 * (then fails with -EBUSY) when either call meets invalidated vaddrs.  A
 * device with an IOMMU of its own, as every device bound here has, does
 * not stop its user from invalidating vaddrs, so a user that does so and
 * then has a mediator call either one makes type1 WARN, which under
 * panic_on_warn takes the host down.  There is no way to ask type1 first.
 * And pinned pages make type1 call our dma_unmap op from its unmap path,
 * whose locking (iommu->lock around device_list_lock, and the unpin our
 * callback must do taking iommu->lock under device_list_lock) lets two
 * concurrent unmaps of the user deadlock each other.
 *
 * So mediators reach the user's memory only where the administrator said
 * the device's users may be trusted with that: module option
 * user_dma_access, off by default and sampled at each open.  On, even a
 * correct VMM that uses VFIO_UPDATE_VADDR (QEMU's CPR) meets the WARN,
 * and the deadlock can take a mediator's worker that ends writes (edu's)
 * with it.  Off, vfio_pci_mediate_dma_rw() fails with -EPERM and nothing
 * is pinned: type1 reports every mapped page dirty, as it does for any
 * device that nobody mediates, and VFIO DMA logging, which needs no pins,
 * still reports exactly what the mediator announced (dirty.c).
 *
 * type1 trusts a whole IOMMU group with reporting its DMA once any of its
 * devices pinned a page, until the group leaves the container.  So pages
 * are pinned only for a device alone in its group (another device there
 * would go unreported), and a container whose group was trusted keeps
 * that trust across a later open that pins nothing (the option turned off
 * meanwhile, or a mediator that does not report writes): its device's
 * writes then go unreported.  VMMs detach the group when they close the
 * device (QEMU does); change the option while no VM uses a device.
 */
#include <linux/iommu.h>
#include <linux/moduleparam.h>
#include <linux/vfio.h>

#include "vfio_pci_mediate_priv.h"

static bool user_dma_access;
module_param(user_dma_access, bool, 0644);
MODULE_PARM_DESC(user_dma_access,
		 "Let mediators read and pin the memory a device's user mapped for DMA through type1 (made for emulated-IOMMU devices: the user can then make type1 WARN); read at each open (default: off)");

static int count_device(struct device *dev, void *count)
{
	(*(unsigned int *)count)++;
	return 0;
}

/* Whether @pdev is the only device of its IOMMU group. */
static bool alone_in_group(struct pci_dev *pdev)
{
	struct iommu_group *group = iommu_group_get(&pdev->dev);
	unsigned int count = 0;

	if (!group)
		return false;
	iommu_group_for_each_dev(group, &count, count_device);
	iommu_group_put(group);
	return count == 1;
}

/* From the device's open: what this open may do. */
void vpm_user_dma_open(struct vfio_pci_mediate_device *vpmdev)
{
	vpmdev->user_dma_access = READ_ONCE(user_dma_access);
	/* vfio_dma_rw() and vfio_pin_pages() need a type1 container. */
	if (vpmdev->user_dma_access &&
	    vpm_opened_through_iommufd(&vpmdev->core_device.vdev)) {
		pci_info_ratelimited(vpmdev->core_device.pdev,
				     "opened through iommufd: no user_dma_access for mediators in this open\n");
		vpmdev->user_dma_access = false;
	}
	vpmdev->user_dma_pin = vpmdev->user_dma_access &&
			     alone_in_group(vpmdev->core_device.pdev);
}

/**
 * vfio_pci_mediate_dma_rw() - access the user's DMA space as the device would
 * @vpmdev: the device, while the mediator serves it
 * @iova: I/O virtual address, as the device would use it
 * @buf: kernel buffer: the source of a write, the destination of a read
 * @len: bytes, more than 0
 * @write: true to write @buf to @iova, false to read @iova into @buf
 *
 * Goes through the user's IOMMU mappings of the device's container
 * (vfio_dma_rw()), so it only works while the device is open, from the
 * mediator's callbacks after ->open() and before ->release(), and only where
 * the user has mapped @iova for the whole range.  The type1 backend copies
 * through the mm that mapped the DMA, so call it only in the context of
 * the user's own syscalls (the ops called from the VFIO file operations),
 * never from ->release() or a workqueue.  Only while vfio-pci-mediate's
 * user_dma_access option was on when the device was opened (the top of
 * this file says why it is off by default).  Process context, may sleep
 * (it may fault in the user's memory).
 *
 * Return: 0; -EINVAL for a zero or wrapping range; -EPERM when
 * user_dma_access is off or from ->open(); -EFAULT (or another negative errno of the IOMMU
 * backend) when the range is not mapped or lacks the needed permission.
 */
int vfio_pci_mediate_dma_rw(struct vfio_pci_mediate_device *vpmdev,
			    dma_addr_t iova, void *buf, size_t len, bool write)
{
	if (!len || iova + len - 1 < iova)
		return -EINVAL;
	/* Not from ->open(): the device is not on type1's list yet. */
	if (vpmdev->in_open)
		return -EPERM;
	if (!vpmdev->user_dma_access) {
		pci_notice_ratelimited(vpmdev->core_device.pdev,
				       "mediator denied access to the user's DMA memory: vfio-pci-mediate's user_dma_access is off\n");
		return -EPERM;
	}
	return vfio_dma_rw(&vpmdev->core_device.vdev, iova, buf, len, write);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_dma_rw);

/**
 * vfio_pci_mediate_user_dma_access() - whether this open reaches user memory
 * @vpmdev: the device, from the mediator's ->open() on
 *
 * Return: true if vfio_pci_mediate_dma_rw() may succeed in this open, i.e.
 * user_dma_access was on when it began; vfio_pci_mediate_dirty_begin()
 * then also pins pages for type1's dirty tracking, if the device is alone
 * in its IOMMU group.
 */
bool vfio_pci_mediate_user_dma_access(struct vfio_pci_mediate_device *vpmdev)
{
	return vpmdev->user_dma_access;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_user_dma_access);
