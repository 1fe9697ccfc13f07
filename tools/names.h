/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How vfmig names what VFIO reports: PCI ids, regions, interrupts,
 * capabilities and flag bits, as text and as JSON.
 */
#ifndef VFMIG_TOOLS_NAMES_H
#define VFMIG_TOOLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "vfmig.h"

struct flag_name {
	uint64_t bit;
	const char *name;
};

extern const struct flag_name region_flags[];
extern const struct flag_name irq_flags[];
extern const struct flag_name device_flags[];
extern const struct flag_name mig_flags[];

const char *pci_id_text(const struct vfmig_pci_device *d, char *buf,
			size_t len);
const char *region_name(uint32_t index, char *buf, size_t len);
const char *irq_name(uint32_t index);
const char *cap_name(uint16_t id);
const char *flags_text(uint64_t v, const struct flag_name *names,
		       char *buf, size_t len);
void json_flags(struct json *j, const char *key, uint64_t v,
		const struct flag_name *names);

#endif /* VFMIG_TOOLS_NAMES_H */
