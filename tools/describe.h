/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What list and info both say of a device: its migration capabilities
 * (from opening it) and its sysfs description, as text and JSON.
 */
#ifndef VFMIG_TOOLS_DESCRIBE_H
#define VFMIG_TOOLS_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "vfmig.h"

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

void probe_migration(struct vfmig_device *dev, struct mig_caps *c,
		     bool details);
void open_and_probe(const char *bdf, struct mig_caps *c);
const char *caps_text(const struct mig_caps *c, char *buf, size_t len);
void json_migration(struct json *j, const struct mig_caps *c);
void json_sysfs_fields(struct json *j, const struct vfmig_pci_device *d);
void json_open_fields(struct json *j, const struct mig_caps *c);

#endif /* VFMIG_TOOLS_DESCRIBE_H */
