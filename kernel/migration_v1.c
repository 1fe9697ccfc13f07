// SPDX-License-Identifier: GPL-2.0-only
/*
 * The v1 migration region (VFIO_REGION_TYPE_MIGRATION_DEPRECATED), the
 * protocol QEMU up to 7.2 speaks: a struct vfio_device_migration_info
 * header at offset 0 and a data section after it.  Everything it does is
 * done by the engine (migration.c); this file only maps the region's
 * fields onto it.
 *
 * Layout: the header in the first page, the data section from PAGE_SIZE
 * to the end of the region, offered for mmap by a sparse-mmap capability
 * (QEMU 7.2 otherwise moves the data in 8-byte preads).  The section is
 * 1 MiB, the chunk QEMU 8+ reads from a v2 data fd: the few header
 * accesses per chunk then cost well under 1% of copying it, and the
 * memory, allocated on first use, stays small per open device.
 *
 * Save (PRE_COPY as SAVING|RUNNING, STOP_COPY as SAVING), in the order
 * QEMU reads: pending_bytes; data_offset, which fills the section with the
 * next chunk of the stream; data_size, that chunk's length; the data.  As
 * the v1 protocol asks, the chunk stays current (repeated data_offset and
 * data_size reads return it again) until pending_bytes is read, which
 * acknowledges it, or saving ends.
 *
 * Resume (RESUMING): data_offset, the data written into the section, then
 * data_size, whose write feeds that many bytes to the engine and fails with
 * the engine's errno if the stream is refused.
 */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "vfio_pci_mediate_priv.h"

#define V1_DATA_OFFSET	((u64)PAGE_SIZE)
#define V1_DATA_SIZE	((u64)SZ_1M)
#define V1_REGION_SIZE	(V1_DATA_OFFSET + V1_DATA_SIZE)

#define V1_FIELD(f)	offsetof(struct vfio_device_migration_info, f)

/**
 * struct vpm_mig_v1 - the v1 region of one open of a device
 * @vpmdev: the device
 * @data_lock: protects @data; innermost (Locking in
 *	vfio_pci_mediate_priv.h)
 * @data: the data section, from vmalloc_user(); NULL until first used,
 *	then fixed until the region is released
 * @chunk_ready: a save chunk sits in @data and has not been acknowledged
 * @chunk_len: bytes of that chunk
 *
 * @chunk_ready and @chunk_len are protected by vpmdev->mig.lock, which every
 * header access holds (vpm_mig_lock()/vpm_mig_unlock(), as a state change
 * may end sessions).  A chunk only counts while the device is in a save
 * state driven by this client, and every way into a save state passes
 * through a device_state write here, which drops it unless the session
 * goes on: a chunk never outlives its save session, not even across a
 * reset (which can only return the device to RUNNING).
 */
struct vpm_mig_v1 {
	struct vfio_pci_mediate_device *vpmdev;
	struct mutex data_lock;	/* protects @data, see above */
	void *data;
	bool chunk_ready;
	u64 chunk_len;
};

/* The data section, allocated now if it was not yet; NULL if out of memory. */
static void *v1_data(struct vpm_mig_v1 *v1)
{
	void *data;

	mutex_lock(&v1->data_lock);
	if (!v1->data)
		v1->data = vmalloc_user(V1_DATA_SIZE);
	data = v1->data;
	mutex_unlock(&v1->data_lock);
	return data;
}

static bool is_save_state(u32 state)
{
	return state == VFIO_DEVICE_STATE_PRE_COPY ||
	       state == VFIO_DEVICE_STATE_STOP_COPY;
}

/*
 * The engine's state as v1 device_state bits.  The P2P states have no v1
 * form; only the v2 client leaves the device in them.
 */
static int v1_state_bits(u32 state, u32 *bits)
{
	switch (state) {
	case VFIO_DEVICE_STATE_STOP:
		*bits = VFIO_DEVICE_STATE_V1_STOP;
		return 0;
	case VFIO_DEVICE_STATE_RUNNING:
		*bits = VFIO_DEVICE_STATE_V1_RUNNING;
		return 0;
	case VFIO_DEVICE_STATE_PRE_COPY:
		*bits = VFIO_DEVICE_STATE_V1_SAVING |
			VFIO_DEVICE_STATE_V1_RUNNING;
		return 0;
	case VFIO_DEVICE_STATE_STOP_COPY:
		*bits = VFIO_DEVICE_STATE_V1_SAVING;
		return 0;
	case VFIO_DEVICE_STATE_RESUMING:
		*bits = VFIO_DEVICE_STATE_V1_RESUMING;
		return 0;
	case VFIO_DEVICE_STATE_ERROR:
		*bits = VFIO_DEVICE_STATE_V1_SAVING |
			VFIO_DEVICE_STATE_V1_RESUMING;
		return 0;
	default:
		return -EBUSY;
	}
}

/* The engine state a valid v1 device_state value asks for. */
static u32 v1_target_state(u32 bits)
{
	switch (bits & VFIO_DEVICE_STATE_MASK) {
	case VFIO_DEVICE_STATE_V1_RUNNING:
		return VFIO_DEVICE_STATE_RUNNING;
	case VFIO_DEVICE_STATE_V1_SAVING | VFIO_DEVICE_STATE_V1_RUNNING:
		return VFIO_DEVICE_STATE_PRE_COPY;
	case VFIO_DEVICE_STATE_V1_SAVING:
		return VFIO_DEVICE_STATE_STOP_COPY;
	case VFIO_DEVICE_STATE_V1_RESUMING:
		return VFIO_DEVICE_STATE_RESUMING;
	default:
		return VFIO_DEVICE_STATE_STOP;
	}
}

/*
 * The v2 client drives the device: v1 may neither touch nor look, not even
 * at device_state, whose P2P states have no v1 form and whose other
 * values would only invite writes that fail.
 */
static bool v1_locked_out(struct vpm_migration *mig)
{
	return mig->client == VPM_MIG_CLIENT_V2;
}

static int v1_read_device_state(struct vpm_mig_v1 *v1, u64 *val)
{
	struct vpm_migration *mig = &v1->vpmdev->mig;
	u32 bits;
	int ret;

	if (v1_locked_out(mig))
		return -EBUSY;
	ret = v1_state_bits(mig->state, &bits);
	if (ret)
		return ret;
	*val = bits;
	return 0;
}

/*
 * The bits above the three state bits are reserved, read as 0 and must be
 * written as read.  Invalid values are refused before anything changes;
 * from the error state the engine refuses every target until a reset.
 */
static int v1_write_device_state(struct vpm_mig_v1 *v1, u32 bits)
{
	struct vpm_migration *mig = &v1->vpmdev->mig;
	u32 from = mig->state;
	int ret;

	if ((bits & ~VFIO_DEVICE_STATE_MASK) || !VFIO_DEVICE_STATE_VALID(bits))
		return -EINVAL;
	if (v1_locked_out(mig))
		return -EBUSY;

	ret = vpm_mig_set_state(v1->vpmdev, VPM_MIG_CLIENT_V1,
				v1_target_state(bits));
	/*
	 * Only pre-copy to stop-and-copy keeps the save session, and with it
	 * the chunk; any other way into a save state starts a new session.
	 */
	if (mig->state != from &&
	    !(from == VFIO_DEVICE_STATE_PRE_COPY &&
	      mig->state == VFIO_DEVICE_STATE_STOP_COPY))
		v1->chunk_ready = false;
	return ret;
}

/*
 * The rest of the stream, as a STOP_COPY from here would give it, 0 once
 * its trailer has been read: QEMU 7.2 has only this number for its
 * downtime estimate, in pre-copy too.  So in SAVING|RUNNING it does not
 * fall to 0 once the pre-copy data is read: QEMU then iterates with
 * empty chunks until RAM converges.  Reading it acknowledges the current
 * chunk.
 */
static int v1_read_pending_bytes(struct vpm_mig_v1 *v1, u64 *val)
{
	struct vpm_migration *mig = &v1->vpmdev->mig;
	u64 initial, dirty, stop_copy;

	if (v1_locked_out(mig))
		return -EBUSY;
	if (!is_save_state(mig->state))
		return -EINVAL;

	v1->chunk_ready = false;
	vpm_mig_save_pending(v1->vpmdev, &initial, &dirty, &stop_copy);
	*val = stop_copy;
	return 0;
}

/* Saving: make the next chunk current unless one still is. */
static int v1_read_data_offset(struct vpm_mig_v1 *v1, u64 *val)
{
	struct vpm_migration *mig = &v1->vpmdev->mig;
	void *data;
	ssize_t len;

	if (v1_locked_out(mig))
		return -EBUSY;
	if (mig->state != VFIO_DEVICE_STATE_RESUMING &&
	    !is_save_state(mig->state))
		return -EINVAL;

	if (is_save_state(mig->state) && !v1->chunk_ready) {
		data = v1_data(v1);
		if (!data)
			return -ENOMEM;
		len = vpm_mig_save_read(v1->vpmdev, data, V1_DATA_SIZE);
		if (len < 0)
			return len;
		v1->chunk_len = len;
		v1->chunk_ready = true;
	}
	*val = V1_DATA_OFFSET;
	return 0;
}

static int v1_read_data_size(struct vpm_mig_v1 *v1, u64 *val)
{
	struct vpm_migration *mig = &v1->vpmdev->mig;

	if (v1_locked_out(mig))
		return -EBUSY;
	if (!is_save_state(mig->state))
		return -EINVAL;

	*val = v1->chunk_ready ? v1->chunk_len : 0;
	return 0;
}

/* Resuming: the first @len bytes of the section are the stream's next. */
static int v1_write_data_size(struct vpm_mig_v1 *v1, u64 len)
{
	struct vpm_migration *mig = &v1->vpmdev->mig;
	void *data;
	ssize_t ret;

	if (v1_locked_out(mig))
		return -EBUSY;
	if (mig->state != VFIO_DEVICE_STATE_RESUMING || len > V1_DATA_SIZE)
		return -EINVAL;
	if (!len)
		return 0;

	data = v1_data(v1);
	if (!data)
		return -ENOMEM;
	ret = vpm_mig_load_write(v1->vpmdev, data, len);
	if (ret < 0)
		return ret;
	return (u64)ret == len ? 0 : -EIO;
}

/* Size of the header field at @offset, 0 if none starts there. */
static size_t v1_field_size(u64 offset)
{
	switch (offset) {
	case V1_FIELD(device_state):
	case V1_FIELD(reserved):
		return sizeof(u32);
	case V1_FIELD(pending_bytes):
	case V1_FIELD(data_offset):
	case V1_FIELD(data_size):
		return sizeof(u64);
	default:
		return 0;
	}
}

static int v1_header_read(struct vpm_mig_v1 *v1, u64 offset, u64 *val)
{
	switch (offset) {
	case V1_FIELD(device_state):
		return v1_read_device_state(v1, val);
	case V1_FIELD(pending_bytes):
		return v1_read_pending_bytes(v1, val);
	case V1_FIELD(data_offset):
		return v1_read_data_offset(v1, val);
	case V1_FIELD(data_size):
		return v1_read_data_size(v1, val);
	default:
		/* reserved: reads as zero */
		*val = 0;
		return 0;
	}
}

static int v1_header_write(struct vpm_mig_v1 *v1, u64 offset, u64 val)
{
	switch (offset) {
	case V1_FIELD(device_state):
		return v1_write_device_state(v1, val);
	case V1_FIELD(data_size):
		return v1_write_data_size(v1, val);
	case V1_FIELD(reserved):
		/* writes are ignored */
		return 0;
	default:
		/* pending_bytes and data_offset are read-only */
		return -EINVAL;
	}
}

/*
 * Each header access must cover exactly one field at its native width.
 * The user's memory is touched outside mig.lock, as its rules require.
 */
static ssize_t v1_header_rw(struct vpm_mig_v1 *v1, char __user *buf,
			    size_t count, u64 offset, bool iswrite)
{
	size_t size = v1_field_size(offset);
	union {
		u32 w32;
		u64 w64;
	} user = {};
	u64 val = 0;
	int ret;

	if (!size || count != size)
		return -EINVAL;
	if (iswrite) {
		if (copy_from_user(&user, buf, size))
			return -EFAULT;
		val = size == sizeof(u32) ? user.w32 : user.w64;
	}

	ret = vpm_mig_lock_killable(v1->vpmdev);
	if (ret)
		return ret;
	if (iswrite)
		ret = v1_header_write(v1, offset, val);
	else
		ret = v1_header_read(v1, offset, &val);
	vpm_mig_unlock(v1->vpmdev);
	if (ret)
		return ret;

	if (!iswrite) {
		if (size == sizeof(u32))
			user.w32 = val;
		else
			user.w64 = val;
		if (copy_to_user(buf, &user, size))
			return -EFAULT;
	}
	return count;
}

/*
 * Plain memory, accessed at any width and offset (QEMU without mmap uses
 * naturally aligned 8/4/2/1-byte accesses), in any state: what is there
 * only matters to the engine when data_offset or data_size say so.
 */
static ssize_t v1_data_rw(struct vpm_mig_v1 *v1, char __user *buf,
			  size_t count, u64 offset, bool iswrite)
{
	void *data = v1_data(v1);
	unsigned long left;

	if (!data)
		return -ENOMEM;
	if (iswrite)
		left = copy_from_user(data + offset, buf, count);
	else
		left = copy_to_user(buf, data + offset, count);
	return left ? -EFAULT : count;
}

static struct vpm_mig_v1 *v1_of_pos(struct vfio_pci_core_device *vdev,
				    loff_t pos)
{
	/* vfio-pci-core checked the index against its regions. */
	return vdev->region[VFIO_PCI_OFFSET_TO_INDEX(pos) -
			    VFIO_PCI_NUM_REGIONS].data;
}

static ssize_t v1_region_rw(struct vfio_pci_core_device *vdev,
			    char __user *buf, size_t count, loff_t *ppos,
			    bool iswrite)
{
	struct vpm_mig_v1 *v1 = v1_of_pos(vdev, *ppos);
	u64 offset = *ppos & VFIO_PCI_OFFSET_MASK;
	ssize_t ret;

	if (offset >= V1_REGION_SIZE || count > V1_REGION_SIZE - offset)
		return -EINVAL;

	if (offset >= V1_DATA_OFFSET)
		ret = v1_data_rw(v1, buf, count, offset - V1_DATA_OFFSET,
				 iswrite);
	else
		ret = v1_header_rw(v1, buf, count, offset, iswrite);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

/*
 * Only the data section may be mapped.  Freeing it at release is safe:
 * a mapping holds a reference to the device file, so the device cannot be
 * closed (and the region released) while one exists.
 */
static int v1_region_mmap(struct vfio_pci_core_device *vdev,
			  struct vfio_pci_region *region,
			  struct vm_area_struct *vma)
{
	struct vpm_mig_v1 *v1 = region->data;
	unsigned long pgoff = vma->vm_pgoff &
		((1UL << (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT)) - 1);
	u64 offset = (u64)pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	void *data;

	if (offset < V1_DATA_OFFSET || offset - V1_DATA_OFFSET >= V1_DATA_SIZE ||
	    len > V1_DATA_SIZE - (offset - V1_DATA_OFFSET))
		return -EINVAL;

	data = v1_data(v1);
	if (!data)
		return -ENOMEM;
	return remap_vmalloc_range(vma, data,
				   (offset - V1_DATA_OFFSET) >> PAGE_SHIFT);
}

static int v1_region_add_capability(struct vfio_pci_core_device *vdev,
				    struct vfio_pci_region *region,
				    struct vfio_info_cap *caps)
{
	const struct vfio_region_sparse_mmap_area data_section = {
		.offset = V1_DATA_OFFSET,
		.size = V1_DATA_SIZE,
	};

	return vfio_pci_mediate_add_sparse_mmap(caps, &data_section, 1);
}

/* From vfio_pci_core_disable() at close: no access can run any more. */
static void v1_region_release(struct vfio_pci_core_device *vdev,
			      struct vfio_pci_region *region)
{
	struct vpm_mig_v1 *v1 = region->data;

	vfree(v1->data);
	mutex_destroy(&v1->data_lock);
	kfree(v1);
}

static const struct vfio_pci_regops v1_region_ops = {
	.rw		= v1_region_rw,
	.mmap		= v1_region_mmap,
	.add_capability	= v1_region_add_capability,
	.release	= v1_region_release,
};

/**
 * vpm_mig_v1_register() - add the v1 migration region for this open
 * @vpmdev: the device, being opened by a mediator with migration ops
 *
 * The region lives until the device is closed, when vfio-pci-core
 * releases it; each open registers its own.  Process context.
 *
 * Return: 0 or a negative errno (-ENOMEM).
 */
int vpm_mig_v1_register(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_mig_v1 *v1;
	int ret;

	v1 = kzalloc(sizeof(*v1), GFP_KERNEL);
	if (!v1)
		return -ENOMEM;
	v1->vpmdev = vpmdev;
	mutex_init(&v1->data_lock);

	ret = vfio_pci_core_register_dev_region(&vpmdev->core_device,
						VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
						VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
						&v1_region_ops, V1_REGION_SIZE,
						VFIO_REGION_INFO_FLAG_READ |
						VFIO_REGION_INFO_FLAG_WRITE |
						VFIO_REGION_INFO_FLAG_MMAP, v1);
	if (ret) {
		mutex_destroy(&v1->data_lock);
		kfree(v1);
	}
	return ret;
}
