// SPDX-License-Identifier: LGPL-2.1-or-later
/* Binding through driver_override (pci_bind.h). */
#include "pci_bind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sysfs_attr.h"

#define PCI_DEVICES "/sys/bus/pci/devices"
#define PCI_PROBE "/sys/bus/pci/drivers_probe"

int pci_driver_of(const char *bdf, char *name, size_t len)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", bdf);
	ret = sysfs_link_name(path, name, len);
	if (ret == -ENOENT) {
		/* No link: no driver. */
		name[0] = '\0';
		return 0;
	}
	return ret;
}

int pci_unbind_driver(const char *bdf, char *old, size_t old_len)
{
	char driver[PCI_BIND_NAME_LEN], path[PATH_MAX];
	int ret = pci_driver_of(bdf, driver, sizeof(driver));

	if (ret)
		return ret;
	if (old && old_len)
		snprintf(old, old_len, "%s", driver);
	if (!driver[0])
		return 0;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver/unbind", bdf);
	ret = sysfs_write(path, bdf);
	if (ret)
		return ret;
	ret = pci_driver_of(bdf, driver, sizeof(driver));
	if (ret)
		return ret;
	return driver[0] ? -EBUSY : 0;
}

/* Until @driver has @bdf (0), or for @wait_ms: -ENODEV. */
static int wait_for_driver(const char *bdf, const char *driver,
			   unsigned int wait_ms, struct pci_bind_result *res)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000000L };

	for (unsigned int waited = 0;; waited += 10) {
		int ret = pci_driver_of(bdf, res->driver, sizeof(res->driver));

		if (ret) {
			res->step = PCI_BIND_STEP_DRIVER;
			return ret;
		}
		if (!strcmp(res->driver, driver))
			return 0;
		if (waited >= wait_ms) {
			res->step = PCI_BIND_STEP_NOT_TAKEN;
			return -ENODEV;
		}
		nanosleep(&tick, NULL);
	}
}

int pci_bind_override(const char *bdf, const char *driver,
		      const struct pci_bind_options *opt,
		      struct pci_bind_result *res)
{
	char override[PATH_MAX];
	int ret;

	memset(res, 0, sizeof(*res));
	res->step = PCI_BIND_STEP_DRIVER;
	ret = pci_driver_of(bdf, res->old_driver, sizeof(res->old_driver));
	if (ret)
		return ret;
	snprintf(override, sizeof(override), PCI_DEVICES "/%s/driver_override",
		 bdf);
	if (driver[0] && !strcmp(res->old_driver, driver)) {
		strcpy(res->driver, driver);
		if (!opt->clear_override)
			return 0;
		/* Already there: still no override left behind, whoever set it. */
		ret = sysfs_write(override, "");
		if (ret)
			res->step = PCI_BIND_STEP_CLEAR_OVERRIDE;
		return ret;
	}
	/* driver_override first, so that nothing else grabs the device. */
	res->step = PCI_BIND_STEP_OVERRIDE;
	ret = sysfs_write(override, driver);
	if (ret)
		return ret;
	res->step = PCI_BIND_STEP_UNBIND;
	ret = pci_unbind_driver(bdf, NULL, 0);
	if (!driver[0]) {
		if (ret || !opt->probe_unbound)
			return ret;
		/* No driver wanting the device is not an error. */
		(void)sysfs_write(PCI_PROBE, bdf);
		res->step = PCI_BIND_STEP_DRIVER;
		return pci_driver_of(bdf, res->driver, sizeof(res->driver));
	}
	if (!ret) {
		int probe_ret = sysfs_write(PCI_PROBE, bdf);

		/* A failed probe binds nothing: look once, do not wait. */
		ret = wait_for_driver(bdf, driver,
				      probe_ret ? 0 : opt->wait_ms, res);
		if (ret == -ENODEV && probe_ret) {
			res->step = PCI_BIND_STEP_PROBE;
			ret = probe_ret;
		}
	}
	if (opt->clear_override) {
		/* Also after a failure: the bind's error is the one to report. */
		int clear_ret = sysfs_write(override, "");

		if (!ret && clear_ret) {
			res->step = PCI_BIND_STEP_CLEAR_OVERRIDE;
			ret = clear_ret;
		}
	}
	return ret;
}
