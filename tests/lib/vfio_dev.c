// SPDX-License-Identifier: GPL-2.0
/* Sysfs and VFIO helpers for the tests; see vfio_dev.h. */
#include "vfio_dev.h"
#include "pci_bind.h"
#include "sysfs_attr.h"
#include "vfio_group.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#define SYSFS_PCI_DEVICES "/sys/bus/pci/devices"
#define SYSFS_PCI_DRIVERS "/sys/bus/pci/drivers"

/* How long a bind may take to show up in sysfs. */
#define BIND_WAIT_MS 5000

/* Copies a name that must fit; sysfs names here are short. */
static int copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

int pci_read_attr(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	return sysfs_read(path, buf, len);
}

int pci_read_attr_u64(const char *bdf, const char *attr, uint64_t *value)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	return sysfs_read_u64(path, value);
}

int pci_write_attr(const char *bdf, const char *attr, const char *value)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	return sysfs_write(path, value);
}

bool pci_has_attr(const char *bdf, const char *attr)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	return access(path, F_OK) == 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int pci_find_devices(uint16_t vendor, uint16_t device,
		     char bdfs[][PCI_BDF_LEN], int max)
{
	DIR *dir = opendir(SYSFS_PCI_DEVICES);
	struct dirent *entry;
	int found = 0;

	if (!dir)
		return -errno;
	while ((entry = readdir(dir))) {
		uint64_t v, d;

		if (entry->d_name[0] == '.')
			continue;
		if (pci_read_attr_u64(entry->d_name, "vendor", &v) < 0 ||
		    pci_read_attr_u64(entry->d_name, "device", &d) < 0)
			continue;
		if (v != vendor || d != device)
			continue;
		if (found < max &&
		    copy_name(bdfs[found], PCI_BDF_LEN, entry->d_name) < 0)
			continue;
		found++;
	}
	closedir(dir);
	qsort(bdfs, found < max ? found : max, PCI_BDF_LEN, compare_names);
	return found;
}

/* Basename of a symlink's target, "" if the link does not exist. */
static int link_basename(const char *path, char *name, size_t len)
{
	int ret = sysfs_link_name(path, name, len);

	if (ret == -ENOENT) {
		name[0] = '\0';
		return 0;
	}
	return ret;
}

int pci_driver(const char *bdf, char *name, size_t len)
{
	return pci_driver_of(bdf, name, len);
}

bool pci_driver_registered(const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DRIVERS "/%s", driver);
	return access(path, F_OK) == 0;
}

int pci_iommu_group(const char *bdf)
{
	char path[PATH_MAX], name[64], *end;
	long group;
	int ret;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/iommu_group", bdf);
	ret = link_basename(path, name, sizeof(name));
	if (ret < 0)
		return ret;
	if (!name[0])
		return -ENODEV;
	group = strtol(name, &end, 10);
	if (*end || group < 0 || group > INT_MAX)
		return -EINVAL;
	return (int)group;
}

int pci_virtfn(const char *pf_bdf, int n, char *vf_bdf, size_t len)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/virtfn%d", pf_bdf,
		 n);
	ret = link_basename(path, vf_bdf, len);
	if (ret < 0)
		return ret;
	return vf_bdf[0] ? 0 : -ENODEV;
}

int pci_unbind(const char *bdf)
{
	return pci_unbind_driver(bdf, NULL, 0);
}

int pci_bind(const char *bdf, const char *driver)
{
	/* The override stays; "" leaves the device unbound. */
	const struct pci_bind_options opt = { .wait_ms = BIND_WAIT_MS };
	struct pci_bind_result res;
	int ret = pci_bind_override(bdf, driver, &opt, &res);

	return ret == -ENODEV && res.step == PCI_BIND_STEP_NOT_TAKEN ? -ENXIO :
								      ret;
}

int pci_binding_save(const char *bdf, struct pci_binding *saved)
{
	int ret;

	ret = copy_name(saved->bdf, sizeof(saved->bdf), bdf);
	if (ret < 0)
		return ret;
	ret = pci_driver(bdf, saved->driver, sizeof(saved->driver));
	if (ret < 0)
		return ret;
	ret = pci_read_attr(bdf, "driver_override", saved->driver_override,
			    sizeof(saved->driver_override));
	if (ret < 0)
		return ret;
	/* sysfs shows an unset override as "(null)". */
	if (strcmp(saved->driver_override, "(null)") == 0)
		saved->driver_override[0] = '\0';
	return 0;
}

int pci_binding_restore(const struct pci_binding *saved)
{
	const char *override = saved->driver_override[0] ?
				       saved->driver_override : "\n";
	int ret = pci_bind(saved->bdf, saved->driver);

	if (ret < 0)
		return ret;
	return pci_write_attr(saved->bdf, "driver_override", override);
}

/* --- VFIO -------------------------------------------------------------- */

/*
 * An info ioctl whose answer may carry a capability chain: start from the
 * fixed-size request in proto (argsz first, as in every VFIO info struct)
 * and retry with the room the kernel asks for in argsz.
 */
static int vfio_info_ioctl(int fd, unsigned long request, const void *proto,
			   size_t proto_size, void **info)
{
	size_t size = proto_size;

	for (;;) {
		uint32_t *buf = calloc(1, size);

		if (!buf)
			return -ENOMEM;
		memcpy(buf, proto, proto_size);
		buf[0] = size; /* argsz */
		if (ioctl(fd, request, buf) < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (buf[0] <= size) {
			*info = buf;
			return 0;
		}
		size = buf[0];
		free(buf);
	}
}

int vfio_device_info_get(int device_fd, struct vfio_device_info **info)
{
	struct vfio_device_info proto = { 0 };

	return vfio_info_ioctl(device_fd, VFIO_DEVICE_GET_INFO, &proto,
			       sizeof(proto), (void **)info);
}

int vfio_region_info_get(int device_fd, uint32_t index,
			 struct vfio_region_info **info)
{
	struct vfio_region_info proto = { .index = index };

	return vfio_info_ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &proto,
			       sizeof(proto), (void **)info);
}

int vfio_irq_info_get(int device_fd, uint32_t index,
		      struct vfio_irq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(device_fd, VFIO_DEVICE_GET_IRQ_INFO, info) < 0)
		return -errno;
	return 0;
}

const struct vfio_info_cap_header *
vfio_cap_find(const void *info, size_t info_size, uint32_t first_offset,
	      uint16_t id)
{
	uint32_t offset = first_offset;
	/* A malformed chain must not loop forever. */
	for (int hops = 0; offset && hops < 64; hops++) {
		const struct vfio_info_cap_header *cap;

		if (offset + sizeof(*cap) > info_size)
			return NULL;
		cap = (const void *)((const char *)info + offset);
		if (cap->id == id)
			return cap;
		offset = cap->next;
	}
	return NULL;
}

static int load_region_layout(struct vfio_dev *dev)
{
	uint32_t count = dev->info.num_regions;

	if (count > VFIO_DEV_MAX_REGIONS)
		count = VFIO_DEV_MAX_REGIONS;
	for (uint32_t i = 0; i < count; i++) {
		struct vfio_region_info *region;
		int ret = vfio_region_info_get(dev->device_fd, i, &region);

		if (ret == -EINVAL) {
			/* Holes in the index space are allowed. */
			continue;
		}
		if (ret < 0)
			return ret;
		dev->regions[i].offset = region->offset;
		dev->regions[i].size = region->size;
		dev->regions[i].flags = region->flags;
		free(region);
	}
	return 0;
}

int vfio_dev_open(struct vfio_dev *dev, const char *bdf)
{
	/* One device per container: it sets the IOMMU itself. */
	const struct vfio_group_options opt = {
		.wait_ms = BIND_WAIT_MS, .set_iommu = true,
	};
	struct vfio_device_info *info = NULL;
	struct vfio_failure why;
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->container_fd = dev->group_fd = dev->device_fd = -1;
	ret = copy_name(dev->bdf, sizeof(dev->bdf), bdf);
	if (ret < 0)
		goto fail;
	ret = pci_iommu_group(bdf);
	if (ret < 0)
		goto fail;
	dev->group_id = ret;

	ret = vfio_container_open(&why);
	if (ret < 0)
		goto fail;
	dev->container_fd = ret;
	ret = vfio_group_attach(dev->group_id, dev->container_fd, &opt, &why);
	if (ret < 0) {
		/* Some device in the group is on a non-VFIO driver. */
		if (why.step == VFIO_STEP_NOT_VIABLE)
			ret = -EPERM;
		goto fail;
	}
	dev->group_fd = ret;

	dev->device_fd = ioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev->device_fd < 0) {
		ret = -errno;
		goto fail;
	}

	ret = vfio_device_info_get(dev->device_fd, &info);
	if (ret < 0)
		goto fail;
	memcpy(&dev->info, info,
	       info->argsz < sizeof(dev->info) ? info->argsz : sizeof(dev->info));
	free(info);

	ret = load_region_layout(dev);
	if (ret < 0)
		goto fail;
	return 0;

fail:
	vfio_dev_close(dev);
	return ret;
}

void vfio_dev_close(struct vfio_dev *dev)
{
	/* Device first: the group cannot leave its container while in use. */
	if (dev->device_fd >= 0)
		close(dev->device_fd);
	if (dev->group_fd >= 0)
		close(dev->group_fd);
	if (dev->container_fd >= 0)
		close(dev->container_fd);
	dev->device_fd = dev->group_fd = dev->container_fd = -1;
}

static int region_offset(const struct vfio_dev *dev, uint32_t index,
			 uint64_t offset, uint64_t *file_offset)
{
	if (index >= VFIO_DEV_MAX_REGIONS || index >= dev->info.num_regions)
		return -EINVAL;
	*file_offset = dev->regions[index].offset + offset;
	return 0;
}

long vfio_region_read(const struct vfio_dev *dev, uint32_t index,
		      uint64_t offset, void *buf, size_t len)
{
	uint64_t pos;
	int ret = region_offset(dev, index, offset, &pos);
	ssize_t n;

	if (ret < 0)
		return ret;
	n = pread(dev->device_fd, buf, len, (off_t)pos);
	return n < 0 ? -errno : n;
}

long vfio_region_write(const struct vfio_dev *dev, uint32_t index,
		       uint64_t offset, const void *buf, size_t len)
{
	uint64_t pos;
	int ret = region_offset(dev, index, offset, &pos);
	ssize_t n;

	if (ret < 0)
		return ret;
	n = pwrite(dev->device_fd, buf, len, (off_t)pos);
	return n < 0 ? -errno : n;
}

int vfio_region_read32(const struct vfio_dev *dev, uint32_t index,
		       uint64_t offset, uint32_t *value)
{
	long n = vfio_region_read(dev, index, offset, value, sizeof(*value));

	if (n < 0)
		return (int)n;
	return n == sizeof(*value) ? 0 : -EIO;
}

int vfio_region_write32(const struct vfio_dev *dev, uint32_t index,
			uint64_t offset, uint32_t value)
{
	long n = vfio_region_write(dev, index, offset, &value, sizeof(value));

	if (n < 0)
		return (int)n;
	return n == sizeof(value) ? 0 : -EIO;
}

int vfio_config_set_command_bits(const struct vfio_dev *dev, uint16_t bits)
{
	uint16_t command;
	long n = vfio_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				  PCI_COMMAND, &command, sizeof(command));

	if (n < 0)
		return (int)n;
	if (n != sizeof(command))
		return -EIO;
	command |= bits;
	n = vfio_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND,
			      &command, sizeof(command));
	if (n < 0)
		return (int)n;
	return n == sizeof(command) ? 0 : -EIO;
}

int vfio_dma_map(int container_fd, void *vaddr, uint64_t iova, uint64_t size,
		 uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container_fd, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
}

long vfio_dma_unmap(int container_fd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return -errno;
	return (long)unmap.size;
}
