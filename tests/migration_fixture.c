// SPDX-License-Identifier: GPL-2.0
/* Fixtures for the migration tests; see migration_fixture.h. */
#include "migration_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "lab_fixture.h"

#define MG_MAX_OPEN 16
#define MG_CHUNK (1u << 20)

/* Handles this test child still holds, closed by the cleanup. */
static struct vfmig_device *mg_open_devs[MG_MAX_OPEN];

static int close_cleanup(void *arg)
{
	struct vfmig_device **slot = arg;

	vfmig_close(*slot);
	*slot = NULL;
	return 0;
}

struct vfmig_device *mg_open(const char *bdf)
{
	struct vfmig_error err = { 0 };
	struct vfmig_device *dev;
	int ret, i;

	for (i = 0; i < MG_MAX_OPEN && mg_open_devs[i]; i++)
		;
	if (i == MG_MAX_OPEN)
		FAIL("more than %d devices open", MG_MAX_OPEN);
	ret = vfmig_open(bdf, &dev, &err);
	if (ret < 0)
		FAIL("vfmig_open(%s): %s (%s)", bdf, strerror(-ret), err.msg);
	mg_open_devs[i] = dev;
	test_add_cleanup(close_cleanup, &mg_open_devs[i], "close device");
	return dev;
}

void mg_close(struct vfmig_device *dev)
{
	for (int i = 0; i < MG_MAX_OPEN; i++) {
		if (mg_open_devs[i] == dev) {
			vfmig_close(dev);
			mg_open_devs[i] = NULL;
			return;
		}
	}
	FAIL("mg_close of a device mg_open did not open");
}

enum vfmig_state mg_state(struct vfmig_device *dev)
{
	enum vfmig_state state;

	MG_OK(dev, vfmig_mig_get_state(dev, &state));
	return state;
}

void mg_expect_state(struct vfmig_device *dev, enum vfmig_state want)
{
	enum vfmig_state got = mg_state(dev);

	if (got != want)
		FAIL("%s is in %s, expected %s", vfmig_bdf(dev),
		     vfmig_state_name(got), vfmig_state_name(want));
}

void mg_setup_two_edu(char a[PCI_BDF_LEN], char b[PCI_BDF_LEN])
{
	lab_require();
	mt_find_two_edu(a, b);
	mt_bind_mediate(a);
	mt_bind_mediate(b);
	mg_load_for_test("");
	mg_accept(MG_A, "all");
}

void mg_buf_free(struct mg_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
}

int mg_memfd(const void *data, size_t len)
{
	int fd = memfd_create("mg-stream", MFD_CLOEXEC);
	const uint8_t *p = data;
	size_t done = 0;
	ssize_t n;

	ASSERT_OK(fd);
	while (done < len) {
		n = write(fd, p + done, len - done);
		ASSERT_GT(n, 0);
		done += (size_t)n;
	}
	ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

void mg_memfd_read(int fd, struct mg_buf *out)
{
	off_t size = lseek(fd, 0, SEEK_END);
	size_t done = 0;
	ssize_t n;

	ASSERT_GE(size, 0);
	out->len = (size_t)size;
	out->data = malloc(out->len ? out->len : 1);
	ASSERT_TRUE(out->data != NULL);
	while (done < out->len) {
		n = pread(fd, out->data + done, out->len - done, (off_t)done);
		ASSERT_GT(n, 0);
		done += (size_t)n;
	}
}

void mg_save(struct vfmig_device *dev, struct mg_buf *out, bool precopy)
{
	struct vfmig_xfer_options opt = { .precopy = precopy };
	uint64_t bytes = 0;
	int fd = memfd_create("mg-save", MFD_CLOEXEC);

	ASSERT_OK(fd);
	MG_OK(dev, vfmig_mig_save(dev, fd, &opt, &bytes));
	mg_memfd_read(fd, out);
	close(fd);
	ASSERT_EQ(bytes, out->len);
	mg_expect_state(dev, VFMIG_STATE_STOP);
}

void mg_v1_save(struct vfmig_device *dev, const struct vfmig_v1_options *opt,
		struct mg_buf *out)
{
	uint64_t bytes = 0;
	int fd = memfd_create("mg-v1-save", MFD_CLOEXEC);

	ASSERT_OK(fd);
	MG_OK(dev, vfmig_v1_save(dev, fd, opt, &bytes));
	mg_memfd_read(fd, out);
	close(fd);
	ASSERT_EQ(bytes, out->len);
}

size_t mg_read_to_eof(struct vfmig_device *dev, struct mg_buf *out)
{
	size_t total = 0;
	ssize_t n;

	for (;;) {
		out->data = realloc(out->data, out->len + MG_CHUNK);
		ASSERT_TRUE(out->data != NULL);
		n = vfmig_mig_read(dev, out->data + out->len, MG_CHUNK);
		MG_OK(dev, n);
		if (n == 0)
			return total;
		out->len += (size_t)n;
		total += (size_t)n;
	}
}

int mg_load(struct vfmig_device *dev, const void *data, size_t len,
	    enum mg_load_step *at)
{
	enum mg_load_step step = MG_AT_RESUMING;
	int ret;

	ret = vfmig_mig_set_state(dev, VFMIG_STATE_RESUMING);
	if (!ret && len) {
		step = MG_AT_WRITE;
		ret = vfmig_mig_write(dev, data, len);
	}
	if (!ret) {
		step = MG_AT_LEAVE;
		ret = vfmig_mig_set_state(dev, VFMIG_STATE_STOP);
	}
	if (at)
		*at = ret ? step : MG_AT_NONE;
	return ret;
}

void mg_to_running(struct vfmig_device *dev)
{
	if (mg_state(dev) == VFMIG_STATE_ERROR)
		MG_OK(dev, vfmig_reset(dev));
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING));
	mg_expect_state(dev, VFMIG_STATE_RUNNING);
}

/* --- the framework's stream ------------------------------------------ */

#define TRAILER_SIZE sizeof(struct vfio_pci_mediate_stream_trailer)

void mg_stream_parse(const void *data, size_t len, struct mg_stream *out)
{
	char why[160];

	if (mg_stream_check(data, len, NULL, out, why, sizeof(why)))
		FAIL("the kernel would refuse this stream: %s", why);
}

void mg_stream_reseal(uint8_t *data, size_t len)
{
	ASSERT_GE(len, TRAILER_SIZE);
	mg_put_le(data + len - 8, 8, mg_xxh64(data, len - TRAILER_SIZE, 0));
}

uint64_t mg_mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kib = 0;
	char line[256];

	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	ASSERT_GT(kib, 0);
	return kib * 1024;
}
