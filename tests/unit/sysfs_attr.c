// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit test (TAP): common/sysfs_attr.c on ordinary files: what each
 * read gives (trailing newlines and spaces dropped or kept, truncation,
 * numbers), what each write stores (exactly the bytes, "" as "\n"), the
 * name a symlink gives, and the -errno of a missing file or an oversized
 * value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysfs_attr.h"

static int tests, failed;
static char dir[] = "/tmp/sysfs-attr-unit.XXXXXX";

static void result(int ok, const char *name)
{
	printf("%sok %d sysfs_attr.%s\n", ok ? "" : "not ", ++tests, name);
	failed += !ok;
}

/* A new file of that content; its path. */
static const char *file_with(const char *name, const char *content)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(content, f) == EOF || fclose(f)) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	return path;
}

/* What the file holds, as a string. */
static const char *content_of(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_reads(void)
{
	char buf[16], missing[64];
	uint64_t v = 0;
	ssize_t n;

	result(!sysfs_read(file_with("a", "vfio-pci \n\n"), buf, sizeof(buf)) &&
	       !strcmp(buf, "vfio-pci"), "read.drops_trailing_space");
	result(!sysfs_read(file_with("a", " x y\n"), buf, sizeof(buf)) &&
	       !strcmp(buf, " x y"), "read.keeps_inner_space");
	result(!sysfs_read(file_with("a", "0123456789abcdefgh"), buf, 8) &&
	       !strcmp(buf, "0123456"), "read.truncates_to_len");
	result(sysfs_read(file_with("a", "x"), buf, 0) == -EINVAL,
	       "read.zero_len_einval");
	n = sysfs_read_all(file_with("a", "one\ntwo\n"), buf, sizeof(buf));
	result(n == 8 && !strcmp(buf, "one\ntwo\n"), "read_all.as_it_is");
	result(sysfs_read(file_with("a", ""), buf, sizeof(buf)) == 0 &&
	       !buf[0], "read.empty");
	snprintf(missing, sizeof(missing), "%s/none", dir);
	result(sysfs_read(missing, buf, sizeof(buf)) == -ENOENT,
	       "read.missing_enoent");
	result(!sysfs_read_u64(file_with("a", "0x10\n"), &v) && v == 16,
	       "read_u64.hex");
	result(!sysfs_read_u64(file_with("a", "123abc"), &v) && v == 123,
	       "read_u64.stops_at_non_digit");
	result(sysfs_read_u64(file_with("a", "Y\n"), &v) == -EINVAL,
	       "read_u64.not_a_number_einval");
}

static void test_writes(void)
{
	const char *path;
	char big[5000];

	path = file_with("w", "");
	result(!sysfs_write(path, "vfio-pci-mediate") &&
	       !strcmp(content_of(path), "vfio-pci-mediate"),
	       "write.exact_bytes");
	path = file_with("w", "");
	result(!sysfs_write(path, "") && !strcmp(content_of(path), "\n"),
	       "write.empty_as_newline");
	path = file_with("w", "");
	result(!sysfs_write_buf(path, "", 0) && !strcmp(content_of(path), ""),
	       "write_buf.empty_stays_empty");
	path = file_with("w", "");
	result(!sysfs_printf(path, "%s wrote %#x\n", "00:03.0", 4096) &&
	       !strcmp(content_of(path), "00:03.0 wrote 0x1000\n"),
	       "printf.exact_text");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	path = file_with("w", "");
	result(sysfs_printf(path, "%.4096s", big) == -E2BIG &&
	       !strcmp(content_of(path), ""), "printf.page_e2big");
	result(sysfs_printf(path, "%.4095s", big) == 0 &&
	       strlen(content_of(path)) == 4095, "printf.page_minus_one");
	snprintf(big, sizeof(big), "%s/none/x", dir);
	result(sysfs_write(big, "1") == -ENOENT, "write.missing_enoent");
}

static void test_link_name(void)
{
	char path[64], name[8];

	snprintf(path, sizeof(path), "%s/driver", dir);
	if (symlink("../../bus/pci/drivers/edu", path)) {
		printf("Bail out! symlink %s: %s\n", path, strerror(errno));
		exit(1);
	}
	result(!sysfs_link_name(path, name, sizeof(name)) &&
	       !strcmp(name, "edu"), "link_name.last_component");
	result(sysfs_link_name(path, name, 3) == -ENAMETOOLONG,
	       "link_name.too_long");
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	result(sysfs_link_name(path, name, sizeof(name)) == -ENOENT,
	       "link_name.missing_enoent");
}

int main(void)
{
	char cmd[64];

	printf("TAP version 13\n");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_reads();
	test_writes();
	test_link_name();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("# cannot remove %s\n", dir);
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
