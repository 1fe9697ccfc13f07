/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between the dynamic traps' state machine (trap.c) and the file that
 * handles the user's mappings of trappable ranges the way this kernel's
 * vfio-pci-core maps BARs (kernel/Kbuild picks it):
 *
 * trap_vma_list.c, Linux before 6.10: the core maps a whole VMA at its
 *	first fault and keeps its own list of them; we wrap its vm_ops, keep
 *	our own list and remove a mapping with zap_vma_ptes() under the mm's
 *	mmap_lock.
 * trap_vma_inode.c, 6.10 and later: the core faults mappings in from
 *	its fault handlers (6.12: page by page, or huge pages), its mappings
 *	keep the region offset in vm_pgoff and share the device's inode, so
 *	unmap_mapping_range() on a range's offsets removes every mapping of
 *	it.
 */
#ifndef VFIO_PCI_MEDIATE_TRAP_H
#define VFIO_PCI_MEDIATE_TRAP_H

#include <linux/mm_types.h>
#include <linux/types.h>

struct vfio_pci_mediate_device;
struct vpm_trap_range;

/* trap.c */

/* Whether the user may fault the range in now.  Trap lock held. */
bool vpm_trap_range_usable(const struct vpm_trap_range *r);

/* The trappable range holding byte @offset of BAR @index, or NULL. */
struct vpm_trap_range *vpm_trap_range_at(struct vfio_pci_mediate_device *vpmdev,
					 unsigned int index, u64 offset);

/* trap_vma_list.c or trap_vma_inode.c */

/*
 * mmap of a range OPEN for the user, which @vma lies inside: the core's
 * mapping, with our fault handler.  Trap lock held, and the mm's
 * mmap_lock for write.
 */
int vpm_trap_vma_mmap(struct vfio_pci_mediate_device *vpmdev,
		      struct vm_area_struct *vma);

/*
 * Removal pass @seq: no page of a range that is not usable stays mapped.
 * Called with the trap lock held; may drop and retake it.
 */
void vpm_trap_vma_remove(struct vfio_pci_mediate_device *vpmdev, u64 seq);

/* The last fd of the device closed: no mapping is left.  Trap lock held. */
void vpm_trap_vma_close(struct vfio_pci_mediate_device *vpmdev);

#endif /* VFIO_PCI_MEDIATE_TRAP_H */
