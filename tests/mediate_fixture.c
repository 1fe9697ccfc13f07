// SPDX-License-Identifier: GPL-2.0
/* Fixtures for the mediate ops tests; see mediate_fixture.h. */
#include "mediate_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"

#define DEBUGFS_DIR "/sys/kernel/debug"
#define MT_DEBUGFS DEBUGFS_DIR "/vfio_pci_mediate_test"
#define MEDIATORS_FILE "/sys/bus/pci/drivers/vfio-pci-mediate/mediators"
/* How long the end-of-test unload waits for releases to finish. */
#define UNLOAD_WAIT_MS 10000

/* --- the module -------------------------------------------------------- */

const char *mt_module_path(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/tests/kernel/vfio-pci-mediate-test.ko",
		 lab_project_dir());
	return path;
}

bool mt_module_loaded(void)
{
	return access("/sys/module/" MT_MODULE, F_OK) == 0;
}

int mt_module_load(const char *params)
{
	int fd = open(mt_module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = (int)syscall(SYS_finit_module, fd, params, 0);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}

int mt_module_unload(void)
{
	return syscall(SYS_delete_module, MT_MODULE, O_NONBLOCK) < 0 ? -errno :
								       0;
}

static int unload_cleanup(void *arg)
{
	uint64_t deadline = mt_now_ms() + UNLOAD_WAIT_MS;
	int ret;

	(void)arg;
	while (mt_module_loaded()) {
		ret = mt_module_unload();
		if (ret == 0 || ret == -ENOENT)
			break;
		if ((ret != -EAGAIN && ret != -EBUSY) ||
		    mt_now_ms() > deadline) {
			test_log("cannot unload %s: %s", MT_MODULE,
				 strerror(-ret));
			return ret;
		}
		mt_sleep_ms(20);
	}
	return 0;
}

static void mount_debugfs(void)
{
	struct statfs st;

	if (statfs(DEBUGFS_DIR, &st) == 0 && st.f_type == DEBUGFS_MAGIC)
		return;
	/* The lab does not mount it; it stays mounted, which is harmless. */
	ASSERT_OK(mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL));
}

void mt_unload_at_end(void)
{
	test_add_cleanup(unload_cleanup, NULL, "unload " MT_MODULE);
}

void mt_load_for_test(const char *params)
{
	int ret;

	ASSERT_OK(access(mt_module_path(), R_OK));
	mount_debugfs();
	if (mt_module_loaded())
		FAIL("%s is loaded already: an earlier test left it", MT_MODULE);
	mt_unload_at_end();
	ret = mt_module_load(params);
	if (ret < 0)
		FAIL("loading %s failed: %s", mt_module_path(), strerror(-ret));
	ASSERT_OK(access(MT_DEBUGFS "/test0/rules", F_OK));
}

/* --- instances through debugfs ---------------------------------------- */

static void instance_path(char *path, size_t len, int inst, const char *file)
{
	snprintf(path, len, MT_DEBUGFS "/test%d/%s", inst, file);
}

static int write_va(int inst, const char *file, const char *fmt, va_list ap)
{
	char path[PATH_MAX], value[4096];
	ssize_t n;
	int fd, len;

	len = vsnprintf(value, sizeof(value), fmt, ap);
	if (len < 0 || (size_t)len >= sizeof(value))
		return -E2BIG;
	instance_path(path, sizeof(path), inst, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, (size_t)len);
	n = n < 0 ? -errno : n;
	close(fd);
	if (n < 0)
		return (int)n;
	return n == len ? 0 : -EIO;
}

int mt_write(int inst, const char *file, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = write_va(inst, file, fmt, ap);
	va_end(ap);
	return ret;
}

void mt_set(int inst, const char *file, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = write_va(inst, file, fmt, ap);
	va_end(ap);
	if (ret < 0)
		FAIL("writing test%d/%s failed: %s", inst, file,
		     strerror(-ret));
}

int mt_read(int inst, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	instance_path(path, sizeof(path), inst, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	n = n < 0 ? -errno : n;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return (int)n;
}

long mt_stat(int inst, const char *key)
{
	char buf[1024], name[64];
	const char *line = buf;
	long value;

	ASSERT_OK(mt_read(inst, "stats", buf, sizeof(buf)));
	while (line && *line) {
		if (sscanf(line, "%63s %ld", name, &value) == 2 &&
		    strcmp(name, key) == 0)
			return value;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	FAIL("test%d/stats has no %s", inst, key);
}

void mt_register(int inst, bool on)
{
	mt_set(inst, "registered", "%d", on ? 1 : 0);
}

int mt_handles(int inst, struct mt_handle *out, int max)
{
	char buf[4096];
	const char *line = buf;
	int count = 0;

	ASSERT_OK(mt_read(inst, "handles", buf, sizeof(buf)));
	while (line && *line) {
		struct mt_handle h = { 0 };

		if (sscanf(line, "%31s %u rw=%ld mmap=%ld info=%ld pt=%ld",
			   h.bdf, &h.id, &h.rw, &h.mmap, &h.info, &h.pt) != 6)
			FAIL("test%d/handles: bad line: %s", inst, line);
		if (count < max)
			out[count] = h;
		count++;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return count;
}

/* --- what vfio-pci-mediate shows in sysfs ------------------------------ */

int mt_mediators(char names[][MT_NAME_LEN], int max)
{
	char buf[4096];
	int fd = open(MEDIATORS_FILE, O_RDONLY | O_CLOEXEC), count = 0;
	ssize_t n;
	char *line, *save = NULL;

	if (fd < 0)
		FAIL("cannot open %s: %s", MEDIATORS_FILE, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_OK(n);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (count < max)
			snprintf(names[count], MT_NAME_LEN, "%s", line);
		count++;
	}
	return count;
}

void mt_mediator_of(const char *bdf, char *name, size_t len)
{
	int ret = pci_read_attr(bdf, "mediator", name, len);

	if (ret < 0)
		FAIL("reading %s/mediator failed: %s", bdf, strerror(-ret));
}

void mt_expect_mediator(const char *bdf, const char *want)
{
	char name[MT_NAME_LEN];

	mt_mediator_of(bdf, name, sizeof(name));
	if (strcmp(name, want) != 0)
		FAIL("%s/mediator reads \"%s\", expected \"%s\"", bdf, name,
		     want);
}

/* --- kernel log --------------------------------------------------------- */

/*
 * Calls fn for every record still in the kernel's buffer; stops early
 * when fn returns false.
 */
static void kmsg_each(bool (*fn)(uint64_t seq, const char *text, void *arg),
		      void *arg)
{
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		FAIL("cannot open /dev/kmsg: %s", strerror(errno));
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		unsigned long long seq;
		const char *text;

		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (sscanf(rec, "%*u,%llu,", &seq) != 1 || !text)
			continue;
		if (!fn(seq, text + 1, arg))
			break;
	}
	close(fd);
}

static bool kmsg_last(uint64_t seq, const char *text, void *arg)
{
	(void)text;
	*(uint64_t *)arg = seq + 1;
	return true;
}

uint64_t kmsg_mark(void)
{
	uint64_t next = 0;

	kmsg_each(kmsg_last, &next);
	return next;
}

struct kmsg_filter {
	uint64_t mark;
	const char *needles[2];
	int count;
};

static bool kmsg_match(uint64_t seq, const char *text, void *arg)
{
	struct kmsg_filter *f = arg;
	char line[256];

	if (seq < f->mark)
		return true;
	for (int i = 0; i < 2; i++)
		if (f->needles[i] && !strstr(text, f->needles[i]))
			return true;
	snprintf(line, sizeof(line), "%s", text);
	line[strcspn(line, "\n")] = '\0';
	test_log("kmsg %llu: %s", (unsigned long long)seq, line);
	f->count++;
	return true;
}

int kmsg_count_since(uint64_t mark, const char *needle1, const char *needle2)
{
	struct kmsg_filter f = { .mark = mark,
				 .needles = { needle1, needle2 } };

	kmsg_each(kmsg_match, &f);
	return f.count;
}

/* --- devices ------------------------------------------------------------- */

void mt_close_inherited_fds(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned int)keep - 1, 0);
	close_range(keep >= 3 ? (unsigned int)keep + 1 : 3, ~0u, 0);
}

void mt_find_two_edu(char a[PCI_BDF_LEN], char b[PCI_BDF_LEN])
{
	char found[4][PCI_BDF_LEN];
	int n = pci_find_devices(VENDOR_QEMU_EDU, DEVICE_QEMU_EDU, found, 4);

	if (n < 2)
		SKIP("needs two QEMU edu devices, found %d", n);
	memcpy(a, found[0], PCI_BDF_LEN);
	memcpy(b, found[1], PCI_BDF_LEN);
}

void mt_bind_mediate(const char *bdf)
{
	lab_restore_binding_at_end(bdf);
	lab_bind(bdf, DRIVER_VFIO_PCI_MEDIATE);
}

void mt_check_edu_id(const struct vfio_dev *dev)
{
	uint32_t id = 0;

	ASSERT_OK(vfio_region_read32(dev, VFIO_PCI_BAR0_REGION_INDEX,
				     EDU_REG_ID, &id));
	ASSERT_EQ(id, EDU_ID_VALUE);
}

static int kill_cleanup(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;
	uint64_t deadline = mt_now_ms() + UNLOAD_WAIT_MS;

	if (kill(pid, SIGKILL) < 0)
		return 0;	/* reaped already */
	/* A child stuck in the kernel cannot die: report it, do not hang. */
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (mt_now_ms() > deadline) {
			test_log("child %d did not die on SIGKILL", (int)pid);
			return -ETIMEDOUT;
		}
		mt_sleep_ms(10);
	}
	return 0;
}

void mt_kill_at_end(pid_t pid)
{
	test_add_cleanup(kill_cleanup, (void *)(intptr_t)pid, "kill child");
}

uint64_t mt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void mt_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void mt_setup_edu(char bdf[PCI_BDF_LEN], const char *params)
{
	lab_require();
	lab_find_edu(bdf);
	mt_bind_mediate(bdf);
	mt_load_for_test(params);
}
