// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig: list, bind, inspect, save and load VFIO devices with libvfmig.
 * See vfmig.1 for the commands, their output and the exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "json.h"
#include "vfmig.h"

#define DEFAULT_DRIVER "vfio-pci-mediate"
/* -DVFMIG_VERSION from tools/Makefile: the project's ../VERSION. */
#ifndef VFMIG_VERSION
#error "VFMIG_VERSION is not defined: build with tools/Makefile"
#endif

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
};

static int exit_code(int err)
{
	switch (err) {
	case 0: return EXIT_OK;
	case -EBUSY: return EXIT_IN_USE;
	case -ENOENT:
	case -ENODEV: return EXIT_NO_DEVICE;
	case -EACCES:
	case -EPERM: return EXIT_PERM;
	default: return EXIT_FAILED;
	}
}

/* --- names --- */

/* "vvvv:dddd", as lspci -n prints it: the same in list, info and JSON. */
static const char *pci_id_text(const struct vfmig_pci_device *d, char *buf,
			       size_t len)
{
	snprintf(buf, len, "%04x:%04x", d->vendor, d->device);
	return buf;
}

static const char *region_name(uint32_t index, char *buf, size_t len)
{
	static const char *const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM",
		"CONFIG", "VGA",
	};

	if (index < sizeof(names) / sizeof(names[0]))
		return names[index];
	snprintf(buf, len, "REGION%u", index);
	return buf;
}

static const char *irq_name(uint32_t index)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X", "ERR",
					     "REQ" };

	return index < sizeof(names) / sizeof(names[0]) ? names[index] : "?";
}

static const char *cap_name(uint16_t id)
{
	switch (id) {
	case VFMIG_CAP_SPARSE_MMAP: return "sparse-mmap";
	case VFMIG_CAP_TYPE: return "type";
	case VFMIG_CAP_MSIX_MAPPABLE: return "msix-mappable";
	case VFMIG_CAP_NVLINK2_SSATGT: return "nvlink2-ssatgt";
	case VFMIG_CAP_NVLINK2_LNKSPD: return "nvlink2-lnkspd";
	default: return "unknown";
	}
}

struct flag_name {
	uint64_t bit;
	const char *name;
};

static const struct flag_name region_flags[] = {
	{ VFMIG_REGION_READ, "read" }, { VFMIG_REGION_WRITE, "write" },
	{ VFMIG_REGION_MMAP, "mmap" }, { VFMIG_REGION_CAPS, "caps" },
	{ 0, NULL },
};

static const struct flag_name irq_flags[] = {
	{ VFIO_IRQ_INFO_EVENTFD, "eventfd" },
	{ VFIO_IRQ_INFO_MASKABLE, "maskable" },
	{ VFIO_IRQ_INFO_AUTOMASKED, "automasked" },
	{ VFIO_IRQ_INFO_NORESIZE, "noresize" },
	{ 0, NULL },
};

static const struct flag_name device_flags[] = {
	{ VFIO_DEVICE_FLAGS_RESET, "reset" }, { VFIO_DEVICE_FLAGS_PCI, "pci" },
	{ VFIO_DEVICE_FLAGS_CAPS, "caps" },
	{ 0, NULL },
};

static const struct flag_name mig_flags[] = {
	{ VFMIG_MIG_STOP_COPY, "stop-copy" }, { VFMIG_MIG_P2P, "p2p" },
	{ VFMIG_MIG_PRE_COPY, "pre-copy" },
	{ 0, NULL },
};

/* "a,b,c" of the set bits (unknown ones as hex); "-" if none. */
static const char *flags_text(uint64_t v, const struct flag_name *names,
			      char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct flag_name *f = names; f->name; f++) {
		if (!(v & f->bit))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 used ? "," : "", f->name);
		v &= ~f->bit;
		if (used >= len)
			return buf;
	}
	if (v)
		snprintf(buf + used, len - used, "%s%#" PRIx64, used ? "," : "",
			 v);
	return buf[0] ? buf : "-";
}

static void json_flags(struct json *j, const char *key, uint64_t v,
		       const struct flag_name *names)
{
	json_key(j, key);
	json_array_begin(j);
	for (const struct flag_name *f = names; f->name; f++)
		if (v & f->bit)
			json_string(j, f->name);
	json_array_end(j);
}

/* --- migration capabilities, from opening the device --- */

struct mig_caps {
	int open_err;			/* vfmig_open()'s error, or 0 */
	char open_msg[VFMIG_MSG_LEN];
	bool v2;
	int v2_err;			/* why not v2 (ENOTTY: no v2) */
	uint64_t v2_flags;
	bool have_state;
	enum vfmig_state state;
	bool have_data_size;
	uint64_t data_size;
	bool v1;
	uint32_t v1_index;
	uint64_t v1_size;
};

static void probe_migration(struct vfmig_device *dev, struct mig_caps *c,
			    bool details)
{
	struct vfmig_region_info ri;
	int idx;

	c->v2_err = vfmig_mig_flags(dev, &c->v2_flags);
	c->v2 = !c->v2_err;
	if (c->v2 && details) {
		c->have_state = !vfmig_mig_get_state(dev, &c->state);
		c->have_data_size = !vfmig_mig_data_size(dev, &c->data_size);
	}
	idx = vfmig_region_find(dev, VFMIG_REGION_TYPE_MIGRATION,
				VFMIG_REGION_SUBTYPE_MIGRATION);
	if (idx >= 0 && !vfmig_region_info(dev, (uint32_t)idx, &ri)) {
		c->v1 = true;
		c->v1_index = (uint32_t)idx;
		c->v1_size = ri.size;
	}
}

static void open_and_probe(const char *bdf, struct mig_caps *c)
{
	struct vfmig_device *dev;
	struct vfmig_error err;

	memset(c, 0, sizeof(*c));
	c->open_err = vfmig_open(bdf, &dev, &err);
	if (c->open_err) {
		snprintf(c->open_msg, sizeof(c->open_msg), "%s", err.msg);
		return;
	}
	probe_migration(dev, c, false);
	vfmig_close(dev);
}

/* "v1 v2(stop-copy,p2p)", "none", "in use", or "?" */
static const char *caps_text(const struct mig_caps *c, char *buf, size_t len)
{
	char f[96];

	if (c->open_err == -EBUSY)
		return "in use";
	if (c->open_err)
		return "?";
	if (!c->v1 && !c->v2)
		return "none";
	snprintf(buf, len, "%s%s%s%s%s", c->v1 ? "v1" : "",
		 c->v1 && c->v2 ? " " : "", c->v2 ? "v2(" : "",
		 c->v2 ? flags_text(c->v2_flags, mig_flags, f, sizeof(f)) : "",
		 c->v2 ? ")" : "");
	return buf;
}

static void json_migration(struct json *j, const struct mig_caps *c)
{
	json_key(j, "migration");
	if (c->open_err) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_key(j, "v1");
	if (c->v1) {
		json_object_begin(j);
		json_kv_u64(j, "region", c->v1_index);
		json_kv_u64(j, "size", c->v1_size);
		json_object_end(j);
	} else {
		json_null(j);
	}
	json_key(j, "v2");
	if (c->v2) {
		json_object_begin(j);
		json_kv_u64(j, "flags_value", c->v2_flags);
		json_flags(j, "flags", c->v2_flags, mig_flags);
		if (c->have_state)
			json_kv_string(j, "state", vfmig_state_name(c->state));
		json_key(j, "data_size");
		if (c->have_data_size)
			json_u64(j, c->data_size);
		else
			json_null(j);
		json_object_end(j);
	} else {
		json_null(j);
	}
	json_object_end(j);
}

/* --- list --- */

/* What list and info both say in JSON of a device's sysfs description. */
static void json_sysfs_fields(struct json *j,
			      const struct vfmig_pci_device *d)
{
	char id[16];

	json_kv_string(j, "bdf", d->bdf);
	json_kv_string(j, "id", pci_id_text(d, id, sizeof(id)));
	json_kv_u64(j, "vendor", d->vendor);
	json_kv_u64(j, "device", d->device);
	json_kv_string(j, "driver", d->driver);
	json_kv_int(j, "iommu_group", d->iommu_group);
	json_key(j, "mediator");
	if (d->has_mediator_attr)
		json_string(j, d->mediator);
	else
		json_null(j);
	json_kv_string(j, "protocol", d->protocol);
}

/* ... and of whether it could be opened, once it has been tried. */
static void json_open_fields(struct json *j, const struct mig_caps *c)
{
	json_kv_bool(j, "in_use", c->open_err == -EBUSY);
	json_key(j, "error");
	if (c->open_err && c->open_err != -EBUSY)
		json_string(j, c->open_msg);
	else
		json_null(j);
}

/*
 * sysfs only, as lspci: opening a device runs its driver's open and close
 * paths (a mediator's open, maybe a reset), which a listing must not
 * cause unless asked to (@o->open).
 */
static int cmd_list(const struct options *o)
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

/* --- bind / unbind --- */

static int cmd_bind(const struct options *o, const char *bdf)
{
	char old[VFMIG_NAME_LEN];
	struct vfmig_error err;
	int ret;

	ret = vfmig_pci_bind(bdf, o->driver, old, sizeof(old), &err);
	if (ret) {
		fprintf(stderr, "vfmig: %s\n", err.msg);
		return exit_code(ret);
	}
	if (!strcmp(old, o->driver))
		printf("%s: already bound to %s\n", bdf, o->driver);
	else
		printf("%s: bound to %s (was %s)\n", bdf, o->driver,
		       old[0] ? old : "no driver");
	return EXIT_OK;
}

static int cmd_unbind(const char *bdf)
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

/* --- info --- */

static void print_region_text(const struct vfmig_region_info *ri)
{
	char nb[24], fb[64];

	printf("  %-2u %-8s size %#-10" PRIx64 " offset %#-14" PRIx64 " %s",
	       ri->index, region_name(ri->index, nb, sizeof(nb)), ri->size,
	       ri->offset, flags_text(ri->flags, region_flags, fb, sizeof(fb)));
	if (ri->has_type)
		printf(" type=%#x/%u%s", ri->type, ri->subtype,
		       ri->type == VFMIG_REGION_TYPE_MIGRATION &&
		       ri->subtype == VFMIG_REGION_SUBTYPE_MIGRATION ?
		       "(v1-migration)" : "");
	for (uint32_t c = 0; c < ri->nr_caps; c++)
		printf("%s%s", c ? "," : " caps=", cap_name(ri->cap_ids[c]));
	if (ri->has_sparse) {
		printf(" mmap=");
		if (!ri->nr_areas)
			printf("none");
		for (uint32_t a = 0; a < ri->nr_areas; a++)
			printf("%s%#" PRIx64 "+%#" PRIx64, a ? "," : "",
			       ri->areas[a].offset, ri->areas[a].size);
	}
	printf("\n");
}

static void json_region(struct json *j, const struct vfmig_region_info *ri)
{
	char nb[24];

	json_object_begin(j);
	json_kv_u64(j, "index", ri->index);
	json_kv_string(j, "name", region_name(ri->index, nb, sizeof(nb)));
	json_kv_u64(j, "size", ri->size);
	json_kv_u64(j, "offset", ri->offset);
	json_flags(j, "flags", ri->flags, region_flags);
	json_key(j, "caps");
	json_array_begin(j);
	for (uint32_t c = 0; c < ri->nr_caps; c++)
		json_string(j, cap_name(ri->cap_ids[c]));
	json_array_end(j);
	if (ri->has_type) {
		json_kv_u64(j, "type", ri->type);
		json_kv_u64(j, "subtype", ri->subtype);
	}
	json_key(j, "sparse_mmap");
	if (ri->has_sparse) {
		json_array_begin(j);
		for (uint32_t a = 0; a < ri->nr_areas; a++) {
			json_object_begin(j);
			json_kv_u64(j, "offset", ri->areas[a].offset);
			json_kv_u64(j, "size", ri->areas[a].size);
			json_object_end(j);
		}
		json_array_end(j);
	} else {
		json_null(j);
	}
	json_object_end(j);
}

static void print_info_text(const struct vfmig_pci_device *d,
			    struct vfmig_device *dev, const struct mig_caps *c)
{
	struct vfmig_device_info di;
	char id[16], fb[128], caps[128];
	int ret;

	printf("%s %s driver %s, IOMMU group %d\n", d->bdf,
	       pci_id_text(d, id, sizeof(id)),
	       d->driver[0] ? d->driver : "none", d->iommu_group);
	printf("mediator: %s\n",
	       !d->has_mediator_attr ? "- (no mediator attribute)" :
	       d->mediator[0] ? d->mediator : "none");
	printf("migration protocol in use: %s\n", d->protocol);
	if (!dev) {
		printf("device: %s\n", c->open_err == -EBUSY ?
		       "in use by another process: regions, IRQs and migration flags unavailable" :
		       "cannot be opened through VFIO (the reason follows)");
		return;
	}
	vfmig_device_info(dev, &di);
	printf("device flags: %s; reset %s\n",
	       flags_text(di.flags, device_flags, fb, sizeof(fb)),
	       vfmig_reset_supported(dev) ? "supported" : "not supported");
	printf("regions (%u):\n", di.num_regions);
	for (uint32_t i = 0; i < di.num_regions; i++) {
		struct vfmig_region_info ri;

		/* Indexes the device lacks (VGA, say) answer EINVAL. */
		ret = vfmig_region_info(dev, i, &ri);
		if (ret && ret != -EINVAL)
			printf("  %-2u (%s)\n", i, vfmig_strerror(dev));
		else if (!ret && (ri.size || ri.flags))
			print_region_text(&ri);
	}
	printf("irqs (%u):\n", di.num_irqs);
	for (uint32_t i = 0; i < di.num_irqs; i++) {
		struct vfmig_irq_info ii;

		ret = vfmig_irq_info(dev, i, &ii);
		if (ret && ret != -EINVAL)
			printf("  %-2u (%s)\n", i, vfmig_strerror(dev));
		else if (!ret && ii.count)
			printf("  %-2u %-8s count %-4u %s\n", i, irq_name(i),
			       ii.count, flags_text(ii.flags, irq_flags, fb,
						    sizeof(fb)));
	}
	printf("migration: %s\n", caps_text(c, caps, sizeof(caps)));
	if (c->v1)
		printf("  v1: region %u, %#" PRIx64 " bytes\n", c->v1_index,
		       c->v1_size);
	if (c->v2) {
		printf("  v2: flags %#" PRIx64 " (%s)", c->v2_flags,
		       flags_text(c->v2_flags, mig_flags, fb, sizeof(fb)));
		if (c->have_state)
			printf(", state %s", vfmig_state_name(c->state));
		if (c->have_data_size)
			printf(", stop-copy data size %" PRIu64, c->data_size);
		printf("\n");
	} else if (c->v2_err != -ENOTTY) {
		printf("  v2: %s\n", strerror(-c->v2_err));
	}
}

static void print_info_json(const struct vfmig_pci_device *d,
			    struct vfmig_device *dev, const struct mig_caps *c)
{
	struct vfmig_device_info di;
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_sysfs_fields(&j, d);
	json_open_fields(&j, c);
	if (dev) {
		vfmig_device_info(dev, &di);
		json_kv_u64(&j, "flags_value", di.flags);
		json_flags(&j, "flags", di.flags, device_flags);
		json_kv_bool(&j, "reset", vfmig_reset_supported(dev));
		json_key(&j, "regions");
		json_array_begin(&j);
		for (uint32_t i = 0; i < di.num_regions; i++) {
			struct vfmig_region_info ri;

			if (!vfmig_region_info(dev, i, &ri) &&
			    (ri.size || ri.flags))
				json_region(&j, &ri);
		}
		json_array_end(&j);
		json_key(&j, "irqs");
		json_array_begin(&j);
		for (uint32_t i = 0; i < di.num_irqs; i++) {
			struct vfmig_irq_info ii;

			if (vfmig_irq_info(dev, i, &ii) || !ii.count)
				continue;
			json_object_begin(&j);
			json_kv_u64(&j, "index", i);
			json_kv_string(&j, "name", irq_name(i));
			json_kv_u64(&j, "count", ii.count);
			json_flags(&j, "flags", ii.flags, irq_flags);
			json_object_end(&j);
		}
		json_array_end(&j);
	}
	json_migration(&j, c);
	json_object_end(&j);
	json_finish(&j);
}

static int cmd_info(const struct options *o, const char *bdf)
{
	struct vfmig_device *dev = NULL;
	struct vfmig_pci_device d;
	struct vfmig_error err;
	struct mig_caps c;
	int ret;

	ret = vfmig_pci_describe(bdf, &d, &err);
	if (ret) {
		fprintf(stderr, "vfmig: %s\n", err.msg);
		return exit_code(ret);
	}
	memset(&c, 0, sizeof(c));
	c.open_err = vfmig_open(d.bdf, &dev, &err);
	if (c.open_err) {
		snprintf(c.open_msg, sizeof(c.open_msg), "%s", err.msg);
		dev = NULL;
	} else {
		probe_migration(dev, &c, true);
		/*
		 * A mediator is chosen per open: while this open holds the
		 * device, sysfs names the one that serves it.
		 */
		if (vfmig_pci_describe(d.bdf, &d, &err))
			fprintf(stderr, "vfmig: %s\n", err.msg);
	}
	if (o->json)
		print_info_json(&d, dev, &c);
	else
		print_info_text(&d, dev, &c);
	vfmig_close(dev);
	if (c.open_err) {
		fprintf(stderr, "vfmig: %s\n", c.open_msg);
		return exit_code(c.open_err);
	}
	return EXIT_OK;
}

/* --- save / load --- */

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

static int cmd_transfer(const struct options *o, const char *bdf,
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

/* --- main --- */

/* Output that did not reach stdout (a full disk, say) is a failure. */
static int stdout_checked(int rc)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "vfmig: writing the output: %s\n",
				strerror(errno));
		return rc ? rc : EXIT_FAILED;
	}
	return rc;
}


/* --- command line --- */

enum option_id {
	OPT_JSON, OPT_HELP, OPT_VERSION, OPT_DRIVER, OPT_OPEN, OPT_V1, OPT_PREAD,
	OPT_MMAP, OPT_CHUNK, OPT_PRECOPY, OPT_ROUNDS, OPT_RUN,
	OPT_COUNT
};

#define OPT_BIT(id) (1u << (id))

struct option_spec {
	const char *name;	/* the long name, without "--" */
	char short_name;	/* 0 if none; only flags have one */
	bool takes_value;
};

static const struct option_spec option_specs[OPT_COUNT] = {
	[OPT_JSON] = { "json", 'j', false },
	[OPT_HELP] = { "help", 'h', false },
	[OPT_VERSION] = { "version", 0, false },
	[OPT_DRIVER] = { "driver", 0, true },
	[OPT_OPEN] = { "open", 0, false },
	[OPT_V1] = { "v1", 0, false },
	[OPT_PREAD] = { "pread", 0, false },
	[OPT_MMAP] = { "mmap", 0, false },
	[OPT_CHUNK] = { "chunk", 0, true },
	[OPT_PRECOPY] = { "precopy", 0, false },
	[OPT_ROUNDS] = { "precopy-rounds", 0, true },
	[OPT_RUN] = { "run", 0, false },
};

enum command_id {
	CMD_LIST, CMD_BIND, CMD_UNBIND, CMD_INFO, CMD_SAVE, CMD_LOAD, CMD_HELP,
	CMD_COUNT
};

struct command {
	const char *name;
	int min_args, max_args;
	const char *args_text;	/* the arguments it takes, for a wrong count */
	bool first_arg_is_bdf;
	unsigned int options;	/* OPT_BIT()s of the options it takes */
	const char *synopsis[3];	/* its usage lines, NULL-terminated */
	const char *summary;	/* what it does, one line */
};

/* Every command also takes --help, which prints its synopsis and summary. */
static const struct command commands[CMD_COUNT] = {
	[CMD_LIST] = {
		.name = "list", .args_text = "no arguments",
		.options = OPT_BIT(OPT_JSON) | OPT_BIT(OPT_DRIVER) |
			   OPT_BIT(OPT_OPEN),
		.synopsis = { "vfmig [--json] list [--driver NAME] [--open]" },
		.summary = "List the devices bound to the driver (default " DEFAULT_DRIVER ") from sysfs; --open opens each to show the migration it offers.",
	},
	[CMD_BIND] = {
		.name = "bind", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_DRIVER),
		.synopsis = { "vfmig bind BDF [--driver NAME]" },
		.summary = "Bind the device to the driver (default " DEFAULT_DRIVER ") through its driver_override.",
	},
	[CMD_UNBIND] = {
		.name = "unbind", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.synopsis = { "vfmig unbind BDF" },
		.summary = "Clear the device's driver_override and let the kernel bind it to the driver that claims it.",
	},
	[CMD_INFO] = {
		.name = "info", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_JSON),
		.synopsis = { "vfmig [--json] info BDF" },
		.summary = "Open the device through VFIO and show its regions, interrupts, mediator and migration support.",
	},
	[CMD_SAVE] = {
		.name = "save", .min_args = 2, .max_args = 2,
		.args_text = "BDF FILE", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_V1) | OPT_BIT(OPT_PREAD) |
			   OPT_BIT(OPT_MMAP) | OPT_BIT(OPT_ROUNDS) |
			   OPT_BIT(OPT_PRECOPY) | OPT_BIT(OPT_CHUNK) |
			   OPT_BIT(OPT_RUN),
		.synopsis = {
			"vfmig save BDF FILE [--precopy] [--chunk BYTES] [--run]",
			"vfmig save BDF FILE --v1 [--pread|--mmap] [--precopy-rounds N] [--run]",
		},
		.summary = "Save the device's migration state to FILE (- for standard output).",
	},
	[CMD_LOAD] = {
		.name = "load", .min_args = 2, .max_args = 2,
		.args_text = "BDF FILE", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_V1) | OPT_BIT(OPT_PREAD) |
			   OPT_BIT(OPT_MMAP) | OPT_BIT(OPT_CHUNK) |
			   OPT_BIT(OPT_RUN),
		.synopsis = { "vfmig load BDF FILE [--v1 [--pread|--mmap]] [--chunk BYTES] [--run]" },
		.summary = "Load state that vfmig save wrote from FILE (- for standard input) into the device.",
	},
	[CMD_HELP] = {
		.name = "help", .max_args = 1,
		.args_text = "at most one COMMAND",
		.synopsis = { "vfmig help [COMMAND]" },
		.summary = "Print the synopsis of every command, or that of COMMAND with what it does.",
	},
};

static void print_synopsis(FILE *out, const struct command *cmd, bool *first)
{
	for (const char *const *line = cmd->synopsis; *line; line++) {
		fprintf(out, "%s%s\n", *first ? "usage: " : "       ", *line);
		*first = false;
	}
}

static void usage(FILE *out)
{
	bool first = true;

	for (int i = 0; i < CMD_COUNT; i++)
		print_synopsis(out, &commands[i], &first);
	fprintf(out,
		"       vfmig COMMAND --help\n"
		"       vfmig --help | --version\n"
		"\n"
		"BDF is a PCI address (0000:00:03.0 or 00:03.0); FILE - is stdin/stdout.\n"
		"Each command takes only the options its synopsis shows.\n"
		"The default driver is " DEFAULT_DRIVER ". See vfmig(1).\n");
}

static void command_help(FILE *out, const struct command *cmd)
{
	bool first = true;

	print_synopsis(out, cmd, &first);
	fprintf(out, "%s\n", cmd->summary);
}

/*
 * Prints "vfmig CMD: <message>", with "(see vfmig CMD --help)" when
 * @see_help: that shows which options go with CMD.  Returns EXIT_USAGE.
 */
__attribute__((format(printf, 3, 4)))
static int usage_error(const struct command *cmd, bool see_help,
		       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfmig%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (see_help)
		fprintf(stderr, " (see vfmig %s%s--help)", cmd ? cmd->name : "",
			cmd ? " " : "");
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static const struct command *find_command(const char *name)
{
	for (int i = 0; i < CMD_COUNT; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* argv as read, before anything is checked against the command. */
struct command_line {
	const char *command;		/* the first argument, or NULL */
	char **args;			/* the arguments after it */
	int nargs;
	int seen_at[OPT_COUNT];		/* argv index of its first use; 0: absent */
	const char *value[OPT_COUNT];	/* its last value */
	char malformed[160];		/* the first option not understood, why */
};

static void note_malformed(struct command_line *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_malformed(struct command_line *cl, const char *fmt, ...)
{
	va_list ap;

	if (cl->malformed[0])
		return;
	va_start(ap, fmt);
	vsnprintf(cl->malformed, sizeof(cl->malformed), fmt, ap);
	va_end(ap);
}

static void note_option(struct command_line *cl, int id, int at,
			const char *value)
{
	if (!cl->seen_at[id])
		cl->seen_at[id] = at;
	cl->value[id] = value;
}

/* "--name", "--name=VALUE" or "--name VALUE" at argv[i]; returns the last index used. */
static int read_long_option(struct command_line *cl, int argc, char **argv,
			    int i)
{
	const char *name = argv[i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	for (int id = 0; id < OPT_COUNT; id++) {
		const struct option_spec *spec = &option_specs[id];

		if (strlen(spec->name) != len || strncmp(spec->name, name, len))
			continue;
		if (!spec->takes_value) {
			if (eq)
				note_malformed(cl, "--%s takes no value", spec->name);
			else
				note_option(cl, id, i, NULL);
		} else if (eq) {
			note_option(cl, id, i, eq + 1);
		} else if (i + 1 < argc) {
			i++;
			note_option(cl, id, i - 1, argv[i]);
		} else {
			note_malformed(cl, "--%s needs a value", spec->name);
		}
		return i;
	}
	note_malformed(cl, "unknown option '--%.*s'", (int)len, name);
	return i;
}

/* "-j", "-h" or both in one word. */
static void read_short_options(struct command_line *cl, char **argv, int i)
{
	for (const char *p = argv[i] + 1; *p; p++) {
		int id;

		for (id = 0; id < OPT_COUNT; id++)
			if (option_specs[id].short_name == *p)
				break;
		if (id == OPT_COUNT)
			note_malformed(cl, "unknown option '-%c'", *p);
		else
			note_option(cl, id, i, NULL);
	}
}

/*
 * Options may come before or after the command and its arguments (as
 * with getopt's permutation); "--" ends them.  The arguments are moved to
 * the front of argv, in order.
 */
static void read_command_line(int argc, char **argv, struct command_line *cl)
{
	bool options_ended = false;
	int nwords = 0;

	memset(cl, 0, sizeof(*cl));
	for (int i = 1; i < argc; i++) {
		char *word = argv[i];

		if (options_ended || word[0] != '-' || !word[1])
			argv[1 + nwords++] = word;	/* "-" is a FILE */
		else if (!strcmp(word, "--"))
			options_ended = true;
		else if (word[1] == '-')
			i = read_long_option(cl, argc, argv, i);
		else
			read_short_options(cl, argv, i);
	}
	if (nwords) {
		cl->command = argv[1];
		cl->args = argv + 2;
		cl->nargs = nwords - 1;
	}
}

/* The first option given that @cmd does not take, or -1. */
static int misplaced_option(const struct command_line *cl,
			    const struct command *cmd)
{
	int first = -1;

	for (int id = 0; id < OPT_COUNT; id++) {
		if (!cl->seen_at[id] || id == OPT_HELP ||
		    (cmd->options & OPT_BIT(id)))
			continue;
		if (first < 0 || cl->seen_at[id] < cl->seen_at[first])
			first = id;
	}
	return first;
}

static bool parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-' || v > (1ull << 30))
		return false;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || !v || v > (1ull << 30))
		return false;
	*out = (size_t)v;
	return true;
}

/* The options' values, and the combinations a command cannot honour. */
static int take_options(const struct command_line *cl,
			const struct command *cmd, struct options *o)
{
	static const enum option_id v1_only[] = {
		OPT_PREAD, OPT_MMAP, OPT_ROUNDS,
	};
	bool seen[OPT_COUNT];
	size_t rounds;

	for (int id = 0; id < OPT_COUNT; id++)
		seen[id] = cl->seen_at[id] != 0;
	*o = (struct options){ .driver = DEFAULT_DRIVER };
	o->json = seen[OPT_JSON];
	o->open = seen[OPT_OPEN];
	if (seen[OPT_DRIVER])
		o->driver = cl->value[OPT_DRIVER];
	o->v1 = seen[OPT_V1];
	o->precopy = seen[OPT_PRECOPY];
	o->run = seen[OPT_RUN];
	if (seen[OPT_CHUNK] && !parse_size(cl->value[OPT_CHUNK], &o->chunk))
		return usage_error(cmd, false, "--chunk %s: give a size from 1 byte to 1G (suffix k or M allowed)",
				   cl->value[OPT_CHUNK]);
	if (seen[OPT_ROUNDS]) {
		if (!parse_size(cl->value[OPT_ROUNDS], &rounds) ||
		    rounds > 1000000)
			return usage_error(cmd, false, "--precopy-rounds %s: give a number from 1 to 1000000",
					   cl->value[OPT_ROUNDS]);
		o->precopy_rounds = (unsigned int)rounds;
	}
	if (seen[OPT_PREAD] && seen[OPT_MMAP])
		return usage_error(cmd, false, "--pread and --mmap exclude each other");
	o->v1_access = seen[OPT_PREAD] ? VFMIG_V1_PREAD :
		       seen[OPT_MMAP] ? VFMIG_V1_MMAP : VFMIG_V1_AUTO;
	for (size_t i = 0; i < sizeof(v1_only) / sizeof(v1_only[0]); i++)
		if (seen[v1_only[i]] && !o->v1)
			return usage_error(cmd, false, "--%s goes with --v1",
					   option_specs[v1_only[i]].name);
	/* A v1 save has no PRE_COPY state and reads whole buffers. */
	if (o->v1 && seen[OPT_PRECOPY])
		return usage_error(cmd, false, "--precopy is for v2; a --v1 save takes --precopy-rounds N");
	if (o->v1 && seen[OPT_CHUNK] && cmd == &commands[CMD_SAVE])
		return usage_error(cmd, false, "--chunk does nothing in a --v1 save, which reads each buffer the device offers whole");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct command_line cl;
	struct options o;
	char bdf[VFMIG_BDF_LEN];
	int misplaced, ret;

	read_command_line(argc, argv, &cl);
	if (cl.command) {
		cmd = find_command(cl.command);
		if (!cmd) {
			fprintf(stderr, "vfmig: unknown command '%s'\n",
				cl.command);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (cl.malformed[0])
		return usage_error(cmd, true, "%s", cl.malformed);
	if (!cmd) {
		if (cl.seen_at[OPT_HELP]) {
			usage(stdout);
			return EXIT_OK;
		}
		if (cl.seen_at[OPT_VERSION]) {
			printf("vfmig %s\n", VFMIG_VERSION);
			return EXIT_OK;
		}
		fprintf(stderr, "vfmig: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	/* --help asks for help whatever else is given. */
	if (cl.seen_at[OPT_HELP]) {
		command_help(stdout, cmd);
		return EXIT_OK;
	}
	misplaced = misplaced_option(&cl, cmd);
	if (misplaced >= 0)
		return usage_error(cmd, true, "option --%s does not apply to %s",
				   option_specs[misplaced].name, cmd->name);
	if (cl.nargs < cmd->min_args || cl.nargs > cmd->max_args) {
		fprintf(stderr, "vfmig %s: expected %s, got %d argument%s\n",
			cmd->name, cmd->args_text, cl.nargs,
			cl.nargs == 1 ? "" : "s");
		command_help(stderr, cmd);
		return EXIT_USAGE;
	}
	ret = take_options(&cl, cmd, &o);
	if (ret)
		return ret;
	if (cmd->first_arg_is_bdf && vfmig_parse_bdf(cl.args[0], bdf))
		return usage_error(cmd, false, "'%s' is not a PCI address: give DDDD:BB:DD.F or BB:DD.F (see lspci -D)",
				   cl.args[0]);

	switch ((enum command_id)(cmd - commands)) {
	case CMD_LIST:
		return stdout_checked(cmd_list(&o));
	case CMD_BIND:
		return cmd_bind(&o, cl.args[0]);
	case CMD_UNBIND:
		return cmd_unbind(cl.args[0]);
	case CMD_INFO:
		return stdout_checked(cmd_info(&o, cl.args[0]));
	case CMD_SAVE:
	case CMD_LOAD:
		return cmd_transfer(&o, cl.args[0], cl.args[1],
				    cmd == &commands[CMD_SAVE]);
	case CMD_HELP:
		if (!cl.nargs) {
			usage(stdout);
			return EXIT_OK;
		}
		cmd = find_command(cl.args[0]);
		if (!cmd) {
			fprintf(stderr, "vfmig help: unknown command '%s'\n",
				cl.args[0]);
			usage(stderr);
			return EXIT_USAGE;
		}
		command_help(stdout, cmd);
		return EXIT_OK;
	case CMD_COUNT:
		break;
	}
	return EXIT_FAILED;
}
