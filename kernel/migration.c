// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration engine: one state machine per device, over the states of
 * the v2 uAPI (PRE_COPY and the P2P states included), that turns each arc
 * into calls of the serving mediator's struct
 * vfio_pci_mediate_migration_ops and owns the save and load sessions whose
 * framed streams stream.c produces and checks.  The v1 region
 * (migration_v1.c) and the v2 uAPI (migration_v2.c) both drive it; only
 * one of them at a time (see vpm_mig_set_state()).
 *
 * Arcs and what the mediator sees on each:
 *
 *	RUNNING -> RUNNING_P2P, PRE_COPY -> PRE_COPY_P2P,
 *	STOP -> RUNNING_P2P			set_run_state(QUIESCED)
 *	RUNNING_P2P -> RUNNING,
 *	PRE_COPY_P2P -> PRE_COPY		set_run_state(RUNNING)
 *	RUNNING_P2P -> STOP			set_run_state(STOPPED)
 *	PRE_COPY_P2P -> STOP_COPY		set_run_state(STOPPED); the save
 *						session goes on, now to its end
 *	RUNNING -> PRE_COPY,
 *	RUNNING_P2P -> PRE_COPY_P2P		save_start(live) + save session
 *	STOP -> STOP_COPY			save_start(stopped) + session
 *	PRE_COPY -> RUNNING,
 *	PRE_COPY_P2P -> RUNNING_P2P,
 *	STOP_COPY -> STOP			save_end, session (and data fd)
 *						gone
 *	STOP -> RESUMING			load session
 *	RESUMING -> STOP			only after a complete, valid
 *						stream was loaded (else the
 *						stream's errno, -ENODATA if it
 *						just stopped short)
 *
 * A failed arc ends every session and leaves the device in ERROR, from
 * which only VFIO_DEVICE_RESET (if the device or its mediator can reset)
 * or closing the device brings it back.
 */

#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/slab.h>

#include "vfio_pci_mediate_priv.h"

#include "migration_fsm.h"

int vpm_mig_next_state(u32 cur, u32 target, u32 *next)
{
	if (cur >= NUM_STATES || target >= NUM_STATES)
		return -EINVAL;
	*next = next_state[cur][target];
	return *next == ERROR ? -EINVAL : 0;
}

static void catch_up_with_reset(struct vfio_pci_mediate_device *vpmdev);

/* A reset behind migration's back since the lock was last taken.  Held. */
static void catch_up_if_reset(struct vfio_pci_mediate_device *vpmdev)
{
	if (test_and_clear_bit(VPM_MIG_DEVICE_WAS_RESET, &vpmdev->mig.flags))
		catch_up_with_reset(vpmdev);
}

void vpm_mig_lock(struct vfio_pci_mediate_device *vpmdev)
{
	mutex_lock(&vpmdev->mig.lock);
	catch_up_if_reset(vpmdev);
}

int vpm_mig_lock_killable(struct vfio_pci_mediate_device *vpmdev)
{
	if (mutex_lock_killable(&vpmdev->mig.lock))
		return -EINTR;
	catch_up_if_reset(vpmdev);
	return 0;
}

void vpm_mig_unlock(struct vfio_pci_mediate_device *vpmdev)
{
	LIST_HEAD(dropped);

	list_splice_init(&vpmdev->mig.v2_dropped, &dropped);
	mutex_unlock(&vpmdev->mig.lock);
	vpm_mig_v2_disable_dropped(&dropped);
}

static int set_run_state(struct vfio_pci_mediate_device *vpmdev,
			 enum vfio_pci_mediate_run_state run_state)
{
	struct vpm_migration *mig = &vpmdev->mig;
	int ret;

	ret = mig->ops->set_run_state(vpmdev->handle, run_state);
	if (!ret)
		mig->run_state = run_state;
	return ret;
}

static int save_begin(struct vfio_pci_mediate_device *vpmdev, bool live)
{
	struct vpm_migration *mig = &vpmdev->mig;
	struct vpm_save_stream *s;
	int ret;

	/* Every path that ends a session frees it (next_state[]). */
	if (WARN_ON_ONCE(mig->save))
		return -EINVAL;

	s = vpm_save_stream_new(vpmdev, live);
	if (!s)
		return -ENOMEM;
	ret = mig->ops->save_start(vpmdev->handle, live);
	if (ret) {
		vpm_save_stream_free(s);
		return ret;
	}
	mig->save = s;
	return 0;
}

static void save_finish(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;

	if (!mig->save)
		return;
	mig->ops->save_end(vpmdev->handle);
	vpm_save_stream_free(mig->save);
	mig->save = NULL;
	vpm_mig_v2_drop_file(vpmdev);
}

static int load_begin(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;

	if (WARN_ON_ONCE(mig->load))
		return -EINVAL;
	mig->load = vpm_load_stream_new();
	return mig->load ? 0 : -ENOMEM;
}

/* RESUMING is left: 0 only if a complete, valid stream was loaded. */
static int load_finish(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;
	int ret = -ENODATA;

	if (mig->load)
		ret = vpm_load_stream_finish(mig->load, vpmdev);
	vpm_load_stream_free(mig->load);
	mig->load = NULL;
	vpm_mig_v2_drop_file(vpmdev);
	return ret;
}

static void end_sessions(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;

	save_finish(vpmdev);
	vpm_load_stream_free(mig->load);
	mig->load = NULL;
	vpm_mig_v2_drop_file(vpmdev);
}

/**
 * vpm_mig_fail() - the device's state is undefined
 * @vpmdev: the device
 *
 * Ends every session and puts migration in ERROR.  Lock held.
 */
void vpm_mig_fail(struct vfio_pci_mediate_device *vpmdev)
{
	lockdep_assert_held(&vpmdev->mig.lock);
	if (!vpmdev->mig.ops)
		return;
	end_sessions(vpmdev);
	vpmdev->mig.state = ERROR;
}

#define ARC(from, to)	((from) * NUM_STATES + (to))

/* One arc (an entry of next_state[]): the mediator's part of it. */
static int do_arc(struct vfio_pci_mediate_device *vpmdev, u32 cur, u32 next)
{
	int ret;

	switch (ARC(cur, next)) {
	case ARC(RUNNING, RUNNING_P2P):
	case ARC(PRE_COPY, PRE_COPY_P2P):
	case ARC(STOP, RUNNING_P2P):
		return set_run_state(vpmdev, VFIO_PCI_MEDIATE_QUIESCED);
	case ARC(RUNNING_P2P, RUNNING):
	case ARC(PRE_COPY_P2P, PRE_COPY):
		return set_run_state(vpmdev, VFIO_PCI_MEDIATE_RUNNING);
	case ARC(RUNNING_P2P, STOP):
		return set_run_state(vpmdev, VFIO_PCI_MEDIATE_STOPPED);
	case ARC(PRE_COPY_P2P, STOP_COPY):
		ret = set_run_state(vpmdev, VFIO_PCI_MEDIATE_STOPPED);
		if (!ret)
			vpm_save_stream_stop(vpmdev->mig.save);
		return ret;
	case ARC(RUNNING, PRE_COPY):
	case ARC(RUNNING_P2P, PRE_COPY_P2P):
		return save_begin(vpmdev, true);
	case ARC(STOP, STOP_COPY):
		return save_begin(vpmdev, false);
	case ARC(PRE_COPY, RUNNING):
	case ARC(PRE_COPY_P2P, RUNNING_P2P):
	case ARC(STOP_COPY, STOP):
		save_finish(vpmdev);
		return 0;
	case ARC(STOP, RESUMING):
		return load_begin(vpmdev);
	case ARC(RESUMING, STOP):
		return load_finish(vpmdev);
	default:
		/* next_state[] holds no other arc. */
		return -EINVAL;
	}
}

int vpm_mig_set_state(struct vfio_pci_mediate_device *vpmdev,
		      enum vpm_mig_client client, u32 target)
{
	struct vpm_migration *mig = &vpmdev->mig;
	u32 next;
	int ret;

	lockdep_assert_held(&mig->lock);
	if (!mig->ops)
		return -ENOTTY;
	if (mig->client != VPM_MIG_CLIENT_NONE && mig->client != client)
		return -EBUSY;

	while (mig->state != target) {
		ret = vpm_mig_next_state(mig->state, target, &next);
		if (ret)
			return ret;
		/* Whoever leaves RUNNING drives until it is back there. */
		if (mig->state == RUNNING)
			mig->client = client;
		ret = do_arc(vpmdev, mig->state, next);
		if (ret) {
			vpm_mig_fail(vpmdev);
			return ret;
		}
		mig->state = next;
		if (next == RUNNING)
			mig->client = VPM_MIG_CLIENT_NONE;
		dev_dbg(&vpmdev->core_device.pdev->dev, "migration state %u\n",
			next);
	}
	return 0;
}

ssize_t vpm_mig_save_read(struct vfio_pci_mediate_device *vpmdev, void *buf,
			  size_t len)
{
	lockdep_assert_held(&vpmdev->mig.lock);
	if (!vpmdev->mig.save)
		return -EINVAL;
	return vpm_save_stream_read(vpmdev->mig.save, vpmdev, buf, len);
}

void vpm_mig_save_pending(struct vfio_pci_mediate_device *vpmdev, u64 *initial,
			  u64 *dirty, u64 *stop_copy)
{
	struct vpm_migration *mig = &vpmdev->mig;
	u64 live = 0, stop = 0;

	lockdep_assert_held(&mig->lock);
	*initial = 0;
	*dirty = 0;
	*stop_copy = 0;
	if (!mig->ops)
		return;

	mig->ops->save_size(vpmdev->handle, &live, &stop);
	live = min(live, mig->ops->max_state_size);
	stop = min(stop, mig->ops->max_state_size);
	vpm_save_stream_pending(mig->save, live, stop, initial, dirty,
				stop_copy);
}

ssize_t vpm_mig_load_write(struct vfio_pci_mediate_device *vpmdev,
			   const void *buf, size_t len)
{
	lockdep_assert_held(&vpmdev->mig.lock);
	if (!vpmdev->mig.load)
		return -EINVAL;
	return vpm_load_stream_write(vpmdev->mig.load, vpmdev, buf, len);
}

void vpm_mig_reset(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;

	lockdep_assert_held(&mig->lock);
	if (!mig->ops)
		return;

	end_sessions(vpmdev);
	mig->client = VPM_MIG_CLIENT_NONE;
	/* ->reset leaves the mediator RUNNING (its documented contract). */
	mig->run_state = VFIO_PCI_MEDIATE_RUNNING;
	mig->state = RUNNING;
}

void vpm_mig_device_was_reset(struct vfio_pci_mediate_device *vpmdev)
{
	set_bit(VPM_MIG_DEVICE_WAS_RESET, &vpmdev->mig.flags);
}

/*
 * The function was reset behind migration's back (hot reset, an FLR
 * through config space): what the mediator keeps and any session no
 * longer match the device.  Migration requires ->reset (see registry.c).
 */
static void catch_up_with_reset(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;

	if (!mig->ops)
		return;
	if (vpmdev->mediator->ops->reset(vpmdev->handle)) {
		vpm_mig_fail(vpmdev);
		return;
	}
	vpm_mig_reset(vpmdev);
}

void vpm_mig_init(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_migration *mig = &vpmdev->mig;

	mutex_init(&mig->lock);
	INIT_LIST_HEAD(&mig->v2_dropped);
	ratelimit_state_init(&mig->refusal_rs, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
	mig->state = RUNNING;
	mig->run_state = VFIO_PCI_MEDIATE_RUNNING;
}

void vpm_mig_destroy(struct vfio_pci_mediate_device *vpmdev)
{
	mutex_destroy(&vpmdev->mig.lock);
}

int vpm_mig_open(struct vfio_pci_mediate_device *vpmdev)
{
	struct vfio_device *vdev = &vpmdev->core_device.vdev;
	const struct vfio_pci_mediate_migration_ops *ops = NULL;
	struct vpm_migration *mig = &vpmdev->mig;
	int ret;

	if (vpmdev->mediator)
		ops = vpmdev->mediator->ops->migration;
	if (!ops)
		return 0;

	mutex_lock(&mig->lock);
	/* Resets while the device was closed do not concern this open. */
	clear_bit(VPM_MIG_DEVICE_WAS_RESET, &mig->flags);
	mig->ops = ops;
	mig->state = RUNNING;
	mig->client = VPM_MIG_CLIENT_NONE;
	mig->run_state = VFIO_PCI_MEDIATE_RUNNING;
	mutex_unlock(&mig->lock);

	ret = vpm_mig_v1_register(vpmdev);
	if (ret) {
		mutex_lock(&mig->lock);
		mig->ops = NULL;
		mutex_unlock(&mig->lock);
		return ret;
	}

	/*
	 * mig_ops is set per open, although <linux/vfio.h> calls it a static
	 * property to set before registration: the mediator, and with it
	 * whether the device can migrate, is only chosen at open.  vfio core
	 * answers the MIGRATION feature GET from migration_flags without
	 * asking the driver, so a device whose current mediator cannot
	 * migrate (or that has none) must show no mig_ops at all.  This is
	 * safe because Linux 6.1 and 6.12 read mig_ops and migration_flags
	 * only in the VFIO_DEVICE_FEATURE ioctl of an open device fd
	 * (vfio_main.c), and open_device/close_device run only when no other
	 * fd of the device exists.  vfio_pci_core_register_device() checks
	 * them (6.2+: all ops set, migration_get_data_size too) and 6.12's
	 * debugfs looks at them at registration, when they are NULL: our ops
	 * are complete on every kernel, and debugfs shows no migration state.
	 */
	vdev->migration_flags = VPM_MIG_V2_FLAGS;
	vdev->mig_ops = &vpm_mig_v2_ops;
	return 0;
}

/*
 * The mediator's run state is left as it is: its ->release() follows and
 * ends everything of this open.  The v1 region goes with the device's
 * other regions, in vfio_pci_core_disable().
 */
void vpm_mig_close(struct vfio_pci_mediate_device *vpmdev)
{
	struct vfio_device *vdev = &vpmdev->core_device.vdev;
	struct vpm_migration *mig = &vpmdev->mig;

	vdev->mig_ops = NULL;
	vdev->migration_flags = 0;
	if (!mig->ops)
		return;

	vpm_mig_lock(vpmdev);
	end_sessions(vpmdev);
	mig->ops = NULL;
	mig->state = RUNNING;
	mig->client = VPM_MIG_CLIENT_NONE;
	mig->run_state = VFIO_PCI_MEDIATE_RUNNING;
	vpm_mig_unlock(vpmdev);
}

/*
 * sysfs "migration_protocol": which client drives the device's migration
 * now ("v1", "v2"), or "none" while it is RUNNING with no session, not
 * open, or served by a mediator that cannot migrate.  For tools such as
 * vfmig, which cannot open a device a VMM holds.  May wait for a state
 * change in progress (a mediator's bounded drain).
 */
static ssize_t migration_protocol_show(struct device *dev,
				       struct device_attribute *attr,
				       char *buf)
{
	static const char * const names[] = {
		[VPM_MIG_CLIENT_NONE] = "none",
		[VPM_MIG_CLIENT_V1] = "v1",
		[VPM_MIG_CLIENT_V2] = "v2",
	};
	struct vfio_pci_core_device *vdev = dev_get_drvdata(dev);
	struct vfio_pci_mediate_device *vpmdev =
		container_of(vdev, struct vfio_pci_mediate_device, core_device);
	enum vpm_mig_client client;

	if (mutex_lock_killable(&vpmdev->mig.lock))
		return -EINTR;
	client = vpmdev->mig.client;
	mutex_unlock(&vpmdev->mig.lock);
	return sysfs_emit(buf, "%s\n", names[client]);
}
DEVICE_ATTR_RO(migration_protocol);

/*
 * sysfs "migration_refused": migration streams this device refused (bad
 * framing or identity, or its mediator's ->load() failing) since it was
 * bound; only the first refusals of a burst reach the kernel log.
 */
static ssize_t migration_refused_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(dev);
	struct vfio_pci_mediate_device *vpmdev =
		container_of(vdev, struct vfio_pci_mediate_device, core_device);

	return sysfs_emit(buf, "%lu\n", READ_ONCE(vpmdev->mig.refused));
}
DEVICE_ATTR_RO(migration_refused);
