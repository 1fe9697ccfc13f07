/* SPDX-License-Identifier: GPL-2.0-only */
/* Host stand-in: the uAPI's <linux/types.h> plus the kernel's short names. */
#ifndef KSHIM_LINUX_TYPES_H
#define KSHIM_LINUX_TYPES_H

/* u64 as unsigned long long everywhere, as the kernel's %llu needs. */
#define __SANE_USERSPACE_TYPES__
#include_next <linux/types.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#endif
