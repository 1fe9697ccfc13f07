/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What vfmig's files share: the options a command runs with, the exit
 * codes (vfmig.1, EXIT STATUS) and the commands.
 */
#ifndef VFMIG_TOOLS_CLI_H
#define VFMIG_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "vfmig.h"

#define DEFAULT_DRIVER "vfio-pci-mediate"
/* bind --driver none: no driver, and what --print-old prints for it. */
#define NO_DRIVER "none"

/* Exit codes (vfmig.1, EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_IN_USE = 3,
	EXIT_NO_DEVICE = 4,
	EXIT_PERM = 5,
};

struct options {
	bool json;
	const char *driver;
	bool open;			/* list: open each device */
	bool v1;
	enum vfmig_v1_access v1_access;
	size_t chunk;
	bool precopy;
	bool run;
	unsigned int precopy_rounds;
	bool transient;			/* bind: clear the override after */
	bool print_old;			/* bind: print only the old driver */
};

int exit_code(int err);

int cmd_list(const struct options *o);
int cmd_bind(const struct options *o, const char *bdf);
int cmd_unset_override(const char *bdf);
int cmd_info(const struct options *o, const char *bdf);
int cmd_transfer(const struct options *o, const char *bdf,
		 const char *path, bool save);

#endif /* VFMIG_TOOLS_CLI_H */
