// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small I/O helpers (sysfs files: common/sysfs_attr.c). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "internal.h"

int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	do {
		n = pread(fd, buf, len, (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return neg_errno();
	return (size_t)n == len ? 0 : -EIO;
}

int pwrite_exact(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	do {
		n = pwrite(fd, buf, len, (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return neg_errno();
	return (size_t)n == len ? 0 : -EIO;
}

size_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

/*
 * VFIO_DEVICE_FEATURE with @flags (GET/SET/PROBE | feature) and @len bytes
 * of payload in and out of @payload.  -errno.
 */
int feature_ioctl(struct vfmig_device *dev, uint32_t flags,
			 void *payload, size_t len)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) + 64) /
		     sizeof(uint64_t)];
	struct vfio_device_feature *f = (void *)buf;

	if (len > sizeof(buf) - sizeof(*f))
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	f->argsz = (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len)
		memcpy(f->data, payload, len);
	if (ioctl(dev->fd, VFIO_DEVICE_FEATURE, f))
		return neg_errno();
	if (len)
		memcpy(payload, f->data, len);
	return 0;
}

uint64_t mmio_load(volatile void *p, unsigned int size)
{
	switch (size) {
	case 1: return *(volatile uint8_t *)p;
	case 2: return le16toh(*(volatile uint16_t *)p);
	case 4: return le32toh(*(volatile uint32_t *)p);
	default: return le64toh(*(volatile uint64_t *)p);
	}
}

void mmio_store(volatile void *p, unsigned int size, uint64_t val)
{
	switch (size) {
	case 1: *(volatile uint8_t *)p = (uint8_t)val; break;
	case 2: *(volatile uint16_t *)p = htole16((uint16_t)val); break;
	case 4: *(volatile uint32_t *)p = htole32((uint32_t)val); break;
	default: *(volatile uint64_t *)p = htole64(val); break;
	}
}

uint64_t le_load(const uint8_t *b, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void le_store(uint8_t *b, unsigned int size, uint64_t val)
{
	for (unsigned int i = 0; i < size; i++)
		b[i] = (uint8_t)(val >> (8 * i));
}
