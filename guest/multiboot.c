// SPDX-License-Identifier: GPL-2.0-only
/* The multiboot command line, as words separated by spaces. */
#include <stddef.h>

#include "multiboot.h"

static const char *cmdline(const struct multiboot_info *mbi)
{
	if (!mbi || !(mbi->flags & MULTIBOOT_INFO_CMDLINE) || !mbi->cmdline)
		return NULL;
	return (const char *)mbi->cmdline;
}

/* The word at or after @p, and its length in *@len; NULL after the last. */
static const char *next_word(const char *p, uint32_t *len)
{
	while (*p == ' ')
		p++;
	if (!*p)
		return NULL;
	for (*len = 0; p[*len] && p[*len] != ' '; (*len)++)
		;
	return p;
}

/* Length of @s if the word @w (of @len bytes) starts with it, else 0. */
static uint32_t starts_with(const char *w, uint32_t len, const char *s)
{
	uint32_t i;

	for (i = 0; s[i]; i++)
		if (i >= len || w[i] != s[i])
			return 0;
	return i;
}

bool cmdline_has(const struct multiboot_info *mbi, const char *word)
{
	const char *w = cmdline(mbi);
	uint32_t len;

	for (; w && (w = next_word(w, &len)); w += len)
		if (starts_with(w, len, word) == len)
			return true;
	return false;
}

const char *cmdline_value(const struct multiboot_info *mbi, const char *key)
{
	const char *w = cmdline(mbi);
	uint32_t len, n;

	for (; w && (w = next_word(w, &len)); w += len) {
		n = starts_with(w, len, key);
		if (n && n < len && w[n] == '=')
			return w + n + 1;
	}
	return NULL;
}
