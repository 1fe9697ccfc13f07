/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A log of labelled observations (key + bytes, or key + text) a probe makes
 * of a device, so that two runs of the same probe, one per driver, can be
 * compared entry by entry and the first difference shown.
 */
#ifndef TESTS_LIB_OBSERVATIONS_H
#define TESTS_LIB_OBSERVATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct observation {
	char *key;
	unsigned char *data;
	size_t len;
	/* Text values print as text, bytes as a hex dump. */
	bool is_text;
};

struct observation_log {
	struct observation *entries;
	size_t count;
	size_t capacity;
};

void obs_init(struct observation_log *log);
void obs_free(struct observation_log *log);

/* Raw bytes, e.g. a region info buffer or config space. */
void obs_bytes(struct observation_log *log, const void *data, size_t len,
	       const char *key_fmt, ...) __attribute__((format(printf, 4, 5)));

/* An integer value. */
void obs_u64(struct observation_log *log, uint64_t value,
	     const char *key_fmt, ...) __attribute__((format(printf, 3, 4)));

/* A result: ret >= 0 is a count or value, ret < 0 is a negative errno. */
void obs_result(struct observation_log *log, long ret,
		const char *key_fmt, ...) __attribute__((format(printf, 3, 4)));

/* The result of a libc call returning -1 and setting errno. */
#define OBS_SYSCALL(log, expr, ...)                                          \
	do {                                                                  \
		long obs_r_ = (long)(expr);                                   \
		obs_result(log, obs_r_ < 0 ? -errno : obs_r_, __VA_ARGS__);   \
	} while (0)

/*
 * True when both logs hold the same keys with the same values in the same
 * order; otherwise prints the first difference as TAP diagnostics.
 */
bool obs_equal(const struct observation_log *a, const char *a_name,
	       const struct observation_log *b, const char *b_name);

/* Prints every observation as TAP diagnostics, for looking at a probe. */
void obs_dump(const struct observation_log *log, const char *name);

#endif
