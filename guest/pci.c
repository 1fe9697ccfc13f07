// SPDX-License-Identifier: GPL-2.0-only
/* PCI configuration mechanism #1 on bus 0. */
#include "io.h"
#include "pci.h"

#define PCI_CONFIG_ADDRESS	0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_CONFIG_ENABLE	0x80000000u

/* Selects the dword holding @off; the data port then accesses it. */
static void pci_select(struct pci_func f, uint8_t off)
{
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | (uint32_t)f.dev << 11 |
	     (uint32_t)f.fn << 8 | (off & 0xfc));
}

uint32_t pci_read32(struct pci_func f, uint8_t off)
{
	pci_select(f, off);
	return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(struct pci_func f, uint8_t off)
{
	pci_select(f, off);
	return inw(PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_read8(struct pci_func f, uint8_t off)
{
	pci_select(f, off);
	return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_write32(struct pci_func f, uint8_t off, uint32_t val)
{
	pci_select(f, off);
	outl(PCI_CONFIG_DATA, val);
}

/*
 * A 16-bit write, so that writing the command register does not also
 * write (and clear error bits in) the status register next to it.
 */
void pci_write16(struct pci_func f, uint8_t off, uint16_t val)
{
	pci_select(f, off);
	outw(PCI_CONFIG_DATA + (off & 2), val);
}

bool pci_find(uint16_t vendor, uint16_t device, struct pci_func *out)
{
	struct pci_func f;

	for (f.dev = 0; f.dev < 32; f.dev++) {
		for (f.fn = 0; f.fn < 8; f.fn++) {
			uint32_t id = pci_read32(f, PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff) {
				/* No function 0 means no device at all. */
				if (f.fn == 0)
					break;
				continue;
			}
			if (id == ((uint32_t)device << 16 | vendor)) {
				*out = f;
				return true;
			}
			if (f.fn == 0 && !(pci_read8(f, PCI_HEADER_TYPE) &
					   PCI_HEADER_MULTI_FUNC))
				break;
		}
	}
	return false;
}

bool pci_bar_addr(struct pci_func f, unsigned int bar, uint32_t *addr,
		  const char **why)
{
	uint8_t off = PCI_BAR0 + 4 * bar;
	uint32_t lo = pci_read32(f, off);

	if (lo & PCI_BAR_IO) {
		*why = "an I/O BAR";
		return false;
	}
	/* A 64-bit BAR's upper half is the next BAR register. */
	if ((lo & PCI_BAR_MEM_TYPE_MASK) == 0x4 && bar < 5 &&
	    pci_read32(f, off + 4)) {
		*why = "above 4 GiB";
		return false;
	}
	*addr = lo & PCI_BAR_MEM_ADDR_MASK;
	if (!*addr) {
		*why = "unassigned (the firmware gave it no address)";
		return false;
	}
	return true;
}

uint8_t pci_find_cap(struct pci_func f, uint8_t id)
{
	uint8_t pos;
	int guard = 48;	/* a looping list must not hang us */

	if (!(pci_read16(f, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = pci_read8(f, PCI_CAP_PTR) & 0xfc;
	while (pos >= 0x40 && guard--) {
		if (pci_read8(f, pos) == id)
			return pos;
		pos = pci_read8(f, pos + 1) & 0xfc;
	}
	return 0;
}
