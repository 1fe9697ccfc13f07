// SPDX-License-Identifier: LGPL-2.1-or-later
/* sysfs, debugfs and module parameter files (sysfs_attr.h). */
#include "sysfs_attr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -errno of the failed call; never 0. */
static int failed_errno(void)
{
	return errno ? -errno : -EIO;
}

ssize_t sysfs_read_all(const char *path, char *buf, size_t len)
{
	size_t used = 0;
	int fd, ret = 0;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failed_errno();
	while (used + 1 < len) {
		ssize_t n = read(fd, buf + used, len - 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = failed_errno();
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (ret)
		return ret;
	buf[used] = '\0';
	return (ssize_t)used;
}

int sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n = sysfs_read_all(path, buf, len);

	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int sysfs_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int ret = sysfs_read(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

int sysfs_link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return failed_errno();
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int sysfs_write_buf(const char *path, const void *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return failed_errno();
	do {
		n = write(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	n = n < 0 ? failed_errno() : n;
	close(fd);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

int sysfs_write(const char *path, const char *val)
{
	/* An empty store is not one: sysfs needs at least a newline. */
	if (!*val)
		val = "\n";
	return sysfs_write_buf(path, val, strlen(val));
}

int sysfs_vprintf(const char *path, const char *fmt, va_list ap)
{
	char text[4096];
	int len = vsnprintf(text, sizeof(text), fmt, ap);

	if (len < 0 || (size_t)len >= sizeof(text))
		return -E2BIG;
	return sysfs_write_buf(path, text, (size_t)len);
}

int sysfs_printf(const char *path, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sysfs_vprintf(path, fmt, ap);
	va_end(ap);
	return ret;
}
