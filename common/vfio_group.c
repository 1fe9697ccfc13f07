// SPDX-License-Identifier: LGPL-2.1-or-later
/* A VFIO container and a group attached to it (vfio_group.h). */
#include "vfio_group.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

/* -errno of the failed call; never 0. */
static int failed_errno(void)
{
	return errno ? -errno : -EIO;
}

int vfio_container_open(struct vfio_failure *why)
{
	int fd, ret;

	why->step = VFIO_STEP_OPEN_CONTAINER;
	fd = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return failed_errno();
	why->api_version = ioctl(fd, VFIO_GET_API_VERSION);
	if (why->api_version != VFIO_API_VERSION) {
		why->step = VFIO_STEP_API_VERSION;
		ret = -ENOTSUP;
		goto out_close;
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		why->step = VFIO_STEP_TYPE1V2;
		ret = -ENOTSUP;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return ret;
}

static int open_group(int group, unsigned int wait_ms)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000000L };
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	for (unsigned int waited = 0;; waited += 10) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT || waited >= wait_ms)
			return failed_errno();
		nanosleep(&tick, NULL);
	}
}

int vfio_group_attach(int group, int container_fd,
		      const struct vfio_group_options *opt,
		      struct vfio_failure *why)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int fd, ret;

	why->step = VFIO_STEP_OPEN_GROUP;
	fd = open_group(group, opt->wait_ms);
	if (fd < 0)
		return fd;
	why->step = VFIO_STEP_GROUP_STATUS;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status)) {
		ret = failed_errno();
		goto out_close;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		why->step = VFIO_STEP_NOT_VIABLE;
		ret = -ENODEV;
		goto out_close;
	}
	why->step = VFIO_STEP_SET_CONTAINER;
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container_fd)) {
		ret = failed_errno();
		goto out_close;
	}
	if (opt->set_iommu &&
	    ioctl(container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		why->step = VFIO_STEP_SET_IOMMU;
		ret = failed_errno();
		goto out_unset;
	}
	return fd;

out_unset:
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
out_close:
	close(fd);
	return ret;
}
