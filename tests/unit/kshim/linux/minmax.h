/* SPDX-License-Identifier: GPL-2.0-only */
/* Host stand-in: min() and min_t() as the kernel's, without their checks. */
#ifndef KSHIM_LINUX_MINMAX_H
#define KSHIM_LINUX_MINMAX_H

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     _a < _b ? _a : _b; })
#define min_t(type, a, b) min((type)(a), (type)(b))

#endif
