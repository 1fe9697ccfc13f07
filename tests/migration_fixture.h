/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures for the migration tests: devices opened through libvfmig and
 * closed when the test ends, whole saves and loads into memory, and on top
 * of stream_frame.h what takes a real stream apart and reseals it.
 */
#ifndef TESTS_MIGRATION_FIXTURE_H
#define TESTS_MIGRATION_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfmig.h>
#include <uapi/linux/vfio_pci_mediate.h>

#include "mediate_fixture.h"
#include "stream_frame.h"

/* Fails the test with the library's message unless expr (an int) is >= 0. */
#define MG_OK(dev, expr)                                                     \
	do {                                                                  \
		long mg_r_ = (long)(expr);                                    \
		if (mg_r_ < 0)                                                \
			FAIL("%s: %s (%s)", #expr, strerror((int)-mg_r_),     \
			     vfmig_strerror(dev));                            \
	} while (0)

/* Opens bdf through libvfmig, closed when the test ends (or by mg_close). */
struct vfmig_device *mg_open(const char *bdf);
void mg_close(struct vfmig_device *dev);

enum vfmig_state mg_state(struct vfmig_device *dev);
void mg_expect_state(struct vfmig_device *dev, enum vfmig_state want);

/*
 * The usual start: inside the lab, both edu devices bound to
 * vfio-pci-mediate (restored at the end), the migrating test mediator
 * loaded with "migtest" serving both.  Nothing is opened yet.
 */
void mg_setup_two_edu(char a[PCI_BDF_LEN], char b[PCI_BDF_LEN]);

/* A stream in memory. */
struct mg_buf {
	uint8_t *data;
	size_t len;
};

void mg_buf_free(struct mg_buf *buf);

/* An in-memory file (memfd) holding len bytes of data, at offset 0. */
int mg_memfd(const void *data, size_t len);
/* Reads all of fd from offset 0 into a new buffer. */
void mg_memfd_read(int fd, struct mg_buf *out);

/* A whole v2 save (vfmig_mig_save) into memory; the device ends in STOP. */
void mg_save(struct vfmig_device *dev, struct mg_buf *out, bool precopy);

/* A whole v1 save (vfmig_v1_save; @opt may be NULL) into memory. */
void mg_v1_save(struct vfmig_device *dev, const struct vfmig_v1_options *opt,
		struct mg_buf *out);

/*
 * Reads the handle's data fd until end of stream, appending to out;
 * returns the bytes read.
 */
size_t mg_read_to_eof(struct vfmig_device *dev, struct mg_buf *out);

/*
 * Loads len bytes into dev: -> RESUMING, writes them in one go, -> STOP.
 * Returns 0, or the first error: *at (may be NULL) tells where it came
 * from.  The device is left where the error left it.
 */
enum mg_load_step { MG_AT_NONE, MG_AT_RESUMING, MG_AT_WRITE, MG_AT_LEAVE };
int mg_load(struct vfmig_device *dev, const void *data, size_t len,
	    enum mg_load_step *at);

/* Takes the device back to RUNNING: reset if it is in ERROR. */
void mg_to_running(struct vfmig_device *dev);

/* --- the framework's stream ------------------------------------------ */

/*
 * Parses and checks a stream as the kernel would, short of what needs the
 * destination (mediator, device, max_state_size); fails the test if the
 * kernel would refuse it.
 */
void mg_stream_parse(const void *data, size_t len, struct mg_stream *out);

/* Recomputes the trailer's checksum after a change before it. */
void mg_stream_reseal(uint8_t *data, size_t len);

/* /proc/meminfo MemAvailable, bytes. */
uint64_t mg_mem_available(void);

#endif
