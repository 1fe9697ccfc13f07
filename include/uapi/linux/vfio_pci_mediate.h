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
 *    The first refusal is logged once with dev_warn and sticks: every later
 *    write of the session fails with it, and so does leaving RESUMING, which
 *    then puts the device in ERROR.  VFIO_DEVICE_RESET (or closing the
 *    device) makes it RUNNING and usable again.
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

#endif /* _UAPI_LINUX_VFIO_PCI_MEDIATE_H */
