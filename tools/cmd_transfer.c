// SPDX-License-Identifier: GPL-2.0-only
/* vfmig save and load. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int open_file(const char *path, bool write)
{
	int fd;

	if (!strcmp(path, "-")) {
		fd = fcntl(write ? STDOUT_FILENO : STDIN_FILENO,
			   F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fprintf(stderr, "vfmig: standard %s: %s\n",
				write ? "output" : "input", strerror(errno));
		return fd;
	}
	fd = open(path, write ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC :
		  O_RDONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		fprintf(stderr, "vfmig: %s: %s\n", path, strerror(errno));
	return fd;
}

int cmd_transfer(const struct options *o, const char *bdf,
		 const char *path, bool save)
{
	struct vfmig_xfer_options xo = {
		.chunk_size = o->chunk, .precopy = o->precopy,
		.run_after = o->run,
	};
	struct vfmig_v1_options v1o = {
		.access = o->v1_access, .chunk_size = o->chunk,
		.precopy_rounds = o->precopy_rounds, .run_after = o->run,
	};
	struct vfmig_device *dev;
	struct vfmig_error err;
	uint64_t bytes = 0;
	int fd, ret;

	/*
	 * A reader that goes away must fail the save (EPIPE), not kill us
	 * with the device halfway: the library then puts it back.
	 */
	if (save)
		signal(SIGPIPE, SIG_IGN);
	ret = vfmig_open(bdf, &dev, &err);
	if (ret) {
		fprintf(stderr, "vfmig: %s\n", err.msg);
		return exit_code(ret);
	}
	fd = open_file(path, save);
	if (fd < 0) {
		vfmig_close(dev);
		return EXIT_FAILED;
	}
	if (o->v1)
		ret = save ? vfmig_v1_save(dev, fd, &v1o, &bytes) :
			     vfmig_v1_load(dev, fd, &v1o, &bytes);
	else
		ret = save ? vfmig_mig_save(dev, fd, &xo, &bytes) :
			     vfmig_mig_load(dev, fd, &xo, &bytes);
	if (ret)
		fprintf(stderr, "vfmig: %s\n", vfmig_strerror(dev));
	else if (close(fd)) {
		fd = -1;
		ret = -errno;
		fprintf(stderr, "vfmig: %s: %s\n", path, strerror(errno));
	} else {
		fd = -1;
		fprintf(stderr, "vfmig: %s %" PRIu64 " bytes of device state (%s) %s %s\n",
			save ? "saved" : "loaded", bytes, o->v1 ? "v1" : "v2",
			save ? "to" : "from", path);
	}
	if (fd >= 0)
		close(fd);
	vfmig_close(dev);
	/* The device was there: only "in use" has its own code now. */
	return !ret ? EXIT_OK : ret == -EBUSY ? EXIT_IN_USE : EXIT_FAILED;
}
