/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfmig: open a PCI device through VFIO and migrate its state.
 *
 * Generic VFIO: nothing here knows any particular device.  A device is
 * opened by its PCI address (BDF) through its IOMMU group and a type1v2
 * container; the library then offers DMA mapping, region and BAR access,
 * reset, the v2 migration uAPI (VFIO_DEVICE_FEATURE_MIGRATION and friends,
 * including the PRE_COPY states and MIG_DATA_SIZE of kernels after 6.1) and
 * the v1 migration region driven exactly as QEMU 7.2 drives it.
 *
 * Conventions
 *  - Every function returning int gives 0 (or a documented non-negative
 *    value) on success and a negative errno on failure.  It then also
 *    leaves a message a person can act on in the handle, read with
 *    vfmig_strerror().  Functions without a handle take a
 *    struct vfmig_error * (may be NULL) that receives the errno and the
 *    message.
 *  - No global state: everything lives in the handle.  One handle may be
 *    used from several threads; calls on it are serialised by a lock in
 *    the handle, except the v2 data transfers (vfmig_mig_read/write and
 *    vfmig_mig_save_data/load_data), which run on a private dup of the
 *    data fd without the lock, so that a state change from another thread
 *    can interrupt them (they then fail as the driver says).  Accesses to
 *    the v1 data section hold the lock (a state change waits for them).
 *    Whole saves and loads are sequences of such calls, not one atomic
 *    step.  vfmig_close() must not race with other calls on the handle.
 *    The message of a handle shared by threads is best read with
 *    vfmig_strerror_r().
 *  - Values of enum vfmig_state, the VFMIG_MIG_* flags and the v1 state
 *    bits equal those of the kernel uAPI (<linux/vfio.h> and later), so
 *    they can be passed to raw ioctls unchanged.  This header itself needs
 *    only the C library's headers.
 */
#ifndef VFMIG_H
#define VFMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VFMIG_EXPORT
#define VFMIG_EXPORT __attribute__((visibility("default")))
#endif

/* ----------------------------------------------------------------------
 * Errors
 */

#define VFMIG_MSG_LEN 512

/* For calls that have no handle (open, sysfs helpers). */
struct vfmig_error {
	int err;			/* negative errno, 0 if none */
	char msg[VFMIG_MSG_LEN];	/* "" if none */
};

struct vfmig_device;

/*
 * The message of the last failing call on @dev ("" if none).  The pointer
 * stays valid until @dev is closed; its content changes with the next
 * failing call on @dev, from any thread.
 */
VFMIG_EXPORT const char *vfmig_strerror(const struct vfmig_device *dev);

/* Copies the message into @buf (NUL terminated, truncated); returns @buf. */
VFMIG_EXPORT char *vfmig_strerror_r(const struct vfmig_device *dev,
				    char *buf, size_t len);

/* ----------------------------------------------------------------------
 * Opening devices
 */

#define VFMIG_BDF_LEN 32	/* "0000:00:03.0" and NUL, with room */

/*
 * Opens the PCI device @bdf ("0000:00:03.0", or "00:03.0" for domain 0):
 * finds its IOMMU group in sysfs, opens /dev/vfio/vfio and checks the API
 * version and type1v2 support, opens /dev/vfio/<group>, checks the group
 * is viable (every device of the group bound to a vfio driver or none),
 * sets the container and the type1v2 IOMMU, and gets the device fd.
 * Errors: -ENOENT no such device or no IOMMU group (IOMMU off?), -EBUSY
 * the device or group is already open (by a VMM, say), -EPERM/-EACCES not
 * allowed, -ENODEV group not viable or device not bound to a VFIO driver,
 * -ENOTSUP no type1v2 IOMMU.  @err gets the message.
 */
VFMIG_EXPORT int vfmig_open(const char *bdf, struct vfmig_device **devp,
			    struct vfmig_error *err);

/*
 * As vfmig_open(), but puts the device into the container of @peer (an
 * open handle): DMA mappings made through either handle then apply to
 * both.  If @bdf is in @peer's IOMMU group, the group is shared too.
 * Handles sharing a container may be closed in any order.
 */
VFMIG_EXPORT int vfmig_open_shared(const char *bdf, struct vfmig_device *peer,
				   struct vfmig_device **devp,
				   struct vfmig_error *err);

/*
 * Releases everything the handle holds: mmaps, the v1 data mmap, the
 * migration data fd, the device fd, and the group and container unless
 * shared with a handle still open.  NULL is ignored.  DMA mappings go with
 * the container; memory from vfmig_dma_alloc() that is still mapped is
 * freed.
 */
VFMIG_EXPORT void vfmig_close(struct vfmig_device *dev);

/* The normalised BDF, "0000:00:03.0". */
VFMIG_EXPORT const char *vfmig_bdf(const struct vfmig_device *dev);
/* The IOMMU group number. */
VFMIG_EXPORT int vfmig_group_id(const struct vfmig_device *dev);
/* Raw fds, still owned by the handle (for ioctls the library lacks). */
VFMIG_EXPORT int vfmig_device_fd(const struct vfmig_device *dev);
VFMIG_EXPORT int vfmig_container_fd(const struct vfmig_device *dev);

/* VFIO_DEVICE_GET_INFO, taken at open. */
struct vfmig_device_info {
	uint32_t flags;		/* VFIO_DEVICE_FLAGS_* (PCI, RESET, ...) */
	uint32_t num_regions;
	uint32_t num_irqs;
};

VFMIG_EXPORT int vfmig_device_info(struct vfmig_device *dev,
				   struct vfmig_device_info *info);

/* ----------------------------------------------------------------------
 * Reset
 */

/* VFIO_DEVICE_FLAGS_RESET: true if VFIO_DEVICE_RESET is offered. */
VFMIG_EXPORT bool vfmig_reset_supported(const struct vfmig_device *dev);

/*
 * VFIO_DEVICE_RESET.  Also the way out of the v2 ERROR state and the v1
 * error state (the v2 state becomes RUNNING, the v1 state RUNNING).  The
 * handle's migration data fd is closed.  -ENOTTY/-EINVAL if the device
 * has no reset.
 */
VFMIG_EXPORT int vfmig_reset(struct vfmig_device *dev);

/* ----------------------------------------------------------------------
 * DMA (type1 IOMMU of the container)
 */

#define VFMIG_DMA_READ	(1u << 0)	/* device may read the memory */
#define VFMIG_DMA_WRITE	(1u << 1)	/* device may write the memory */

/*
 * VFIO_IOMMU_MAP_DMA of @size bytes at @vaddr to @iova.  All three must be
 * page aligned.  @flags: VFMIG_DMA_READ | VFMIG_DMA_WRITE (0 means both).
 */
VFMIG_EXPORT int vfmig_dma_map(struct vfmig_device *dev, void *vaddr,
			       uint64_t iova, uint64_t size, unsigned int flags);

/* VFIO_IOMMU_UNMAP_DMA of exactly what one or more maps mapped. */
VFMIG_EXPORT int vfmig_dma_unmap(struct vfmig_device *dev, uint64_t iova,
				 uint64_t size);

/*
 * Allocates @size bytes (rounded up to pages) of zeroed anonymous memory
 * and maps it read/write at @iova; *@vaddr gets the memory.  Undo with
 * vfmig_dma_free() (or vfmig_close(), which frees it too).
 */
VFMIG_EXPORT int vfmig_dma_alloc(struct vfmig_device *dev, uint64_t iova,
				 size_t size, void **vaddr);

/* Unmaps and frees memory from vfmig_dma_alloc(). */
VFMIG_EXPORT int vfmig_dma_free(struct vfmig_device *dev, void *vaddr);

/* ----------------------------------------------------------------------
 * DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*): the device's driver
 * reports the pages the device wrote.  -ENOTTY: the device offers none
 * (with vfio-pci-mediate: its mediator cannot report its writes).
 */

/* An IOVA range; the layout of the uAPI's dma_logging_range. */
struct vfmig_range {
	uint64_t iova;
	uint64_t length;
};

/*
 * Starts logging the @nr non-overlapping @ranges, each aligned to
 * *@page_size (a power of two); the driver may raise *@page_size.
 */
VFMIG_EXPORT int vfmig_dma_logging_start(struct vfmig_device *dev,
					 const struct vfmig_range *ranges,
					 uint32_t nr, uint64_t *page_size);
VFMIG_EXPORT int vfmig_dma_logging_stop(struct vfmig_device *dev);
/*
 * Sets bit n of @bitmap (little-endian 64-bit words, length / page_size
 * bits rounded up to a word) for each page [iova + n * page_size, +
 * page_size) written since it was last reported, and forgets those pages.
 * No bit is cleared: zero @bitmap first to see one report alone.
 */
VFMIG_EXPORT int vfmig_dma_logging_report(struct vfmig_device *dev,
					  uint64_t iova, uint64_t length,
					  uint64_t page_size, uint64_t *bitmap);

/* ----------------------------------------------------------------------
 * Regions
 */

/* PCI region indexes (VFIO_PCI_*_REGION_INDEX). */
#define VFMIG_PCI_BAR0		0
#define VFMIG_PCI_BAR5		5
#define VFMIG_PCI_ROM		6
#define VFMIG_PCI_CONFIG	7
#define VFMIG_PCI_VGA		8

/* struct vfmig_region_info.flags: VFIO_REGION_INFO_FLAG_* */
#define VFMIG_REGION_READ	(1u << 0)
#define VFMIG_REGION_WRITE	(1u << 1)
#define VFMIG_REGION_MMAP	(1u << 2)
#define VFMIG_REGION_CAPS	(1u << 3)

/* Capability ids (VFIO_REGION_INFO_CAP_*). */
#define VFMIG_CAP_SPARSE_MMAP	1
#define VFMIG_CAP_TYPE		2
#define VFMIG_CAP_MSIX_MAPPABLE	3
#define VFMIG_CAP_NVLINK2_SSATGT 4
#define VFMIG_CAP_NVLINK2_LNKSPD 5

/* Region type/subtype of the v1 migration region. */
#define VFMIG_REGION_TYPE_MIGRATION	3
#define VFMIG_REGION_SUBTYPE_MIGRATION	1

struct vfmig_sparse_area {
	uint64_t offset;	/* within the region */
	uint64_t size;
};

#define VFMIG_MAX_CAPS 16

/*
 * VFIO_DEVICE_GET_REGION_INFO with its capability chain (argsz grown as
 * the driver asks), queried anew on every call.  The pointers (@areas,
 * @cap_ids, and those from vfmig_region_cap()) point into the handle and
 * stay valid until the region is queried again (vfmig_region_info() or
 * vfmig_region_find() on the handle, the first BAR access, vfmig_v1_setup())
 * or vfmig_close(); copy what must live longer.
 */
struct vfmig_region_info {
	uint32_t index;
	uint32_t flags;		/* VFMIG_REGION_* */
	uint64_t size;		/* 0: the region does not exist */
	uint64_t offset;	/* of the region in the device fd */
	bool has_type;		/* a VFMIG_CAP_TYPE capability */
	uint32_t type;
	uint32_t subtype;
	bool has_sparse;	/* a VFMIG_CAP_SPARSE_MMAP capability */
	uint32_t nr_areas;	/* its areas (0 areas: nothing mmappable) */
	const struct vfmig_sparse_area *areas;
	uint32_t nr_caps;	/* ids of all capabilities, chain order */
	const uint16_t *cap_ids;	/* at most VFMIG_MAX_CAPS listed */
};

VFMIG_EXPORT int vfmig_region_info(struct vfmig_device *dev, uint32_t index,
				   struct vfmig_region_info *info);

/*
 * The raw capability @cap_id of region @index (from the last
 * vfmig_region_info() of that index, queried now if there was none):
 * *@cap points at its struct vfio_info_cap_header, *@len gets the bytes
 * up to the next capability or the end.  -ENOENT if absent.
 */
VFMIG_EXPORT int vfmig_region_cap(struct vfmig_device *dev, uint32_t index,
				  uint16_t cap_id, const void **cap,
				  size_t *len);

/*
 * The index of the first region, over all num_regions of the device
 * (as QEMU looks), with a type capability of @type/@subtype; -ENOENT if
 * none.
 */
VFMIG_EXPORT int vfmig_region_find(struct vfmig_device *dev, uint32_t type,
				   uint32_t subtype);

/*
 * pread/pwrite of exactly @len bytes at @offset of region @index, as one
 * system call (the driver sees the access size); a short transfer is
 * -EIO.
 */
VFMIG_EXPORT int vfmig_region_read(struct vfmig_device *dev, uint32_t index,
				   uint64_t offset, void *buf, size_t len);
VFMIG_EXPORT int vfmig_region_write(struct vfmig_device *dev, uint32_t index,
				    uint64_t offset, const void *buf,
				    size_t len);

/*
 * mmap of @len bytes at @offset of region @index (page aligned; must lie
 * in an area the region offers for mmap).  PROT_* in @prot, MAP_SHARED.
 * The caller munmap()s it (before vfmig_close()).
 */
VFMIG_EXPORT int vfmig_region_mmap(struct vfmig_device *dev, uint32_t index,
				   uint64_t offset, size_t len, int prot,
				   void **addr);

/* ----------------------------------------------------------------------
 * PCI config space and BARs
 */

/* @size 1, 2 or 4 bytes at @offset of the config region. */
VFMIG_EXPORT int vfmig_config_read(struct vfmig_device *dev, uint32_t offset,
				   unsigned int size, uint32_t *val);
VFMIG_EXPORT int vfmig_config_write(struct vfmig_device *dev, uint32_t offset,
				    unsigned int size, uint32_t val);

/*
 * Sets Memory Space and Bus Master in the command register (without them a
 * device's MMIO and DMA are dropped).
 */
VFMIG_EXPORT int vfmig_enable_mem_and_dma(struct vfmig_device *dev);

/*
 * A @size (1, 2, 4 or 8) byte access at @offset of BAR @bar, naturally
 * aligned.  Goes through an mmap of the BAR when the region offers the
 * page holding @offset for mmap (the mmap is made on first use and kept
 * until close) and BAR mmap is enabled (the default), else through one
 * pread/pwrite of @size bytes.  Little endian, as PCI.
 */
VFMIG_EXPORT int vfmig_bar_read(struct vfmig_device *dev, unsigned int bar,
				uint64_t offset, unsigned int size,
				uint64_t *val);
VFMIG_EXPORT int vfmig_bar_write(struct vfmig_device *dev, unsigned int bar,
				 uint64_t offset, unsigned int size,
				 uint64_t val);

/*
 * Whether vfmig_bar_read/write may use mmap (default true).  Turning it
 * off unmaps what was mapped, so every later access goes to the driver.
 */
VFMIG_EXPORT void vfmig_bar_use_mmap(struct vfmig_device *dev, bool enable);

/* ----------------------------------------------------------------------
 * Dynamic traps (vfio-pci-mediate; <linux/vfio_pci_mediate.h> section 3)
 *
 * A mediator may let a client that follows its traps mmap BAR ranges it
 * otherwise traps.  After vfmig_trap_follow(), vfmig_bar_read/write reach
 * such a range through an mmap while the mediator allows it and through
 * read/write while it traps the range; a mediator's change is followed by
 * vfmig_trap_handle(), which must run whenever *@fd becomes readable.
 * The device waits for it before a trap counts as in force (at most the
 * driver's trap_ack_timeout_ms, after which its mappings are removed and
 * a vfmig_bar_read/write through them would be killed by SIGBUS; the
 * library never makes one, since it follows the change first).  Run it
 * from a thread other than the one that changes migration state or
 * starts DMA logging, or such a change waits out that timeout.  The calls
 * of this library that may make the device trap (vfmig_mig_set_state*,
 * vfmig_dma_logging_start/stop, vfmig_reset) follow any change themselves
 * before they return, so a single-threaded client stays correct.
 */

/*
 * Starts following the device's traps and returns in *@fd the eventfd to
 * poll for POLLIN (owned by the handle: do not close it).  Call before
 * other threads access the BARs.  -EOPNOTSUPP if the device has no
 * trappable range (not vfio-pci-mediate, or its mediator declared none);
 * -EALREADY if the handle follows already.
 */
VFMIG_EXPORT int vfmig_trap_follow(struct vfmig_device *dev, int *fd);

/*
 * Follows the device's latest change: takes maps away from ranges now
 * trapped (waiting for accesses through them to finish), maps ranges now
 * offered, and acknowledges.  Returns 1 if something changed, 0 if not
 * (also when not following), or -errno.  Thread safe.
 */
VFMIG_EXPORT int vfmig_trap_handle(struct vfmig_device *dev);

struct vfmig_trap_stats {
	uint32_t nr_ranges;		/* trappable ranges */
	uint32_t nr_mapped;		/* of them, mmapped now */
	uint64_t generation;		/* the last one followed */
	uint64_t handled;		/* changes followed */
	uint64_t mmap_accesses;		/* BAR accesses in the ranges, by mmap */
	uint64_t rw_accesses;		/* and by read/write */
};

VFMIG_EXPORT int vfmig_trap_stats(struct vfmig_device *dev,
				  struct vfmig_trap_stats *stats);

/* ----------------------------------------------------------------------
 * Interrupts
 */

struct vfmig_irq_info {
	uint32_t index;		/* VFIO_PCI_*_IRQ_INDEX */
	uint32_t flags;		/* VFIO_IRQ_INFO_* */
	uint32_t count;
};

VFMIG_EXPORT int vfmig_irq_info(struct vfmig_device *dev, uint32_t index,
				struct vfmig_irq_info *info);

/*
 * Triggers vectors @start..@start+@count-1 of IRQ @index through the
 * eventfds @fds (VFIO_IRQ_SET_DATA_EVENTFD | ACTION_TRIGGER); an fd of -1
 * leaves that vector unset.  vfmig_irq_disable() tears the index down.
 */
VFMIG_EXPORT int vfmig_irq_set_eventfds(struct vfmig_device *dev,
					uint32_t index, uint32_t start,
					uint32_t count, const int *fds);
VFMIG_EXPORT int vfmig_irq_disable(struct vfmig_device *dev, uint32_t index);

/* ----------------------------------------------------------------------
 * v2 migration (VFIO_DEVICE_FEATURE_MIGRATION)
 */

/* enum vfio_device_mig_state, with the PRE_COPY states of Linux 6.2+. */
enum vfmig_state {
	VFMIG_STATE_ERROR = 0,
	VFMIG_STATE_STOP = 1,
	VFMIG_STATE_RUNNING = 2,
	VFMIG_STATE_STOP_COPY = 3,
	VFMIG_STATE_RESUMING = 4,
	VFMIG_STATE_RUNNING_P2P = 5,
	VFMIG_STATE_PRE_COPY = 6,
	VFMIG_STATE_PRE_COPY_P2P = 7,
};
#define VFMIG_NR_STATES 8

/* "STOP_COPY" etc.; "?" for an unknown value. */
VFMIG_EXPORT const char *vfmig_state_name(uint32_t state);

/* struct vfio_device_feature_migration.flags */
#define VFMIG_MIG_STOP_COPY	(1ull << 0)
#define VFMIG_MIG_P2P		(1ull << 1)
#define VFMIG_MIG_PRE_COPY	(1ull << 2)

/*
 * VFIO_DEVICE_FEATURE GET MIGRATION: the device's migration flags.
 * -ENOTTY: the device (its driver) has no v2 migration.
 */
VFMIG_EXPORT int vfmig_mig_flags(struct vfmig_device *dev, uint64_t *flags);

/* VFIO_DEVICE_FEATURE GET MIG_DEVICE_STATE. */
VFMIG_EXPORT int vfmig_mig_get_state(struct vfmig_device *dev,
				     enum vfmig_state *state);

/*
 * The next single arc from @cur towards @target for a device with
 * migration @flags, chosen as the kernel's vfio_mig_get_next_state()
 * chooses (shortest path; P2P states when supported; PRE_COPY states of
 * Linux 6.2+), the same table and flag handling as that function.
 * *@next == @target means @cur -> @target is one arc.  -EINVAL: a state
 * the flags do not support, ERROR as @cur or @target, or no path
 * (STOP_COPY -> PRE_COPY or PRE_COPY_P2P).  Pure function, no device
 * needed.
 */
VFMIG_EXPORT int vfmig_mig_next_state(uint64_t flags, enum vfmig_state cur,
				      enum vfmig_state target,
				      enum vfmig_state *next);

/*
 * One VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE to @state as given (the
 * kernel does any combination of arcs itself).  *@data_fd (may be NULL)
 * gets the returned data fd or -1; the caller owns it (the handle's own
 * data fd is left alone).  For tests of the kernel's side.
 */
VFMIG_EXPORT int vfmig_mig_set_state_raw(struct vfmig_device *dev,
					 enum vfmig_state state, int *data_fd);

/*
 * Moves the device to @target one arc at a time along the path of
 * vfmig_mig_next_state() (a SET per arc, so any arc the driver gets wrong
 * shows up as the failing one).  The handle keeps the data fd: a new one
 * returned by an arc replaces (closes) the old; it is closed when the
 * device arrives in a state without a data session (STOP, RUNNING,
 * RUNNING_P2P).  PRE_COPY -> STOP_COPY keeps the pre-copy fd, as the
 * uAPI says.  On failure the device is where the kernel left it (read it
 * with vfmig_mig_get_state()); the message names the failing arc and the
 * state found afterwards.
 */
VFMIG_EXPORT int vfmig_mig_set_state(struct vfmig_device *dev,
				     enum vfmig_state target);

/*
 * QEMU 8+'s policy: vfmig_mig_set_state(@target); if that fails, go to
 * @recover; if that fails too, or the device is in ERROR, reset it.
 * Returns the first error (the device is then in @recover or reset).
 */
VFMIG_EXPORT int vfmig_mig_set_state_recover(struct vfmig_device *dev,
					     enum vfmig_state target,
					     enum vfmig_state recover);

/* The handle's data fd (still owned by it), or -ENOENT if none. */
VFMIG_EXPORT int vfmig_mig_data_fd(struct vfmig_device *dev);

/* The handle's data fd, now owned by the caller; -ENOENT if none. */
VFMIG_EXPORT int vfmig_mig_take_data_fd(struct vfmig_device *dev);

/*
 * VFIO_DEVICE_FEATURE GET MIG_DATA_SIZE: bytes the device would produce
 * in STOP_COPY if stopped now.
 */
VFMIG_EXPORT int vfmig_mig_data_size(struct vfmig_device *dev,
				     uint64_t *stop_copy_length);

/*
 * VFIO_MIG_GET_PRECOPY_INFO on the handle's data fd (device in PRE_COPY or
 * PRE_COPY_P2P): initial bytes not yet read, and dirty bytes since.
 */
VFMIG_EXPORT int vfmig_mig_precopy_info(struct vfmig_device *dev,
					uint64_t *initial_bytes,
					uint64_t *dirty_bytes);

/*
 * One read() of at most @len bytes from the handle's data fd: bytes read,
 * 0 at end of stream, -ENOMSG in PRE_COPY when nothing is available now,
 * or another negative errno (EINTR retried).
 */
VFMIG_EXPORT ssize_t vfmig_mig_read(struct vfmig_device *dev, void *buf,
				    size_t len);

/* write() of all @len bytes to the handle's data fd (RESUMING). */
VFMIG_EXPORT int vfmig_mig_write(struct vfmig_device *dev, const void *buf,
				 size_t len);

#define VFMIG_DEFAULT_CHUNK (1u << 20)

struct vfmig_xfer_options {
	size_t chunk_size;	/* bytes per read/write; 0: 1 MiB */
	bool precopy;		/* save: use PRE_COPY first if the device
				 * has it (initial data, then STOP_COPY) */
	bool run_after;		/* save/load: end in RUNNING, not STOP */
};

/*
 * Reads the handle's data fd in chunks and writes everything to @out_fd
 * until end of stream (0 from read) or, in PRE_COPY, until nothing is
 * available now (-ENOMSG, not an error here).  *@bytes (may be NULL) gets
 * the bytes moved.  @opt may be NULL.
 */
VFMIG_EXPORT int vfmig_mig_save_data(struct vfmig_device *dev, int out_fd,
				     const struct vfmig_xfer_options *opt,
				     uint64_t *bytes);

/*
 * Reads @in_fd in chunks until its end and writes everything to the
 * handle's data fd (RESUMING).
 */
VFMIG_EXPORT int vfmig_mig_load_data(struct vfmig_device *dev, int in_fd,
				     const struct vfmig_xfer_options *opt,
				     uint64_t *bytes);

/*
 * The whole save: (with opt->precopy and a PRE_COPY device: -> PRE_COPY,
 * save the initial data) -> STOP_COPY, read to end of stream into
 * @out_fd, -> STOP (or RUNNING with opt->run_after).  Starts from any of
 * RUNNING, RUNNING_P2P, STOP.
 */
VFMIG_EXPORT int vfmig_mig_save(struct vfmig_device *dev, int out_fd,
				const struct vfmig_xfer_options *opt,
				uint64_t *bytes);

/*
 * The whole load: -> RESUMING, write all of @in_fd, -> STOP (the driver
 * checks the state here) (or RUNNING with opt->run_after).
 */
VFMIG_EXPORT int vfmig_mig_load(struct vfmig_device *dev, int in_fd,
				const struct vfmig_xfer_options *opt,
				uint64_t *bytes);

/* ----------------------------------------------------------------------
 * v1 migration region (type 3, subtype 1), as QEMU 7.2 drives it
 */

/* device_state bits (VFIO_DEVICE_STATE_V1_*). */
#define VFMIG_V1_STOP		0u
#define VFMIG_V1_RUNNING	(1u << 0)
#define VFMIG_V1_SAVING		(1u << 1)
#define VFMIG_V1_RESUMING	(1u << 2)
#define VFMIG_V1_MASK		(VFMIG_V1_RUNNING | VFMIG_V1_SAVING | \
				 VFMIG_V1_RESUMING)
/* RESUMING only with no other bit. */
#define VFMIG_V1_VALID(s) \
	(((s) & VFMIG_V1_RESUMING) ? \
	 ((s) & VFMIG_V1_MASK) == VFMIG_V1_RESUMING : 1)
#define VFMIG_V1_IS_ERROR(s) \
	(((s) & VFMIG_V1_MASK) == (VFMIG_V1_SAVING | VFMIG_V1_RESUMING))

/*
 * Layout of the region's header (struct vfio_device_migration_info of
 * Linux up to 5.17, QEMU 7.2's linux-headers): offsets of the fields.
 */
#define VFMIG_V1_OFF_DEVICE_STATE	0	/* __u32 */
#define VFMIG_V1_OFF_PENDING_BYTES	8	/* __u64 */
#define VFMIG_V1_OFF_DATA_OFFSET	16	/* __u64 */
#define VFMIG_V1_OFF_DATA_SIZE		24	/* __u64 */
#define VFMIG_V1_HEADER_SIZE		32

enum vfmig_v1_access {
	VFMIG_V1_AUTO = 0,	/* as QEMU: mmap what the region offers for
				 * mmap (its sparse areas, else all of it if
				 * MMAP is set); pread/pwrite otherwise */
	VFMIG_V1_PREAD,		/* never mmap (QEMU's x-no-mmap): split
				 * into naturally aligned 8/4/2/1 byte
				 * preads/pwrites */
	VFMIG_V1_MMAP,		/* as AUTO, but setup fails unless the
				 * region offers an mmap */
};

struct vfmig_v1_options {
	enum vfmig_v1_access access;
	unsigned int precopy_rounds;	/* whole save: iterations in
					 * RUNNING|SAVING before stopping,
					 * as QEMU's save_live_iterate (a
					 * round with pending_bytes 0 moves
					 * nothing) */
	size_t chunk_size;	/* whole load: most bytes per data_size
				 * write; 0: as much as the data section
				 * takes */
	bool run_after;		/* whole save/load: end with the write QEMU
				 * makes on VM start (mask ~7, RUNNING);
				 * else save ends in STOP and load in
				 * RESUMING, as QEMU's handlers leave them */
};

/*
 * Finds the v1 region (vfmig_region_find() over all regions), checks it
 * is at least VFMIG_V1_HEADER_SIZE bytes and readable/writable, and mmaps
 * as @opt says (QEMU's save_setup/load_setup).  NULL @opt: defaults.
 * Called again, it first undoes the previous setup.  The step functions
 * below call it with defaults when it was not called.  Returns the region
 * index.  -ENOENT: the device has no v1 region.
 */
VFMIG_EXPORT int vfmig_v1_setup(struct vfmig_device *dev,
				const struct vfmig_v1_options *opt);

/* Undoes vfmig_v1_setup() (QEMU's save_cleanup/load_cleanup: munmap). */
VFMIG_EXPORT void vfmig_v1_cleanup(struct vfmig_device *dev);

/* Region index, size, and whether the data section access uses mmap. */
struct vfmig_v1_info {
	uint32_t index;
	uint64_t size;
	bool mmapped;		/* some part of the region is mmapped */
	uint64_t mmap_offset;	/* the mmapped part (the largest area) */
	uint64_t mmap_size;
};

VFMIG_EXPORT int vfmig_v1_info(struct vfmig_device *dev,
			       struct vfmig_v1_info *info);

/* Reads device_state (4 bytes). */
VFMIG_EXPORT int vfmig_v1_get_state(struct vfmig_device *dev,
				    uint32_t *state);

/*
 * QEMU's vfio_migration_set_state(): reads device_state, computes
 * (old & @mask) | @value, refuses it with -EINVAL (nothing written) unless
 * VFMIG_V1_VALID, writes it (4 bytes).  If the write fails it re-reads the
 * state for the message (QEMU would abort if that read fails or shows the
 * error state; here the error is returned and the message says to reset).
 */
VFMIG_EXPORT int vfmig_v1_set_state(struct vfmig_device *dev, uint32_t mask,
				    uint32_t value);

/* Writes @state to device_state as is, no check (for tests). */
VFMIG_EXPORT int vfmig_v1_write_state(struct vfmig_device *dev,
				      uint32_t state);

/* Reads of the header fields, 8 bytes each, as QEMU does. */
VFMIG_EXPORT int vfmig_v1_read_pending(struct vfmig_device *dev,
				       uint64_t *pending_bytes);
VFMIG_EXPORT int vfmig_v1_read_data_offset(struct vfmig_device *dev,
					   uint64_t *data_offset);
VFMIG_EXPORT int vfmig_v1_read_data_size(struct vfmig_device *dev,
					 uint64_t *data_size);
/* Writes data_size, 8 bytes (resume: the bytes just written). */
VFMIG_EXPORT int vfmig_v1_write_data_size(struct vfmig_device *dev,
					  uint64_t data_size);

/*
 * @len bytes of the region at @offset (a data_offset read before): by
 * memcpy from/to the mmap if the whole range lies in it, else split into
 * naturally aligned 8/4/2/1 byte preads/pwrites as QEMU's vfio_mig_rw().
 * -EINVAL if the range leaves the region.
 */
VFMIG_EXPORT int vfmig_v1_read_data(struct vfmig_device *dev, uint64_t offset,
				    void *buf, size_t len);
VFMIG_EXPORT int vfmig_v1_write_data(struct vfmig_device *dev,
				     uint64_t offset, const void *buf,
				     size_t len);

/* Whether vfmig_v1_read/write_data of this range would use the mmap. */
VFMIG_EXPORT bool vfmig_v1_range_mmapped(struct vfmig_device *dev,
					 uint64_t offset, size_t len);

/*
 * QEMU's vfio_save_buffer(): reads data_offset, then data_size, then
 * data_size bytes of data into @buf.  *@data_size gets the size (0 is
 * valid: nothing this time).  -EMSGSIZE if the chunk exceeds @cap, -EINVAL
 * if it does not fit in the region after data_offset (QEMU fails it too).
 */
VFMIG_EXPORT int vfmig_v1_save_buffer(struct vfmig_device *dev, void *buf,
				      size_t cap, uint64_t *data_size);

/*
 * QEMU's vfio_load_buffer(): until all @len bytes are in, reads
 * data_offset, writes as much as fits (at most @chunk bytes if nonzero)
 * at data_offset, writes data_size.
 */
VFMIG_EXPORT int vfmig_v1_load_buffer(struct vfmig_device *dev,
				      const void *buf, size_t len,
				      size_t chunk);

/*
 * The whole v1 save into @out_fd, QEMU 7.2's source side: mask 7 +
 * SAVING; opt->precopy_rounds of save_live_iterate (pending_bytes, re-read
 * if 0, then a buffer unless still 0) while RUNNING|SAVING; mask ~RUNNING
 * (stop); mask ~RUNNING + SAVING; while pending_bytes > 0 a buffer (stop
 * at a 0-byte one); mask ~SAVING (STOP).  @out_fd receives the data bytes
 * only (the concatenated chunks: the same stream the v2 data fd gives).
 * On failure the device is set as QEMU's failed-migration notifier sets
 * it (mask ~(SAVING|RESUMING) + RUNNING) unless it is in the error state.
 */
VFMIG_EXPORT int vfmig_v1_save(struct vfmig_device *dev, int out_fd,
			       const struct vfmig_v1_options *opt,
			       uint64_t *bytes);

/*
 * The whole v1 load from @in_fd, QEMU 7.2's destination side: mask ~7 +
 * RESUMING, then vfio_load_buffer() of all of @in_fd, read in chunks.
 * The device stays RESUMING (as QEMU leaves it until the VM runs) unless
 * opt->run_after.
 */
VFMIG_EXPORT int vfmig_v1_load(struct vfmig_device *dev, int in_fd,
			       const struct vfmig_v1_options *opt,
			       uint64_t *bytes);

/* ----------------------------------------------------------------------
 * PCI devices in sysfs (no handle, no VFIO open)
 */

#define VFMIG_NAME_LEN 64

struct vfmig_pci_device {
	char bdf[VFMIG_BDF_LEN];
	uint16_t vendor;
	uint16_t device;
	char driver[VFMIG_NAME_LEN];	/* "" if unbound */
	int iommu_group;		/* -1 if none */
	/*
	 * /sys/bus/pci/devices/BDF/mediator (vfio-pci-mediate): "" if the
	 * attribute is absent or empty.
	 */
	bool has_mediator_attr;
	char mediator[VFMIG_NAME_LEN];
	/*
	 * /sys/bus/pci/devices/BDF/migration_protocol: "none", "v1", "v2",
	 * or "unknown" if the attribute is absent.
	 */
	char protocol[16];
};

/* Fills @out for @bdf from sysfs. */
VFMIG_EXPORT int vfmig_pci_describe(const char *bdf,
				    struct vfmig_pci_device *out,
				    struct vfmig_error *err);

/*
 * The devices bound to @driver (e.g. "vfio-pci-mediate"), sorted by BDF,
 * in a malloc()ed array the caller free()s; *@n gets the count (0 and
 * *@devs NULL if none, or if the driver is not loaded).
 */
VFMIG_EXPORT int vfmig_pci_list_driver(const char *driver,
				       struct vfmig_pci_device **devs,
				       size_t *n, struct vfmig_error *err);

/*
 * Binds @bdf to @driver: driver_override = @driver, unbind from the
 * current driver, drivers_probe; checks the device then is on @driver.
 * @old_driver (may be NULL) gets the previous driver ("" if none).
 */
VFMIG_EXPORT int vfmig_pci_bind(const char *bdf, const char *driver,
				char *old_driver, size_t old_len,
				struct vfmig_error *err);

/* Flags of vfmig_pci_bind_flags(). */
enum vfmig_bind_flags {
	/*
	 * Leave no driver_override behind: it is cleared after the probe,
	 * whether the driver took the device or not (then it is left
	 * unbound), and also when the device was on @driver already.  A
	 * device the driver took stays on it, but the next probe chooses
	 * its driver freely again.
	 */
	VFMIG_BIND_TRANSIENT = 1u << 0,
};

/*
 * vfmig_pci_bind() is this with @flags 0.  Here, @driver NULL binds no
 * driver: the device is unbound, its driver_override cleared and no
 * probe asked for, so it stays unbound (vfmig_pci_bind() refuses NULL).
 * Added after 0.1.0: symbol version VFMIG_1.1.
 */
VFMIG_EXPORT int vfmig_pci_bind_flags(const char *bdf, const char *driver,
				      unsigned int flags, char *old_driver,
				      size_t old_len, struct vfmig_error *err);

/*
 * Gives @bdf back to the kernel's choice: clears driver_override, unbinds,
 * drivers_probe.  @old_driver as above; @new_driver (may be NULL) gets the
 * driver now bound ("" if none).
 */
VFMIG_EXPORT int vfmig_pci_unbind(const char *bdf, char *old_driver,
				  size_t old_len, char *new_driver,
				  size_t new_len, struct vfmig_error *err);

/* Normalises "00:03.0" / "0000:00:03.0" into @out; -EINVAL if malformed. */
VFMIG_EXPORT int vfmig_parse_bdf(const char *in, char out[VFMIG_BDF_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* VFMIG_H */
