// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Opening a device: sysfs IOMMU group -> type1v2 container -> group ->
 * device fd; and the things that belong to the whole handle (info, reset,
 * close).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "internal.h"
#include "vfio_group.h"

#define PCI_DEVICES "/sys/bus/pci/devices"

/* Lists the group's devices and drivers: "0000:00:03.0 (edu), ...". */
static void describe_group(int group, char *out, size_t len)
{
	char path[PATH_MAX], drv[VFMIG_NAME_LEN];
	struct dirent *de;
	size_t used = 0;
	DIR *d;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
		 group);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/driver", PCI_DEVICES,
			 de->d_name);
		if (sysfs_link_name(path, drv, sizeof(drv)))
			strcpy(drv, "no driver");
		n = snprintf(out + used, len - used, "%s%s (%s)",
			     used ? ", " : "", de->d_name, drv);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	closedir(d);
}

static int group_of(const char *bdf, int *group, struct vfmig_error *err)
{
	char path[PATH_MAX], name[32];
	char *end;
	long id;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", PCI_DEVICES, bdf);
	if (access(path, F_OK))
		return err_fail(err, -ENOENT,
				"%s: no such PCI device (see lspci -D)", bdf);
	snprintf(path, sizeof(path), "%s/%s/iommu_group", PCI_DEVICES, bdf);
	ret = sysfs_link_name(path, name, sizeof(name));
	if (ret)
		return err_fail(err, -ENOENT,
				"%s: the device has no IOMMU group: is the IOMMU enabled (intel_iommu=on / amd_iommu=on on the kernel command line)?",
				bdf);
	errno = 0;
	id = strtol(name, &end, 10);
	if (errno || *end || id < 0 || id > INT_MAX)
		return err_fail(err, -EINVAL, "%s: unexpected IOMMU group name '%s'",
				bdf, name);
	*group = (int)id;
	return 0;
}

static int open_container(struct vfmig_container **out, struct vfmig_error *err)
{
	struct vfmig_container *c;
	struct vfio_failure why;
	int fd;

	fd = vfio_container_open(&why);
	if (fd < 0) {
		if (why.step == VFIO_STEP_API_VERSION)
			return err_fail(err, fd,
					"%s speaks VFIO API version %d, this library version %d",
					VFIO_CONTAINER_PATH, why.api_version,
					VFIO_API_VERSION);
		if (why.step == VFIO_STEP_TYPE1V2)
			return err_fail(err, fd,
					"the kernel offers no type1v2 IOMMU for VFIO (is vfio_iommu_type1 loaded?)");
		return err_fail(err, fd, "cannot open %s: %s%s",
				VFIO_CONTAINER_PATH, strerror(-fd),
				fd == -ENOENT ? " (load the vfio module: modprobe vfio-pci)" :
				fd == -EACCES || fd == -EPERM ? " (run as root)" : "");
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return err_fail(err, -ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void put_container(struct vfmig_container *c)
{
	unsigned int refs;

	pthread_mutex_lock(&c->lock);
	refs = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (refs)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Why group @id of @bdf could not be attached (vfio_group_attach()). */
static int explain_group_failure(const char *bdf, int id, int e,
				 const struct vfio_failure *why,
				 struct vfmig_error *err)
{
	char members[256];

	switch (why->step) {
	case VFIO_STEP_OPEN_GROUP:
		if (e == -ENOENT)
			return err_fail(err, -ENODEV,
					"%s: /dev/vfio/%d does not exist: the device is not bound to a VFIO driver (vfmig bind %s)",
					bdf, id, bdf);
		if (e == -EBUSY)
			return err_fail(err, -EBUSY,
					"%s: IOMMU group %d is in use: another process (a VMM?) has /dev/vfio/%d open, or another handle of this process does (open the device with vfmig_open_shared() on that handle)",
					bdf, id, id);
		return err_fail(err, e, "%s: cannot open /dev/vfio/%d: %s%s", bdf,
				id, strerror(-e),
				e == -EACCES || e == -EPERM ? " (run as root)" : "");
	case VFIO_STEP_GROUP_STATUS:
		return err_fail(err, e, "%s: VFIO_GROUP_GET_STATUS on group %d: %s",
				bdf, id, strerror(-e));
	case VFIO_STEP_NOT_VIABLE:
		describe_group(id, members, sizeof(members));
		return err_fail(err, -ENODEV,
				"%s: IOMMU group %d is not viable: every device of the group must be bound to a VFIO driver or to none (group: %s; see vfmig bind)",
				bdf, id, members);
	case VFIO_STEP_SET_CONTAINER:
		return err_fail(err, e, "%s: VFIO_GROUP_SET_CONTAINER on group %d: %s",
				bdf, id, strerror(-e));
	case VFIO_STEP_SET_IOMMU:
		return err_fail(err, e, "%s: VFIO_SET_IOMMU type1v2: %s", bdf,
				strerror(-e));
	default:
		return err_fail(err, e, "%s: IOMMU group %d: %s", bdf, id,
				strerror(-e));
	}
}

/*
 * The group @id in container @c, opened and attached if the container does
 * not hold it yet.  Called with c->lock held.
 */
static int get_group_locked(struct vfmig_container *c, const char *bdf,
			    int id, struct vfmig_group **out,
			    struct vfmig_error *err)
{
	const struct vfio_group_options opt = { .set_iommu = !c->iommu_set };
	struct vfio_failure why;
	struct vfmig_group *g;
	int fd;

	for (g = c->groups; g; g = g->next) {
		if (g->id == id) {
			g->refs++;
			*out = g;
			return 0;
		}
	}

	fd = vfio_group_attach(id, c->fd, &opt, &why);
	if (fd < 0)
		return explain_group_failure(bdf, id, fd, &why, err);
	c->iommu_set = true;
	g = calloc(1, sizeof(*g));
	if (!g) {
		ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
		close(fd);
		return err_fail(err, -ENOMEM, "out of memory");
	}
	g->id = id;
	g->fd = fd;
	g->refs = 1;
	g->next = c->groups;
	c->groups = g;
	*out = g;
	return 0;
}

static void put_group(struct vfmig_container *c, struct vfmig_group *g)
{
	struct vfmig_group **pp;

	pthread_mutex_lock(&c->lock);
	if (--g->refs) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (pp = &c->groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	/*
	 * The kernel drops the container's IOMMU (and its mappings) with
	 * its last group; the next group attached must set it again.
	 */
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	if (!c->groups)
		c->iommu_set = false;
	pthread_mutex_unlock(&c->lock);
	close(g->fd);
	free(g);
}

static int open_device(const char *bdf_in, struct vfmig_device *peer,
		       struct vfmig_device **devp, struct vfmig_error *err)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char drv[VFMIG_NAME_LEN], path[PATH_MAX];
	struct vfmig_device *dev;
	int ret, e;

	err_clear(err);
	if (!devp)
		return err_fail(err, -EINVAL, "vfmig_open: no place for the handle");
	*devp = NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return err_fail(err, -ENOMEM, "out of memory");
	dev->fd = -1;
	dev->data_fd = -1;
	dev->bar_mmap = true;
	pthread_mutex_init(&dev->lock, NULL);
	trap_init(dev);
	pthread_mutex_init(&dev->msg_lock, NULL);

	ret = parse_bdf_or_explain(bdf_in, dev->bdf, err);
	if (ret)
		goto out_free;
	ret = group_of(dev->bdf, &dev->group_id, err);
	if (ret)
		goto out_free;

	if (peer) {
		dev->container = peer->container;
		pthread_mutex_lock(&dev->container->lock);
		dev->container->refs++;
		pthread_mutex_unlock(&dev->container->lock);
	} else {
		ret = open_container(&dev->container, err);
		if (ret)
			goto out_free;
	}

	pthread_mutex_lock(&dev->container->lock);
	ret = get_group_locked(dev->container, dev->bdf, dev->group_id,
			       &dev->group, err);
	pthread_mutex_unlock(&dev->container->lock);
	if (ret)
		goto out_container;

	dev->fd = ioctl(dev->group->fd, VFIO_GROUP_GET_DEVICE_FD, dev->bdf);
	if (dev->fd < 0) {
		e = neg_errno();
		snprintf(path, sizeof(path), "%s/%s/driver", PCI_DEVICES,
			 dev->bdf);
		if (sysfs_link_name(path, drv, sizeof(drv)))
			strcpy(drv, "no driver");
		if (e == -EBUSY)
			ret = err_fail(err, e,
				       "%s: the device is in use (already open, by a VMM or another handle)",
				       dev->bdf);
		else if (strncmp(drv, "vfio", 4))
			ret = err_fail(err, -ENODEV,
				       "%s: the device is bound to %s, not to a VFIO driver (vfmig bind %s)",
				       dev->bdf, drv, dev->bdf);
		else
			ret = err_fail(err, e,
				       "%s: VFIO_GROUP_GET_DEVICE_FD: %s (driver %s)",
				       dev->bdf, strerror(-e), drv);
		goto out_group;
	}

	if (ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info)) {
		e = neg_errno();
		ret = err_fail(err, e, "%s: VFIO_DEVICE_GET_INFO: %s", dev->bdf,
			       strerror(-e));
		goto out_fd;
	}
	dev->info.flags = info.flags;
	dev->info.num_regions = info.num_regions;
	dev->info.num_irqs = info.num_irqs;
	if (info.num_regions) {
		dev->regions = calloc(info.num_regions, sizeof(*dev->regions));
		if (!dev->regions) {
			ret = err_fail(err, -ENOMEM, "out of memory");
			goto out_fd;
		}
	}
	*devp = dev;
	return 0;

out_fd:
	close(dev->fd);
out_group:
	put_group(dev->container, dev->group);
out_container:
	put_container(dev->container);
out_free:
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->msg_lock);
	free(dev);
	return ret;
}

VFMIG_EXPORT int vfmig_open(const char *bdf, struct vfmig_device **devp,
			    struct vfmig_error *err)
{
	return open_device(bdf, NULL, devp, err);
}

VFMIG_EXPORT int vfmig_open_shared(const char *bdf, struct vfmig_device *peer,
				   struct vfmig_device **devp,
				   struct vfmig_error *err)
{
	if (!peer) {
		err_clear(err);
		return err_fail(err, -EINVAL,
				"vfmig_open_shared: no peer handle to share a container with");
	}
	return open_device(bdf, peer, devp, err);
}

VFMIG_EXPORT void vfmig_close(struct vfmig_device *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	v1_cleanup_locked(dev);
	for (int i = 0; i < VFMIG_NR_BARS; i++)
		region_unmap_areas(&dev->bars[i]);
	mig_drop_data_fd_locked(dev);
	/* Unmap before the container may go: the memory is ours to free. */
	dma_free_all_locked(dev);
	region_cache_free(dev);
	pthread_mutex_unlock(&dev->lock);
	trap_cleanup(dev);

	close(dev->fd);
	put_group(dev->container, dev->group);
	put_container(dev->container);
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->msg_lock);
	free(dev);
}

VFMIG_EXPORT const char *vfmig_bdf(const struct vfmig_device *dev)
{
	return dev->bdf;
}

VFMIG_EXPORT int vfmig_group_id(const struct vfmig_device *dev)
{
	return dev->group_id;
}

VFMIG_EXPORT int vfmig_device_fd(const struct vfmig_device *dev)
{
	return dev->fd;
}

VFMIG_EXPORT int vfmig_container_fd(const struct vfmig_device *dev)
{
	return dev->container->fd;
}

VFMIG_EXPORT int vfmig_device_info(struct vfmig_device *dev,
				   struct vfmig_device_info *info)
{
	*info = dev->info;
	return 0;
}

VFMIG_EXPORT bool vfmig_reset_supported(const struct vfmig_device *dev)
{
	return dev->info.flags & VFIO_DEVICE_FLAGS_RESET;
}

VFMIG_EXPORT int vfmig_reset(struct vfmig_device *dev)
{
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if (ioctl(dev->fd, VFIO_DEVICE_RESET)) {
		ret = neg_errno();
		dev_fail(dev, ret, "VFIO_DEVICE_RESET: %s%s", strerror(-ret),
			 vfmig_reset_supported(dev) ? "" :
			 " (the device offers no reset: VFIO_DEVICE_FLAGS_RESET is clear)");
	}
	/* A reset ends any migration data session. */
	mig_drop_data_fd_locked(dev);
	pthread_mutex_unlock(&dev->lock);
	trap_catch_up(dev);
	return ret;
}
