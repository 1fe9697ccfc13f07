// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit test (TAP): tools/json.c, vfmig's --json writer: a document
 * of every kind of value comes out exactly as expected (commas, nesting,
 * indentation), and strings are escaped per RFC 8259, invalid UTF-8
 * becoming U+FFFD.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int tests, failed;

static void result(int ok, const char *name)
{
	printf("%sok %d json.%s\n", ok ? "" : "not ", ++tests, name);
	failed += !ok;
}

/* Runs write(j) into memory; 1 if it wrote exactly want. */
static int writes(void (*write)(struct json *), const char *want)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct json j;
	int same;

	if (!f)
		return 0;
	json_init(&j, f);
	write(&j);
	fclose(f);
	same = text && !strcmp(text, want);
	if (!same) {
		/* As TAP comments, a line each. */
		printf("# wrote:\n# ");
		for (const char *c = text ? text : ""; *c; c++)
			fputs(*c == '\n' ? "\n# " : (char[]){ *c, 0 }, stdout);
		printf("\n# want:\n# ");
		for (const char *c = want; *c; c++)
			fputs(*c == '\n' ? "\n# " : (char[]){ *c, 0 }, stdout);
		printf("\n");
	}
	free(text);
	return same;
}

static void every_kind(struct json *j)
{
	json_object_begin(j);
	json_kv_string(j, "bdf", "0000:00:01.0");
	json_kv_u64(j, "size", UINT64_MAX);
	json_kv_int(j, "delta", INT64_MIN);
	json_kv_bool(j, "mediated", true);
	json_key(j, "none");
	json_null(j);
	json_key(j, "list");
	json_array_begin(j);
	json_u64(j, 1);
	json_object_begin(j);
	json_object_end(j);
	json_array_begin(j);
	json_array_end(j);
	json_bool(j, false);
	json_array_end(j);
	json_object_end(j);
	json_finish(j);
}

static const char every_kind_text[] =
	"{\n"
	"  \"bdf\": \"0000:00:01.0\",\n"
	"  \"size\": 18446744073709551615,\n"
	"  \"delta\": -9223372036854775808,\n"
	"  \"mediated\": true,\n"
	"  \"none\": null,\n"
	"  \"list\": [\n"
	"    1,\n"
	"    {},\n"
	"    [],\n"
	"    false\n"
	"  ]\n"
	"}\n";

static void escapes(struct json *j)
{
	/* quote, backslash, the named controls, others, DEL, UTF-8 kept,
	 * a lone continuation byte, an overlong form, a surrogate */
	json_string(j, "\"\\\b\f\n\r\t\x01\x1f\x7f \xc3\xa9 \xe2\x82\xac "
		       "\x80 \xc0\xaf \xed\xa0\x80");
	json_finish(j);
}

static const char escapes_text[] =
	"\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f \xc3\xa9 \xe2\x82\xac "
	"\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\"\n";

int main(void)
{
	printf("TAP version 13\n1..2\n");
	result(writes(every_kind, every_kind_text), "every_kind_of_value");
	result(writes(escapes, escapes_text), "strings_escaped");
	return failed ? 1 : 0;
}
