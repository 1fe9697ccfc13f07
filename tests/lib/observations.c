// SPDX-License-Identifier: GPL-2.0
/* Observation logs and their comparison; see observations.h. */
#include "observations.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void obs_init(struct observation_log *log)
{
	memset(log, 0, sizeof(*log));
}

void obs_free(struct observation_log *log)
{
	for (size_t i = 0; i < log->count; i++) {
		free(log->entries[i].key);
		free(log->entries[i].data);
	}
	free(log->entries);
	obs_init(log);
}

static void *must_alloc(void *p)
{
	/* Tests run in a forked child; running out of memory ends it. */
	if (!p) {
		perror("observations");
		abort();
	}
	return p;
}

static void append(struct observation_log *log, char *key, const void *data,
		   size_t len, bool is_text)
{
	struct observation *entry;

	if (log->count == log->capacity) {
		log->capacity = log->capacity ? log->capacity * 2 : 64;
		log->entries = must_alloc(realloc(
			log->entries, log->capacity * sizeof(*log->entries)));
	}
	entry = &log->entries[log->count++];
	entry->key = key;
	entry->data = must_alloc(malloc(len ? len : 1));
	memcpy(entry->data, data, len);
	entry->len = len;
	entry->is_text = is_text;
}

static char *format_key(const char *fmt, va_list ap)
{
	char *key;

	if (vasprintf(&key, fmt, ap) < 0)
		must_alloc(NULL);
	return key;
}

void obs_bytes(struct observation_log *log, const void *data, size_t len,
	       const char *key_fmt, ...)
{
	va_list ap;
	char *key;

	va_start(ap, key_fmt);
	key = format_key(key_fmt, ap);
	va_end(ap);
	append(log, key, data, len, false);
}

void obs_u64(struct observation_log *log, uint64_t value,
	     const char *key_fmt, ...)
{
	char text[32];
	va_list ap;
	char *key;

	va_start(ap, key_fmt);
	key = format_key(key_fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "0x%llx", (unsigned long long)value);
	append(log, key, text, strlen(text), true);
}

void obs_result(struct observation_log *log, long ret, const char *key_fmt,
		...)
{
	char text[96];
	va_list ap;
	char *key;

	va_start(ap, key_fmt);
	key = format_key(key_fmt, ap);
	va_end(ap);
	if (ret < 0) {
		const char *name = strerrorname_np((int)-ret);

		snprintf(text, sizeof(text), "error %ld (%s)", -ret,
			 name ? name : "?");
	} else {
		snprintf(text, sizeof(text), "ok %ld", ret);
	}
	append(log, key, text, strlen(text), true);
}

static void print_value(const char *name, const struct observation *entry,
			size_t around)
{
	if (entry->is_text) {
		printf("#   %s: %.*s\n", name, (int)entry->len,
		       (const char *)entry->data);
		return;
	}
	printf("#   %s: %zu bytes", name, entry->len);
	/* Show up to 32 bytes from the 16-byte row holding the difference. */
	size_t start = around & ~(size_t)15;

	for (size_t i = start; i < entry->len && i < start + 32; i++) {
		if ((i - start) % 16 == 0)
			printf("\n#     +0x%04zx:", i);
		printf(" %02x", entry->data[i]);
	}
	putchar('\n');
}

bool obs_equal(const struct observation_log *a, const char *a_name,
	       const struct observation_log *b, const char *b_name)
{
	size_t common = a->count < b->count ? a->count : b->count;

	for (size_t i = 0; i < common; i++) {
		const struct observation *ea = &a->entries[i];
		const struct observation *eb = &b->entries[i];
		size_t shorter = ea->len < eb->len ? ea->len : eb->len;
		size_t diff = 0;

		if (strcmp(ea->key, eb->key) != 0) {
			printf("# observation %zu: keys differ: %s has '%s', %s has '%s'\n",
			       i, a_name, ea->key, b_name, eb->key);
			return false;
		}
		while (diff < shorter && ea->data[diff] == eb->data[diff])
			diff++;
		if (diff == shorter && ea->len == eb->len)
			continue;
		printf("# observation '%s' differs", ea->key);
		if (!ea->is_text)
			printf(" (first at byte 0x%zx)", diff);
		printf(":\n");
		print_value(a_name, ea, diff);
		print_value(b_name, eb, diff);
		return false;
	}
	if (a->count != b->count) {
		const struct observation_log *longer = a->count > b->count ? a : b;

		printf("# %s made %zu observations, %s made %zu; first extra: '%s'\n",
		       a_name, a->count, b_name, b->count,
		       longer->entries[common].key);
		return false;
	}
	return true;
}

void obs_dump(const struct observation_log *log, const char *name)
{
	printf("# %s: %zu observations\n", name, log->count);
	for (size_t i = 0; i < log->count; i++) {
		printf("# [%zu] %s\n", i, log->entries[i].key);
		print_value(name, &log->entries[i], 0);
	}
}
