// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO file operations a mediator may intercept: region info, read and
 * write, and mmap of the config region and BARs.  Without a mediator, or
 * for whatever it passes on, vfio-pci-core handles the call unchanged.
 */

#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio_pci_mediate_priv.h"

/* The regions a mediator's get_region_info, rw and mmap are offered. */
static bool is_mediated_index(unsigned int index)
{
	return index <= VFIO_PCI_BAR5_REGION_INDEX ||
	       index == VFIO_PCI_CONFIG_REGION_INDEX;
}

/* The region's size as vfio-pci reports it. */
static u64 vpm_region_size(struct pci_dev *pdev, unsigned int index)
{
	if (index == VFIO_PCI_CONFIG_REGION_INDEX)
		return pdev->cfg_size;
	return pci_resource_len(pdev, index);
}

/*
 * Fill in what vfio-pci would answer for a config or BAR region; without
 * its MSIX_MAPPABLE capability when @msix_mappable is false.
 */
static int default_region_info(struct vfio_pci_core_device *vdev,
			       struct vfio_region_info *info,
			       struct vfio_info_cap *caps, bool msix_mappable)
{
	struct vfio_info_cap_header msix_cap = {
		.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
		.version = 1,
	};

	info->offset = VFIO_PCI_INDEX_TO_OFFSET(info->index);
	info->size = vpm_region_size(vdev->pdev, info->index);
	info->flags = 0;
	if (info->index == VFIO_PCI_CONFIG_REGION_INDEX || info->size)
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
	if (info->index == VFIO_PCI_CONFIG_REGION_INDEX || !info->size)
		return 0;
	if (!vdev->bar_mmap_supported[array_index_nospec(info->index,
							 PCI_STD_NUM_BARS)])
		return 0;

	info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	if (info->index != vdev->msix_bar || !msix_mappable)
		return 0;
	return vfio_info_add_capability(caps, &msix_cap, sizeof(msix_cap));
}

/* The host pages of BAR @index holding the MSI-X table and PBA. */
struct msix_holes {
	struct vfio_region_sparse_mmap_area hole[2];
	unsigned int nr;
	bool shared;	/* one of them shares a page with other space */
};

/* Add the pages of @len bytes at @reg (a table or PBA register) in @bar. */
static void add_msix_hole(struct msix_holes *h, unsigned int bar,
			  u64 bar_size, u32 reg, u64 len)
{
	u64 offset = reg & PCI_MSIX_TABLE_OFFSET;
	u64 start, end;

	if ((reg & PCI_MSIX_TABLE_BIR) != bar || offset >= bar_size)
		return;
	start = round_down(offset, PAGE_SIZE);
	end = min(round_up(offset + len, PAGE_SIZE), bar_size);
	if (offset != start || (offset + len != end && offset + len < bar_size))
		h->shared = true;
	h->hole[h->nr].offset = start;
	h->hole[h->nr++].size = end - start;
}

/*
 * A VMM overlays its own emulation on the MSI-X table and PBA; with the
 * rest of their pages mmapped it is left RAM sections that neither start
 * nor end on a page.  For dirty-page logging through type1 (QEMU 8+ asks
 * VFIO_IOMMU_DIRTY_PAGES for each RAM section, with the start rounded up
 * and the length as is) those fail the migration.  So the MSI-X BAR of a
 * device that may migrate loses vfio-pci's MSIX_MAPPABLE and gets a
 * sparse mmap without the pages of table and PBA, as vfio-pci answered
 * before MSIX_MAPPABLE: only if one of them shares a page with other
 * space, so a BAR with page-aligned ones stays as vfio-pci has it.
 */
static void find_msix_holes(struct vfio_pci_mediate_device *vpmdev,
			    unsigned int index, struct msix_holes *h)
{
	struct pci_dev *pdev = vpmdev->core_device.pdev;
	u64 bar_size = pci_resource_len(pdev, index);
	u32 table, pba;
	u16 flags;
	u64 nvec;

	h->nr = 0;
	h->shared = false;
	if (!vpmdev->mediator->ops->migration || !pdev->msix_cap || !bar_size)
		return;
	if (pci_read_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS,
				 &flags) ||
	    pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_TABLE,
				  &table) ||
	    pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba))
		return;
	nvec = (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
	add_msix_hole(h, index, bar_size, table, nvec * PCI_MSIX_ENTRY_SIZE);
	add_msix_hole(h, index, bar_size, pba, DIV_ROUND_UP(nvec, 64) * 8);
	if (!h->shared)
		h->nr = 0;
}

/* Take [@start, @start + @size) out of @nr @areas; may add one area. */
static unsigned int cut_area(struct vfio_region_sparse_mmap_area *areas,
			     unsigned int nr, u64 start, u64 size)
{
	u64 end = start + size;
	unsigned int i = 0;

	while (i < nr) {
		struct vfio_region_sparse_mmap_area *a = &areas[i];
		u64 a_end = a->offset + a->size;

		if (a_end <= start || a->offset >= end) {
			i++;
		} else if (a->offset < start && a_end > end) {
			memmove(a + 2, a + 1, (nr - i - 1) * sizeof(*a));
			a->size = start - a->offset;
			a[1].offset = end;
			a[1].size = a_end - end;
			nr++;
			i += 2;
		} else if (a->offset < start) {
			a->size = start - a->offset;
			i++;
		} else if (a_end > end) {
			a->size = a_end - end;
			a->offset = end;
			i++;
		} else {
			memmove(a, a + 1, (nr - i - 1) * sizeof(*a));
			nr--;
		}
	}
	return nr;
}

/*
 * The framework's sparse-mmap capability for BAR @index (@size bytes):
 * the trappable ranges' areas (or the whole BAR), without @h's holes.
 */
static int add_bar_sparse_mmap(struct vfio_pci_mediate_device *vpmdev,
			       unsigned int index, u64 size, bool trap_bar,
			       const struct msix_holes *h,
			       struct vfio_info_cap *caps)
{
	struct vfio_region_sparse_mmap_area *areas;
	unsigned int nr = 1, i;
	int ret;

	/* Each hole splits at most one area in two. */
	areas = kcalloc(VPM_TRAP_MAX_AREAS + ARRAY_SIZE(h->hole),
			sizeof(*areas), GFP_KERNEL);
	if (!areas)
		return -ENOMEM;
	if (trap_bar) {
		nr = vpm_trap_sparse_areas(vpmdev, index, size, areas);
	} else {
		areas[0].offset = 0;
		areas[0].size = size;
	}
	for (i = 0; i < h->nr; i++)
		nr = cut_area(areas, nr, h->hole[i].offset, h->hole[i].size);
	ret = vfio_pci_mediate_add_sparse_mmap(caps, areas, nr);
	kfree(areas);
	return ret;
}

/*
 * VFIO_DEVICE_GET_REGION_INFO answered by a mediator and, for a BAR with
 * trappable ranges or MSI-X pages to leave out (find_msix_holes()), with
 * the framework's sparse-mmap capability; or, with *@pt set, left to
 * vfio-pci-core, as the mediator's ops do.
 */
static int vpm_region_info(struct vfio_pci_mediate_device *vpmdev,
			   struct vfio_region_info __user *arg, bool *pt)
{
	const unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	const struct vfio_pci_mediate_ops *ops = vpmdev->mediator->ops;
	struct vfio_info_cap caps = { .buf = NULL, .size = 0 };
	struct vfio_region_info info;
	struct msix_holes holes = { .nr = 0 };
	bool trap_bar;
	int ret;

	*pt = false;
	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (!is_mediated_index(info.index)) {
		*pt = true;
		return 0;
	}
	trap_bar = info.index <= VFIO_PCI_BAR5_REGION_INDEX &&
		   vpm_trap_in_bar(vpmdev, info.index);
	if (info.index <= VFIO_PCI_BAR5_REGION_INDEX)
		find_msix_holes(vpmdev, info.index, &holes);
	if (!ops->get_region_info && !trap_bar && !holes.nr) {
		*pt = true;
		return 0;
	}

	ret = default_region_info(&vpmdev->core_device, &info, &caps,
				  !holes.nr);
	if (!ret && ops->get_region_info)
		ret = ops->get_region_info(vpmdev->handle, info.index, &info,
					   &caps, pt);
	if (ret)
		goto out_free_caps;
	if ((trap_bar || holes.nr) && (info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		/* The trappable ranges and MSI-X decide what may be mmapped. */
		*pt = false;
		ret = add_bar_sparse_mmap(vpmdev, info.index, info.size,
					  trap_bar, &holes, &caps);
		if (ret)
			goto out_free_caps;
	}
	if (*pt)
		goto out_free_caps;

	if (caps.size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
			info.cap_offset = 0;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(arg + 1, caps.buf, caps.size)) {
				ret = -EFAULT;
				goto out_free_caps;
			}
			info.cap_offset = sizeof(info);
		}
	}
	if (copy_to_user(arg, &info, minsz))
		ret = -EFAULT;
out_free_caps:
	kfree(caps.buf);
	return ret;
}

/*
 * VFIO_DEVICE_GET_INFO: vfio-pci's answer, plus a mediator's reset and
 * the dynamic-trap IRQ.
 */
static long vpm_device_info(struct vfio_pci_mediate_device *vpmdev,
			    unsigned long arg)
{
	struct vfio_device_info __user *uinfo = (void __user *)arg;
	long ret;
	u32 flags;

	ret = vfio_pci_core_ioctl(&vpmdev->core_device.vdev,
				  VFIO_DEVICE_GET_INFO, arg);
	if (ret)
		return ret;
	/* The core checked argsz and wrote flags and num_irqs. */
	if (vpmdev->mediator->ops->reset) {
		if (get_user(flags, &uinfo->flags) ||
		    put_user(flags | VFIO_DEVICE_FLAGS_RESET, &uinfo->flags))
			return -EFAULT;
	}
	if (vpmdev->trap.nr_ranges &&
	    put_user(VPM_TRAP_IRQ_INDEX + 1, &uinfo->num_irqs))
		return -EFAULT;
	return 0;
}

/*
 * VFIO_DEVICE_RESET while a mediator with a reset serves the device (every
 * migrating one has): vfio-pci's reset if the device has one, then the
 * mediator's ->reset, then migration back to RUNNING with no session
 * (vpm_mig_reset()).  All under mig.lock, so no migration call runs in
 * between.
 */
static long vpm_device_reset(struct vfio_pci_mediate_device *vpmdev,
			     unsigned long arg)
{
	const struct vfio_pci_mediate_ops *ops = vpmdev->mediator->ops;
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	long ret;

	ret = vpm_mig_lock_killable(vpmdev);
	if (ret)
		return ret;
	if (vdev->reset_works)
		ret = vfio_pci_core_ioctl(&vdev->vdev, VFIO_DEVICE_RESET, arg);
	if (ret)
		goto out_unlock;
	ret = ops->reset(vpmdev->handle);
	if (ret) {
		vpm_mig_fail(vpmdev);
		goto out_unlock;
	}
	vpm_mig_reset(vpmdev);
	/* The reset_done of vfio-pci's reset above: caught up with already. */
	clear_bit(VPM_MIG_DEVICE_WAS_RESET, &vpmdev->mig.flags);
out_unlock:
	vpm_mig_unlock(vpmdev);
	return ret;
}

/*
 * vfio-pci-core claims and maps a BAR on its first use by read/write, mmap
 * or an ioeventfd, without a lock: of two concurrent first uses one fails
 * with -EBUSY (its request finds the other's).  Its setup is private to
 * it, so the first use of a BAR is prepared here, in the same way and
 * under @barmap_lock (vfio_pci_core_disable() releases whatever it finds
 * in barmap[]); the core then finds the BAR mapped and never maps it
 * itself.  BARs the core would refuse are left to its error.
 */
static noinline int vpm_map_bar(struct vfio_pci_mediate_device *vpmdev,
				unsigned int bar)
{
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	struct pci_dev *pdev = vdev->pdev;
	void __iomem *io;
	int ret = 0;

	if (!pci_resource_start(pdev, bar))
		return 0;
	mutex_lock(&vpmdev->barmap_lock);
	if (vdev->barmap[bar])
		goto out_unlock;
	ret = pci_request_selected_regions(pdev, 1 << bar, "vfio");
	if (ret)
		goto out_unlock;
	io = pci_iomap(pdev, bar, 0);
	if (!io) {
		pci_release_selected_regions(pdev, 1 << bar);
		ret = -ENOMEM;
		goto out_unlock;
	}
	/* The mapping is complete before any thread can see it. */
	smp_store_release(&vdev->barmap[bar], io);
out_unlock:
	mutex_unlock(&vpmdev->barmap_lock);
	return ret;
}

static int vpm_setup_barmap(struct vfio_pci_mediate_device *vpmdev,
			    unsigned int index)
{
	unsigned int bar;

	if (index > VFIO_PCI_BAR5_REGION_INDEX)
		return 0;
	bar = array_index_nospec(index, PCI_STD_NUM_BARS);
	/* Pairs with the release above: a mapping seen is a mapping made. */
	if (likely(smp_load_acquire(&vpmdev->core_device.barmap[bar])))
		return 0;
	return vpm_map_bar(vpmdev, bar);
}

/* The BAR an ioeventfd writes is prepared like any first use of it. */
static int prepare_ioeventfd_bar(struct vfio_pci_mediate_device *vpmdev,
				 unsigned long arg)
{
	struct vfio_device_ioeventfd __user *uarg = (void __user *)arg;
	u64 offset;

	if (get_user(offset, &uarg->offset))
		return -EFAULT;
	return vpm_setup_barmap(vpmdev, VFIO_PCI_OFFSET_TO_INDEX(offset));
}

long vpm_ioctl(struct vfio_device *core_vdev, unsigned int cmd,
	       unsigned long arg)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	const struct vfio_pci_mediate_ops *ops =
		vpmdev->mediator ? vpmdev->mediator->ops : NULL;
	bool trap = vpmdev->trap.nr_ranges;
	bool pt;
	u32 index;
	int ret;

	if (cmd == VFIO_DEVICE_IOEVENTFD && !(ops && ops->rw)) {
		ret = prepare_ioeventfd_bar(vpmdev, arg);
		if (ret)
			return ret;
	}
	if (!ops)
		return vfio_pci_core_ioctl(core_vdev, cmd, arg);

	switch (cmd) {
	case VFIO_DEVICE_GET_REGION_INFO:
		if (!ops->get_region_info && !trap && !ops->migration)
			break;
		ret = vpm_region_info(vpmdev, (void __user *)arg, &pt);
		if (ret || !pt)
			return ret;
		break;
	case VFIO_DEVICE_GET_INFO:
		if (ops->reset || trap)
			return vpm_device_info(vpmdev, arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
	case VFIO_DEVICE_SET_IRQS:
		/* index is at the same place in both structures. */
		if (!trap || get_user(index, &((struct vfio_irq_info __user *)
					       arg)->index) ||
		    index != VPM_TRAP_IRQ_INDEX)
			break;
		if (cmd == VFIO_DEVICE_GET_IRQ_INFO)
			return vpm_trap_get_irq_info(vpmdev, arg);
		return vpm_trap_set_irqs(vpmdev, arg);
	case VFIO_DEVICE_RESET:
		if (ops->reset)
			return vpm_device_reset(vpmdev, arg);
		break;
	case VFIO_DEVICE_IOEVENTFD:
		/*
		 * vfio-pci-core would write the BAR straight from the
		 * eventfd, behind the mediator's ->rw (and its checks).
		 * VMMs fall back to ordinary writes when this fails.
		 */
		if (ops->rw)
			return -EOPNOTSUPP;
		break;
	}
	return vfio_pci_core_ioctl(core_vdev, cmd, arg);
}

/* vfio-pci-core's read/write, the BAR prepared first (vpm_setup_barmap()). */
ssize_t vpm_core_rw(struct vfio_pci_mediate_device *vpmdev, char __user *buf,
		    size_t count, loff_t *ppos, bool iswrite)
{
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	int ret;

	ret = vpm_setup_barmap(vpmdev, VFIO_PCI_OFFSET_TO_INDEX(*ppos));
	if (unlikely(ret))
		return ret;
	if (iswrite)
		return vfio_pci_core_write(&vdev->vdev, buf, count, ppos);
	return vfio_pci_core_read(&vdev->vdev, buf, count, ppos);
}

/*
 * The device woken from runtime suspend (LOW_POWER_ENTRY) for an access of
 * the user's that the mediator handles, as vfio-pci-core wakes it for its
 * own: 1 if it was (put it back after), 0 if it was awake (while it is
 * open and not in low power the core holds it so), or an errno.
 */
static int wake_for_user(struct pci_dev *pdev)
{
	int ret;

	if (pm_runtime_active(&pdev->dev))
		return 0;
	ret = pm_runtime_resume_and_get(&pdev->dev);
	if (ret) {
		pci_info_ratelimited(pdev, "runtime resume failed %d\n", ret);
		return -EIO;
	}
	return 1;
}

/*
 * An access while a mediator with ->rw serves the device: offered to it if
 * it lies inside a mediated region, else (or if it passes) vfio-pci-core's.
 * Kept out of line so that the path with no mediator has no stack frame
 * of its own (vpm_read/write() jump to the core).
 */
static noinline ssize_t vpm_mediated_rw(struct vfio_pci_mediate_device *vpmdev,
					char __user *buf, size_t count,
					loff_t *ppos, bool iswrite)
{
	const struct vfio_pci_mediate_ops *ops = vpmdev->mediator->ops;
	struct pci_dev *pdev = vpmdev->core_device.pdev;
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(*ppos);
	loff_t offset = *ppos & VFIO_PCI_OFFSET_MASK;
	bool pt = false;
	ssize_t ret;
	int woke;
	u64 size;

	if (!count || !is_mediated_index(index))
		goto pass;
	size = vpm_region_size(pdev, index);
	/* Beyond the end: vfio-pci's own answer, not the mediator's. */
	if (offset >= size)
		goto pass;
	/* vfio-pci would trim it and reach past what the mediator sees. */
	if (count > size - offset)
		return -EINVAL;

	woke = wake_for_user(pdev);
	if (woke < 0)
		return woke;
	ret = ops->rw(vpmdev->handle, index, buf, count, offset, iswrite, &pt);
	if (woke)
		pm_runtime_put(&pdev->dev);
	if (!pt) {
		if (ret > 0)
			*ppos += ret;
		return ret;
	}
pass:
	return vpm_core_rw(vpmdev, buf, count, ppos, iswrite);
}

/* Whether accesses go to a mediator's ->rw; the VFIO fops run while open. */
static bool mediates_rw(struct vfio_pci_mediate_device *vpmdev)
{
	return vpmdev->mediator && vpmdev->mediator->ops->rw;
}

ssize_t vpm_read(struct vfio_device *core_vdev, char __user *buf, size_t count,
		 loff_t *ppos)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);

	if (mediates_rw(vpmdev))
		return vpm_mediated_rw(vpmdev, buf, count, ppos, false);
	return vpm_core_rw(vpmdev, buf, count, ppos, false);
}

ssize_t vpm_write(struct vfio_device *core_vdev, const char __user *buf,
		  size_t count, loff_t *ppos)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	/* rw takes one buffer type for both directions, as vfio-pci-core. */
	char __user *ubuf = (char __user *)buf;

	if (mediates_rw(vpmdev))
		return vpm_mediated_rw(vpmdev, ubuf, count, ppos, true);
	return vpm_core_rw(vpmdev, ubuf, count, ppos, true);
}

int vpm_mmap(struct vfio_device *core_vdev, struct vm_area_struct *vma)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	unsigned int index =
		vma->vm_pgoff >> (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	bool pt = false;
	int ret;

	ret = vpm_setup_barmap(vpmdev, index);
	if (ret)
		return ret;
	if (index <= VFIO_PCI_BAR5_REGION_INDEX &&
	    vpm_trap_in_bar(vpmdev, index)) {
		ret = vpm_trap_mmap(vpmdev, index, vma);
		if (ret <= 0)
			return ret;
	}
	if (!vpmdev->mediator || !vpmdev->mediator->ops->mmap ||
	    index > VFIO_PCI_BAR5_REGION_INDEX)
		return vfio_pci_core_mmap(core_vdev, vma);

	ret = vpmdev->mediator->ops->mmap(vpmdev->handle, index, vma, &pt);
	return pt ? vfio_pci_core_mmap(core_vdev, vma) : ret;
}
