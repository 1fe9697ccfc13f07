// SPDX-License-Identifier: GPL-2.0-only
/* vfmig's names for what VFIO reports (names.h). */
#include <inttypes.h>
#include <stdio.h>

#include <linux/vfio.h>

#include "names.h"


/* "vvvv:dddd", as lspci -n prints it: the same in list, info and JSON. */
const char *pci_id_text(const struct vfmig_pci_device *d, char *buf,
			size_t len)
{
	snprintf(buf, len, "%04x:%04x", d->vendor, d->device);
	return buf;
}

const char *region_name(uint32_t index, char *buf, size_t len)
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

const char *irq_name(uint32_t index)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X", "ERR",
					     "REQ" };

	return index < sizeof(names) / sizeof(names[0]) ? names[index] : "?";
}

const char *cap_name(uint16_t id)
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


const struct flag_name region_flags[] = {
	{ VFMIG_REGION_READ, "read" }, { VFMIG_REGION_WRITE, "write" },
	{ VFMIG_REGION_MMAP, "mmap" }, { VFMIG_REGION_CAPS, "caps" },
	{ 0, NULL },
};

const struct flag_name irq_flags[] = {
	{ VFIO_IRQ_INFO_EVENTFD, "eventfd" },
	{ VFIO_IRQ_INFO_MASKABLE, "maskable" },
	{ VFIO_IRQ_INFO_AUTOMASKED, "automasked" },
	{ VFIO_IRQ_INFO_NORESIZE, "noresize" },
	{ 0, NULL },
};

const struct flag_name device_flags[] = {
	{ VFIO_DEVICE_FLAGS_RESET, "reset" }, { VFIO_DEVICE_FLAGS_PCI, "pci" },
	{ VFIO_DEVICE_FLAGS_CAPS, "caps" },
	{ 0, NULL },
};

const struct flag_name mig_flags[] = {
	{ VFMIG_MIG_STOP_COPY, "stop-copy" }, { VFMIG_MIG_P2P, "p2p" },
	{ VFMIG_MIG_PRE_COPY, "pre-copy" },
	{ 0, NULL },
};

/* "a,b,c" of the set bits (unknown ones as hex); "-" if none. */
const char *flags_text(uint64_t v, const struct flag_name *names,
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

void json_flags(struct json *j, const char *key, uint64_t v,
		const struct flag_name *names)
{
	json_key(j, key);
	json_array_begin(j);
	for (const struct flag_name *f = names; f->name; f++)
		if (v & f->bit)
			json_string(j, f->name);
	json_array_end(j);
}
