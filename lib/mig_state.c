// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * v2 migration: capabilities, device states and the path between them, and
 * the data fd a state change hands out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <linux/vfio_pci_mediate.h>	/* PRE_COPY, MIG_DATA_SIZE: 6.2+ */

#include "internal.h"

_Static_assert((int)VFMIG_STATE_PRE_COPY == VFIO_DEVICE_STATE_PRE_COPY &&
	       (int)VFMIG_STATE_PRE_COPY_P2P == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	       (int)VFMIG_STATE_RUNNING_P2P ==
	       (int)VFIO_DEVICE_STATE_RUNNING_P2P &&
	       (int)VFMIG_STATE_STOP_COPY == (int)VFIO_DEVICE_STATE_STOP_COPY,
	       "enum vfmig_state must equal the uAPI's values");
_Static_assert(VFMIG_MIG_PRE_COPY == VFIO_MIGRATION_PRE_COPY &&
	       VFMIG_MIG_P2P == VFIO_MIGRATION_P2P &&
	       VFMIG_MIG_STOP_COPY == VFIO_MIGRATION_STOP_COPY,
	       "VFMIG_MIG_* must equal the uAPI's flags");

VFMIG_EXPORT const char *vfmig_state_name(uint32_t state)
{
	static const char *const names[VFMIG_NR_STATES] = {
		"ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING",
		"RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
	};

	return state < VFMIG_NR_STATES ? names[state] : "?";
}

/* Said after a migration ioctl failed with EBUSY. */
static const char *busy_hint(int err)
{
	return err == -EBUSY ?
	       " (the other migration protocol, the v1 region, may be driving the device)" :
	       "";
}

static int mig_flags_locked(struct vfmig_device *dev, uint64_t *flags)
{
	struct vfio_device_feature_migration mig = { 0 };
	int ret;

	if (dev->have_mig_flags) {
		*flags = dev->mig_flags;
		return 0;
	}
	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET |
			    VFIO_DEVICE_FEATURE_MIGRATION, &mig, sizeof(mig));
	if (ret == -ENOTTY)
		return dev_fail(dev, ret,
				"the device's driver offers no v2 migration (VFIO_DEVICE_FEATURE_MIGRATION is not supported)");
	if (ret)
		return dev_fail(dev, ret, "VFIO_DEVICE_FEATURE GET MIGRATION: %s",
				strerror(-ret));
	dev->have_mig_flags = true;
	dev->mig_flags = mig.flags;
	*flags = mig.flags;
	return 0;
}

VFMIG_EXPORT int vfmig_mig_flags(struct vfmig_device *dev, uint64_t *flags)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = mig_flags_locked(dev, flags);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

static int get_state_locked(struct vfmig_device *dev, enum vfmig_state *state)
{
	struct vfio_device_feature_mig_state st = { .data_fd = -1 };
	int ret;

	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET |
			    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
			    sizeof(st));
	if (ret)
		return dev_fail(dev, ret,
				"VFIO_DEVICE_FEATURE GET MIG_DEVICE_STATE: %s%s",
				strerror(-ret), busy_hint(ret));
	*state = (enum vfmig_state)st.device_state;
	return 0;
}

VFMIG_EXPORT int vfmig_mig_get_state(struct vfmig_device *dev,
				     enum vfmig_state *state)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = get_state_locked(dev, state);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* The migration flags a state needs (ERROR: never enterable). */
static uint64_t state_needs(enum vfmig_state s)
{
	switch (s) {
	case VFMIG_STATE_STOP:
	case VFMIG_STATE_RUNNING:
	case VFMIG_STATE_STOP_COPY:
	case VFMIG_STATE_RESUMING:
		return VFMIG_MIG_STOP_COPY;
	case VFMIG_STATE_RUNNING_P2P:
		return VFMIG_MIG_STOP_COPY | VFMIG_MIG_P2P;
	case VFMIG_STATE_PRE_COPY:
		return VFMIG_MIG_STOP_COPY | VFMIG_MIG_PRE_COPY;
	case VFMIG_STATE_PRE_COPY_P2P:
		return VFMIG_MIG_STOP_COPY | VFMIG_MIG_P2P | VFMIG_MIG_PRE_COPY;
	default:
		return ~0ull;
	}
}

static bool state_supported(uint64_t flags, enum vfmig_state s)
{
	return (flags & state_needs(s)) == state_needs(s);
}

/*
 * First step of the shortest path from a state (row) to a target state
 * (column), for a device with every optional state.  The P2P states are
 * preferred where they lie on a shortest path, as the uAPI asks; a device
 * without them skips them (see vfmig_mig_next_state()).  ERROR rows and
 * columns, and STOP_COPY -> PRE_COPY*, have no path (pre-copy cannot
 * follow stop-copy); RESUMING -> PRE_COPY* goes through STOP.  The same
 * table as vfio_mig_get_next_state() of Linux 6.2+.
 */
#define E_ VFMIG_STATE_ERROR
#define S_ VFMIG_STATE_STOP
#define R_ VFMIG_STATE_RUNNING
#define SC VFMIG_STATE_STOP_COPY
#define RS VFMIG_STATE_RESUMING
#define RP VFMIG_STATE_RUNNING_P2P
#define PC VFMIG_STATE_PRE_COPY
#define PP VFMIG_STATE_PRE_COPY_P2P
static const uint8_t first_step[VFMIG_NR_STATES][VFMIG_NR_STATES] = {
	/* to:           E_  S_  R_  SC  RS  RP  PC  PP */
	[E_]          = { E_, E_, E_, E_, E_, E_, E_, E_ },
	[S_]          = { E_, S_, RP, SC, RS, RP, RP, RP },
	[R_]          = { E_, RP, R_, RP, RP, RP, PC, RP },
	[SC]          = { E_, S_, S_, SC, S_, S_, E_, E_ },
	[RS]          = { E_, S_, S_, S_, RS, S_, S_, S_ },
	[RP]          = { E_, S_, R_, S_, S_, RP, R_, PP },
	[PC]          = { E_, R_, R_, PP, R_, R_, PC, PP },
	[PP]          = { E_, RP, RP, SC, RP, RP, PC, PP },
};
#undef E_
#undef S_
#undef R_
#undef SC
#undef RS
#undef RP
#undef PC
#undef PP

VFMIG_EXPORT int vfmig_mig_next_state(uint64_t flags, enum vfmig_state cur,
				      enum vfmig_state target,
				      enum vfmig_state *next)
{
	enum vfmig_state n;

	if ((unsigned int)cur >= VFMIG_NR_STATES ||
	    (unsigned int)target >= VFMIG_NR_STATES ||
	    !state_supported(flags, cur) || !state_supported(flags, target))
		return -EINVAL;
	n = (enum vfmig_state)first_step[cur][target];
	/* A state the device lacks is passed through, not entered. */
	while (n != VFMIG_STATE_ERROR && !state_supported(flags, n))
		n = (enum vfmig_state)first_step[n][target];
	if (n == VFMIG_STATE_ERROR)
		return -EINVAL;
	*next = n;
	return 0;
}

void mig_drop_data_fd_locked(struct vfmig_device *dev)
{
	if (dev->data_fd >= 0)
		close(dev->data_fd);
	dev->data_fd = -1;
}

/* One SET; *@data_fd gets a new data fd or -1.  No message on failure. */
static int set_state_ioctl(struct vfmig_device *dev, enum vfmig_state state,
			   int *data_fd)
{
	struct vfio_device_feature_mig_state st = {
		.device_state = state,
		.data_fd = -1,
	};
	int ret;

	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
			    sizeof(st));
	*data_fd = ret ? -1 : st.data_fd;
	return ret;
}

VFMIG_EXPORT int vfmig_mig_set_state_raw(struct vfmig_device *dev,
					 enum vfmig_state state, int *data_fd)
{
	int fd, ret;

	pthread_mutex_lock(&dev->lock);
	ret = set_state_ioctl(dev, state, &fd);
	if (ret)
		dev_fail(dev, ret,
			 "VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE %s (%u): %s%s",
			 vfmig_state_name(state), state, strerror(-ret),
			 busy_hint(ret));
	pthread_mutex_unlock(&dev->lock);
	trap_catch_up(dev);
	if (data_fd)
		*data_fd = fd;
	else if (fd >= 0)
		close(fd);
	return ret;
}

static bool has_data_session(enum vfmig_state s)
{
	return s == VFMIG_STATE_STOP_COPY || s == VFMIG_STATE_RESUMING ||
	       s == VFMIG_STATE_PRE_COPY || s == VFMIG_STATE_PRE_COPY_P2P;
}

/* Puts back a message saved with vfmig_strerror_r(). */
static void restore_msg(struct vfmig_device *dev, const char *saved)
{
	pthread_mutex_lock(&dev->msg_lock);
	snprintf(dev->msg, sizeof(dev->msg), "%s", saved);
	pthread_mutex_unlock(&dev->msg_lock);
}

/* After a failed arc: say where the device is now and what to do. */
static void explain_after_failure(struct vfmig_device *dev)
{
	enum vfmig_state now;
	char saved[VFMIG_MSG_LEN];
	int ret;

	vfmig_strerror_r(dev, saved, sizeof(saved));
	ret = get_state_locked(dev, &now);
	/* get_state_locked() overwrote the message: put it back. */
	restore_msg(dev, saved);
	if (ret)
		dev_fail_append(dev, "the state cannot be read back (%s)",
				strerror(-ret));
	else if (now == VFMIG_STATE_ERROR)
		dev_fail_append(dev,
				"the device is now in ERROR: reset it (VFIO_DEVICE_RESET, vfmig_reset)");
	else
		dev_fail_append(dev, "the device is now in %s",
				vfmig_state_name(now));
}

static int set_state_locked(struct vfmig_device *dev, enum vfmig_state target)
{
	enum vfmig_state cur, next;
	uint64_t flags;
	int ret, fd;

	ret = mig_flags_locked(dev, &flags);
	if (ret)
		return ret;
	ret = get_state_locked(dev, &cur);
	if (ret)
		return ret;
	/* Eight arcs are more than any shortest path needs. */
	for (int arcs = 0; cur != target && arcs < VFMIG_NR_STATES; arcs++) {
		ret = vfmig_mig_next_state(flags, cur, target, &next);
		if (ret) {
			if (cur == VFMIG_STATE_ERROR)
				return dev_fail(dev, ret,
						"the device is in ERROR: reset it (VFIO_DEVICE_RESET, vfmig_reset) before moving it to %s",
						vfmig_state_name(target));
			return dev_fail(dev, ret,
					"no way from %s to %s for a device with migration flags %#llx%s",
					vfmig_state_name(cur),
					vfmig_state_name(target),
					(unsigned long long)flags,
					state_supported(flags, target) ? "" :
					" (the device does not support the target state)");
		}
		ret = set_state_ioctl(dev, next, &fd);
		if (ret) {
			dev_fail(dev, ret, "migration arc %s -> %s failed: %s%s",
				 vfmig_state_name(cur), vfmig_state_name(next),
				 strerror(-ret), busy_hint(ret));
			explain_after_failure(dev);
			return ret;
		}
		if (fd >= 0) {
			mig_drop_data_fd_locked(dev);
			dev->data_fd = fd;
		} else if (!has_data_session(next)) {
			mig_drop_data_fd_locked(dev);
		}
		cur = next;
	}
	if (cur != target)
		return dev_fail(dev, -ELOOP, "no path found from %s to %s",
				vfmig_state_name(cur), vfmig_state_name(target));
	return 0;
}

VFMIG_EXPORT int vfmig_mig_set_state(struct vfmig_device *dev,
				     enum vfmig_state target)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = set_state_locked(dev, target);
	pthread_mutex_unlock(&dev->lock);
	trap_catch_up(dev);
	return ret;
}

VFMIG_EXPORT int vfmig_mig_set_state_recover(struct vfmig_device *dev,
					     enum vfmig_state target,
					     enum vfmig_state recover)
{
	enum vfmig_state now = VFMIG_STATE_ERROR;
	char first[VFMIG_MSG_LEN], second[VFMIG_MSG_LEN] = "";
	int ret, ret2;

	pthread_mutex_lock(&dev->lock);
	ret = set_state_locked(dev, target);
	if (!ret)
		goto out;
	/* The message stays the first failure's; the rest is appended. */
	vfmig_strerror_r(dev, first, sizeof(first));
	if (get_state_locked(dev, &now) || now != VFMIG_STATE_ERROR) {
		ret2 = set_state_locked(dev, recover);
		if (!ret2) {
			restore_msg(dev, first);
			dev_fail_append(dev, "recovered to %s",
					vfmig_state_name(recover));
			goto out;
		}
		vfmig_strerror_r(dev, second, sizeof(second));
	}
	restore_msg(dev, first);
	if (second[0])
		dev_fail_append(dev, "recovering to %s failed too (%s)",
				vfmig_state_name(recover), second);
	mig_drop_data_fd_locked(dev);
	if (ioctl(dev->fd, VFIO_DEVICE_RESET)) {
		int e = errno;

		dev_fail_append(dev, "VFIO_DEVICE_RESET failed too (%s): unbind and rebind the device",
				strerror(e));
	} else {
		dev_fail_append(dev, "%s: the device was reset (it is RUNNING)",
				second[0] ? "recovery failed" : "it was in ERROR");
	}
out:
	pthread_mutex_unlock(&dev->lock);
	trap_catch_up(dev);
	return ret;
}

VFMIG_EXPORT int vfmig_mig_data_fd(struct vfmig_device *dev)
{
	int fd;

	pthread_mutex_lock(&dev->lock);
	fd = dev->data_fd;
	pthread_mutex_unlock(&dev->lock);
	if (fd < 0)
		return dev_fail(dev, -ENOENT,
				"no migration data fd: enter STOP_COPY, PRE_COPY or RESUMING first");
	return fd;
}

VFMIG_EXPORT int vfmig_mig_take_data_fd(struct vfmig_device *dev)
{
	int fd;

	pthread_mutex_lock(&dev->lock);
	fd = dev->data_fd;
	dev->data_fd = -1;
	pthread_mutex_unlock(&dev->lock);
	if (fd < 0)
		return dev_fail(dev, -ENOENT,
				"no migration data fd: enter STOP_COPY, PRE_COPY or RESUMING first");
	return fd;
}

VFMIG_EXPORT int vfmig_mig_data_size(struct vfmig_device *dev,
				     uint64_t *stop_copy_length)
{
	struct vfio_device_feature_mig_data_size ds = { 0 };
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET |
			    VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds, sizeof(ds));
	pthread_mutex_unlock(&dev->lock);
	if (ret == -ENOTTY || ret == -EINVAL)
		return dev_fail(dev, ret,
				"VFIO_DEVICE_FEATURE GET MIG_DATA_SIZE: %s: the driver does not report its state size (Linux 6.1's uAPI lacks it; QEMU 8+ then assumes 100 GiB)",
				strerror(-ret));
	if (ret)
		return dev_fail(dev, ret, "VFIO_DEVICE_FEATURE GET MIG_DATA_SIZE: %s%s",
				strerror(-ret), busy_hint(ret));
	*stop_copy_length = ds.stop_copy_length;
	return 0;
}

VFMIG_EXPORT int vfmig_mig_precopy_info(struct vfmig_device *dev,
					uint64_t *initial_bytes,
					uint64_t *dirty_bytes)
{
	struct vfio_precopy_info pi = { .argsz = sizeof(pi) };
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if (dev->data_fd < 0)
		ret = dev_fail(dev, -ENOENT,
			       "VFIO_MIG_GET_PRECOPY_INFO needs the data fd of PRE_COPY: move the device to PRE_COPY first");
	else if (ioctl(dev->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &pi))
		ret = neg_errno();
	pthread_mutex_unlock(&dev->lock);
	if (ret == -ENOENT)
		return ret;
	if (ret)
		return dev_fail(dev, ret, "VFIO_MIG_GET_PRECOPY_INFO: %s%s",
				strerror(-ret),
				ret == -EINVAL ? " (only in PRE_COPY or PRE_COPY_P2P)" :
				ret == -ENOTTY ? " (the driver has no pre-copy info)" : "");
	*initial_bytes = pi.initial_bytes;
	*dirty_bytes = pi.dirty_bytes;
	return 0;
}
