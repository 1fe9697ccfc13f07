// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * v2 migration data: reading the state out of the data fd and writing it
 * in, in chunks, and the whole save and load built on the state changes.
 *
 * The transfers run without dev->lock, on a dup of the data fd taken under
 * it: another thread may change the state (and close the handle's fd) in
 * the middle of a transfer, which then fails as the driver says, instead
 * of reading some unrelated file that reused the fd number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* A private dup of the handle's data fd, or -errno with a message. */
static int data_fd_dup(struct vfmig_device *dev)
{
	int fd = -1, ret;

	pthread_mutex_lock(&dev->lock);
	if (dev->data_fd >= 0)
		fd = fcntl(dev->data_fd, F_DUPFD_CLOEXEC, 0);
	ret = fd < 0 && dev->data_fd >= 0 ? neg_errno() : 0;
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return dev_fail(dev, ret, "dup of the migration data fd: %s",
				strerror(-ret));
	if (fd < 0)
		return dev_fail(dev, -ENOENT,
				"no migration data fd: enter STOP_COPY, PRE_COPY or RESUMING first");
	return fd;
}

/* One read(); -ENOMSG passes through without a message. */
static ssize_t read_once(struct vfmig_device *dev, int fd, void *buf,
			 size_t len)
{
	ssize_t n;

	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	n = neg_errno();
	if (n == -ENOMSG)
		return n;
	return dev_fail(dev, (int)n, "read of the migration data fd: %s%s",
			strerror((int)-n),
			n == -EINVAL || n == -ENODEV ?
			" (the device left the saving state?)" : "");
}

VFMIG_EXPORT ssize_t vfmig_mig_read(struct vfmig_device *dev, void *buf,
				    size_t len)
{
	ssize_t n;
	int fd;

	fd = data_fd_dup(dev);
	if (fd < 0)
		return fd;
	n = read_once(dev, fd, buf, len);
	close(fd);
	return n;
}

static int write_data(struct vfmig_device *dev, int fd, const void *buf,
		      size_t len)
{
	int ret = write_all(fd, buf, len);

	if (ret)
		return dev_fail(dev, ret,
				"write of %zu bytes to the migration data fd: %s%s",
				len, strerror(-ret),
				ret == -EINVAL || ret == -ENODEV ?
				" (is the device in RESUMING?)" :
				ret == -EPROTO || ret == -EBADMSG ||
				ret == -EFBIG || ret == -EPROTONOSUPPORT ?
				" (the device refused the stream: see the kernel log)" : "");
	return 0;
}

VFMIG_EXPORT int vfmig_mig_write(struct vfmig_device *dev, const void *buf,
				 size_t len)
{
	int fd, ret;

	fd = data_fd_dup(dev);
	if (fd < 0)
		return fd;
	ret = write_data(dev, fd, buf, len);
	close(fd);
	return ret;
}

static size_t chunk_of(const struct vfmig_xfer_options *opt)
{
	return opt && opt->chunk_size ? opt->chunk_size : VFMIG_DEFAULT_CHUNK;
}

VFMIG_EXPORT int vfmig_mig_save_data(struct vfmig_device *dev, int out_fd,
				     const struct vfmig_xfer_options *opt,
				     uint64_t *bytes)
{
	size_t chunk = chunk_of(opt);
	uint64_t moved = 0;
	int fd, ret = 0;
	char *buf;

	buf = malloc(chunk);
	if (!buf)
		return dev_fail(dev, -ENOMEM, "out of memory for a %zu byte chunk",
				chunk);
	fd = data_fd_dup(dev);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	for (;;) {
		ssize_t n = read_once(dev, fd, buf, chunk);

		if (n == 0 || n == -ENOMSG)	/* end, or none for now */
			break;
		if (n < 0) {
			ret = (int)n;
			break;
		}
		ret = write_all(out_fd, buf, (size_t)n);
		if (ret) {
			dev_fail(dev, ret,
				 "writing %zd bytes of device state to the output: %s",
				 n, strerror(-ret));
			break;
		}
		moved += (uint64_t)n;
	}
	close(fd);
	free(buf);
	if (bytes)
		*bytes = moved;
	return ret;
}

VFMIG_EXPORT int vfmig_mig_load_data(struct vfmig_device *dev, int in_fd,
				     const struct vfmig_xfer_options *opt,
				     uint64_t *bytes)
{
	size_t chunk = chunk_of(opt);
	uint64_t moved = 0;
	int fd, ret = 0;
	char *buf;

	buf = malloc(chunk);
	if (!buf)
		return dev_fail(dev, -ENOMEM, "out of memory for a %zu byte chunk",
				chunk);
	fd = data_fd_dup(dev);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	for (;;) {
		ssize_t n = read_full(in_fd, buf, chunk);

		if (n < 0) {
			ret = dev_fail(dev, (int)n,
				       "reading device state from the input: %s",
				       strerror((int)-n));
			break;
		}
		if (n == 0)
			break;
		ret = write_data(dev, fd, buf, (size_t)n);
		if (ret)
			break;
		moved += (uint64_t)n;
	}
	close(fd);
	free(buf);
	if (bytes)
		*bytes = moved;
	return ret;
}

/*
 * After a failed whole save/load: try to put the device back in @start
 * (keeping the first message), and say where it ended.
 */
static void undo_after_failure(struct vfmig_device *dev,
			       enum vfmig_state start)
{
	char saved[VFMIG_MSG_LEN];
	enum vfmig_state now;
	int ret;

	vfmig_strerror_r(dev, saved, sizeof(saved));
	ret = vfmig_mig_set_state(dev, start);
	if (!ret) {
		pthread_mutex_lock(&dev->msg_lock);
		memcpy(dev->msg, saved, sizeof(dev->msg));
		pthread_mutex_unlock(&dev->msg_lock);
		dev_fail_append(dev, "the device was put back in %s",
				vfmig_state_name(start));
		return;
	}
	ret = vfmig_mig_get_state(dev, &now);
	pthread_mutex_lock(&dev->msg_lock);
	memcpy(dev->msg, saved, sizeof(dev->msg));
	pthread_mutex_unlock(&dev->msg_lock);
	if (ret)
		dev_fail_append(dev, "its state cannot be read: reset it");
	else if (now == VFMIG_STATE_ERROR)
		dev_fail_append(dev, "the device is in ERROR: reset it (vfmig_reset)");
	else
		dev_fail_append(dev, "the device was left in %s",
				vfmig_state_name(now));
}

VFMIG_EXPORT int vfmig_mig_save(struct vfmig_device *dev, int out_fd,
				const struct vfmig_xfer_options *opt,
				uint64_t *bytes)
{
	enum vfmig_state start;
	uint64_t flags, pre = 0, rest = 0;
	int ret;

	ret = vfmig_mig_flags(dev, &flags);
	if (ret)
		return ret;
	ret = vfmig_mig_get_state(dev, &start);
	if (ret)
		return ret;
	if (start != VFMIG_STATE_RUNNING && start != VFMIG_STATE_RUNNING_P2P &&
	    start != VFMIG_STATE_STOP)
		return dev_fail(dev, -EBUSY,
				"a save starts from RUNNING, RUNNING_P2P or STOP, and the device is in %s%s",
				vfmig_state_name(start),
				start == VFMIG_STATE_ERROR ? ": reset it (vfmig_reset)" :
				": another save or load is under way, or was left unfinished (finish it, or move the device to STOP or RUNNING)");

	/* Pre-copy only makes sense while the device still runs. */
	if (opt && opt->precopy && (flags & VFMIG_MIG_PRE_COPY) &&
	    start != VFMIG_STATE_STOP) {
		ret = vfmig_mig_set_state(dev, start == VFMIG_STATE_RUNNING ?
					  VFMIG_STATE_PRE_COPY :
					  VFMIG_STATE_PRE_COPY_P2P);
		if (ret)
			goto fail;
		ret = vfmig_mig_save_data(dev, out_fd, opt, &pre);
		if (ret)
			goto fail;
	}
	ret = vfmig_mig_set_state(dev, VFMIG_STATE_STOP_COPY);
	if (ret)
		goto fail;
	ret = vfmig_mig_save_data(dev, out_fd, opt, &rest);
	if (ret)
		goto fail;
	ret = vfmig_mig_set_state(dev, opt && opt->run_after ?
				  VFMIG_STATE_RUNNING : VFMIG_STATE_STOP);
	if (ret)
		goto fail;
	if (bytes)
		*bytes = pre + rest;
	return 0;

fail:
	if (bytes)
		*bytes = pre + rest;
	undo_after_failure(dev, start);
	return ret;
}

VFMIG_EXPORT int vfmig_mig_load(struct vfmig_device *dev, int in_fd,
				const struct vfmig_xfer_options *opt,
				uint64_t *bytes)
{
	enum vfmig_state start;
	uint64_t moved = 0, flags;
	int ret;

	ret = vfmig_mig_flags(dev, &flags);
	if (ret)
		return ret;
	ret = vfmig_mig_get_state(dev, &start);
	if (ret)
		return ret;
	ret = vfmig_mig_set_state(dev, VFMIG_STATE_RESUMING);
	if (ret)
		goto fail;
	ret = vfmig_mig_load_data(dev, in_fd, opt, &moved);
	if (ret)
		goto fail;
	/* Leaving RESUMING is when the driver checks the whole state. */
	ret = vfmig_mig_set_state(dev, VFMIG_STATE_STOP);
	if (ret) {
		dev_fail_append(dev,
				"the device did not accept the state it was given");
		goto out;
	}
	if (opt && opt->run_after)
		ret = vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING);
out:
	if (bytes)
		*bytes = moved;
	return ret;

fail:
	if (bytes)
		*bytes = moved;
	/* A RESUMING session can only be abandoned by leaving it. */
	undo_after_failure(dev, start == VFMIG_STATE_RESUMING ?
			   VFMIG_STATE_STOP : start);
	return ret;
}
