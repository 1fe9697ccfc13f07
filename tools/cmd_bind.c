// SPDX-License-Identifier: GPL-2.0-only
/* vfmig bind and unset-override: a device's driver, through driver_override. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_bind(const struct options *o, const char *bdf)
{
	bool none = !strcmp(o->driver, NO_DRIVER);
	char old[VFMIG_NAME_LEN];
	struct vfmig_error err;
	int ret;

	ret = vfmig_pci_bind_flags(bdf, none ? NULL : o->driver,
				   o->transient ? VFMIG_BIND_TRANSIENT : 0,
				   old, sizeof(old), &err);
	if (ret) {
		fprintf(stderr, "vfmig: %s\n", err.msg);
		return exit_code(ret);
	}
	/* In the form --driver takes, to bind the device back. */
	if (o->print_old)
		printf("%s\n", old[0] ? old : NO_DRIVER);
	else if (none && !old[0])
		printf("%s: already unbound\n", bdf);
	else if (none)
		printf("%s: unbound (was %s)\n", bdf, old);
	else if (!strcmp(old, o->driver))
		printf("%s: already bound to %s\n", bdf, o->driver);
	else
		printf("%s: bound to %s (was %s)\n", bdf, o->driver,
		       old[0] ? old : "no driver");
	return EXIT_OK;
}

int cmd_unset_override(const char *bdf)
{
	char old[VFMIG_NAME_LEN], now[VFMIG_NAME_LEN];
	struct vfmig_error err;
	int ret;

	ret = vfmig_pci_unbind(bdf, old, sizeof(old), now, sizeof(now), &err);
	if (ret) {
		fprintf(stderr, "vfmig: %s\n", err.msg);
		return exit_code(ret);
	}
	printf("%s: unbound from %s, now on %s\n", bdf,
	       old[0] ? old : "no driver", now[0] ? now : "no driver");
	return EXIT_OK;
}
