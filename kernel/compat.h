/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel interfaces vfio-pci-mediate and its samples use that changed
 * between the kernels we build for: Linux 6.1 (Debian 12) and 6.12 (Debian
 * 13, Debian 12's security suite).  Each difference is named here once, so
 * that the code reads the same for both.  The BAR mmap rework (6.10) is
 * too big for a macro: kernel/Kbuild picks one of two trap_vma_*.c files.
 */
#ifndef VFIO_PCI_MEDIATE_COMPAT_H
#define VFIO_PCI_MEDIATE_COMPAT_H

#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/vfio.h>

/* 6.12 moved <asm/unaligned.h> to <linux/unaligned.h>. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.8 dropped eventfd_signal()'s count: it always adds 1. */
static inline void vpm_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * A usage reference if the device is runtime-active, whatever its usage
 * count; 6.9 made that the only behaviour and dropped the flag.
 */
static inline int vpm_pm_runtime_get_if_active(struct device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	return pm_runtime_get_if_active(dev);
#else
	return pm_runtime_get_if_active(dev, true);
#endif
}

/* 6.3 made vm_flags read-only outside these helpers. */
static inline void vpm_vm_flags_set(struct vm_area_struct *vma,
				    vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* 6.12's kvrealloc() no longer takes the old size. */
static inline void *vpm_kvrealloc(void *p, size_t old_size, size_t new_size,
				  gfp_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	return kvrealloc(p, new_size, flags);
#else
	return kvrealloc(p, old_size, new_size, flags);
#endif
}

/*
 * iommufd (6.2, with detach and the device cdev from 6.6): a physical
 * device's driver names the core's bind/attach helpers (NULL when
 * CONFIG_IOMMUFD is off), as vfio-pci does.  Kernels between 6.2 and 6.6
 * are not supported.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define VPM_IOMMUFD_PHYSICAL_OPS					\
	.bind_iommufd	= vfio_iommufd_physical_bind,			\
	.unbind_iommufd	= vfio_iommufd_physical_unbind,			\
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,		\
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
#else
#define VPM_IOMMUFD_PHYSICAL_OPS
#endif

/*
 * Whether this open is bound to iommufd (device cdev, or iommufd's
 * compat container) rather than a type1 container: vfio_pin_pages() and
 * vfio_dma_rw() of a physical device work only with the latter.
 */
static inline bool vpm_opened_through_iommufd(struct vfio_device *vdev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return vfio_iommufd_device_ictx(vdev);
#else
	return false;
#endif
}

/*
 * 6.2's vfio core answers VFIO_DEVICE_FEATURE_MIG_DATA_SIZE itself through
 * this migration op; 6.1's leaves the feature to the driver's
 * device_feature (kernel/main.c), and its ops have no such member.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VPM_MIG_OPS_DATA_SIZE(fn)	.migration_get_data_size = (fn),
#else
#define VPM_MIG_OPS_DATA_SIZE(fn)
#endif

/*
 * Whether the vfio core can return a DMA log to the user.  It fills the
 * user's bitmap with iova_bitmap, part of vfio in 6.1 and of iommufd since
 * 6.7, where it is a stub (VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT then
 * fails in the core) unless CONFIG_IOMMUFD_DRIVER is set: Debian's 6.12
 * kernels have it off.  Logging is offered only where it can report.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
#define VPM_DMA_LOGGING_REPORTS		1
#define VPM_IMPORT_IOVA_BITMAP_NS()
#elif IS_ENABLED(CONFIG_IOMMUFD_DRIVER)
#define VPM_DMA_LOGGING_REPORTS		1
/* 6.13 made MODULE_IMPORT_NS() take a string. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define VPM_IMPORT_IOVA_BITMAP_NS()	MODULE_IMPORT_NS("IOMMUFD");
#else
#define VPM_IMPORT_IOVA_BITMAP_NS()	MODULE_IMPORT_NS(IOMMUFD);
#endif
#else
#define VPM_DMA_LOGGING_REPORTS		0
#define VPM_IMPORT_IOVA_BITMAP_NS()
#endif

#endif /* VFIO_PCI_MEDIATE_COMPAT_H */
