/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * What userspace sees of vfio-pci-mediate beyond stock VFIO.
 *
 * 0. Only one protocol drives a device's migration at a time: whichever
 *    leaves RUNNING, until the device is back in RUNNING.  Meanwhile the
 *    other one's state changes and data transfers fail with -EBUSY; the v1
 *    region's header answers -EBUSY to reads too (its states cannot show
 *    the v2 P2P states), while v2 GET MIG_DEVICE_STATE and MIG_DATA_SIZE
 *    still answer.
 *
 * 1. Migration uAPI that Linux 6.1's <linux/vfio.h> lacks.  vfio-pci-mediate
 *    implements these with the values later kernels gave them, so a VMM
 *    written against a newer uAPI (QEMU 8+) works unchanged.  Each is
 *    defined here only if <linux/vfio.h> did not already.
 *
 * 2. The migration stream.  Whichever protocol carries it (the v1 migration
 *    region or the v2 data fd), the bytes a source device produces are:
 *
 *	struct vfio_pci_mediate_stream_header
 *	zero or more records, each
 *		struct vfio_pci_mediate_stream_record (type DATA)
 *		followed by record.length bytes of the mediator's state
 *	struct vfio_pci_mediate_stream_record (type END, length 0)
 *	struct vfio_pci_mediate_stream_trailer
 *
 *    All integers little endian.  The destination checks each part as it
 *    arrives and refuses the stream, without the mediator seeing any of it,
 *    with:
 *	-EPROTO		bad magic, unknown record type, nonzero reserved
 *			fields, bytes after the trailer
 *	-EPROTONOSUPPORT unknown format version
 *	-ENODEV		the stream is from another mediator, or another
 *			vendor/device id
 *	-EFBIG		the records add up to more than the mediator's
 *			declared maximum state size
 *	-EBADMSG	trailer length or checksum do not match
 *	-ENODATA	the stream ended (RESUMING left) before the trailer
 *	-ENOMEM		no memory for the state received so far
 *    An error of the destination mediator's own load is returned as it is.
 *    (A v2 data fd whose session has ended gives -ENODEV too; a stream
 *    refused for its identity only happens while the session is on.)
 *    The first refusal of a session sticks: every later write of the
 *    session fails with it, and so does leaving RESUMING, which then puts
 *    the device in ERROR.  VFIO_DEVICE_RESET (or closing the device) makes
 *    it RUNNING and usable again.  Each refused stream is counted in the
 *    device's sysfs attribute migration_refused and logged with dev_warn,
 *    ratelimited per device.
 *
 * 3. Dynamic traps (section 3 below): which BAR ranges the user may mmap
 *    now, and how it learns of a change.
 */
#ifndef _UAPI_LINUX_VFIO_PCI_MEDIATE_H
#define _UAPI_LINUX_VFIO_PCI_MEDIATE_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

/* --- 1. migration uAPI of later kernels ------------------------------- */

#ifndef VFIO_MIGRATION_PRE_COPY
/* struct vfio_device_feature_migration.flags: the PRE_COPY states exist. */
#define VFIO_MIGRATION_PRE_COPY (1 << 2)
/* enum vfio_device_mig_state values after VFIO_DEVICE_STATE_RUNNING_P2P. */
#define VFIO_DEVICE_STATE_PRE_COPY 6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P 7
#endif

#ifndef VFIO_MIG_GET_PRECOPY_INFO
/*
 * ioctl on a saving data fd in PRE_COPY or PRE_COPY_P2P: bytes of initial
 * state not yet read, and bytes of state that changed since (an estimate).
 */
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};

#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
/* GET: bytes the device would produce in STOP_COPY if stopped now. */
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};

#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif

/* --- 2. migration stream --------------------------------------------- */

#define VFIO_PCI_MEDIATE_STREAM_MAGIC 0x4d455056u	/* "VPEM" read as LE */
#define VFIO_PCI_MEDIATE_STREAM_VERSION 1
#define VFIO_PCI_MEDIATE_NAME_LEN 32

/**
 * struct vfio_pci_mediate_stream_header - first bytes of every stream
 * @magic: VFIO_PCI_MEDIATE_STREAM_MAGIC
 * @version: VFIO_PCI_MEDIATE_STREAM_VERSION
 * @header_size: sizeof(struct vfio_pci_mediate_stream_header)
 * @mediator: the source mediator's name, NUL padded; the destination's
 *	mediator must have the same name
 * @vendor: PCI vendor id of the source device
 * @device: PCI device id of the source device
 * @subsystem_vendor: PCI subsystem vendor id (informational)
 * @subsystem_device: PCI subsystem id (informational)
 * @reserved: zero
 */
struct vfio_pci_mediate_stream_header {
	__le32 magic;
	__le16 version;
	__le16 header_size;
	char mediator[VFIO_PCI_MEDIATE_NAME_LEN];
	__le16 vendor;
	__le16 device;
	__le16 subsystem_vendor;
	__le16 subsystem_device;
	__le64 reserved;
};

#define VFIO_PCI_MEDIATE_RECORD_DATA 1
#define VFIO_PCI_MEDIATE_RECORD_END 2

/**
 * struct vfio_pci_mediate_stream_record - introduces a run of state bytes
 * @type: VFIO_PCI_MEDIATE_RECORD_DATA or VFIO_PCI_MEDIATE_RECORD_END
 * @reserved: zero
 * @length: bytes of state that follow (0 for END)
 */
struct vfio_pci_mediate_stream_record {
	__le32 type;
	__le32 reserved;
	__le64 length;
};

/**
 * struct vfio_pci_mediate_stream_trailer - last bytes of every stream
 * @state_length: sum of the lengths of all DATA records
 * @checksum: xxh64 (seed 0) of every byte of the stream before the trailer
 */
struct vfio_pci_mediate_stream_trailer {
	__le64 state_length;
	__le64 checksum;
};

/* --- 3. dynamic traps ------------------------------------------------ */

/*
 * A mediator may declare BAR ranges *trappable*: at times it must see
 * every access to them (e.g. to learn which memory the device's DMA
 * writes during a migration), at others the user may mmap them.  Such a
 * device has
 *
 *  - a region with a VFIO_REGION_INFO_CAP_TYPE of
 *    VFIO_PCI_MEDIATE_REGION_TYPE / VFIO_PCI_MEDIATE_REGION_SUBTYPE_TRAP,
 *    laid out as struct vfio_pci_mediate_trap_info;
 *  - one IRQ index beyond the vfio-pci ones (VFIO_DEVICE_GET_INFO counts
 *    it in num_irqs) whose VFIO_DEVICE_GET_IRQ_INFO, asked with argsz of
 *    at least sizeof(struct vfio_pci_mediate_irq_info), carries a
 *    VFIO_PCI_MEDIATE_IRQ_INFO_CAP_TYPE capability of
 *    VFIO_PCI_MEDIATE_IRQ_TYPE / VFIO_PCI_MEDIATE_IRQ_SUBTYPE_TRAP.
 *
 * A client that never sets an eventfd on that IRQ is *unaware*: the
 * trappable ranges are never offered to it for mmap (the BAR's sparse-mmap
 * capability leaves them out and mmap of them fails with EACCES); it
 * reaches them by read/write, always correct.
 *
 * A client becomes *aware* by setting an eventfd on the IRQ
 * (VFIO_DEVICE_SET_IRQS, DATA_EVENTFD | ACTION_TRIGGER, start 0, count 1);
 * fd -1, or DATA_NONE | ACTION_TRIGGER with count 0, makes it unaware
 * again, which withdraws every mmap of the ranges at once.  Whenever the
 * set of ranges it may mmap changes (and once when the eventfd is set),
 * the generation in the region grows and the eventfd is signalled.  The
 * client then reads the region (one read of the whole region is one
 * consistent snapshot), stops using its mappings of ranges now
 * VFIO_PCI_MEDIATE_TRAP_TRAPPED (and reaches them by read/write), may mmap
 * the others (the BAR's sparse-mmap capability lists them as areas of
 * their own; a mapping that covers part of a trappable range and anything
 * else is refused with EINVAL), and writes the generation it read to
 * @ack, as one 8-byte write.
 *
 * A range that becomes trapped is offered for mmap no more at once; the
 * client's existing mappings of it stay valid until it acknowledges a
 * generation at least as new as the change, or until @ack_timeout_ms
 * have passed.  Then they are removed: a later access through them gets
 * SIGBUS.  Only after that does the mediator rely on seeing every access.
 * A client that does not acknowledge in time is told so in the kernel log
 * (ratelimited).
 * The operation that made the mediator trap (e.g. a migration state
 * change) waits for this; a client that acknowledges from another thread
 * than the one waiting avoids paying the timeout.  A range that becomes
 * untrapped may be mmapped as soon as the generation is seen.
 *
 * Before Linux 6.10, a mapping of a trappable range stays whole and where
 * it was made, so that a trap can always remove it: a child of fork()
 * does not inherit it, and mremap() of it, or munmap(), mprotect() and the
 * like of part of it, fail with EINVAL.  From 6.10 a trap removes every
 * mapping of the range wherever it went, and none of that is refused.
 *
 * A trap removes the CPU's mappings only.  A range the client maps for
 * DMA (VFIO_IOMMU_MAP_DMA of its mmap, for peer-to-peer) stays reachable
 * by other devices' DMA after a trap, around the mediator: the IOMMU
 * backend keeps the page frames and is not told.  A client must not map
 * trappable ranges for DMA.
 */
#define VFIO_PCI_MEDIATE_REGION_TYPE \
	((__u32)VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0xffff)	/* no PCI vendor */
#define VFIO_PCI_MEDIATE_REGION_SUBTYPE_TRAP 1

#define VFIO_PCI_MEDIATE_TRAP_VERSION 1
#define VFIO_PCI_MEDIATE_TRAP_MAX_RANGES 8

/* struct vfio_pci_mediate_trap_range.flags */
#define VFIO_PCI_MEDIATE_TRAP_TRAPPED (1 << 0)	/* do not use mmap */

/**
 * struct vfio_pci_mediate_trap_range - one trappable range
 * @index: VFIO region index of the BAR
 * @flags: VFIO_PCI_MEDIATE_TRAP_TRAPPED while it may not be mmapped
 * @offset: start in the BAR, page aligned
 * @size: bytes, a multiple of the page size
 */
struct vfio_pci_mediate_trap_range {
	__u32 index;
	__u32 flags;
	__aligned_u64 offset;
	__aligned_u64 size;
};

/**
 * struct vfio_pci_mediate_trap_info - the trap region
 * @version: VFIO_PCI_MEDIATE_TRAP_VERSION
 * @nr_ranges: valid entries of @ranges; fixed for the open
 * @generation: grows with every change the client must follow
 * @ack: the newest generation the client has followed; the only field
 *	the client writes (8 bytes at once; larger than @generation: EINVAL)
 * @ack_timeout_ms: how long a trap waits for @ack before it removes the
 *	client's mappings anyway (1 to 10000, the module option
 *	trap_ack_timeout_ms of vfio-pci-mediate)
 * @reserved: zero
 * @ranges: the trappable ranges
 *
 * Read-only but for @ack.  Little endian is not implied: host order, as
 * every VFIO ioctl structure.
 */
struct vfio_pci_mediate_trap_info {
	__u32 version;
	__u32 nr_ranges;
	__aligned_u64 generation;
	__aligned_u64 ack;
	__u32 ack_timeout_ms;
	__u32 reserved;
	struct vfio_pci_mediate_trap_range
		ranges[VFIO_PCI_MEDIATE_TRAP_MAX_RANGES];
};

#define VFIO_PCI_MEDIATE_IRQ_TYPE VFIO_PCI_MEDIATE_REGION_TYPE
#define VFIO_PCI_MEDIATE_IRQ_SUBTYPE_TRAP 1

/* struct vfio_irq_info.flags: a capability chain follows (@cap_offset). */
#define VFIO_PCI_MEDIATE_IRQ_INFO_FLAG_CAPS (1 << 4)
#define VFIO_PCI_MEDIATE_IRQ_INFO_CAP_TYPE 1

/**
 * struct vfio_pci_mediate_irq_info - struct vfio_irq_info with capabilities
 * @argsz: as struct vfio_irq_info; at least sizeof(this) for capabilities
 * @flags: VFIO_IRQ_INFO_*, plus VFIO_PCI_MEDIATE_IRQ_INFO_FLAG_CAPS
 * @index: IRQ index
 * @count: IRQs within the index
 * @cap_offset: offset of the first capability from the start of this
 *	structure; 0 with FLAG_CAPS means @argsz was too small, and @argsz
 *	now says how much is needed
 * @reserved: zero
 */
struct vfio_pci_mediate_irq_info {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 count;
	__u32 cap_offset;
	__u32 reserved;
};

/**
 * struct vfio_pci_mediate_irq_info_cap_type - what an IRQ index is for
 * @header: id VFIO_PCI_MEDIATE_IRQ_INFO_CAP_TYPE, version 1
 * @type: VFIO_PCI_MEDIATE_IRQ_TYPE
 * @subtype: VFIO_PCI_MEDIATE_IRQ_SUBTYPE_TRAP
 */
struct vfio_pci_mediate_irq_info_cap_type {
	struct vfio_info_cap_header header;
	__u32 type;
	__u32 subtype;
};

#endif /* _UAPI_LINUX_VFIO_PCI_MEDIATE_H */
