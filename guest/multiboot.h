/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the multiboot (v1) loader hands the workloads: the memory size and
 * the command line (QEMU's -append), whose words are options.
 */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#include <stdbool.h>
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC	0x2badb002
#define MULTIBOOT_INFO_MEMORY		0x1	/* flags bit: mem_* valid */
#define MULTIBOOT_INFO_CMDLINE		0x4	/* flags bit: cmdline valid */

/* The start of the multiboot information, as far as we use it. */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;	/* physical address of a C string */
};

/* Whether the word @word is on the command line. */
bool cmdline_has(const struct multiboot_info *mbi, const char *word);

/*
 * The value of "@key=value" on the command line: a pointer to its first
 * character (it ends at a space or the string's end), or NULL.
 */
const char *cmdline_value(const struct multiboot_info *mbi, const char *key);

#endif /* GUEST_MULTIBOOT_H */
