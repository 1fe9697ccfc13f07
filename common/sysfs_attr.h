/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading and writing sysfs, debugfs and module parameter files, shared
 * by libvfmig, the tests and the benchmarks (compiled into each).
 *
 * A store is one write(2): the kernel parses each write on its own, so a
 * value is never split, and a short write is an error (-EIO).  Every
 * function returns 0 (or a count) or -errno; none logs.
 */
#ifndef VFMIG_COMMON_SYSFS_ATTR_H
#define VFMIG_COMMON_SYSFS_ATTR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The file's text in @buf (at most @len - 1 bytes, NUL-terminated),
 * trailing newlines and spaces dropped; 0 or -errno.
 */
int sysfs_read(const char *path, char *buf, size_t len);

/*
 * The file's text in @buf as it is (at most @len - 1 bytes,
 * NUL-terminated), read up to its end; the bytes read or -errno.
 */
ssize_t sysfs_read_all(const char *path, char *buf, size_t len);

/* The number sysfs_read() gives, as strtoull(base 0) reads it; -EINVAL
 * if it does not start with one. */
int sysfs_read_u64(const char *path, uint64_t *val);

/*
 * The last component of what the symlink @path points to (a driver's or
 * a group's name) in @buf; 0, or -errno (-ENAMETOOLONG if it does not fit
 * @len).
 */
int sysfs_link_name(const char *path, char *buf, size_t len);

/* Exactly @len bytes of @buf as one store; 0 or -errno. */
int sysfs_write_buf(const char *path, const void *buf, size_t len);

/* @val as one store; an empty @val is stored as "\n" (clears it). */
int sysfs_write(const char *path, const char *val);

/* printf's text as one store, as it is; -E2BIG past a page (4095). */
int sysfs_vprintf(const char *path, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
int sysfs_printf(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* VFMIG_COMMON_SYSFS_ATTR_H */
