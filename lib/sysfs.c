// SPDX-License-Identifier: LGPL-2.1-or-later
/* PCI devices in sysfs: describe, list by driver, bind and unbind. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "pci_bind.h"

#define PCI_DEVICES "/sys/bus/pci/devices"
#define PCI_DRIVERS "/sys/bus/pci/drivers"

VFMIG_EXPORT int vfmig_parse_bdf(const char *in, char out[VFMIG_BDF_LEN])
{
	unsigned int dom = 0, bus, slot, fn;
	char tail;

	if (!in || !out)
		return -EINVAL;
	if (sscanf(in, "%x:%x:%x.%x%c", &dom, &bus, &slot, &fn, &tail) != 4) {
		dom = 0;
		if (sscanf(in, "%x:%x.%x%c", &bus, &slot, &fn, &tail) != 3)
			return -EINVAL;
	}
	/* sscanf %x also takes signs and 0x: insist on plain hex digits. */
	for (const char *p = in; *p; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			return -EINVAL;
	if (dom > 0xffff || bus > 0xff || slot > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, VFMIG_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, slot, fn);
	return 0;
}

static int read_hex16(const char *bdf, const char *attr, uint16_t *val)
{
	char path[PATH_MAX], buf[32], *end;
	unsigned long v;
	int ret;

	snprintf(path, sizeof(path), "%s/%s/%s", PCI_DEVICES, bdf, attr);
	ret = sysfs_read(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	v = strtoul(buf, &end, 16);
	if (errno || *end || v > 0xffff)
		return -EPROTO;
	*val = (uint16_t)v;
	return 0;
}

int parse_bdf_or_explain(const char *in, char out[VFMIG_BDF_LEN],
			 struct vfmig_error *e)
{
	int ret = vfmig_parse_bdf(in, out);

	if (ret)
		return err_fail(e, ret,
				"'%s' is not a PCI address: give DDDD:BB:DD.F or BB:DD.F (see lspci -D)",
				in ? in : "");
	return 0;
}

VFMIG_EXPORT int vfmig_pci_describe(const char *bdf_in,
				    struct vfmig_pci_device *out,
				    struct vfmig_error *err)
{
	char bdf[VFMIG_BDF_LEN], path[PATH_MAX], group[32];
	int ret;

	err_clear(err);
	ret = parse_bdf_or_explain(bdf_in, bdf, err);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	strcpy(out->bdf, bdf);
	snprintf(path, sizeof(path), "%s/%s", PCI_DEVICES, bdf);
	if (access(path, F_OK))
		return err_fail(err, -ENOENT,
				"%s: no such PCI device (see lspci -D)", bdf);
	ret = read_hex16(bdf, "vendor", &out->vendor);
	if (!ret)
		ret = read_hex16(bdf, "device", &out->device);
	if (ret)
		return err_fail(err, ret, "%s: cannot read its vendor/device id: %s",
				bdf, strerror(-ret));

	snprintf(path, sizeof(path), "%s/%s/driver", PCI_DEVICES, bdf);
	if (sysfs_link_name(path, out->driver, sizeof(out->driver)))
		out->driver[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/iommu_group", PCI_DEVICES, bdf);
	out->iommu_group = sysfs_link_name(path, group, sizeof(group)) ? -1 :
			   atoi(group);

	snprintf(path, sizeof(path), "%s/%s/mediator", PCI_DEVICES, bdf);
	out->has_mediator_attr = !sysfs_read(path, out->mediator,
					     sizeof(out->mediator));
	if (!out->has_mediator_attr)
		out->mediator[0] = '\0';

	snprintf(path, sizeof(path), "%s/%s/migration_protocol", PCI_DEVICES,
		 bdf);
	if (sysfs_read(path, out->protocol, sizeof(out->protocol)) ||
	    !out->protocol[0])
		strcpy(out->protocol, "unknown");
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct vfmig_pci_device *)a)->bdf,
		      ((const struct vfmig_pci_device *)b)->bdf);
}

VFMIG_EXPORT int vfmig_pci_list_driver(const char *driver,
				       struct vfmig_pci_device **devs,
				       size_t *n, struct vfmig_error *err)
{
	struct vfmig_pci_device *list = NULL, *grown;
	char path[PATH_MAX], bdf[VFMIG_BDF_LEN];
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int ret;

	err_clear(err);
	*devs = NULL;
	*n = 0;
	if (!driver || !*driver || strchr(driver, '/'))
		return err_fail(err, -EINVAL, "'%s' is not a driver name",
				driver ? driver : "");
	snprintf(path, sizeof(path), "%s/%s", PCI_DRIVERS, driver);
	d = opendir(path);
	if (!d) {
		ret = neg_errno();
		/* Not loaded: no device is bound to it. */
		if (ret == -ENOENT)
			return 0;
		return err_fail(err, ret, "cannot list %s: %s", path,
				strerror(-ret));
	}
	while ((de = readdir(d))) {
		/* The device links are the entries named like a BDF. */
		if (vfmig_parse_bdf(de->d_name, bdf) || strcmp(bdf, de->d_name))
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 8;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				closedir(d);
				free(list);
				return err_fail(err, -ENOMEM, "out of memory");
			}
			list = grown;
		}
		/* A device that goes away meanwhile is simply left out. */
		if (vfmig_pci_describe(bdf, &list[count], NULL))
			continue;
		count++;
	}
	closedir(d);
	if (count)
		qsort(list, count, sizeof(*list), cmp_dev);
	else {
		free(list);
		list = NULL;
	}
	*devs = list;
	*n = count;
	return 0;
}

static void current_driver(const char *bdf, char *buf, size_t len)
{
	if (pci_driver_of(bdf, buf, len))
		buf[0] = '\0';
}

static void copy_out(char *dst, size_t len, const char *src)
{
	if (dst && len)
		snprintf(dst, len, "%s", src);
}

/* Why pci_bind_override() failed, for vfmig_pci_bind() and _unbind(). */
static int explain_bind_failure(const char *bdf, const char *driver, int e,
				const struct pci_bind_result *res,
				struct vfmig_error *err)
{
	const char *root = e == -EACCES || e == -EPERM ? " (run as root)" : "";

	switch (res->step) {
	case PCI_BIND_STEP_OVERRIDE:
		return err_fail(err, e, "%s: %s driver_override: %s%s", bdf,
				*driver ? "writing" : "clearing", strerror(-e),
				root);
	case PCI_BIND_STEP_CLEAR_OVERRIDE:
		return err_fail(err, e,
				"%s: bound to %s, but clearing driver_override then failed: %s%s",
				bdf, driver, strerror(-e), root);
	case PCI_BIND_STEP_UNBIND:
		return err_fail(err, e, "%s: unbinding from %s failed: %s%s",
				bdf, res->old_driver, strerror(-e), root);
	case PCI_BIND_STEP_PROBE:
	case PCI_BIND_STEP_NOT_TAKEN:
		return err_fail(err, e,
				"%s: %s did not take the device (%s; see dmesg); it was on %s and is now on %s",
				bdf, driver,
				res->step == PCI_BIND_STEP_PROBE ? strerror(-e) :
				"probe declined",
				*res->old_driver ? res->old_driver : "no driver",
				*res->driver ? res->driver : "no driver");
	default:
		return err_fail(err, e, "%s: reading its driver: %s", bdf,
				strerror(-e));
	}
}

VFMIG_EXPORT int vfmig_pci_bind_flags(const char *bdf_in, const char *driver,
				      unsigned int flags, char *old_driver,
				      size_t old_len, struct vfmig_error *err)
{
	const struct pci_bind_options opt = {
		.clear_override = flags & VFMIG_BIND_TRANSIENT,
	};
	char bdf[VFMIG_BDF_LEN], path[PATH_MAX], old[VFMIG_NAME_LEN];
	struct pci_bind_result res;
	int ret;

	err_clear(err);
	ret = parse_bdf_or_explain(bdf_in, bdf, err);
	if (ret)
		return ret;
	if (driver && (!*driver || strchr(driver, '/') ||
		       strchr(driver, '\n')))
		return err_fail(err, -EINVAL, "'%s' is not a driver name",
				driver);
	if (flags & ~(unsigned int)VFMIG_BIND_TRANSIENT)
		return err_fail(err, -EINVAL, "unknown bind flags %#x", flags);
	snprintf(path, sizeof(path), "%s/%s", PCI_DEVICES, bdf);
	if (access(path, F_OK))
		return err_fail(err, -ENOENT,
				"%s: no such PCI device (see lspci -D)", bdf);
	current_driver(bdf, old, sizeof(old));
	copy_out(old_driver, old_len, old);
	if (!driver) {
		/* The override is cleared even if the device was unbound. */
		ret = pci_bind_override(bdf, "", &opt, &res);
		if (ret)
			return explain_bind_failure(bdf, "", ret, &res, err);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", PCI_DRIVERS, driver);
	if (access(path, F_OK))
		return err_fail(err, -ENOENT,
				"%s: driver %s is not loaded (modprobe %s)", bdf,
				driver, driver);

	/* Unless transient, the override stays: a later probe binds here. */
	ret = pci_bind_override(bdf, driver, &opt, &res);
	if (ret)
		return explain_bind_failure(bdf, driver, ret, &res, err);
	return 0;
}

VFMIG_EXPORT int vfmig_pci_bind(const char *bdf_in, const char *driver,
				char *old_driver, size_t old_len,
				struct vfmig_error *err)
{
	/* NULL is no driver name here, as "" is not. */
	return vfmig_pci_bind_flags(bdf_in, driver ? driver : "", 0,
				    old_driver, old_len, err);
}

VFMIG_EXPORT int vfmig_pci_unbind(const char *bdf_in, char *old_driver,
				  size_t old_len, char *new_driver,
				  size_t new_len, struct vfmig_error *err)
{
	const struct pci_bind_options opt = { .probe_unbound = true };
	char bdf[VFMIG_BDF_LEN], path[PATH_MAX], old[VFMIG_NAME_LEN];
	struct pci_bind_result res;
	int ret;

	err_clear(err);
	ret = parse_bdf_or_explain(bdf_in, bdf, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", PCI_DEVICES, bdf);
	if (access(path, F_OK))
		return err_fail(err, -ENOENT,
				"%s: no such PCI device (see lspci -D)", bdf);
	current_driver(bdf, old, sizeof(old));
	copy_out(old_driver, old_len, old);

	/* The driver that claims the device takes it, if one does. */
	ret = pci_bind_override(bdf, "", &opt, &res);
	if (ret)
		return explain_bind_failure(bdf, "", ret, &res, err);
	copy_out(new_driver, new_len, res.driver);
	return 0;
}
