// SPDX-License-Identifier: GPL-2.0-only
/* vfmig list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "describe.h"
#include "names.h"


/*
 * sysfs only, as lspci: opening a device runs its driver's open and close
 * paths (a mediator's open, maybe a reset), which a listing must not
 * cause unless asked to (@o->open).
 */
int cmd_list(const struct options *o)
{
	struct vfmig_pci_device *devs;
	struct vfmig_error err;
	struct json j;
	size_t n;
	int ret;

	ret = vfmig_pci_list_driver(o->driver, &devs, &n, &err);
	if (ret) {
		fprintf(stderr, "vfmig: %s\n", err.msg);
		return exit_code(ret);
	}
	if (o->json) {
		json_init(&j, stdout);
		json_array_begin(&j);
	} else if (!n) {
		fprintf(stderr,
			"vfmig: no device is bound to %s (bind one with: vfmig bind BDF%s%s)\n",
			o->driver, strcmp(o->driver, DEFAULT_DRIVER) ? " --driver " : "",
			strcmp(o->driver, DEFAULT_DRIVER) ? o->driver : "");
	} else {
		printf("%-13s %-9s %-5s %-20s %s\n", "BDF", "ID", "GROUP",
		       "MEDIATOR", o->open ? "PROTOCOL MIGRATION" : "PROTOCOL");
	}
	for (size_t i = 0; i < n; i++) {
		const struct vfmig_pci_device *d = &devs[i];
		struct mig_caps c;
		char id[16], buf[128];

		if (o->open)
			open_and_probe(d->bdf, &c);
		if (!o->json) {
			printf("%-13s %-9s %-5d %-20s ", d->bdf,
			       pci_id_text(d, id, sizeof(id)),
			       d->iommu_group,
			       d->has_mediator_attr && d->mediator[0] ?
			       d->mediator : "-");
			if (o->open)
				printf("%-8s %s\n", d->protocol,
				       caps_text(&c, buf, sizeof(buf)));
			else
				printf("%s\n", d->protocol);
			if (o->open && c.open_err && c.open_err != -EBUSY)
				fprintf(stderr, "vfmig: %s\n", c.open_msg);
			continue;
		}
		json_object_begin(&j);
		json_sysfs_fields(&j, d);
		if (o->open) {
			json_open_fields(&j, &c);
			json_migration(&j, &c);
		}
		json_object_end(&j);
	}
	if (o->json) {
		json_array_end(&j);
		json_finish(&j);
	}
	free(devs);
	return EXIT_OK;
}
