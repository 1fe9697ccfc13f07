/* SPDX-License-Identifier: GPL-2.0-only */
/* Host stand-in: the uAPI's byte order plus the kernel's short names. */
#ifndef KSHIM_ASM_BYTEORDER_H
#define KSHIM_ASM_BYTEORDER_H

#include_next <asm/byteorder.h>

#define le16_to_cpu(x) __le16_to_cpu(x)
#define le32_to_cpu(x) __le32_to_cpu(x)
#define le64_to_cpu(x) __le64_to_cpu(x)

#endif
