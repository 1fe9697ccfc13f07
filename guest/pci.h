/* SPDX-License-Identifier: GPL-2.0-only */
/* PCI configuration space through mechanism #1 (ports 0xCF8/0xCFC). */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_VENDOR_ID		0x00
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAP_LIST	0x0010
#define PCI_HEADER_TYPE		0x0e
#define  PCI_HEADER_MULTI_FUNC	0x80
#define PCI_BAR0		0x10
#define  PCI_BAR_IO		0x1
#define  PCI_BAR_MEM_TYPE_MASK	0x6	/* 0: 32-bit, 4: 64-bit */
#define  PCI_BAR_MEM_ADDR_MASK	0xfffffff0u
#define PCI_CAP_PTR		0x34
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11

/* MSI capability, offsets from the capability. */
#define PCI_MSI_FLAGS		0x02
#define  PCI_MSI_FLAGS_ENABLE	0x0001
#define  PCI_MSI_FLAGS_QSIZE	0x0070	/* vectors enabled, log2 */
#define  PCI_MSI_FLAGS_64BIT	0x0080
#define PCI_MSI_ADDR_LO		0x04
#define PCI_MSI_ADDR_HI		0x08	/* 64-bit capability only */
#define PCI_MSI_DATA_32		0x08
#define PCI_MSI_DATA_64		0x0c

/* MSI-X capability, offsets from the capability. */
#define PCI_MSIX_FLAGS		0x02
#define  PCI_MSIX_FLAGS_QSIZE	0x07ff	/* table size - 1 */
#define  PCI_MSIX_FLAGS_MASKALL	0x4000
#define  PCI_MSIX_FLAGS_ENABLE	0x8000
#define PCI_MSIX_TABLE		0x04
#define  PCI_MSIX_TABLE_BIR	0x7	/* which BAR holds the table */
/* A table entry: message address (low, high), data, vector control. */
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_ADDR_LO	0x0
#define PCI_MSIX_ENTRY_ADDR_HI	0x4
#define PCI_MSIX_ENTRY_DATA	0x8
#define PCI_MSIX_ENTRY_CTRL	0xc
#define  PCI_MSIX_ENTRY_MASKED	0x1

/* A function on bus 0. */
struct pci_func {
	uint8_t dev;
	uint8_t fn;
};

uint32_t pci_read32(struct pci_func f, uint8_t off);
uint16_t pci_read16(struct pci_func f, uint8_t off);
uint8_t pci_read8(struct pci_func f, uint8_t off);
void pci_write32(struct pci_func f, uint8_t off, uint32_t val);
void pci_write16(struct pci_func f, uint8_t off, uint16_t val);

/* Finds vendor:device on bus 0; false if absent. */
bool pci_find(uint16_t vendor, uint16_t device, struct pci_func *out);

/* Offset of capability @id, or 0 if the function has none. */
uint8_t pci_find_cap(struct pci_func f, uint8_t id);

/*
 * The address memory BAR @bar (0-5) was given, in *@addr.  False, with
 * *@why set, for an I/O BAR, one the firmware left unassigned, or one
 * above 4 GiB, which this 32-bit program without paging cannot reach.
 */
bool pci_bar_addr(struct pci_func f, unsigned int bar, uint32_t *addr,
		  const char **why);

#endif /* GUEST_PCI_H */
