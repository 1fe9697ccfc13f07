// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user's mappings of trappable ranges on Linux 6.10 and later
 * (trap.h).
 *
 * vfio-pci-core faults a mapping in (6.10 and 6.11 the whole VMA at its
 * first fault, 6.12 page by page or a PMD/PUD at a time through
 * ->huge_fault), leaves vm_pgoff as the region offset, and gives every
 * mapping of the device the device's inode.  So a fault
 * knows exactly which range it is in, and unmap_mapping_range() on a
 * range's offsets removes every mapping of it, in every process, split,
 * moved or inherited: nothing needs tracking.  We wrap the core's fault
 * handlers to refuse ranges being trapped.
 *
 * A fault checks the range and the core maps under the trap lock, which a
 * removal pass holds too: a fault either maps before the pass (which then
 * removes it) or sees the range SEALING.  Lock order: Locking in
 * vfio_pci_mediate_priv.h.
 */

#include <linux/mm.h>

#include "trap.h"
#include "vfio_pci_mediate_priv.h"

#define VPM_PGOFF_INDEX_SHIFT	(VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT)

static struct vfio_pci_mediate_device *vma_to_vpmdev(struct vm_area_struct *vma)
{
	struct vfio_pci_core_device *vdev = vma->vm_private_data;

	return container_of(vdev, struct vfio_pci_mediate_device, core_device);
}

/*
 * Whether the @npages pages from @addr in @vma may be mapped now: they
 * lie in one range usable by the user.  A VMA lies inside one range
 * (vpm_trap_mmap(); split and mremap keep that), so a huge page never
 * straddles a range's edge either: unmap_mapping_range() of a range then
 * never has to split one, which needs the mmap_lock it does not hold.
 * Trap lock held.
 */
static bool vma_pages_usable(struct vm_area_struct *vma, unsigned long addr,
			     unsigned long npages)
{
	unsigned long pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >>
					       PAGE_SHIFT);
	unsigned int index = pgoff >> VPM_PGOFF_INDEX_SHIFT;
	u64 offset = (u64)(pgoff & (BIT(VPM_PGOFF_INDEX_SHIFT) - 1)) <<
		     PAGE_SHIFT;
	struct vfio_pci_mediate_device *vpmdev = vma_to_vpmdev(vma);
	struct vpm_trap_range *r;

	lockdep_assert_held(&vpmdev->trap.lock);
	r = vpm_trap_range_at(vpmdev, index, offset);
	return r && vpm_trap_range_usable(r) &&
	       npages <= (r->offset + r->size - offset) >> PAGE_SHIFT;
}

static vm_fault_t vpm_trap_vm_fault(struct vm_fault *vmf)
{
	struct vpm_trap *t = &vma_to_vpmdev(vmf->vma)->trap;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&t->lock);
	if (vma_pages_usable(vmf->vma, vmf->address, 1))
		ret = t->core_vm_ops->fault(vmf);
	mutex_unlock(&t->lock);
	return ret;
}

/*
 * A huge page is mapped only if it lies wholly inside the usable range;
 * otherwise the fault falls back to smaller pages, and the page actually
 * faulted is judged on its own.
 */
static vm_fault_t vpm_trap_vm_huge_fault(struct vm_fault *vmf,
					 unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vpm_trap *t = &vma_to_vpmdev(vma)->trap;
	unsigned long addr = vmf->address & ~((PAGE_SIZE << order) - 1);
	vm_fault_t ret = VM_FAULT_FALLBACK;

	if (!order)
		return vpm_trap_vm_fault(vmf);
	if (addr < vma->vm_start || addr + (PAGE_SIZE << order) > vma->vm_end)
		return VM_FAULT_FALLBACK;

	mutex_lock(&t->lock);
	if (vma_pages_usable(vma, addr, 1UL << order))
		ret = t->core_vm_ops->huge_fault(vmf, order);
	mutex_unlock(&t->lock);
	return ret;
}

/* Huge faults only where the core has them, so mm does not ask in vain. */
static const struct vm_operations_struct vpm_trap_vm_ops = {
	.fault		= vpm_trap_vm_fault,
};

static const struct vm_operations_struct vpm_trap_vm_ops_huge = {
	.fault		= vpm_trap_vm_fault,
	.huge_fault	= vpm_trap_vm_huge_fault,
};

int vpm_trap_vma_mmap(struct vfio_pci_mediate_device *vpmdev,
		      struct vm_area_struct *vma)
{
	struct vpm_trap *t = &vpmdev->trap;
	int ret;

	lockdep_assert_held(&t->lock);
	mmap_assert_write_locked(vma->vm_mm);
	ret = vfio_pci_core_mmap(&vpmdev->core_device.vdev, vma);
	if (ret)
		return ret;
	/*
	 * Anything else the core's ops do, ours would silently drop.  The
	 * core installs the same ops for every BAR: not the user's doing.
	 */
	if (WARN_ON_ONCE(vma->vm_ops->open || vma->vm_ops->close ||
			 vma->vm_ops->may_split || vma->vm_ops->mremap ||
			 vma->vm_ops->access || vma->vm_ops->pfn_mkwrite ||
			 !vma->vm_ops->fault))
		return -EINVAL;
	t->core_vm_ops = vma->vm_ops;
	vma->vm_ops = t->core_vm_ops->huge_fault ? &vpm_trap_vm_ops_huge :
						   &vpm_trap_vm_ops;
	return 0;
}

void vpm_trap_vma_remove(struct vfio_pci_mediate_device *vpmdev, u64 seq)
{
	struct address_space *mapping =
		vpmdev->core_device.vdev.inode->i_mapping;
	struct vpm_trap *t = &vpmdev->trap;
	unsigned int i;

	lockdep_assert_held(&t->lock);
	for (i = 0; i < t->nr_ranges; i++) {
		struct vpm_trap_range *r = &t->ranges[i];

		if (vpm_trap_range_usable(r))
			continue;
		unmap_mapping_range(mapping,
				    VFIO_PCI_INDEX_TO_OFFSET(r->index) +
				    r->offset, r->size, true);
	}
}

/* Mappings hold the file, so none is left; there is nothing to drop. */
void vpm_trap_vma_close(struct vfio_pci_mediate_device *vpmdev)
{
}
