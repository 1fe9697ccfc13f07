// SPDX-License-Identifier: GPL-2.0-only
/* What list and info both say of a device (describe.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "describe.h"
#include "names.h"

void probe_migration(struct vfmig_device *dev, struct mig_caps *c,
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

void open_and_probe(const char *bdf, struct mig_caps *c)
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
const char *caps_text(const struct mig_caps *c, char *buf, size_t len)
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

void json_migration(struct json *j, const struct mig_caps *c)
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


/* What list and info both say in JSON of a device's sysfs description. */
void json_sysfs_fields(struct json *j,
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
void json_open_fields(struct json *j, const struct mig_caps *c)
{
	json_kv_bool(j, "in_use", c->open_err == -EBUSY);
	json_key(j, "error");
	if (c->open_err && c->open_err != -EBUSY)
		json_string(j, c->open_msg);
	else
		json_null(j);
}
