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
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
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
#include "sysfs_attr.h"

#define DEBUGFS_DIR "/sys/kernel/debug"
#define MT_DEBUGFS DEBUGFS_DIR "/vfio_pci_mediate_test"
#define MEDIATORS_FILE "/sys/bus/pci/drivers/vfio-pci-mediate/mediators"
/* How long the end-of-test unload waits for releases to finish. */
#define UNLOAD_WAIT_MS 10000

/* --- the module -------------------------------------------------------- */

static bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

static int module_load(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = (int)syscall(SYS_finit_module, fd, params, 0);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}

const char *mt_module_path(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/tests/kernel/vfio-pci-mediate-test.ko",
		 lab_project_dir());
	return path;
}

bool mt_module_loaded(void)
{
	return module_loaded(MT_MODULE);
}

int mt_module_load(const char *params)
{
	return module_load(mt_module_path(), params);
}

int mt_module_unload(void)
{
	return syscall(SYS_delete_module, MT_MODULE, O_NONBLOCK) < 0 ? -errno :
								       0;
}

/* arg: the module's name; retries while a device is being released. */
static int unload_cleanup(void *arg)
{
	const char *name = arg;
	uint64_t deadline = mt_now_ms() + UNLOAD_WAIT_MS;
	int ret;

	while (module_loaded(name)) {
		ret = syscall(SYS_delete_module, name, O_NONBLOCK) < 0 ?
			-errno : 0;
		if (ret == 0 || ret == -ENOENT)
			break;
		if ((ret != -EAGAIN && ret != -EBUSY) ||
		    mt_now_ms() > deadline) {
			test_log("cannot unload %s: %s", name, strerror(-ret));
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
	test_add_cleanup(unload_cleanup, (void *)MT_MODULE,
			 "unload " MT_MODULE);
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
	char path[PATH_MAX];

	instance_path(path, sizeof(path), inst, file);
	return sysfs_vprintf(path, fmt, ap);
}

int mt_write_try(int inst, const char *file, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = write_va(inst, file, fmt, ap);
	va_end(ap);
	return ret;
}

void mt_write(int inst, const char *file, const char *fmt, ...)
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

	instance_path(path, sizeof(path), inst, file);
	return (int)sysfs_read_all(path, buf, len);
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
	mt_write(inst, "registered", "%d", on ? 1 : 0);
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

#define USER_DMA_ACCESS_PARAM \
	"/sys/module/vfio_pci_mediate/parameters/user_dma_access"

static int write_user_dma_access(bool on)
{
	return sysfs_write(USER_DMA_ACCESS_PARAM, on ? "1\n" : "0\n");
}

static int restore_user_dma_access(void *arg)
{
	return write_user_dma_access(arg != NULL);
}

void mt_user_dma_access_for_test(bool on)
{
	char was[8];

	ASSERT_OK(sysfs_read(USER_DMA_ACCESS_PARAM, was, sizeof(was)));
	ASSERT_OK(write_user_dma_access(on));
	test_add_cleanup(restore_user_dma_access,
			 was[0] == 'Y' || was[0] == '1' ? (void *)1 : NULL,
			 "restore user_dma_access");
}

static bool sample_loaded(const char *module)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s", module);
	return access(path, F_OK) == 0;
}

static int sample_unload_cleanup(void *arg)
{
	const char *module = arg;
	uint64_t deadline = mt_now_ms() + UNLOAD_WAIT_MS;

	while (sample_loaded(module)) {
		if (syscall(SYS_delete_module, module, O_NONBLOCK) == 0)
			return 0;
		if (errno != EAGAIN && errno != EBUSY)
			break;
		if (mt_now_ms() > deadline)
			break;
		mt_sleep_ms(50);
	}
	if (!sample_loaded(module))
		return 0;
	test_log("cannot unload %s: %s", module, strerror(errno));
	return -errno;
}

void mt_sample_load_for_test(const char *module, const char *ko,
			     const char *params)
{
	char path[PATH_MAX];
	int fd;

	test_add_cleanup(sample_unload_cleanup, (void *)module, module);
	if (sample_loaded(module))
		return;
	snprintf(path, sizeof(path), "%s/kernel/samples/%s",
		 lab_project_dir(), ko);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		FAIL("%s: %s (run make modules)", path, strerror(errno));
	ASSERT_OK(syscall(SYS_finit_module, fd, params, 0));
	close(fd);
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

/* --- the migrating test mediator --------------------------------------- */

#define MG_DEBUGFS DEBUGFS_DIR "/" MG_MODULE

const char *mg_module_path(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path),
		 "%s/tests/kernel/vfio-pci-mediate-migtest.ko",
		 lab_project_dir());
	return path;
}

void mg_load_for_test(const char *params)
{
	int ret;

	ASSERT_OK(access(mg_module_path(), R_OK));
	mount_debugfs();
	if (module_loaded(MG_MODULE))
		FAIL("%s is loaded already: an earlier test left it", MG_MODULE);
	test_add_cleanup(unload_cleanup, (void *)MG_MODULE,
			 "unload " MG_MODULE);
	ret = module_load(mg_module_path(), params);
	if (ret < 0)
		FAIL("loading %s failed: %s", mg_module_path(), strerror(-ret));
	ASSERT_OK(access(MG_DEBUGFS "/devices", F_OK));
}

static int mg_write_va(const char *file, const char *fmt, va_list ap)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MG_DEBUGFS "/%s", file);
	return sysfs_vprintf(path, fmt, ap);
}

int mg_write_try(const char *file, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = mg_write_va(file, fmt, ap);
	va_end(ap);
	return ret;
}

void mg_write(const char *file, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = mg_write_va(file, fmt, ap);
	va_end(ap);
	if (ret < 0)
		FAIL("writing %s/%s failed: %s", MG_MODULE, file,
		     strerror(-ret));
}

/* Reads a whole file (one open: the log is taken at open). */
int mg_read(const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MG_DEBUGFS "/%s", file);
	return (int)sysfs_read_all(path, buf, len);
}

void mg_accept(enum mg_mediator m, const char *bdfs)
{
	static const char *const files[] = {
		[MG_A] = "accept",
		[MG_B] = "accept_b",
		[MG_PLAIN] = "accept_plain",
	};

	mg_write(files[m], "%s", bdfs);
}

void mg_state_size(uint64_t bytes)
{
	mg_write("state_size", "%llu", (unsigned long long)bytes);
}

void mg_precopy(uint64_t bytes)
{
	mg_write("precopy", "%llu", (unsigned long long)bytes);
}

static int mg_parse_dev(const char *line, struct mg_dev *d)
{
	char seed[32];
	unsigned long long size, precopy, digest;

	memset(d, 0, sizeof(*d));
	if (sscanf(line,
		   "%*s mediator=%63s size=%llu precopy=%llu seed=%31s digest=%llx run=%15s session=%15s saves=%ld loads=%ld resets=%ld violations=%ld",
		   d->mediator, &size, &precopy, seed, &digest, d->run,
		   d->session, &d->saves, &d->loads, &d->resets,
		   &d->violations) != 11)
		return -EINVAL;
	d->size = size;
	d->precopy = precopy;
	d->digest = digest;
	d->loaded = strcmp(seed, "loaded") == 0;
	if (!d->loaded)
		d->seed = strtoull(seed, NULL, 0);
	return 0;
}

int mg_dev_try(const char *bdf, struct mg_dev *out)
{
	static char buf[16384];
	size_t blen = strlen(bdf);
	char *line, *save = NULL;
	int ret = mg_read("devices", buf, sizeof(buf));

	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, bdf, blen) != 0 || line[blen] != ' ')
			continue;
		if (mg_parse_dev(line, out) < 0)
			FAIL("%s/devices: bad line: %s", MG_MODULE, line);
		return 0;
	}
	return -ENOENT;
}

void mg_dev(const char *bdf, struct mg_dev *out)
{
	int ret = mg_dev_try(bdf, out);

	if (ret < 0)
		FAIL("the migtest mediators serve no open of %s: %s", bdf,
		     strerror(-ret));
}

uint64_t mg_digest(const char *bdf)
{
	struct mg_dev d;

	mg_dev(bdf, &d);
	return d.digest;
}

void mg_expect_no_violations(const char *bdf)
{
	struct mg_dev d;

	mg_dev(bdf, &d);
	if (d.violations)
		FAIL("%s: the framework made %ld call(s) the mediator contract forbids (see the kernel log)",
		     bdf, d.violations);
}

static int mg_ctl_va(const char *bdf, const char *fmt, va_list ap)
{
	char cmd[512];

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	return mg_write_try("ctl", "%s %s", bdf, cmd);
}

int mg_ctl_try(const char *bdf, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = mg_ctl_va(bdf, fmt, ap);
	va_end(ap);
	return ret;
}

void mg_ctl(const char *bdf, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = mg_ctl_va(bdf, fmt, ap);
	va_end(ap);
	if (ret < 0)
		FAIL("%s ctl on %s failed: %s", MG_MODULE, bdf,
		     strerror(-ret));
}

struct mg_log *mg_log_take(void)
{
	struct mg_log *log = calloc(1, sizeof(*log));
	char *buf = malloc(MG_LOG_MAX * MG_LOG_LINE);
	char *line, *save = NULL;
	int ret;

	if (!log || !buf)
		FAIL("out of memory");
	ret = mg_read("log", buf, MG_LOG_MAX * MG_LOG_LINE);
	if (ret < 0)
		FAIL("reading %s/log failed: %s", MG_MODULE, strerror(-ret));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (log->n == MG_LOG_MAX)
			FAIL("%s/log has more than %d lines", MG_MODULE,
			     MG_LOG_MAX);
		snprintf(log->line[log->n++], MG_LOG_LINE, "%s", line);
	}
	free(buf);
	return log;
}

/* The call of line if it is bdf's, else NULL. */
static const char *mg_log_call(const char *line, const char *bdf)
{
	size_t blen = strlen(bdf);

	if (strncmp(line, bdf, blen) != 0 || line[blen] != ' ')
		return NULL;
	return line + blen + 1;
}

void mg_log_expect(const struct mg_log *log, const char *bdf, bool with_saves,
		   const char *const *want)
{
	const char *got[MG_LOG_MAX];
	int n = 0, nwant = 0;
	bool same;

	for (int i = 0; i < log->n; i++) {
		const char *call = mg_log_call(log->line[i], bdf);

		if (!call || (!with_saves && !strncmp(call, "save(", 5)))
			continue;
		got[n++] = call;
	}
	while (want[nwant])
		nwant++;
	same = n == nwant;
	for (int i = 0; same && i < n; i++)
		same = strcmp(got[i], want[i]) == 0;
	if (same)
		return;
	test_log("mediator calls for %s, expected:", bdf);
	for (int i = 0; i < nwant; i++)
		test_log("  %s", want[i]);
	test_log("got:");
	for (int i = 0; i < n; i++)
		test_log("  %s", got[i]);
	FAIL("%s: the mediator was called otherwise than expected", bdf);
}

uint64_t mg_log_saved(const struct mg_log *log, const char *bdf)
{
	unsigned long long bytes;
	uint64_t sum = 0;

	for (int i = 0; i < log->n; i++) {
		const char *call = mg_log_call(log->line[i], bdf);

		if (call && sscanf(call, "save(%llu)", &bytes) == 1 &&
		    !strchr(call, '='))
			sum += bytes;
	}
	return sum;
}

/* Waits for pid for up to ms; its wait status, or -1 if still running. */
int mt_wait_child(pid_t pid, unsigned int ms)
{
	uint64_t deadline = mt_now_ms() + ms;
	int status;

	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		ASSERT_OK(got);
		if (got == pid)
			return status;
		if (mt_now_ms() > deadline)
			return -1;
		mt_sleep_ms(10);
	}
}


void mt_kill_and_reap(pid_t pid)
{
	ASSERT_OK(kill(pid, SIGKILL));
	ASSERT_NE(mt_wait_child(pid, MT_FINISH_WAIT_MS), -1);
}


pid_t mt_spawn(int (*fn)(const void *arg), const void *arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0) {
		mt_close_inherited_fds(-1);
		_exit(fn(arg));
	}
	mt_kill_at_end(pid);
	return pid;
}


/*
 * The device's user, as a VMM would: it listens on the device request IRQ
 * and, when asked, releases the device.  Reports 'r' (ready) and then 'q'
 * (asked) on report_fd.
 */
pid_t mt_spawn_request_listener(const char *bdf, int report_fd)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0) {
		struct {
			struct vfio_irq_set set;
			int32_t fd;
		} req = {
			.set.argsz = sizeof(req),
			.set.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				     VFIO_IRQ_SET_ACTION_TRIGGER,
			.set.index = VFIO_PCI_REQ_IRQ_INDEX,
			.set.count = 1,
		};
		struct vfio_dev dev;
		uint64_t count;

		mt_close_inherited_fds(report_fd);
		req.fd = eventfd(0, 0);
		if (req.fd < 0 || vfio_dev_open(&dev, bdf) < 0 ||
		    ioctl(dev.device_fd, VFIO_DEVICE_SET_IRQS, &req) ||
		    write(report_fd, "r", 1) != 1)
			_exit(1);
		if (read(req.fd, &count, sizeof(count)) != sizeof(count) ||
		    write(report_fd, "q", 1) != 1)
			_exit(1);
		vfio_dev_close(&dev);
		for (;;)
			pause();
	}
	mt_kill_at_end(pid);
	return pid;
}


/* The next byte on fd within ms, or 0. */
char mt_read_report(int fd, unsigned int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, (int)ms) == 1 && read(fd, &c, 1) != 1)
		c = 0;
	return c;
}
