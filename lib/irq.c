// SPDX-License-Identifier: LGPL-2.1-or-later
/* Interrupt info and eventfd triggers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#include "internal.h"

VFMIG_EXPORT int vfmig_irq_info(struct vfmig_device *dev, uint32_t index,
				struct vfmig_irq_info *info)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };
	int ret;

	if (index >= dev->info.num_irqs)
		return dev_fail(dev, -EINVAL,
				"IRQ index %u does not exist (the device has %u)",
				index, dev->info.num_irqs);
	pthread_mutex_lock(&dev->lock);
	ret = ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) ? neg_errno() : 0;
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return dev_fail(dev, ret, "VFIO_DEVICE_GET_IRQ_INFO of index %u: %s",
				index, strerror(-ret));
	info->index = index;
	info->flags = ii.flags;
	info->count = ii.count;
	return 0;
}

VFMIG_EXPORT int vfmig_irq_set_eventfds(struct vfmig_device *dev,
					uint32_t index, uint32_t start,
					uint32_t count, const int *fds)
{
	struct vfio_irq_set *set;
	size_t len;
	int ret = 0;

	if (!count || count > 2048)
		return dev_fail(dev, -EINVAL,
				"IRQ index %u: %u eventfds, give 1 to 2048", index,
				count);
	len = sizeof(*set) + count * sizeof(int32_t);
	set = calloc(1, len);
	if (!set)
		return dev_fail(dev, -ENOMEM, "out of memory");
	set->argsz = (uint32_t)len;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = start;
	set->count = count;
	memcpy(set->data, fds, count * sizeof(int32_t));
	pthread_mutex_lock(&dev->lock);
	ret = ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set) ? neg_errno() : 0;
	pthread_mutex_unlock(&dev->lock);
	if (ret) {
		dev_fail(dev, ret,
			 "VFIO_DEVICE_SET_IRQS eventfds for vectors %u..%u of index %u: %s",
			 start, start + count - 1, index, strerror(-ret));
	}
	free(set);
	return ret;
}

VFMIG_EXPORT int vfmig_irq_disable(struct vfmig_device *dev, uint32_t index)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
	};
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, &set) ? neg_errno() : 0;
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return dev_fail(dev, ret, "disabling IRQ index %u: %s", index,
				strerror(-ret));
	return 0;
}
