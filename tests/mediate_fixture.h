/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures for the mediate ops tests: load and unload the test mediator
 * (tests/kernel, module vfio_pci_mediate_test), drive its instances
 * test0..test3 through debugfs, read what vfio-pci-mediate shows in sysfs,
 * and watch the kernel log.  Everything asserts through harness.h, so a
 * test reads straight through; functions returning int give 0 or -errno
 * for the cases a test wants to look at itself.
 */
#ifndef TESTS_MEDIATE_FIXTURE_H
#define TESTS_MEDIATE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "vfio_dev.h"
#include "../include/edu_regs.h"

#define MT_MODULE "vfio_pci_mediate_test"
#define MT_INSTANCES 4
#define MT_NAME_LEN 64

/* edu BAR0 registers. */

/* Byte i of a test mediator device-specific region before any write. */
#define MT_REGION_BYTE(i) ((uint8_t)(((i) & 0xff) ^ 0x5a))

/* --- the module -------------------------------------------------------- */

const char *mt_module_path(void);
bool mt_module_loaded(void);
/* finit_module of the built test module with params ("" for none). */
int mt_module_load(const char *params);
/* delete_module without waiting, as rmmod does: -EAGAIN while in use. */
int mt_module_unload(void);

/*
 * Loads the test module for this test (it must not be loaded yet) and
 * unloads it when the test ends, retrying for a while if a device is
 * still being released.  Mounts debugfs if needed.
 */
void mt_load_for_test(const char *params);

/* Makes sure the test module is not loaded when the test ends. */
void mt_unload_at_end(void);

/* --- instances through debugfs ---------------------------------------- */

int mt_write_try(int inst, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mt_read(int inst, const char *file, char *buf, size_t len);

/* Like mt_write_try, failing the test on error. */
void mt_write(int inst, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A counter from the instance's stats file. */
long mt_stat(int inst, const char *key);

/* Registers or unregisters testN. */
void mt_register(int inst, bool on);

struct mt_handle {
	char bdf[PCI_BDF_LEN];
	unsigned int id;
	/* Calls of rw, mmap, get_region_info; of any in passthrough mode. */
	long rw, mmap, info, pt;
};

/* The opens instance inst serves now; returns how many (asserts). */
int mt_handles(int inst, struct mt_handle *out, int max);

/* --- what vfio-pci-mediate shows in sysfs ------------------------------ */

/* Registered mediators, in order; returns how many (asserts). */
int mt_mediators(char names[][MT_NAME_LEN], int max);
/* The device's "mediator" attribute: a mediator's name or "none". */
void mt_mediator_of(const char *bdf, char *name, size_t len);
/* Asserts the device's mediator attribute reads want. */
void mt_expect_mediator(const char *bdf, const char *want);

/* --- kernel log --------------------------------------------------------- */

/* The sequence number the next kernel log record will get. */
uint64_t kmsg_mark(void);
/*
 * Records logged since mark that contain every non-NULL needle; each is
 * printed as a diagnostic.
 */
int kmsg_count_since(uint64_t mark, const char *needle1, const char *needle2);

/* --- devices ------------------------------------------------------------- */

/* The lab's two edu devices, or SKIP. */
void mt_find_two_edu(char a[PCI_BDF_LEN], char b[PCI_BDF_LEN]);

/* Binds bdf to vfio-pci-mediate for this test, restoring it at the end. */
void mt_bind_mediate(const char *bdf);

/*
 * Sets vfio-pci-mediate's user_dma_access option (whether mediators may
 * reach the user's DMA memory; read at each open) for this test and puts
 * the old value back at its end.
 */
void mt_user_dma_access_for_test(bool on);

/*
 * Loads the sample mediator @module (its name in /sys/module, e.g.
 * "edu_mediate") from kernel/samples/@ko with @params for this test, and
 * unloads it at its end.  Already loaded: left as it is (params unused).
 */
void mt_sample_load_for_test(const char *module, const char *ko,
			     const char *params);

/*
 * The usual start of a test: inside the lab, the first edu bound to
 * vfio-pci-mediate (restored at the end) and the module loaded with params.
 */
void mt_setup_edu(char bdf[PCI_BDF_LEN], const char *params);

/* Reads edu's id register and checks it (through pread). */
void mt_check_edu_id(const struct vfio_dev *dev);

/*
 * In a forked child: closes every fd above 2 but keep (-1: none), so that
 * the child holds no VFIO device its parent opened.
 */
void mt_close_inherited_fds(int keep);

/* Kills (SIGKILL) and reaps pid when the test ends, if still running. */
void mt_kill_at_end(pid_t pid);

/* Milliseconds on the monotonic clock. */
/* How long the helpers below give a child to finish what it was asked. */
#define MT_FINISH_WAIT_MS 10000

/* Waits for @pid up to @ms; its wait status, or -1 if still running. */
int mt_wait_child(pid_t pid, unsigned int ms);
/* SIGKILL and reap, within MT_FINISH_WAIT_MS. */
void mt_kill_and_reap(pid_t pid);
/* A child that exits with @fn(@arg), killed at the end of the test. */
pid_t mt_spawn(int (*fn)(const void *arg), const void *arg);
/*
 * The device's user, as a VMM would: a child that opens @bdf, listens on
 * the device request IRQ and, when asked, closes the device.  Reports 'r'
 * (ready) and then 'q' (asked, closed) on @report_fd.
 */
pid_t mt_spawn_request_listener(const char *bdf, int report_fd);
/* The next byte on @fd within @ms, or 0. */
char mt_read_report(int fd, unsigned int ms);

uint64_t mt_now_ms(void);
void mt_sleep_ms(unsigned int ms);

/* --- the migrating test mediator (tests/kernel/mig_test.c) ------------ */

#define MG_MODULE "vfio_pci_mediate_migtest"
/* Its mediators, in registration order. */
#define MG_MIGTEST "migtest"
#define MG_MIGTEST_B "migtest-b"
#define MG_MIGTEST_PLAIN "migtest-plain"

enum mg_mediator {
	MG_A,		/* "migtest": migration and reset */
	MG_B,		/* "migtest-b": the same under another name */
	MG_PLAIN,	/* "migtest-plain": neither */
};

const char *mg_module_path(void);

/*
 * Loads the migrating test mediator for this test (it must not be loaded
 * yet) with params ("" for none) and unloads it when the test ends.
 * Mounts debugfs if needed.
 */
void mg_load_for_test(const char *params);

/* Writes (or reads) one of its debugfs files; 0/bytes or -errno. */
int mg_write_try(const char *file, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int mg_read(const char *file, char *buf, size_t len);

/* Like mg_write_try, failing the test on error. */
void mg_write(const char *file, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Which devices a mediator serves from the next open: "all", "none", BDFs. */
void mg_accept(enum mg_mediator m, const char *bdfs);

/* Bytes of state, and of pre-copy, of the next opens. */
void mg_state_size(uint64_t bytes);
void mg_precopy(uint64_t bytes);

/* What the mediator shows about an open device (debugfs "devices"). */
struct mg_dev {
	char mediator[MT_NAME_LEN];
	uint64_t size;
	uint64_t precopy;
	bool loaded;		/* holds loaded state; seed meaningless */
	uint64_t seed;
	uint64_t digest;	/* xxh64 of the state */
	char run[16];		/* RUNNING, QUIESCED, STOPPED */
	char session[16];	/* none, live, stopped */
	long saves, loads, resets, violations;
};

/* The open device bdf as the mediator sees it; -ENOENT if it serves none. */
int mg_dev_try(const char *bdf, struct mg_dev *out);
/* As mg_dev_try, failing the test unless it serves bdf. */
void mg_dev(const char *bdf, struct mg_dev *out);
uint64_t mg_digest(const char *bdf);
/* Asserts the framework made no call the mediator's contract forbids. */
void mg_expect_no_violations(const char *bdf);

/*
 * One command for the open device bdf (debugfs "ctl"): "seed S", "dirty",
 * "precopy N", "fail OP ERRNO", "fail clear".  mg_ctl fails the test on
 * error.
 */
int mg_ctl_try(const char *bdf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mg_ctl(const char *bdf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define MG_LOG_MAX 600
#define MG_LOG_LINE 96

/* Calls into the mediator, "BDF CALL" each, oldest first. */
struct mg_log {
	int n;
	char line[MG_LOG_MAX][MG_LOG_LINE];
};

/* Takes (reads and clears) the mediator's call log; malloc()ed, free() it. */
struct mg_log *mg_log_take(void);

/*
 * Asserts that the calls logged for bdf are exactly want (a NULL-ended
 * list, "set_run_state(QUIESCED)", "load(123)", ...); the save(...) lines
 * are left out of the comparison unless with_saves.
 */
void mg_log_expect(const struct mg_log *log, const char *bdf, bool with_saves,
		   const char *const *want);

/* Takes the log and expects bdf's calls (saves left out): NULL-ended. */
#define MG_EXPECT_CALLS(bdf, ...)                                            \
	do {                                                                  \
		struct mg_log *mg_l_ = mg_log_take();                         \
		const char *const mg_w_[] = { __VA_ARGS__ };                  \
		mg_log_expect(mg_l_, bdf, false, mg_w_);                      \
		free(mg_l_);                                                  \
	} while (0)

/* Bytes saved by the save(...) lines logged for bdf. */
uint64_t mg_log_saved(const struct mg_log *log, const char *bdf);

#endif
