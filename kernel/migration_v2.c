// SPDX-License-Identifier: GPL-2.0-only
/*
 * The v2 migration uAPI front end: VFIO_DEVICE_FEATURE_MIGRATION and
 * MIG_DEVICE_STATE through the vfio_device's mig_ops, the data fds that
 * carry the stream (read on save, write on resume), and what Linux 6.1
 * lacks but QEMU 8+ relies on: PRE_COPY with VFIO_MIG_GET_PRECOPY_INFO on
 * the data fd, and VFIO_DEVICE_FEATURE_MIG_DATA_SIZE.
 *
 * A data fd belongs to the session that the arc returning it opened
 * (STOP -> STOP_COPY, RUNNING -> PRE_COPY, RUNNING_P2P -> PRE_COPY_P2P,
 * STOP -> RESUMING); PRE_COPY_P2P -> STOP_COPY keeps the same fd.  When the
 * session ends (its closing arc, an error, VFIO_DEVICE_RESET, the device's
 * close) the fd is disabled: read, write and ioctl then fail with -ENODEV,
 * and the fd, which may outlive the device, never touches it again.
 *
 * Locking (the order: vfio_pci_mediate_priv.h): the fd's own lock comes
 * before the device's mig.lock.  The engine, holding mig.lock, only
 * detaches an fd (vpm_mig_v2_drop_file()); vpm_mig_unlock() then takes
 * the fd's lock, after mig.lock is released, to disable it.  So, while an
 * fd's lock is held and it is not disabled, its device cannot have
 * finished closing: every path that detaches an fd disables it before the
 * syscall on the device fd that caused it returns, and a device is only
 * closed once no syscall holds its fd.  User memory is only touched with
 * the fd's lock held, never under mig.lock (the data go through a kernel
 * bounce buffer).
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio_pci_mediate_priv.h"

/* Largest bounce buffer; QEMU 8+ reads 1 MiB at a time. */
#define BOUNCE_MAX	SZ_1M

/**
 * struct vpm_mig_v2_file - a v2 data fd
 * @ref: one for the file, one while the fd is attached to its device
 *	(mig.v2_file) or waits on mig.v2_dropped
 * @lock: serialises the fd's read, write, ioctl and release; protects
 *	@disabled and the bounce buffer.  Taken before the device's mig.lock
 *	(Locking in vfio_pci_mediate_priv.h).
 * @disabled: the fd is not (or no longer) attached to a session: @vpmdev
 *	must not be touched.  Cleared once, under mig.lock, before the file
 *	is given to the user; set under @lock.
 * @vpmdev: the device, while !@disabled
 * @drop_node: entry in mig.v2_dropped
 * @bounce: kernel copy of the data between the user and the engine
 * @bounce_size: its size
 * @held_off: save fd: first byte in @bounce taken from the stream but not
 *	yet copied to the user (a copy_to_user() faulted, or the read was
 *	short); served first by the next read, so no byte is lost
 * @held_len: how many such bytes
 */
struct vpm_mig_v2_file {
	struct kref ref;
	struct mutex lock;
	bool disabled;
	struct vfio_pci_mediate_device *vpmdev;
	struct list_head drop_node;
	void *bounce;
	size_t bounce_size;
	size_t held_off;
	size_t held_len;
};

static void v2_file_free(struct kref *ref)
{
	struct vpm_mig_v2_file *f = container_of(ref, struct vpm_mig_v2_file,
						 ref);

	kvfree(f->bounce);
	mutex_destroy(&f->lock);
	kfree(f);
}

/* A bounce buffer for a transfer of @len bytes; fd lock held. */
static int v2_bounce(struct vpm_mig_v2_file *f, size_t len)
{
	size_t size = min_t(size_t, PAGE_ALIGN(len), BOUNCE_MAX);

	if (f->bounce_size >= size)
		return 0;
	kvfree(f->bounce);
	f->bounce_size = 0;
	f->bounce = kvmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!f->bounce)
		return -ENOMEM;
	f->bounce_size = size;
	return 0;
}

/*
 * @f still carries the device's session; mig.lock held.  After a reset of
 * the function that migration has not caught up with yet (which only a
 * device fd call does: see vpm_mig_lock()), the session is as good as
 * ended.
 */
static bool v2_file_current(struct vfio_pci_mediate_device *vpmdev,
			    struct vpm_mig_v2_file *f)
{
	lockdep_assert_held(&vpmdev->mig.lock);
	return vpmdev->mig.v2_file == f &&
	       !test_bit(VPM_MIG_DEVICE_WAS_RESET, &vpmdev->mig.flags);
}

static bool is_pre_copy(u32 state)
{
	return state == VFIO_DEVICE_STATE_PRE_COPY ||
	       state == VFIO_DEVICE_STATE_PRE_COPY_P2P;
}

static ssize_t v2_read(struct file *filp, char __user *buf, size_t len,
		       loff_t *pos)
{
	struct vpm_mig_v2_file *f = filp->private_data;
	struct vfio_pci_mediate_device *vpmdev;
	bool more = true;
	size_t done = 0;
	ssize_t ret = 0;

	/* Its holder may wait for the migration lock (bounded, killable). */
	if (mutex_lock_killable(&f->lock))
		return -EINTR;
	if (f->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	vpmdev = f->vpmdev;

	while (done < len && (more || f->held_len)) {
		size_t step;

		/* A large read of a large state takes a while: let it be killed. */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (!f->held_len) {
			size_t chunk;

			ret = v2_bounce(f, len - done);
			if (ret)
				break;
			chunk = min(len - done, f->bounce_size);

			if (mutex_lock_killable(&vpmdev->mig.lock)) {
				ret = -EINTR;
				break;
			}
			if (!v2_file_current(vpmdev, f))
				ret = -ENODEV;
			else
				ret = vpm_mig_save_read(vpmdev, f->bounce,
							chunk);
			if (!ret && is_pre_copy(vpmdev->mig.state))
				ret = -ENOMSG;
			mutex_unlock(&vpmdev->mig.lock);
			if (ret <= 0)
				break;
			/* Short: nothing more for now, or the end. */
			more = ret == chunk;
			f->held_off = 0;
			f->held_len = ret;
		}

		step = min(len - done, f->held_len);
		if (copy_to_user(buf + done, f->bounce + f->held_off, step)) {
			ret = -EFAULT;
			break;
		}
		f->held_off += step;
		f->held_len -= step;
		done += step;
	}
	if (done)
		ret = done;
out_unlock:
	mutex_unlock(&f->lock);
	return ret;
}

static ssize_t v2_write(struct file *filp, const char __user *buf,
			size_t len, loff_t *pos)
{
	struct vpm_mig_v2_file *f = filp->private_data;
	struct vfio_pci_mediate_device *vpmdev;
	size_t done = 0;
	ssize_t ret = 0;

	/* Its holder may wait for the migration lock (bounded, killable). */
	if (mutex_lock_killable(&f->lock))
		return -EINTR;
	if (f->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	vpmdev = f->vpmdev;

	while (done < len) {
		size_t chunk;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = v2_bounce(f, len - done);
		if (ret)
			break;
		chunk = min(len - done, f->bounce_size);
		if (copy_from_user(f->bounce, buf + done, chunk)) {
			ret = -EFAULT;
			break;
		}

		if (mutex_lock_killable(&vpmdev->mig.lock)) {
			ret = -EINTR;
			break;
		}
		if (!v2_file_current(vpmdev, f))
			ret = -ENODEV;
		else
			ret = vpm_mig_load_write(vpmdev, f->bounce, chunk);
		mutex_unlock(&vpmdev->mig.lock);
		if (ret <= 0)
			break;
		done += ret;
	}
	/* Bytes taken count; a refusal then fails every later write. */
	if (done)
		ret = done;
out_unlock:
	mutex_unlock(&f->lock);
	return ret;
}

static long v2_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	const unsigned long minsz = offsetofend(struct vfio_precopy_info,
						dirty_bytes);
	struct vpm_mig_v2_file *f = filp->private_data;
	void __user *uarg = (void __user *)arg;
	struct vfio_pci_mediate_device *vpmdev;
	struct vfio_precopy_info info;
	u64 initial, dirty, stop_copy;
	long ret = 0;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	/* Its holder may wait for the migration lock (bounded, killable). */
	if (mutex_lock_killable(&f->lock))
		return -EINTR;
	if (f->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	vpmdev = f->vpmdev;
	if (mutex_lock_killable(&vpmdev->mig.lock)) {
		ret = -EINTR;
		goto out_unlock;
	}
	if (!v2_file_current(vpmdev, f))
		ret = -ENODEV;
	else if (!is_pre_copy(vpmdev->mig.state))
		ret = -EINVAL;
	else
		vpm_mig_save_pending(vpmdev, &initial, &dirty, &stop_copy);
	mutex_unlock(&vpmdev->mig.lock);
out_unlock:
	mutex_unlock(&f->lock);
	if (ret)
		return ret;

	info.flags = 0;
	info.initial_bytes = initial;
	info.dirty_bytes = dirty;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static int v2_release(struct inode *inode, struct file *filp)
{
	struct vpm_mig_v2_file *f = filp->private_data;
	struct vfio_pci_mediate_device *vpmdev;

	mutex_lock(&f->lock);
	if (!f->disabled) {
		vpmdev = f->vpmdev;
		mutex_lock(&vpmdev->mig.lock);
		if (vpmdev->mig.v2_file == f) {
			vpmdev->mig.v2_file = NULL;
			/* The device's reference; the file's is still held. */
			kref_put(&f->ref, v2_file_free);
		}
		mutex_unlock(&vpmdev->mig.lock);
		f->disabled = true;
	}
	mutex_unlock(&f->lock);
	kref_put(&f->ref, v2_file_free);
	return 0;
}

/* No llseek: stream_open() at creation makes lseek fail (ESPIPE). */
static const struct file_operations v2_fops = {
	.owner		= THIS_MODULE,
	.read		= v2_read,
	.write		= v2_write,
	.unlocked_ioctl	= v2_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= v2_release,
};

/* A data fd, not attached yet (so disabled); mig.lock held. */
static struct file *v2_file_new(struct vfio_pci_mediate_device *vpmdev,
				bool saving)
{
	struct vpm_mig_v2_file *f;
	struct file *filp;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return ERR_PTR(-ENOMEM);
	kref_init(&f->ref);
	mutex_init(&f->lock);
	INIT_LIST_HEAD(&f->drop_node);
	f->disabled = true;
	f->vpmdev = vpmdev;

	filp = anon_inode_getfile("[vfio-pci-mediate-mig]", &v2_fops, f,
				  saving ? O_RDONLY : O_WRONLY);
	if (IS_ERR(filp)) {
		kref_put(&f->ref, v2_file_free);
		return filp;
	}
	/* A stream: no seeking, no pread/pwrite, the position is unused. */
	stream_open(filp->f_inode, filp);
	return filp;
}

/* Attach a new fd to the session just opened; mig.lock held. */
static void v2_file_attach(struct vfio_pci_mediate_device *vpmdev,
			   struct vpm_mig_v2_file *f)
{
	lockdep_assert_held(&vpmdev->mig.lock);
	vpm_mig_v2_drop_file(vpmdev);
	kref_get(&f->ref);
	f->disabled = false;
	vpmdev->mig.v2_file = f;
}

void vpm_mig_v2_drop_file(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_mig_v2_file *f = vpmdev->mig.v2_file;

	lockdep_assert_held(&vpmdev->mig.lock);
	if (!f)
		return;
	vpmdev->mig.v2_file = NULL;
	list_add_tail(&f->drop_node, &vpmdev->mig.v2_dropped);
}

void vpm_mig_v2_disable_dropped(struct list_head *dropped)
{
	struct vpm_mig_v2_file *f, *tmp;

	list_for_each_entry_safe(f, tmp, dropped, drop_node) {
		list_del_init(&f->drop_node);
		/* Waits for a read or write still using the device. */
		mutex_lock(&f->lock);
		f->disabled = true;
		mutex_unlock(&f->lock);
		kref_put(&f->ref, v2_file_free);
	}
}

/* The arcs that open a session and hand out its data fd. */
static bool arc_opens_fd(u32 cur, u32 next)
{
	switch (cur) {
	case VFIO_DEVICE_STATE_STOP:
		return next == VFIO_DEVICE_STATE_STOP_COPY ||
		       next == VFIO_DEVICE_STATE_RESUMING;
	case VFIO_DEVICE_STATE_RUNNING:
		return next == VFIO_DEVICE_STATE_PRE_COPY;
	case VFIO_DEVICE_STATE_RUNNING_P2P:
		return next == VFIO_DEVICE_STATE_PRE_COPY_P2P;
	default:
		return false;
	}
}

/*
 * The path is walked here, one engine arc at a time, so that the data fd
 * is made (it may fail with -ENOMEM) before the arc that opens its session
 * runs, and the arc needs no undoing.
 */
static struct file *v2_set_state(struct vfio_device *vdev,
				 enum vfio_device_mig_state target)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(vdev);
	struct vpm_migration *mig = &vpmdev->mig;
	struct file *filp, *result = NULL;
	u32 next;
	int ret;

	ret = vpm_mig_lock_killable(vpmdev);
	if (ret)
		return ERR_PTR(ret);
	if (mig->client != VPM_MIG_CLIENT_NONE &&
	    mig->client != VPM_MIG_CLIENT_V2) {
		ret = -EBUSY;
		goto out_unlock;
	}

	while (mig->state != target) {
		ret = vpm_mig_next_state(mig->state, target, &next);
		if (ret)
			break;

		filp = NULL;
		if (arc_opens_fd(mig->state, next)) {
			filp = v2_file_new(vpmdev, next !=
					   VFIO_DEVICE_STATE_RESUMING);
			if (IS_ERR(filp)) {
				ret = PTR_ERR(filp);
				break;
			}
		}

		ret = vpm_mig_set_state(vpmdev, VPM_MIG_CLIENT_V2, next);
		if (ret) {
			/* Never attached: its release leaves the device be. */
			if (filp)
				fput(filp);
			break;
		}
		if (filp) {
			v2_file_attach(vpmdev, filp->private_data);
			/* Only the last session's fd is returned. */
			if (result)
				fput(result);
			result = filp;
		}
	}

out_unlock:
	vpm_mig_unlock(vpmdev);
	if (ret) {
		/* The engine ended the session (ERROR): the fd is disabled. */
		if (result)
			fput(result);
		return ERR_PTR(ret);
	}
	return result;
}

static int v2_get_state(struct vfio_device *vdev,
			enum vfio_device_mig_state *state)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(vdev);
	int ret;

	ret = vpm_mig_lock_killable(vpmdev);
	if (ret)
		return ret;
	*state = vpmdev->mig.state;
	vpm_mig_unlock(vpmdev);
	return 0;
}

/* What STOP_COPY would take now, as VFIO_DEVICE_FEATURE_MIG_DATA_SIZE says. */
static int v2_get_data_size(struct vfio_device *vdev,
			    unsigned long *stop_copy_length)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(vdev);
	u64 initial, dirty, stop_copy;
	int ret;

	ret = vpm_mig_lock_killable(vpmdev);
	if (ret)
		return ret;
	vpm_mig_save_pending(vpmdev, &initial, &dirty, &stop_copy);
	vpm_mig_unlock(vpmdev);
	*stop_copy_length = stop_copy;
	return 0;
}

const struct vfio_migration_ops vpm_mig_v2_ops = {
	.migration_set_state	= v2_set_state,
	.migration_get_state	= v2_get_state,
	VPM_MIG_OPS_DATA_SIZE(v2_get_data_size)
};

int vpm_mig_v2_data_size_feature(struct vfio_pci_mediate_device *vpmdev,
				 u32 flags, void __user *arg, size_t argsz)
{
	struct vfio_device_feature_mig_data_size size = {};
	unsigned long stop_copy;
	int ret;

	if (!vpmdev->mig.ops)
		return -ENOTTY;
	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET,
				 sizeof(size));
	if (ret != 1)
		return ret;

	ret = v2_get_data_size(&vpmdev->core_device.vdev, &stop_copy);
	if (ret)
		return ret;
	size.stop_copy_length = stop_copy;
	return copy_to_user(arg, &size, sizeof(size)) ? -EFAULT : 0;
}
