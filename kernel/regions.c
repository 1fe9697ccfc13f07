// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mediator's helpers for the device's regions: device-specific regions
 * of its own, kernel access to the BARs, passing an access on to
 * vfio-pci-core, and sparse-mmap capabilities for region info.
 */

#include <linux/io.h>
#include <linux/nospec.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>

#include "vfio_pci_mediate_priv.h"

/* vfio-pci-core's region->data for a mediator's device-specific region. */
struct vpm_dev_region {
	const struct vfio_pci_mediate_region_ops *ops;
	void *data;
};

static struct vfio_pci_region *region_at(struct vfio_pci_core_device *vdev,
					 loff_t pos)
{
	/* The core checked index < VFIO_PCI_NUM_REGIONS + num_regions. */
	return &vdev->region[VFIO_PCI_OFFSET_TO_INDEX(pos) -
			     VFIO_PCI_NUM_REGIONS];
}

static ssize_t vpm_dev_region_rw(struct vfio_pci_core_device *vdev,
				 char __user *buf, size_t count, loff_t *ppos,
				 bool iswrite)
{
	struct vfio_pci_region *region = region_at(vdev, *ppos);
	struct vpm_dev_region *mr = region->data;
	loff_t offset = *ppos & VFIO_PCI_OFFSET_MASK;
	u32 need = iswrite ? VFIO_REGION_INFO_FLAG_WRITE :
			     VFIO_REGION_INFO_FLAG_READ;
	ssize_t ret;

	if (!(region->flags & need) || offset >= region->size ||
	    count > region->size - offset)
		return -EINVAL;

	ret = mr->ops->rw(mr->data, buf, count, offset, iswrite);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static int vpm_dev_region_mmap(struct vfio_pci_core_device *vdev,
			       struct vfio_pci_region *region,
			       struct vm_area_struct *vma)
{
	struct vpm_dev_region *mr = region->data;
	u64 offset = ((u64)vma->vm_pgoff << PAGE_SHIFT) & VFIO_PCI_OFFSET_MASK;
	u64 len = vma->vm_end - vma->vm_start;

	if (!mr->ops->mmap || offset >= region->size ||
	    len > region->size - offset)
		return -EINVAL;
	return mr->ops->mmap(mr->data, vma);
}

static int vpm_dev_region_add_capability(struct vfio_pci_core_device *vdev,
					 struct vfio_pci_region *region,
					 struct vfio_info_cap *caps)
{
	struct vpm_dev_region *mr = region->data;

	return mr->ops->add_capability ? mr->ops->add_capability(mr->data, caps) : 0;
}

static void vpm_dev_region_release(struct vfio_pci_core_device *vdev,
				   struct vfio_pci_region *region)
{
	struct vpm_dev_region *mr = region->data;

	if (mr->ops->release)
		mr->ops->release(mr->data);
	kfree(mr);
}

static const struct vfio_pci_regops vpm_dev_region_ops = {
	.rw		= vpm_dev_region_rw,
	.mmap		= vpm_dev_region_mmap,
	.add_capability	= vpm_dev_region_add_capability,
	.release	= vpm_dev_region_release,
};

/**
 * vfio_pci_mediate_register_region() - add a device-specific region
 * @vpmdev: the device, as passed to the mediator's ->open()
 * @type: region type reported in its VFIO_REGION_INFO_CAP_TYPE
 * @subtype: region subtype reported there
 * @ops: the region's callbacks; ->rw is required
 * @size: region size in bytes
 * @flags: VFIO_REGION_INFO_FLAG_READ, _WRITE, _MMAP as the region allows
 * @data: passed to every callback in @ops
 *
 * The region appears after the standard ones for the rest of this open
 * and is released (->release) when the device is closed, or at once if
 * the ->open() that registers it then declines or fails.  Only valid from
 * within the mediator's ->open(), before it accepts.  Process context.
 *
 * Return: 0, -EPERM outside ->open(), -EINVAL without ->rw, -ENOMEM.
 */
int vfio_pci_mediate_register_region(struct vfio_pci_mediate_device *vpmdev,
				     u32 type, u32 subtype,
				     const struct vfio_pci_mediate_region_ops *ops,
				     size_t size, u32 flags, void *data)
{
	struct vpm_dev_region *mr;
	int ret;

	if (!vpmdev->in_open)
		return -EPERM;
	if (!ops || !ops->rw)
		return -EINVAL;

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return -ENOMEM;
	mr->ops = ops;
	mr->data = data;

	ret = vfio_pci_core_register_dev_region(&vpmdev->core_device, type,
						subtype, &vpm_dev_region_ops,
						size, flags, mr);
	if (ret)
		kfree(mr);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_register_region);

/*
 * Releases the device-specific regions from the @first on, newest first,
 * as vfio_pci_core_disable() releases them all: those a mediator's ->open()
 * registered before it declined.
 */
void vpm_release_regions_from(struct vfio_pci_mediate_device *vpmdev, int first)
{
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	struct vfio_pci_region *region;

	while (vdev->num_regions > first) {
		region = &vdev->region[--vdev->num_regions];
		if (region->ops->release)
			region->ops->release(vdev, region);
	}
}

static void __iomem *bar_io(struct vfio_pci_mediate_device *vpmdev,
			    unsigned int bar)
{
	void __iomem *io;

	mutex_lock(&vpmdev->bar_lock);
	io = vpmdev->bar_io[bar];
	if (!io) {
		/*
		 * No request_region(): vfio-pci-core claims the BAR for the
		 * user's accesses and ours must not make those fail.
		 */
		io = pci_iomap(vpmdev->core_device.pdev, bar, 0);
		vpmdev->bar_io[bar] = io;
	}
	mutex_unlock(&vpmdev->bar_lock);
	return io;
}

void vpm_unmap_bars(struct vfio_pci_mediate_device *vpmdev)
{
	unsigned int bar;

	mutex_lock(&vpmdev->bar_lock);
	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (vpmdev->bar_io[bar])
			pci_iounmap(vpmdev->core_device.pdev,
				    vpmdev->bar_io[bar]);
		vpmdev->bar_io[bar] = NULL;
	}
	mutex_unlock(&vpmdev->bar_lock);
}

/* As vfio-pci-core decides whether the user may touch memory BARs now. */
static bool memory_enabled(struct vfio_pci_core_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 cmd = le16_to_cpu(*(__le16 *)&vdev->vconfig[PCI_COMMAND]);

	lockdep_assert_held(&vdev->memory_lock);
	return (__force int)pdev->current_state < (__force int)PCI_D3hot &&
	       (pdev->no_command_memory || (cmd & PCI_COMMAND_MEMORY));
}

/* Naturally aligned accesses of at most 4 bytes, as vfio-pci does them. */
static void bar_copy(void __iomem *io, u8 *buf, size_t count, bool write)
{
	while (count) {
		size_t step = 1;

		if (count >= 4 && IS_ALIGNED((unsigned long)io, 4))
			step = 4;
		else if (count >= 2 && IS_ALIGNED((unsigned long)io, 2))
			step = 2;

		if (step == 4 && write)
			iowrite32(get_unaligned_le32(buf), io);
		else if (step == 4)
			put_unaligned_le32(ioread32(io), buf);
		else if (step == 2 && write)
			iowrite16(get_unaligned_le16(buf), io);
		else if (step == 2)
			put_unaligned_le16(ioread16(io), buf);
		else if (write)
			iowrite8(*buf, io);
		else
			*buf = ioread8(io);

		io += step;
		buf += step;
		count -= step;
	}
}

static int bar_access(struct vfio_pci_mediate_device *vpmdev, unsigned int bar,
		      loff_t offset, void *buf, size_t count, bool write)
{
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	struct pci_dev *pdev = vdev->pdev;
	void __iomem *io;
	int ret = 0, awake;
	u64 len;

	if (bar >= PCI_STD_NUM_BARS)
		return -EINVAL;
	bar = array_index_nospec(bar, PCI_STD_NUM_BARS);
	len = pci_resource_len(pdev, bar);
	if (offset < 0 || offset >= len || count > len - offset)
		return -EINVAL;

	io = bar_io(vpmdev, bar);
	if (!io)
		return -ENOMEM;

	/*
	 * Kept awake for the access, never woken here: the user's own
	 * accesses wake the device (vpm_mediated_rw()), the mediator's own do
	 * not end the user's low-power state.  -EINVAL: no runtime PM.
	 */
	awake = vpm_pm_runtime_get_if_active(&pdev->dev);
	if (!awake)
		return -EIO;
	down_read(&vdev->memory_lock);
	if (!vpmdev->enabled)
		ret = -ENODEV;
	else if ((pci_resource_flags(pdev, bar) & IORESOURCE_MEM) &&
		 !memory_enabled(vdev))
		ret = -EIO;
	else
		bar_copy(io + offset, buf, count, write);
	up_read(&vdev->memory_lock);
	if (awake > 0)
		pm_runtime_put(&pdev->dev);
	return ret;
}

/**
 * vfio_pci_mediate_bar_read() - read the device's BAR from the kernel
 * @vpmdev: the device, while the mediator serves it
 * @bar: BAR number, 0-5
 * @offset: byte offset in the BAR
 * @buf: receives @count bytes in the device's byte order, as a VFIO read
 *	would return them
 * @count: bytes to read; done as naturally aligned accesses of at most 4
 *	bytes, as vfio-pci does
 *
 * Process context; takes the core's memory_lock for read, so it must not
 * be called with that held for write.  It does not wake the device from
 * runtime suspend (LOW_POWER_ENTRY): the framework wakes it for the
 * user's read and write before the mediator's ->rw, as vfio-pci does for
 * its own, but the mediator's own accesses (a worker, a migration
 * callback outside an ioctl) find it asleep: -EIO.
 *
 * Return: 0; -EINVAL if the range is outside the BAR; -EIO if the user
 * disabled memory decode or the device is in a low-power state; -ENODEV
 * if the device is not open; -ENOMEM if the BAR cannot be mapped.
 */
int vfio_pci_mediate_bar_read(struct vfio_pci_mediate_device *vpmdev,
			      unsigned int bar, loff_t offset, void *buf,
			      size_t count)
{
	return bar_access(vpmdev, bar, offset, buf, count, false);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_bar_read);

/**
 * vfio_pci_mediate_bar_write() - write the device's BAR from the kernel
 * @vpmdev: the device, while the mediator serves it
 * @bar: BAR number, 0-5
 * @offset: byte offset in the BAR
 * @buf: @count bytes in the device's byte order
 * @count: bytes to write, as for vfio_pci_mediate_bar_read()
 *
 * Context as vfio_pci_mediate_bar_read().
 *
 * Return: as vfio_pci_mediate_bar_read().
 */
int vfio_pci_mediate_bar_write(struct vfio_pci_mediate_device *vpmdev,
			       unsigned int bar, loff_t offset,
			       const void *buf, size_t count)
{
	return bar_access(vpmdev, bar, offset, (void *)buf, count, true);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_bar_write);

/**
 * vfio_pci_mediate_passthrough_rw() - have vfio-pci do (part of) an access
 * @vpmdev: the device, while the mediator serves it
 * @index: VFIO region index
 * @buf: the user's buffer
 * @count: bytes
 * @offset: offset within the region
 * @iswrite: direction
 *
 * For a ->rw() that handles only part of an access itself.  Process
 * context.
 *
 * Return: bytes done or a negative errno, as vfio-pci's read/write.
 */
ssize_t vfio_pci_mediate_passthrough_rw(struct vfio_pci_mediate_device *vpmdev,
					unsigned int index, char __user *buf,
					size_t count, loff_t offset,
					bool iswrite)
{
	loff_t pos;

	if (offset < 0 || offset > VFIO_PCI_OFFSET_MASK ||
	    index >= VFIO_PCI_NUM_REGIONS + vpmdev->core_device.num_regions)
		return -EINVAL;
	pos = VFIO_PCI_INDEX_TO_OFFSET(index) + offset;
	return vpm_core_rw(vpmdev, buf, count, &pos, iswrite);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_passthrough_rw);

/**
 * vfio_pci_mediate_add_sparse_mmap() - add a sparse-mmap capability
 * @caps: the capability chain being built (e.g. in ->get_region_info())
 * @areas: the mmappable areas, offsets relative to the region
 * @nr_areas: number of @areas; 0 means nothing may be mmapped
 *
 * Process context; allocates.
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_pci_mediate_add_sparse_mmap(struct vfio_info_cap *caps,
				     const struct vfio_region_sparse_mmap_area *areas,
				     u32 nr_areas)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	size_t size = struct_size(sparse, areas, nr_areas);
	int ret;

	sparse = kzalloc(size, GFP_KERNEL);
	if (!sparse)
		return -ENOMEM;
	sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	sparse->header.version = 1;
	sparse->nr_areas = nr_areas;
	memcpy(sparse->areas, areas, flex_array_size(sparse, areas, nr_areas));

	ret = vfio_info_add_capability(caps, &sparse->header, size);
	kfree(sparse);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_add_sparse_mmap);

/**
 * vfio_pci_mediate_pdev() - the PCI device of a mediated device
 * @vpmdev: the device, as passed to the mediator's ->open()
 *
 * Return: the PCI device.
 */
struct pci_dev *vfio_pci_mediate_pdev(struct vfio_pci_mediate_device *vpmdev)
{
	return vpmdev->core_device.pdev;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_pdev);
