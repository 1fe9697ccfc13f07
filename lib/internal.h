/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfmig internals shared by its source files.  Nothing here is exported.
 *
 * Locking: dev->lock serialises the calls on one handle and protects every
 * field below it in struct vfmig_device; public functions take it and call
 * the *_locked helpers.  dev->msg_lock protects only the message, so that
 * a failing data transfer running outside dev->lock can still set it.
 * A container shared by several handles has its own lock for its group
 * list and reference count.  Lock order: dev->lock, then container->lock,
 * then dev->msg_lock.
 */
#ifndef VFMIG_INTERNAL_H
#define VFMIG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vfio_pci_mediate.h>

#include "sysfs_attr.h"
#include "vfmig.h"

struct vfmig_group {
	int id;
	int fd;
	unsigned int refs;		/* handles using the group */
	struct vfmig_group *next;
};

struct vfmig_container {
	int fd;
	pthread_mutex_t lock;		/* protects refs, groups, iommu_set */
	unsigned int refs;		/* handles using the container */
	bool iommu_set;			/* VFIO_SET_IOMMU done */
	struct vfmig_group *groups;
};

/* The last VFIO_DEVICE_GET_REGION_INFO answer for one region index. */
struct vfmig_region_cache {
	void *buf;			/* struct vfio_region_info + caps */
	size_t len;			/* bytes valid in buf (argsz) */
	struct vfmig_sparse_area *areas;
	uint32_t nr_areas;
	uint16_t cap_ids[VFMIG_MAX_CAPS];
	uint32_t nr_caps;
};

/* One mmap of part of a region. */
struct vfmig_map {
	void *addr;
	uint64_t offset;		/* within the region */
	uint64_t size;
};

#define VFMIG_NR_BARS 6
#define VFMIG_MAX_MAPS 16		/* mmapped areas per region we keep */

struct vfmig_region_maps {
	bool tried;			/* mapping attempted (maybe none) */
	uint32_t nr;
	struct vfmig_map maps[VFMIG_MAX_MAPS];
};

struct vfmig_dma_alloc {
	void *vaddr;
	uint64_t iova;
	size_t size;
	struct vfmig_dma_alloc *next;
};

struct vfmig_v1_region {
	bool ready;			/* vfmig_v1_setup() done */
	enum vfmig_v1_access access;
	uint32_t index;
	uint64_t size;
	uint64_t fd_offset;
	struct vfmig_region_maps maps;	/* mmapped parts (AUTO, MMAP) */
};

/* One trappable range of a device whose traps the handle follows. */
struct vfmig_trap_range {
	uint32_t bar;
	uint64_t offset;		/* in the BAR */
	uint64_t size;
	uint64_t fd_offset;		/* of its first byte in the device fd */
	void *map;			/* our mmap of it while untrapped */
};

/*
 * Dynamic-trap following (trap.c).  Set up once by vfmig_trap_follow();
 * the geometry (@nr, each range's bar/offset/size/fd_offset) is constant
 * from then on.  @lock protects the maps and @generation: accesses through
 * a map hold it for read across the access, so that the handler, which
 * takes it for write, can take a map away knowing no access through it is
 * in flight.  Writers are preferred, so that a busy accessor cannot starve
 * the handler past the kernel's acknowledgement timeout.  It is never held
 * across a call that may wait for the kernel's trap (so never with
 * dev->lock taken after it).
 */
struct vfmig_trap {
	_Atomic bool enabled;
	int efd;			/* the eventfd the kernel signals */
	uint32_t irq_index;
	uint64_t region_fd_offset;	/* the trap region in the device fd */
	pthread_rwlock_t lock;
	uint64_t generation;		/* the last one followed and acked */
	uint64_t handled;		/* changes followed */
	_Atomic uint64_t mmap_accesses;
	_Atomic uint64_t rw_accesses;
	uint32_t nr;
	struct vfmig_trap_range ranges[VFIO_PCI_MEDIATE_TRAP_MAX_RANGES];
};

struct vfmig_device {
	char bdf[VFMIG_BDF_LEN];
	int group_id;
	struct vfmig_container *container;
	struct vfmig_group *group;
	int fd;				/* device fd */
	struct vfmig_device_info info;	/* taken at open, constant */

	pthread_mutex_t msg_lock;	/* protects msg */
	char msg[VFMIG_MSG_LEN];

	pthread_mutex_t lock;		/* protects everything below */
	struct vfmig_region_cache *regions;	/* info.num_regions entries */
	struct vfmig_region_maps bars[VFMIG_NR_BARS];
	bool bar_mmap;
	struct vfmig_dma_alloc *dma_allocs;
	int data_fd;			/* v2 migration data fd, or -1 */
	bool have_mig_flags;
	uint64_t mig_flags;
	struct vfmig_v1_region v1;
	struct vfmig_trap trap;		/* its own lock (see above) */
};

/* --- errors (error.c) --- */

/*
 * Sets the handle's message to "<bdf>: <formatted>" and returns @err (a
 * negative errno), so that "return dev_fail(dev, -EIO, ...)" reads well.
 */
int dev_fail(struct vfmig_device *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for a struct vfmig_error (may be NULL); no prefix added. */
int err_fail(struct vfmig_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends "; <formatted>" to the handle's message. */
void dev_fail_append(struct vfmig_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct vfmig_error *e);

/*
 * vfmig_parse_bdf() of @in into @out; if @in is no PCI address, -EINVAL
 * with a message in @e (may be NULL) saying what to give instead.
 */
int parse_bdf_or_explain(const char *in, char out[VFMIG_BDF_LEN],
			 struct vfmig_error *e);

/* --- dynamic traps (trap.c) --- */

/*
 * A BAR access of @size bytes (1, 2, 4, 8; aligned) at @offset of @bar
 * that lies in a range whose traps the handle follows: done through the
 * range's map if it is untrapped, else by pread/pwrite; 0 or -errno.  1 if
 * the access is not in such a range (the caller does it).
 */
int trap_bar_access(struct vfmig_device *dev, unsigned int bar,
		    uint64_t offset, unsigned int size, uint64_t *val,
		    bool write);
/* Whether [@offset, +@size) of @bar touches a range the handle follows. */
bool trap_overlaps(struct vfmig_device *dev, unsigned int bar,
		   uint64_t offset, uint64_t size);
/* After a call that may have made the device trap: follow what changed. */
void trap_catch_up(struct vfmig_device *dev);
void trap_init(struct vfmig_device *dev);
void trap_cleanup(struct vfmig_device *dev);

/* --- small helpers (util.c) --- */

/* -errno of the last failing libc call (never 0: -EIO if errno is 0). */
int neg_errno(void);
/*
 * VFIO_DEVICE_FEATURE with @flags (GET/SET/PROBE | feature) and @len (at
 * most 64) bytes of payload in and out of @payload.  -errno.
 */
int feature_ioctl(struct vfmig_device *dev, uint32_t flags, void *payload,
		  size_t len);

/* read/write of all @len bytes, retrying EINTR and short transfers. */
int write_all(int fd, const void *buf, size_t len);
/* Bytes read (< @len only at end of file) or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);

/* pread/pwrite of exactly @len bytes as one call; short: -EIO. */
int pread_exact(int fd, void *buf, size_t len, uint64_t off);
int pwrite_exact(int fd, const void *buf, size_t len, uint64_t off);

/*
 * A device register access of @size (1, 2, 4 or 8) bytes, little endian
 * as PCI: through a mapping (mmio_*), or the bytes of one read/write of
 * the device fd (le_*).
 */
uint64_t mmio_load(volatile void *p, unsigned int size);
void mmio_store(volatile void *p, unsigned int size, uint64_t val);
uint64_t le_load(const uint8_t *b, unsigned int size);
void le_store(uint8_t *b, unsigned int size, uint64_t val);

size_t page_size(void);

/* --- regions (region.c) --- */

int region_info_locked(struct vfmig_device *dev, uint32_t index,
		       struct vfmig_region_info *info);
/* Index of the first region with that type capability, or -ENOENT. */
int region_find_locked(struct vfmig_device *dev, uint32_t type,
		       uint32_t subtype);
/* mmaps every area of @index the region offers into @maps. */
int region_map_areas_locked(struct vfmig_device *dev, uint32_t index,
			    struct vfmig_region_maps *maps);
void region_unmap_areas(struct vfmig_region_maps *maps);
void region_cache_free(struct vfmig_device *dev);

/* --- v2 migration (mig_state.c) --- */

/* Closes the handle's data fd, if any. */
void mig_drop_data_fd_locked(struct vfmig_device *dev);

/* --- v1 migration (mig_v1.c) --- */

void v1_cleanup_locked(struct vfmig_device *dev);

/* --- DMA (dma.c) --- */

void dma_free_all_locked(struct vfmig_device *dev);

#endif /* VFMIG_INTERNAL_H */
