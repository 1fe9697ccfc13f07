/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vfio-pci-mediate: per-device state, the registry's entries and
 * the functions the driver's files share.
 */
#ifndef VFIO_PCI_MEDIATE_PRIV_H
#define VFIO_PCI_MEDIATE_PRIV_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_mediate.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "migration.h"

/**
 * struct vfio_pci_mediate_registration - a registered mediator
 * @ops: its ops table, as given to vfio_pci_register_mediate_ops()
 * @node: entry in the registry, in registration order
 * @users: opens it currently serves
 * @unused: woken when @users drops to zero, for unregister
 *
 * @node and @users are protected by vfio_pci_mediate_registry_lock.
 */
struct vfio_pci_mediate_registration {
	const struct vfio_pci_mediate_ops *ops;
	struct list_head node;
	unsigned int users;
	wait_queue_head_t unused;
};

/**
 * struct vpm_dirty - pages a device writes by DMA (dirty.c)
 * @lock: protects all other members but @logging_offered.  Taken in the
 *	mediator's callbacks, in the DMA logging ops and in
 *	vfio_device_ops.dma_unmap, which type1 calls holding its
 *	device_list_lock; vfio_pin_pages() and vfio_unpin_pages() take
 *	type1's iommu->lock under it.  Order: type1's device_list_lock,
 *	@lock, type1's iommu->lock.
 * @pins: struct vpm_dirty_pin entries (ranges pinned by
 *	vfio_pci_mediate_dirty_begin()), oldest first
 * @nr_pins: entries in @pins
 * @logging_offered: the mediator of this open reports every write; set in
 *	its ->open(), cleared at close (both serialised by VFIO)
 * @logging: VFIO DMA logging is started
 * @logged: PFNs (IOVA >> PAGE_SHIFT) written since they were last
 *	reported, inside @ranges
 * @ranges: the IOVA ranges logging was started for
 * @nr_ranges: entries in @ranges
 */
struct vpm_dirty {
	struct mutex lock;
	struct list_head pins;
	unsigned int nr_pins;
	bool logging_offered;
	bool logging;
	struct xarray logged;
	struct vpm_log_range {
		u64 start, last;
	} *ranges;
	u32 nr_ranges;
};

/**
 * struct vfio_pci_mediate_device - a device bound to vfio-pci-mediate
 * @core_device: vfio-pci-core's state; must stay first, as vfio_alloc_device()
 *	and the core find it by container_of() from the vfio_device.
 * @mediator: the mediator serving the current open, or NULL
 * @handle: what @mediator's ->open() returned for this open
 * @in_open: @mediator's ->open() is running (it may add regions then)
 * @autoload_done: the mediator module alias was requested since bind
 * @enabled: between vfio_pci_core_enable() and the start of close: the
 *	device may be accessed from kernel helpers
 * @barmap_lock: serialises accesses that vfio-pci-core carries out while
 *	it has not mapped the BAR yet (see vfio_pci_mediate_core_rw())
 * @bar_lock: protects @bar_io
 * @bar_io: kernel mappings of the BARs for the mediator's BAR helpers,
 *	made on first use and dropped at close
 * @mig: migration state (see migration.h for its locking)
 * @dirty: pages pinned for the IOMMU backend's dirty tracking (dirty.c)
 *
 * @mediator and @handle are written only by open and close, under
 * vfio_pci_mediate_registry_lock; the VFIO file operations read them
 * without a lock, since VFIO calls those only while the device is open.
 * @enabled is written under the core's memory_lock held for write and read
 * under it held for read.  @in_open and @autoload_done are only touched
 * from open and close, which VFIO serialises per device.
 */
struct vfio_pci_mediate_device {
	struct vfio_pci_core_device core_device;
	struct vfio_pci_mediate_registration *mediator;
	void *handle;
	bool in_open;
	bool autoload_done;
	bool enabled;
	struct mutex barmap_lock;
	struct mutex bar_lock;
	void __iomem *bar_io[PCI_STD_NUM_BARS];
	struct vpm_migration mig;
	struct vpm_dirty dirty;
};

static inline struct vfio_pci_mediate_device *
to_mediate_device(struct vfio_device *core_vdev)
{
	return container_of(core_vdev, struct vfio_pci_mediate_device,
			    core_device.vdev);
}

/* registry.c */
int vfio_pci_mediate_attach(struct vfio_pci_mediate_device *mdev);
void vfio_pci_mediate_detach(struct vfio_pci_mediate_device *mdev);
extern const struct attribute_group *vfio_pci_mediate_driver_groups[];
extern const struct attribute_group *vfio_pci_mediate_dev_groups[];

/* intercept.c */
ssize_t vfio_pci_mediate_core_rw(struct vfio_pci_mediate_device *mdev,
				 char __user *buf, size_t count, loff_t *ppos,
				 bool iswrite);
long vfio_pci_mediate_ioctl(struct vfio_device *core_vdev, unsigned int cmd,
			    unsigned long arg);
ssize_t vfio_pci_mediate_read(struct vfio_device *core_vdev, char __user *buf,
			      size_t count, loff_t *ppos);
ssize_t vfio_pci_mediate_write(struct vfio_device *core_vdev,
			       const char __user *buf, size_t count,
			       loff_t *ppos);
int vfio_pci_mediate_mmap(struct vfio_device *core_vdev,
			  struct vm_area_struct *vma);

/* dirty.c */
void vpm_dirty_init(struct vfio_pci_mediate_device *mdev);
void vpm_dirty_dma_unmap(struct vfio_pci_mediate_device *mdev, u64 iova,
			 u64 length);
void vpm_dirty_open(struct vfio_pci_mediate_device *mdev);
void vpm_dirty_close(struct vfio_pci_mediate_device *mdev);

/* helpers.c */
void vfio_pci_mediate_unmap_bars(struct vfio_pci_mediate_device *mdev);

#endif /* VFIO_PCI_MEDIATE_PRIV_H */
