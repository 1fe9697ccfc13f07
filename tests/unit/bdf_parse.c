// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit test (TAP): vfmig_parse_bdf(), which every vfmig command and
 * libvfmig's sysfs calls put a user's PCI address through: the forms it
 * takes and how it writes them, and what it refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vfmig.h"

static int tests, failed;

static void result(int ok, const char *what, const char *in)
{
	printf("%sok %d bdf.%s '%s'\n", ok ? "" : "not ", ++tests, what,
	       in ? in : "(null)");
	failed += !ok;
}

static void takes(const char *in, const char *want)
{
	char out[VFMIG_BDF_LEN] = "";
	int rc = vfmig_parse_bdf(in, out);

	if (rc || strcmp(out, want))
		printf("# got %d '%s', want 0 '%s'\n", rc, out, want);
	result(!rc && !strcmp(out, want), "takes", in);
}

static void refuses(const char *in)
{
	char out[VFMIG_BDF_LEN] = "";
	int rc = vfmig_parse_bdf(in, out);

	if (rc != -EINVAL)
		printf("# got %d '%s', want -EINVAL\n", rc, out);
	result(rc == -EINVAL, "refuses", in);
}

int main(void)
{
	static const char *const bad[] = {
		NULL, "", "00:01", "0000:00:01", "0000:00:01.8",
		"0000:00:20.0", "0000:100:00.0", "10000:00:01.0",
		"00:01.0x", "00:01.0 ", " 00:01.0", "+0:01.0", "0x0:01.0",
		"0000:00:01.0.0", "g0:01.0", "0000:00:-1.0",
	};

	printf("TAP version 13\n1..%zu\n", 5 + sizeof(bad) / sizeof(bad[0]));
	takes("0000:00:01.0", "0000:00:01.0");
	takes("00:01.0", "0000:00:01.0");
	takes("0000:3B:02.7", "0000:3b:02.7");
	takes("ffff:ff:1f.7", "ffff:ff:1f.7");
	takes("0:2:10.1", "0000:02:10.1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuses(bad[i]);
	return failed ? 1 : 0;
}
