// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Error messages: every failure leaves one sentence a person can act on,
 * in the handle or in the caller's struct vfmig_error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int dev_fail(struct vfmig_device *dev, int err, const char *fmt, ...)
{
	int n;
	va_list ap;

	pthread_mutex_lock(&dev->msg_lock);
	n = snprintf(dev->msg, sizeof(dev->msg), "%s: ", dev->bdf);
	if (n < 0 || (size_t)n >= sizeof(dev->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(dev->msg + n, sizeof(dev->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&dev->msg_lock);
	return err;
}

void dev_fail_append(struct vfmig_device *dev, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	pthread_mutex_lock(&dev->msg_lock);
	used = strlen(dev->msg);
	if (used + 3 < sizeof(dev->msg)) {
		memcpy(dev->msg + used, "; ", 3);
		used += 2;
		va_start(ap, fmt);
		vsnprintf(dev->msg + used, sizeof(dev->msg) - used, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&dev->msg_lock);
}

int err_fail(struct vfmig_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return err;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

void err_clear(struct vfmig_error *e)
{
	if (e) {
		e->err = 0;
		e->msg[0] = '\0';
	}
}

VFMIG_EXPORT const char *vfmig_strerror(const struct vfmig_device *dev)
{
	if (!dev)
		return "no device (the open failed: see its struct vfmig_error)";
	return dev->msg;
}

VFMIG_EXPORT char *vfmig_strerror_r(const struct vfmig_device *dev, char *buf,
				    size_t len)
{
	/* The lock is not part of the handle's logical state. */
	struct vfmig_device *d = (struct vfmig_device *)dev;

	if (!len)
		return buf;
	if (!d) {
		snprintf(buf, len, "%s", vfmig_strerror(NULL));
		return buf;
	}
	pthread_mutex_lock(&d->msg_lock);
	snprintf(buf, len, "%s", d->msg);
	pthread_mutex_unlock(&d->msg_lock);
	return buf;
}
