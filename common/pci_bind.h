/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Binding a PCI device to a driver through its driver_override, shared
 * by libvfmig and the tests (compiled into each).  The functions return
 * -errno and log nothing; where one fails, the result says at which step,
 * so that a caller can explain it in its own words.
 */
#ifndef VFMIG_COMMON_PCI_BIND_H
#define VFMIG_COMMON_PCI_BIND_H

#include <stdbool.h>
#include <stddef.h>

/* Longer than any driver name (the kernel's are far shorter). */
#define PCI_BIND_NAME_LEN 64

/*
 * The name of the driver @bdf is bound to in @name, "" if none; 0, or
 * -errno (-ENAMETOOLONG if it does not fit @len).
 */
int pci_driver_of(const char *bdf, char *name, size_t len);

/*
 * Unbinds @bdf from its driver, if it has one, and checks that it let
 * go (-EBUSY if not).  Its driver before, "" if none, in @old (may be
 * NULL).  0 or -errno.
 */
int pci_unbind_driver(const char *bdf, char *old, size_t old_len);

enum pci_bind_step {
	PCI_BIND_STEP_DRIVER,		/* reading the device's driver link */
	PCI_BIND_STEP_OVERRIDE,		/* writing driver_override */
	PCI_BIND_STEP_UNBIND,		/* unbinding from the old driver */
	PCI_BIND_STEP_PROBE,		/* drivers_probe failed, and the
					 * driver does not have the device */
	PCI_BIND_STEP_NOT_TAKEN,	/* the driver did not take it: -ENODEV */
	PCI_BIND_STEP_CLEAR_OVERRIDE,	/* clearing driver_override after a
					 * bind that succeeded */
};

struct pci_bind_options {
	/* How long the driver may take to show up bound; 0: look once. */
	unsigned int wait_ms;
	/*
	 * Binding to no driver ("" clears the override): ask the kernel to
	 * probe the device, so that a driver that claims it takes it.
	 * Without, the device is left unbound.
	 */
	bool probe_unbound;
	/*
	 * Clear driver_override again after the probe, whether or not the
	 * driver took the device: a device it took stays bound, but the
	 * next probe chooses freely again, and a failed bind leaves no
	 * override behind.  A device already on @driver has its override
	 * cleared too.  Without, the override stays, so a rebind goes back
	 * to the same driver.
	 */
	bool clear_override;
};

struct pci_bind_result {
	enum pci_bind_step step;		/* where it failed */
	char old_driver[PCI_BIND_NAME_LEN];	/* before; "" if none */
	char driver[PCI_BIND_NAME_LEN];		/* after; "" if none */
};

/*
 * Binds @bdf to @driver by writing it to driver_override, unbinding the
 * device from its driver and asking drivers_probe; "" as @driver clears
 * the override and unbinds the device.  Nothing is done if @driver
 * already has it.  0, or -errno with @res->step set; @res's drivers are
 * filled in as far as known.
 */
int pci_bind_override(const char *bdf, const char *driver,
		      const struct pci_bind_options *opt,
		      struct pci_bind_result *res);

#endif /* VFMIG_COMMON_PCI_BIND_H */
