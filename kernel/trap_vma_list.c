// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user's mappings of trappable ranges on Linux before 6.10 (trap.h).
 *
 * Mappings of trappable ranges are made by vfio-pci-core, whose vm_ops we
 * wrap: our fault handler refuses ranges being trapped, and we keep a list
 * of the mappings so that a trap can remove them.  The core's fault maps a
 * whole VMA at once, so a mapping may not mix a trappable range with
 * anything else.  Removing a mapping also drops it from the core's own
 * list (through the core's ->close, which does only that), so that the
 * core's next fault maps it again.
 *
 * A mapping that could be copied or moved would escape that list when
 * tracking it failed (vm_open cannot fail), and fork() copies the PTEs
 * of a VM_PFNMAP mapping after vm_open: so these mappings are not
 * inherited (VM_DONTCOPY, which MADV_DOFORK cannot clear on VM_IO), and
 * cannot be split or moved (munmap or mprotect of a part, mremap).
 */

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "trap.h"
#include "vfio_pci_mediate_priv.h"

/* A mapping of a trappable range. */
struct vpm_trap_vma {
	struct vm_area_struct *vma;
	struct list_head node;
	u64 zap_seq;
};

static struct vfio_pci_mediate_device *vma_to_vpmdev(struct vm_area_struct *vma)
{
	struct vfio_pci_core_device *vdev = vma->vm_private_data;

	return container_of(vdev, struct vfio_pci_mediate_device, core_device);
}

/*
 * The range a mapping lies in.  vfio-pci-core turned vm_pgoff into the
 * BAR's physical page frame, which is what we compare.
 */
static struct vpm_trap_range *vma_range(struct vfio_pci_mediate_device *vpmdev,
					struct vm_area_struct *vma)
{
	struct vpm_trap *t = &vpmdev->trap;
	phys_addr_t start = (phys_addr_t)vma->vm_pgoff << PAGE_SHIFT;
	phys_addr_t end = start + (vma->vm_end - vma->vm_start);
	unsigned int i;

	for (i = 0; i < t->nr_ranges; i++) {
		struct vpm_trap_range *r = &t->ranges[i];
		phys_addr_t r_start =
			pci_resource_start(vpmdev->core_device.pdev, r->index) +
			r->offset;

		if (start >= r_start && end <= r_start + r->size)
			return r;
	}
	return NULL;
}

/* Whether a mapping may be faulted in now.  @lock held. */
static bool vma_usable(struct vfio_pci_mediate_device *vpmdev,
		       struct vm_area_struct *vma)
{
	struct vpm_trap_range *r = vma_range(vpmdev, vma);

	return r && vpm_trap_range_usable(r);
}

/*
 * A new VMA of one of our mappings: with no copy and no split, only
 * mremap() makes one (copy_vma()), and our ->mremap refuses the move.  It
 * has no PTEs yet, so the core's ->open, which zaps them, is not called:
 * on an empty VM_PFNMAP mapping that zap makes x86's PAT code WARN.
 */
static void vpm_trap_vm_open(struct vm_area_struct *vma)
{
	struct vfio_pci_mediate_device *vpmdev = vma_to_vpmdev(vma);
	struct vpm_trap *t = &vpmdev->trap;
	struct vpm_trap_vma *tv;

	/* Untracked, the mapping is never faulted in (see the fault). */
	tv = kzalloc(sizeof(*tv), GFP_KERNEL_ACCOUNT);
	if (!tv)
		return;
	tv->vma = vma;
	mutex_lock(&t->lock);
	list_add(&tv->node, &t->vmas);
	mutex_unlock(&t->lock);
}

/* Our entry for a mapping, or NULL.  @lock held. */
static struct vpm_trap_vma *vma_tracked(struct vpm_trap *t,
					struct vm_area_struct *vma)
{
	struct vpm_trap_vma *tv;

	list_for_each_entry(tv, &t->vmas, node)
		if (tv->vma == vma)
			return tv;
	return NULL;
}

static void vpm_trap_vm_close(struct vm_area_struct *vma)
{
	struct vfio_pci_mediate_device *vpmdev = vma_to_vpmdev(vma);
	struct vpm_trap *t = &vpmdev->trap;
	struct vpm_trap_vma *tv;

	mutex_lock(&t->lock);
	tv = vma_tracked(t, vma);
	if (tv) {
		list_del(&tv->node);
		kfree(tv);
	}
	t->core_vm_ops->close(vma);
	mutex_unlock(&t->lock);
}

/*
 * The check and the core's mapping happen under @lock, which a removal
 * pass holds while it walks the list: a fault either maps before the
 * pass (which then removes it) or sees the range SEALING.
 */
static vm_fault_t vpm_trap_vm_fault(struct vm_fault *vmf)
{
	struct vfio_pci_mediate_device *vpmdev = vma_to_vpmdev(vmf->vma);
	struct vpm_trap *t = &vpmdev->trap;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&t->lock);
	if (vma_tracked(t, vmf->vma) && vma_usable(vpmdev, vmf->vma))
		ret = t->core_vm_ops->fault(vmf);
	mutex_unlock(&t->lock);
	return ret;
}

/* Each mapping stays whole and in place (see the top of the file). */
static int vpm_trap_vm_may_split(struct vm_area_struct *vma,
				 unsigned long addr)
{
	return -EINVAL;
}

static int vpm_trap_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct vpm_trap_vm_ops = {
	.open		= vpm_trap_vm_open,
	.close		= vpm_trap_vm_close,
	.may_split	= vpm_trap_vm_may_split,
	.mremap		= vpm_trap_vm_mremap,
	.fault		= vpm_trap_vm_fault,
};

int vpm_trap_vma_mmap(struct vfio_pci_mediate_device *vpmdev,
		      struct vm_area_struct *vma)
{
	struct vpm_trap *t = &vpmdev->trap;
	struct vpm_trap_vma *tv;
	int ret;

	lockdep_assert_held(&t->lock);
	tv = kzalloc(sizeof(*tv), GFP_KERNEL_ACCOUNT);
	if (!tv)
		return -ENOMEM;
	ret = vfio_pci_core_mmap(&vpmdev->core_device.vdev, vma);
	if (ret) {
		kfree(tv);
		return ret;
	}
	t->core_vm_ops = vma->vm_ops;
	vma->vm_ops = &vpm_trap_vm_ops;
	vpm_vm_flags_set(vma, VM_DONTCOPY);
	tv->vma = vma;
	list_add(&tv->node, &t->vmas);
	return 0;
}

/*
 * The mm's mmap_lock comes before the trap lock (Locking in
 * vfio_pci_mediate_priv.h), so the lock is dropped to take it, one mm at a
 * time, as vfio-pci-core does for its own mappings.  Passes may overlap:
 * a mapping a later pass went through counts as done for an earlier one
 * too, since the later pass saw the ranges as they are now (otherwise two
 * passes could keep re-marking the same mapping forever).
 */
void vpm_trap_vma_remove(struct vfio_pci_mediate_device *vpmdev, u64 seq)
{
	struct vpm_trap *t = &vpmdev->trap;
	struct vpm_trap_vma *tv;

	lockdep_assert_held(&t->lock);
	for (;;) {
		struct mm_struct *mm = NULL;

		list_for_each_entry(tv, &t->vmas, node) {
			if (tv->zap_seq >= seq || vma_usable(vpmdev, tv->vma))
				continue;
			if (mmget_not_zero(tv->vma->vm_mm)) {
				mm = tv->vma->vm_mm;
				break;
			}
			/* The process is exiting: its mappings go with it. */
			tv->zap_seq = seq;
		}
		if (!mm)
			break;
		mutex_unlock(&t->lock);

		mmap_read_lock(mm);
		mutex_lock(&t->lock);
		list_for_each_entry(tv, &t->vmas, node) {
			struct vm_area_struct *vma = tv->vma;

			if (vma->vm_mm != mm || tv->zap_seq >= seq)
				continue;
			tv->zap_seq = seq;
			if (vma_usable(vpmdev, vma))
				continue;
			/* The core forgets it mapped it, so it maps anew. */
			t->core_vm_ops->close(vma);
			zap_vma_ptes(vma, vma->vm_start,
				     vma->vm_end - vma->vm_start);
		}
		mutex_unlock(&t->lock);
		mmap_read_unlock(mm);
		mmput(mm);
		mutex_lock(&t->lock);
	}
}

void vpm_trap_vma_close(struct vfio_pci_mediate_device *vpmdev)
{
	WARN_ON_ONCE(!list_empty(&vpmdev->trap.vmas));
}
