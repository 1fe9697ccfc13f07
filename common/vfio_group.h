/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VFIO type1v2 container and an IOMMU group attached to it, the steps
 * libvfmig and the tests both take before they can ask for a device fd
 * (shared: compiled into each).  The functions return -errno and log
 * nothing; where one fails, @why says at which step, so that a caller
 * can explain it in its own words.
 */
#ifndef VFMIG_COMMON_VFIO_GROUP_H
#define VFMIG_COMMON_VFIO_GROUP_H

#include <stdbool.h>

#define VFIO_CONTAINER_PATH "/dev/vfio/vfio"

enum vfio_step {
	VFIO_STEP_OPEN_CONTAINER,	/* open(/dev/vfio/vfio) */
	VFIO_STEP_API_VERSION,		/* another API version: -ENOTSUP */
	VFIO_STEP_TYPE1V2,		/* no type1v2 IOMMU: -ENOTSUP */
	VFIO_STEP_OPEN_GROUP,		/* open(/dev/vfio/N) */
	VFIO_STEP_GROUP_STATUS,		/* VFIO_GROUP_GET_STATUS */
	VFIO_STEP_NOT_VIABLE,		/* a device of the group is on a
					 * non-VFIO driver: -ENODEV */
	VFIO_STEP_SET_CONTAINER,	/* VFIO_GROUP_SET_CONTAINER */
	VFIO_STEP_SET_IOMMU,		/* VFIO_SET_IOMMU type1v2 */
};

struct vfio_failure {
	enum vfio_step step;
	int api_version;	/* VFIO_STEP_API_VERSION: what the kernel has */
};

/*
 * /dev/vfio/vfio, checked to speak this VFIO_API_VERSION and to offer the
 * type1v2 IOMMU: its fd, or -errno with @why filled in.
 */
int vfio_container_open(struct vfio_failure *why);

struct vfio_group_options {
	/*
	 * How long to wait for /dev/vfio/N to appear: devtmpfs creates it
	 * asynchronously right after a bind.  0: try once.
	 */
	unsigned int wait_ms;
	/* Set the container's IOMMU: its first group only. */
	bool set_iommu;
};

/*
 * IOMMU group @group opened, checked to be viable and attached to
 * @container_fd (whose IOMMU it then sets if @opt->set_iommu): the group's
 * fd, or -errno with @why filled in and nothing left attached or open.
 */
int vfio_group_attach(int group, int container_fd,
		      const struct vfio_group_options *opt,
		      struct vfio_failure *why);

#endif /* VFMIG_COMMON_VFIO_GROUP_H */
