// SPDX-License-Identifier: GPL-2.0-only
/* vfmig info. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "describe.h"
#include "names.h"

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

int cmd_info(const struct options *o, const char *bdf)
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
