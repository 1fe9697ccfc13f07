// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*): the device's
 * driver reports the pages the device wrote.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <linux/vfio.h>

#include "internal.h"

static int logging_fail(struct vfmig_device *dev, int err, const char *what)
{
	return dev_fail(dev, err, "VFIO_DEVICE_FEATURE %s: %s%s", what,
			strerror(-err),
			err == -ENOTTY ?
			" (the device offers no DMA logging: its driver, or its mediator, cannot report what the device writes)" :
			"");
}

VFMIG_EXPORT int vfmig_dma_logging_start(struct vfmig_device *dev,
					 const struct vfmig_range *ranges,
					 uint32_t nr, uint64_t *page_size)
{
	struct vfio_device_feature_dma_logging_control control = {
		.page_size = *page_size,
		.num_ranges = nr,
		.ranges = (uintptr_t)ranges,
	};
	int ret;

	/* struct vfmig_range is laid out as the uAPI's range. */
	_Static_assert(sizeof(struct vfmig_range) ==
		       sizeof(struct vfio_device_feature_dma_logging_range),
		       "vfmig_range layout");
	pthread_mutex_lock(&dev->lock);
	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
			    &control, sizeof(control));
	pthread_mutex_unlock(&dev->lock);
	trap_catch_up(dev);
	if (ret)
		return logging_fail(dev, ret, "SET DMA_LOGGING_START");
	*page_size = control.page_size;
	return 0;
}

VFMIG_EXPORT int vfmig_dma_logging_stop(struct vfmig_device *dev)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
	pthread_mutex_unlock(&dev->lock);
	trap_catch_up(dev);
	return ret ? logging_fail(dev, ret, "SET DMA_LOGGING_STOP") : 0;
}

VFMIG_EXPORT int vfmig_dma_logging_report(struct vfmig_device *dev,
					  uint64_t iova, uint64_t length,
					  uint64_t page_size, uint64_t *bitmap)
{
	struct vfio_device_feature_dma_logging_report report = {
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.bitmap = (uintptr_t)bitmap,
	};
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = feature_ioctl(dev, VFIO_DEVICE_FEATURE_GET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			    &report, sizeof(report));
	pthread_mutex_unlock(&dev->lock);
	return ret ? logging_fail(dev, ret, "GET DMA_LOGGING_REPORT") : 0;
}
