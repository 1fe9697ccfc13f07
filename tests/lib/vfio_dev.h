/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal test-side helpers for PCI devices in sysfs and for VFIO devices
 * opened through a group and a type1 container. Every function returning int
 * gives 0 (or a count/size) on success and a negative errno on failure.
 */
#ifndef TESTS_LIB_VFIO_DEV_H
#define TESTS_LIB_VFIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

#define PCI_BDF_LEN 32
#define PCI_DRIVER_LEN 64

#define VENDOR_QEMU_EDU 0x1234
#define DEVICE_QEMU_EDU 0x11e8
#define VENDOR_REDHAT_QEMU 0x1b36
#define DEVICE_QEMU_NVME 0x0010

#define DRIVER_VFIO_PCI "vfio-pci"
#define DRIVER_VFIO_PCI_MEDIATE "vfio-pci-mediate"

/* --- PCI devices in sysfs --------------------------------------------- */

/* Fills up to max BDFs, sorted; returns how many matched (may be > max). */
int pci_find_devices(uint16_t vendor, uint16_t device,
		     char bdfs[][PCI_BDF_LEN], int max);

/* Reads /sys/bus/pci/devices/<bdf>/<attr> without its trailing newline. */
int pci_read_attr(const char *bdf, const char *attr, char *buf, size_t len);
int pci_read_attr_u64(const char *bdf, const char *attr, uint64_t *value);
int pci_write_attr(const char *bdf, const char *attr, const char *value);
bool pci_has_attr(const char *bdf, const char *attr);

/* The bound driver's name, or "" when the device has no driver. */
int pci_driver(const char *bdf, char *name, size_t len);
bool pci_driver_registered(const char *driver);

/* The device's IOMMU group number. */
int pci_iommu_group(const char *bdf);

/* The BDF of a PF's n-th virtual function (virtfn<n>). */
int pci_virtfn(const char *pf_bdf, int n, char *vf_bdf, size_t len);

/*
 * Binds bdf to driver through driver_override + unbind + drivers_probe and
 * leaves driver_override naming it. driver "" only unbinds.
 */
int pci_bind(const char *bdf, const char *driver);
int pci_unbind(const char *bdf);

/* What a test changes and must put back. */
struct pci_binding {
	char bdf[PCI_BDF_LEN];
	char driver[PCI_DRIVER_LEN];
	char driver_override[PCI_DRIVER_LEN];
};

int pci_binding_save(const char *bdf, struct pci_binding *saved);
int pci_binding_restore(const struct pci_binding *saved);

/* --- VFIO devices ------------------------------------------------------ */

#define VFIO_DEV_MAX_REGIONS 32

struct vfio_region_layout {
	uint64_t offset;
	uint64_t size;
	uint32_t flags;
};

struct vfio_dev {
	char bdf[PCI_BDF_LEN];
	int group_id;
	int container_fd;
	int group_fd;
	int device_fd;
	struct vfio_device_info info;
	/* Offsets and sizes of regions, for access by index. */
	struct vfio_region_layout regions[VFIO_DEV_MAX_REGIONS];
};

/* Opens group, type1v2 container and device fd, and fetches GET_INFO. */
int vfio_dev_open(struct vfio_dev *dev, const char *bdf);
void vfio_dev_close(struct vfio_dev *dev);

/*
 * GET_INFO, GET_REGION_INFO and GET_IRQ_INFO into malloc'd buffers large
 * enough for the capability chain (argsz grown as the kernel asks). The
 * caller frees *info.
 */
int vfio_device_info_get(int device_fd, struct vfio_device_info **info);
int vfio_region_info_get(int device_fd, uint32_t index,
			 struct vfio_region_info **info);
int vfio_irq_info_get(int device_fd, uint32_t index,
		      struct vfio_irq_info *info);

/* Finds capability id in a chain starting at first_offset, or NULL. */
const struct vfio_info_cap_header *
vfio_cap_find(const void *info, size_t info_size, uint32_t first_offset,
	      uint16_t id);

/* Region access by index; returns bytes transferred or -errno. */
long vfio_region_read(const struct vfio_dev *dev, uint32_t index,
		      uint64_t offset, void *buf, size_t len);
long vfio_region_write(const struct vfio_dev *dev, uint32_t index,
		       uint64_t offset, const void *buf, size_t len);
int vfio_region_read32(const struct vfio_dev *dev, uint32_t index,
		       uint64_t offset, uint32_t *value);
int vfio_region_write32(const struct vfio_dev *dev, uint32_t index,
			uint64_t offset, uint32_t value);

/* Sets bits in the PCI command register through the config region. */
int vfio_config_set_command_bits(const struct vfio_dev *dev, uint16_t bits);

/* Type1 DMA map/unmap; unmap returns the number of bytes unmapped. */
int vfio_dma_map(int container_fd, void *vaddr, uint64_t iova, uint64_t size,
		 uint32_t flags);
long vfio_dma_unmap(int container_fd, uint64_t iova, uint64_t size);

#endif
