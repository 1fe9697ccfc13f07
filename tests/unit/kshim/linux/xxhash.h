/* SPDX-License-Identifier: GPL-2.0-only */
/* Host stand-in: the kernel's streaming xxh64 over Debian's xxHash, inlined. */
#ifndef KSHIM_LINUX_XXHASH_H
#define KSHIM_LINUX_XXHASH_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#define xxh64_state XXH64_state_s

static inline void xxh64_reset(struct xxh64_state *s, unsigned long long seed)
{
	XXH64_reset(s, seed);
}

static inline int xxh64_update(struct xxh64_state *s, const void *in,
			       size_t len)
{
	return XXH64_update(s, in, len) == XXH_OK ? 0 : -1;
}

static inline unsigned long long xxh64_digest(const struct xxh64_state *s)
{
	return XXH64_digest(s);
}

#endif
