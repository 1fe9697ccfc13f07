/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host stand-in for what the kernel's build includes in every file
 * (compiler_types.h, compiler_attributes.h): tests/unit/Makefile passes
 * it with -include.
 */
#ifndef KSHIM_LINUX_COMPILER_H
#define KSHIM_LINUX_COMPILER_H

#define __printf(a, b) __attribute__((format(printf, a, b)))

#endif
