// SPDX-License-Identifier: LGPL-2.1-or-later
/* DMA mappings in the container's type1 IOMMU. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "internal.h"

static bool page_aligned(uint64_t v)
{
	return !(v & (page_size() - 1));
}

static int dma_map_locked(struct vfmig_device *dev, void *vaddr,
			  uint64_t iova, uint64_t size, unsigned int flags)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	int ret;

	if (!size || !page_aligned((uintptr_t)vaddr) || !page_aligned(iova) ||
	    !page_aligned(size))
		return dev_fail(dev, -EINVAL,
				"DMA map of %#llx bytes at iova %#llx from %p: address, iova and size must be page aligned and size nonzero",
				(unsigned long long)size,
				(unsigned long long)iova, vaddr);
	if (!flags)
		flags = VFMIG_DMA_READ | VFMIG_DMA_WRITE;
	if (flags & VFMIG_DMA_READ)
		map.flags |= VFIO_DMA_MAP_FLAG_READ;
	if (flags & VFMIG_DMA_WRITE)
		map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)vaddr;
	map.iova = iova;
	map.size = size;
	if (ioctl(dev->container->fd, VFIO_IOMMU_MAP_DMA, &map)) {
		ret = neg_errno();
		return dev_fail(dev, ret,
				"VFIO_IOMMU_MAP_DMA of %#llx bytes at iova %#llx: %s%s",
				(unsigned long long)size,
				(unsigned long long)iova, strerror(-ret),
				ret == -EEXIST ? " (the iova range overlaps an existing mapping)" :
				ret == -ENOSPC ? " (too many mappings: see vfio_iommu_type1 dma_entry_limit)" :
				ret == -ENOMEM ? " (cannot pin the memory: raise RLIMIT_MEMLOCK, ulimit -l)" : "");
	}
	return 0;
}

static int dma_unmap_locked(struct vfmig_device *dev, uint64_t iova,
			    uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	int ret;

	unmap.iova = iova;
	unmap.size = size;
	if (ioctl(dev->container->fd, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
		ret = neg_errno();
		return dev_fail(dev, ret,
				"VFIO_IOMMU_UNMAP_DMA of %#llx bytes at iova %#llx: %s",
				(unsigned long long)size,
				(unsigned long long)iova, strerror(-ret));
	}
	if (unmap.size != size)
		return dev_fail(dev, -ENOENT,
				"VFIO_IOMMU_UNMAP_DMA at iova %#llx unmapped %#llx of %#llx bytes: unmap exactly what was mapped",
				(unsigned long long)iova,
				(unsigned long long)unmap.size,
				(unsigned long long)size);
	return 0;
}

VFMIG_EXPORT int vfmig_dma_map(struct vfmig_device *dev, void *vaddr,
			       uint64_t iova, uint64_t size, unsigned int flags)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = dma_map_locked(dev, vaddr, iova, size, flags);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_dma_unmap(struct vfmig_device *dev, uint64_t iova,
				 uint64_t size)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = dma_unmap_locked(dev, iova, size);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_dma_alloc(struct vfmig_device *dev, uint64_t iova,
				 size_t size, void **vaddr)
{
	size_t ps = page_size();
	struct vfmig_dma_alloc *a;
	void *mem;
	int ret;

	if (!size || size > SIZE_MAX - ps)
		return dev_fail(dev, -EINVAL, "DMA allocation of %zu bytes",
				size);
	size = (size + ps - 1) & ~(ps - 1);
	a = calloc(1, sizeof(*a));
	if (!a)
		return dev_fail(dev, -ENOMEM, "out of memory");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		ret = neg_errno();
		free(a);
		return dev_fail(dev, ret, "mmap of %zu bytes for DMA: %s",
				size, strerror(-ret));
	}
	pthread_mutex_lock(&dev->lock);
	ret = dma_map_locked(dev, mem, iova, size,
			     VFMIG_DMA_READ | VFMIG_DMA_WRITE);
	if (!ret) {
		a->vaddr = mem;
		a->iova = iova;
		a->size = size;
		a->next = dev->dma_allocs;
		dev->dma_allocs = a;
	}
	pthread_mutex_unlock(&dev->lock);
	if (ret) {
		munmap(mem, size);
		free(a);
		return ret;
	}
	*vaddr = mem;
	return 0;
}

VFMIG_EXPORT int vfmig_dma_free(struct vfmig_device *dev, void *vaddr)
{
	struct vfmig_dma_alloc **pp, *a;
	int ret;

	pthread_mutex_lock(&dev->lock);
	for (pp = &dev->dma_allocs; *pp; pp = &(*pp)->next)
		if ((*pp)->vaddr == vaddr)
			break;
	a = *pp;
	if (!a) {
		pthread_mutex_unlock(&dev->lock);
		return dev_fail(dev, -ENOENT,
				"vfmig_dma_free(%p): not memory from vfmig_dma_alloc() on this handle",
				vaddr);
	}
	ret = dma_unmap_locked(dev, a->iova, a->size);
	if (!ret) {
		*pp = a->next;
		munmap(a->vaddr, a->size);
		free(a);
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void dma_free_all_locked(struct vfmig_device *dev)
{
	struct vfmig_dma_alloc *a, *next;

	for (a = dev->dma_allocs; a; a = next) {
		next = a->next;
		dma_unmap_locked(dev, a->iova, a->size);
		munmap(a->vaddr, a->size);
		free(a);
	}
	dev->dma_allocs = NULL;
}
