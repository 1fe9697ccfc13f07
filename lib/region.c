// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Regions: info with capability chains, read/write, mmap; PCI config space
 * and BAR access built on them.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "internal.h"

/* A capability chain longer than this is taken to be a loop. */
#define MAX_CHAIN 64

static void cache_clear(struct vfmig_region_cache *rc)
{
	free(rc->buf);
	free(rc->areas);
	memset(rc, 0, sizeof(*rc));
}

void region_cache_free(struct vfmig_device *dev)
{
	for (uint32_t i = 0; dev->regions && i < dev->info.num_regions; i++)
		cache_clear(&dev->regions[i]);
	free(dev->regions);
	dev->regions = NULL;
}

/* Walks the chain in rc->buf: ids, and the sparse mmap areas. */
static int parse_caps(struct vfmig_device *dev, uint32_t index,
		      struct vfmig_region_cache *rc)
{
	const struct vfio_region_info *ri = rc->buf;
	const char *base = rc->buf;
	uint32_t off = ri->cap_offset;
	int n = 0;

	if (!(ri->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	while (off) {
		const struct vfio_info_cap_header *h;

		if (off < sizeof(*ri) || off > rc->len - sizeof(*h) ||
		    off % 4 || ++n > MAX_CHAIN)
			return dev_fail(dev, -EPROTO,
					"region %u: malformed capability chain (offset %u of %zu bytes)",
					index, off, rc->len);
		h = (const void *)(base + off);
		if (rc->nr_caps < VFMIG_MAX_CAPS)
			rc->cap_ids[rc->nr_caps] = h->id;
		rc->nr_caps++;
		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && !rc->areas) {
			const struct vfio_region_info_cap_sparse_mmap *sp =
				(const void *)h;
			size_t room = rc->len - off;

			if (room < sizeof(*sp) ||
			    sp->nr_areas > (room - sizeof(*sp)) /
					   sizeof(sp->areas[0]))
				return dev_fail(dev, -EPROTO,
						"region %u: sparse mmap capability claims %u areas, more than its %zu bytes hold",
						index,
						room < sizeof(*sp) ? 0 : sp->nr_areas,
						room);
			/* Zero areas is valid: nothing may be mmapped. */
			rc->areas = calloc(sp->nr_areas ? sp->nr_areas : 1,
					   sizeof(*rc->areas));
			if (!rc->areas)
				return dev_fail(dev, -ENOMEM, "out of memory");
			for (uint32_t i = 0; i < sp->nr_areas; i++) {
				rc->areas[i].offset = sp->areas[i].offset;
				rc->areas[i].size = sp->areas[i].size;
			}
			rc->nr_areas = sp->nr_areas;
		}
		off = h->next;
	}
	if (rc->nr_caps > VFMIG_MAX_CAPS)
		rc->nr_caps = VFMIG_MAX_CAPS;
	return 0;
}

static int query_region_locked(struct vfmig_device *dev, uint32_t index)
{
	struct vfmig_region_cache *rc;
	struct vfio_region_info *ri;
	size_t len = sizeof(*ri);
	int ret;

	if (index >= dev->info.num_regions)
		return dev_fail(dev, -EINVAL,
				"region %u does not exist (the device has %u)",
				index, dev->info.num_regions);
	rc = &dev->regions[index];
	cache_clear(rc);
	for (int tries = 0; ; tries++) {
		ri = calloc(1, len);
		if (!ri)
			return dev_fail(dev, -ENOMEM, "out of memory");
		ri->argsz = (uint32_t)len;
		ri->index = index;
		if (ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) {
			ret = neg_errno();
			free(ri);
			return dev_fail(dev, ret,
					"VFIO_DEVICE_GET_REGION_INFO of region %u: %s",
					index, strerror(-ret));
		}
		/* Capabilities did not fit: ask again with the size given. */
		if (ri->argsz <= len)
			break;
		len = ri->argsz;
		free(ri);
		if (tries > 4 || len > (1u << 20))
			return dev_fail(dev, -EPROTO,
					"region %u: the driver keeps asking for a larger info buffer (%zu bytes)",
					index, len);
	}
	rc->buf = ri;
	rc->len = len;
	ret = parse_caps(dev, index, rc);
	if (ret)
		cache_clear(rc);
	return ret;
}

/* Capability @id in a chain parse_caps() accepted, and its length. */
static const struct vfio_info_cap_header *
find_cap(const struct vfmig_region_cache *rc, uint16_t id, size_t *len)
{
	const struct vfio_region_info *ri = rc->buf;
	uint32_t off;

	off = (ri->flags & VFIO_REGION_INFO_FLAG_CAPS) ? ri->cap_offset : 0;
	while (off) {
		const struct vfio_info_cap_header *h =
			(const void *)((const char *)rc->buf + off);

		if (h->id == id) {
			*len = (h->next > off ? h->next : rc->len) - off;
			return h;
		}
		off = h->next;
	}
	return NULL;
}

int region_info_locked(struct vfmig_device *dev, uint32_t index,
		       struct vfmig_region_info *info)
{
	const struct vfio_info_cap_header *cap;
	const struct vfmig_region_cache *rc;
	const struct vfio_region_info *ri;
	size_t len;
	int ret;

	ret = query_region_locked(dev, index);
	if (ret)
		return ret;
	rc = &dev->regions[index];
	ri = rc->buf;
	memset(info, 0, sizeof(*info));
	info->index = index;
	info->flags = ri->flags;
	info->size = ri->size;
	info->offset = ri->offset;
	info->nr_caps = rc->nr_caps;
	info->cap_ids = rc->cap_ids;
	info->has_sparse = rc->areas != NULL;
	info->nr_areas = rc->nr_areas;
	info->areas = rc->areas;
	cap = find_cap(rc, VFIO_REGION_INFO_CAP_TYPE, &len);
	if (cap && len >= sizeof(struct vfio_region_info_cap_type)) {
		const struct vfio_region_info_cap_type *t = (const void *)cap;

		info->has_type = true;
		info->type = t->type;
		info->subtype = t->subtype;
	}
	return 0;
}

VFMIG_EXPORT int vfmig_region_info(struct vfmig_device *dev, uint32_t index,
				   struct vfmig_region_info *info)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = region_info_locked(dev, index, info);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_region_cap(struct vfmig_device *dev, uint32_t index,
				  uint16_t cap_id, const void **cap,
				  size_t *len)
{
	const struct vfmig_region_cache *rc;
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if (index >= dev->info.num_regions) {
		ret = dev_fail(dev, -EINVAL,
			       "region %u does not exist (the device has %u)",
			       index, dev->info.num_regions);
		goto out;
	}
	rc = &dev->regions[index];
	if (!rc->buf) {
		ret = query_region_locked(dev, index);
		if (ret)
			goto out;
	}
	*cap = find_cap(rc, cap_id, len);
	if (*cap)
		goto out;
	ret = dev_fail(dev, -ENOENT, "region %u has no capability %u", index,
		       cap_id);
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int region_find_locked(struct vfmig_device *dev, uint32_t type,
		       uint32_t subtype)
{
	struct vfmig_region_info info;

	for (uint32_t i = 0; i < dev->info.num_regions; i++) {
		/* Like QEMU, skip indexes the driver refuses to describe. */
		if (region_info_locked(dev, i, &info))
			continue;
		if (info.has_type && info.type == type &&
		    info.subtype == subtype)
			return (int)i;
	}
	return dev_fail(dev, -ENOENT,
			"no region of type %u subtype %u among the device's %u regions",
			type, subtype, dev->info.num_regions);
}

VFMIG_EXPORT int vfmig_region_find(struct vfmig_device *dev, uint32_t type,
				   uint32_t subtype)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = region_find_locked(dev, type, subtype);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* The fd offset of @index; info queried on first use. */
static int region_offset_locked(struct vfmig_device *dev, uint32_t index,
				uint64_t *offset, uint64_t *size)
{
	const struct vfio_region_info *ri;
	int ret;

	if (index >= dev->info.num_regions)
		return dev_fail(dev, -EINVAL,
				"region %u does not exist (the device has %u)",
				index, dev->info.num_regions);
	if (!dev->regions[index].buf) {
		ret = query_region_locked(dev, index);
		if (ret)
			return ret;
	}
	ri = dev->regions[index].buf;
	*offset = ri->offset;
	*size = ri->size;
	return 0;
}

static int region_rw(struct vfmig_device *dev, uint32_t index,
		     uint64_t offset, void *buf, size_t len, bool write)
{
	uint64_t base = 0, size = 0;
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = region_offset_locked(dev, index, &base, &size);
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return ret;
	/* A wrapped fd offset would land in some other region. */
	if (offset > UINT64_MAX - base)
		return dev_fail(dev, -EINVAL,
				"%s of %zu bytes at offset %#llx of region %u: the offset is out of range",
				write ? "write" : "read", len,
				(unsigned long long)offset, index);
	ret = write ? pwrite_exact(dev->fd, buf, len, base + offset) :
		      pread_exact(dev->fd, buf, len, base + offset);
	if (ret)
		return dev_fail(dev, ret,
				"%s of %zu bytes at offset %#llx of region %u (size %#llx): %s",
				write ? "write" : "read", len,
				(unsigned long long)offset, index,
				(unsigned long long)size,
				ret == -EIO ? "short transfer or I/O error" :
				strerror(-ret));
	return 0;
}

VFMIG_EXPORT int vfmig_region_read(struct vfmig_device *dev, uint32_t index,
				   uint64_t offset, void *buf, size_t len)
{
	return region_rw(dev, index, offset, buf, len, false);
}

VFMIG_EXPORT int vfmig_region_write(struct vfmig_device *dev, uint32_t index,
				    uint64_t offset, const void *buf,
				    size_t len)
{
	return region_rw(dev, index, offset, (void *)buf, len, true);
}

static int region_mmap_locked(struct vfmig_device *dev, uint32_t index,
			      uint64_t offset, size_t len, int prot,
			      void **addr)
{
	uint64_t base = 0, size = 0;
	void *p;
	int ret;

	ret = region_offset_locked(dev, index, &base, &size);
	if (ret)
		return ret;
	if (!len || offset > size || len > size - offset)
		return dev_fail(dev, -EINVAL,
				"mmap of %zu bytes at %#llx of region %u: outside its %#llx bytes",
				len, (unsigned long long)offset, index,
				(unsigned long long)size);
	if (base + offset > (uint64_t)INT64_MAX)
		return dev_fail(dev, -EINVAL,
				"mmap at %#llx of region %u: the fd offset is out of range",
				(unsigned long long)offset, index);
	p = mmap(NULL, len, prot, MAP_SHARED, dev->fd, (off_t)(base + offset));
	if (p == MAP_FAILED) {
		ret = neg_errno();
		return dev_fail(dev, ret,
				"mmap of %zu bytes at %#llx of region %u: %s%s",
				len, (unsigned long long)offset, index,
				strerror(-ret),
				ret == -EINVAL ? " (the range is not offered for mmap, or not page aligned)" : "");
	}
	*addr = p;
	return 0;
}

VFMIG_EXPORT int vfmig_region_mmap(struct vfmig_device *dev, uint32_t index,
				   uint64_t offset, size_t len, int prot,
				   void **addr)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = region_mmap_locked(dev, index, offset, len, prot, addr);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int region_map_areas_locked(struct vfmig_device *dev, uint32_t index,
			    struct vfmig_region_maps *maps)
{
	struct vfmig_sparse_area whole;
	const struct vfmig_sparse_area *areas;
	struct vfmig_region_info info;
	uint32_t nr;
	int ret;

	maps->tried = true;
	ret = region_info_locked(dev, index, &info);
	if (ret)
		return ret;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	if (info.has_sparse) {
		areas = info.areas;
		nr = info.nr_areas;
	} else {
		/* No sparse capability: the whole region may be mmapped. */
		whole.offset = 0;
		whole.size = info.size;
		areas = &whole;
		nr = 1;
	}
	for (uint32_t i = 0; i < nr && maps->nr < VFMIG_MAX_MAPS; i++) {
		struct vfmig_map *m = &maps->maps[maps->nr];
		int prot = 0;

		if (!areas[i].size)
			continue;
		/* Ranges whose traps we follow have maps of their own. */
		if (index < VFMIG_NR_BARS &&
		    trap_overlaps(dev, index, areas[i].offset, areas[i].size))
			continue;
		if (info.flags & VFIO_REGION_INFO_FLAG_READ)
			prot |= PROT_READ;
		if (info.flags & VFIO_REGION_INFO_FLAG_WRITE)
			prot |= PROT_WRITE;
		ret = region_mmap_locked(dev, index, areas[i].offset,
					 areas[i].size, prot, &m->addr);
		if (ret) {
			region_unmap_areas(maps);
			maps->tried = true;
			return ret;
		}
		m->offset = areas[i].offset;
		m->size = areas[i].size;
		maps->nr++;
	}
	return 0;
}

void region_unmap_areas(struct vfmig_region_maps *maps)
{
	for (uint32_t i = 0; i < maps->nr; i++)
		munmap(maps->maps[i].addr, maps->maps[i].size);
	memset(maps, 0, sizeof(*maps));
}

/* --- config space --- */

static bool valid_size(unsigned int size, unsigned int max)
{
	return size == 1 || size == 2 || size == 4 || (size == 8 && max >= 8);
}

VFMIG_EXPORT int vfmig_config_read(struct vfmig_device *dev, uint32_t offset,
				   unsigned int size, uint32_t *val)
{
	uint8_t b[4] = { 0 };
	int ret;

	if (!valid_size(size, 4))
		return dev_fail(dev, -EINVAL,
				"config read of %u bytes: give 1, 2 or 4", size);
	ret = vfmig_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, offset, b,
				size);
	if (ret)
		return ret;
	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
	return 0;
}

VFMIG_EXPORT int vfmig_config_write(struct vfmig_device *dev, uint32_t offset,
				    unsigned int size, uint32_t val)
{
	uint8_t b[4] = { val, val >> 8, val >> 16, val >> 24 };

	if (!valid_size(size, 4))
		return dev_fail(dev, -EINVAL,
				"config write of %u bytes: give 1, 2 or 4", size);
	return vfmig_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, offset, b,
				  size);
}

VFMIG_EXPORT int vfmig_enable_mem_and_dma(struct vfmig_device *dev)
{
	uint32_t cmd;
	int ret;

	ret = vfmig_config_read(dev, PCI_COMMAND, 2, &cmd);
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return vfmig_config_write(dev, PCI_COMMAND, 2, cmd);
}

/* --- BARs --- */

/* The mmapped address of [@offset, +@size) of BAR @bar, or NULL. */
static volatile void *bar_ptr_locked(struct vfmig_device *dev,
				     unsigned int bar, uint64_t offset,
				     unsigned int size)
{
	struct vfmig_region_maps *maps = &dev->bars[bar];

	if (!dev->bar_mmap)
		return NULL;
	/* Failing to mmap is not an error: pread/pwrite still work. */
	if (!maps->tried)
		region_map_areas_locked(dev, bar, maps);
	for (uint32_t i = 0; i < maps->nr; i++) {
		const struct vfmig_map *m = &maps->maps[i];

		if (offset >= m->offset && offset - m->offset < m->size &&
		    size <= m->size - (offset - m->offset))
			return (char *)m->addr + (offset - m->offset);
	}
	return NULL;
}

static int bar_check(struct vfmig_device *dev, unsigned int bar,
		     uint64_t offset, unsigned int size)
{
	if (bar >= VFMIG_NR_BARS)
		return dev_fail(dev, -EINVAL, "BAR %u: there are BARs 0 to 5",
				bar);
	if (!valid_size(size, 8) || offset % size)
		return dev_fail(dev, -EINVAL,
				"BAR%u access of %u bytes at %#llx: give 1, 2, 4 or 8 bytes, naturally aligned",
				bar, size, (unsigned long long)offset);
	return 0;
}

VFMIG_EXPORT int vfmig_bar_read(struct vfmig_device *dev, unsigned int bar,
				uint64_t offset, unsigned int size,
				uint64_t *val)
{
	volatile void *p;
	uint64_t v = 0;
	int ret;

	ret = bar_check(dev, bar, offset, size);
	if (ret)
		return ret;
	ret = trap_bar_access(dev, bar, offset, size, val, false);
	if (ret <= 0)
		return ret;
	pthread_mutex_lock(&dev->lock);
	p = bar_ptr_locked(dev, bar, offset, size);
	if (p)
		v = mmio_load(p, size);
	pthread_mutex_unlock(&dev->lock);
	if (!p) {
		uint8_t b[8];

		ret = vfmig_region_read(dev, bar, offset, b, size);
		if (ret)
			return ret;
		v = le_load(b, size);
	}
	*val = v;
	return 0;
}

VFMIG_EXPORT int vfmig_bar_write(struct vfmig_device *dev, unsigned int bar,
				 uint64_t offset, unsigned int size,
				 uint64_t val)
{
	volatile void *p;
	int ret;

	ret = bar_check(dev, bar, offset, size);
	if (ret)
		return ret;
	ret = trap_bar_access(dev, bar, offset, size, &val, true);
	if (ret <= 0)
		return ret;
	pthread_mutex_lock(&dev->lock);
	p = bar_ptr_locked(dev, bar, offset, size);
	if (p)
		mmio_store(p, size, val);
	pthread_mutex_unlock(&dev->lock);
	if (!p) {
		uint8_t b[8];

		le_store(b, size, val);
		return vfmig_region_write(dev, bar, offset, b, size);
	}
	return 0;
}

VFMIG_EXPORT void vfmig_bar_use_mmap(struct vfmig_device *dev, bool enable)
{
	pthread_mutex_lock(&dev->lock);
	dev->bar_mmap = enable;
	if (!enable)
		for (int i = 0; i < VFMIG_NR_BARS; i++)
			region_unmap_areas(&dev->bars[i]);
	pthread_mutex_unlock(&dev->lock);
}
