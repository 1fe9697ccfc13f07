// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit test (TAP): tools/cmdline.c, vfmig's command line: the sizes
 * parse_size() takes and refuses, how argv is read (options anywhere,
 * "--", "-" as a word, malformed options), which option a command does
 * not take (bind's --transient and --print-old: bind alone), and the
 * values and refusals of take_options(), with the exact message a
 * refusal prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"

static int tests, failed;

static void result(int ok, const char *what, const char *in)
{
	printf("%sok %d cmdline.%s '%s'\n", ok ? "" : "not ", ++tests, what,
	       in);
	failed += !ok;
}

/* --- parse_size --- */

static void size_takes(const char *in, size_t want)
{
	size_t out = 0;
	bool ok = parse_size(in, &out);

	if (!ok || out != want)
		printf("# got %d %zu, want 1 %zu\n", ok, out, want);
	result(ok && out == want, "size.takes", in);
}

static void size_refuses(const char *in)
{
	size_t out = 12345;
	bool ok = parse_size(in, &out);

	/* A refusal leaves *out alone. */
	if (ok || out != 12345)
		printf("# got %d %zu, want 0 (untouched)\n", ok, out);
	result(!ok && out == 12345, "size.refuses", in);
}

static void test_parse_size(void)
{
	size_takes("1", 1);
	size_takes("4096", 4096);
	size_takes("4k", 4096);
	size_takes("4K", 4096);
	size_takes("1m", 1u << 20);
	size_takes("1M", 1u << 20);
	size_takes("1024M", 1u << 30);
	size_takes("1048576k", 1u << 30);
	size_takes("1073741824", 1u << 30);
	size_takes("0x10", 16);		/* strtoull base 0 */
	size_takes("010", 8);
	size_takes("0x10k", 16u << 10);
	size_takes(" 7", 7);		/* strtoull skips leading space */

	size_refuses("");
	size_refuses("0");
	size_refuses("0k");
	size_refuses("-1");
	size_refuses(" -1");
	size_refuses("1073741825");
	size_refuses("1025M");
	size_refuses("1048577k");
	size_refuses("1G");
	size_refuses("4kb");
	size_refuses("4 ");
	size_refuses("k");
	size_refuses("x");
	size_refuses("99999999999999999999");
}

/* --- read_command_line --- */

#define MAX_ARGV 12

/* A writable copy of a NULL-terminated argv, as main() gets one. */
struct argv_copy {
	int argc;
	char *argv[MAX_ARGV + 1];
	char text[MAX_ARGV][64];
};

static void copy_argv(struct argv_copy *a, const char *const *words)
{
	memset(a, 0, sizeof(*a));
	a->argv[a->argc] = strcpy(a->text[a->argc], "vfmig");
	a->argc++;
	for (; *words && a->argc < MAX_ARGV; words++, a->argc++)
		a->argv[a->argc] = strncpy(a->text[a->argc], *words,
					   sizeof(a->text[0]) - 1);
}

/* The words as one string, for the test's name. */
static const char *joined(const char *const *words)
{
	static char buf[256];
	size_t used = 0;

	buf[0] = '\0';
	for (; *words && used < sizeof(buf); words++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
					 "%s%s", used ? " " : "", *words);
	return buf;
}

struct want_line {
	const char *command;		/* NULL: none */
	const char *args[6];		/* NULL-terminated */
	int seen_at[OPT_COUNT];
	const char *value[OPT_COUNT];
	const char *malformed;		/* "" if none */
};

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void reads(const char *const *words, const struct want_line *w)
{
	struct command_line cl;
	struct argv_copy a;
	bool ok = true;
	int nargs = 0;

	copy_argv(&a, words);
	read_command_line(a.argc, a.argv, &cl);
	while (w->args[nargs])
		nargs++;
	if (!same_text(cl.command, w->command)) {
		printf("# command '%s', want '%s'\n",
		       cl.command ? cl.command : "(none)",
		       w->command ? w->command : "(none)");
		ok = false;
	}
	if (cl.nargs != nargs) {
		printf("# %d arguments, want %d\n", cl.nargs, nargs);
		ok = false;
	}
	for (int i = 0; ok && i < nargs; i++) {
		if (strcmp(cl.args[i], w->args[i])) {
			printf("# argument %d '%s', want '%s'\n", i,
			       cl.args[i], w->args[i]);
			ok = false;
		}
	}
	for (int id = 0; id < OPT_COUNT; id++) {
		if (cl.seen_at[id] != w->seen_at[id] ||
		    !same_text(cl.value[id], w->value[id])) {
			printf("# --%s at %d '%s', want at %d '%s'\n",
			       option_specs[id].name, cl.seen_at[id],
			       cl.value[id] ? cl.value[id] : "(none)",
			       w->seen_at[id],
			       w->value[id] ? w->value[id] : "(none)");
			ok = false;
		}
	}
	if (strcmp(cl.malformed, w->malformed)) {
		printf("# malformed '%s', want '%s'\n", cl.malformed,
		       w->malformed);
		ok = false;
	}
	result(ok, "reads", joined(words));
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_read_command_line(void)
{
	reads(WORDS(""), &(struct want_line){
		.command = "", .malformed = "" });
	reads(WORDS("--json", "list", "--driver", "vfio-pci"),
	      &(struct want_line){
		.command = "list",
		.seen_at = { [OPT_JSON] = 1, [OPT_DRIVER] = 3 },
		.value = { [OPT_DRIVER] = "vfio-pci" }, .malformed = "" });
	/* Options after the arguments; "=" form; the last value wins. */
	reads(WORDS("save", "00:03.0", "--chunk=4k", "f", "--chunk", "8k"),
	      &(struct want_line){
		.command = "save", .args = { "00:03.0", "f" },
		.seen_at = { [OPT_CHUNK] = 3 },
		.value = { [OPT_CHUNK] = "8k" }, .malformed = "" });
	/* "-" is a FILE; "--" ends the options. */
	reads(WORDS("load", "00:03.0", "-", "--", "--run", "-j"),
	      &(struct want_line){
		.command = "load", .args = { "00:03.0", "-", "--run", "-j" },
		.malformed = "" });
	reads(WORDS("-jh", "info"), &(struct want_line){
		.command = "info",
		.seen_at = { [OPT_JSON] = 1, [OPT_HELP] = 1 },
		.malformed = "" });
	reads(WORDS("--version"), &(struct want_line){
		.seen_at = { [OPT_VERSION] = 1 }, .malformed = "" });
	/* The first malformed option is the one reported. */
	reads(WORDS("list", "--json=1", "--nope"), &(struct want_line){
		.command = "list", .malformed = "--json takes no value" });
	reads(WORDS("list", "--nope=3", "-x"), &(struct want_line){
		.command = "list", .malformed = "unknown option '--nope'" });
	reads(WORDS("list", "-jx"), &(struct want_line){
		.command = "list", .seen_at = { [OPT_JSON] = 2 },
		.malformed = "unknown option '-x'" });
	reads(WORDS("list", "--driver"), &(struct want_line){
		.command = "list", .malformed = "--driver needs a value" });
	reads(WORDS("bind", "x", "--transient", "--print-old", "--driver=none"),
	      &(struct want_line){
		.command = "bind", .args = { "x" },
		.seen_at = { [OPT_TRANSIENT] = 3, [OPT_PRINT_OLD] = 4,
			     [OPT_DRIVER] = 5 },
		.value = { [OPT_DRIVER] = "none" }, .malformed = "" });
	reads(WORDS("bind", "x", "--print-old=yes"), &(struct want_line){
		.command = "bind", .args = { "x" },
		.malformed = "--print-old takes no value" });
	/* A value may look like an option. */
	reads(WORDS("list", "--driver", "--json"), &(struct want_line){
		.command = "list", .seen_at = { [OPT_DRIVER] = 2 },
		.value = { [OPT_DRIVER] = "--json" }, .malformed = "" });
}

/* --- find_command, misplaced_option --- */

static void test_commands(void)
{
	static const char *const names[] = {
		"list", "bind", "unset-override", "unbind", "info", "save",
		"load", "help",
	};
	struct command_line cl;
	struct argv_copy a;
	int id;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct command *cmd = find_command(names[i]);

		result(cmd && !strcmp(cmd->name, names[i]), "finds",
		       names[i]);
	}
	result(!find_command("lis"), "does-not-find", "lis");
	result(!find_command("List"), "does-not-find", "List");
	result(!find_command(""), "does-not-find", "");

	/* The earliest option the command does not take; --help never. */
	copy_argv(&a, WORDS("list", "--help", "--run", "--v1", "--open"));
	read_command_line(a.argc, a.argv, &cl);
	id = misplaced_option(&cl, find_command("list"));
	result(id == OPT_RUN, "misplaced", "list --help --run --v1 --open");
	copy_argv(&a, WORDS("--json", "save", "x", "y", "--v1"));
	read_command_line(a.argc, a.argv, &cl);
	id = misplaced_option(&cl, find_command("save"));
	result(id == OPT_JSON, "misplaced", "--json save x y --v1");
	copy_argv(&a, WORDS("save", "x", "y", "--v1", "--mmap", "--help"));
	read_command_line(a.argc, a.argv, &cl);
	id = misplaced_option(&cl, find_command("save"));
	result(id == -1, "misplaced.none", "save x y --v1 --mmap --help");
	/* bind's own options belong to bind alone. */
	copy_argv(&a, WORDS("list", "--print-old", "--transient"));
	read_command_line(a.argc, a.argv, &cl);
	id = misplaced_option(&cl, find_command("list"));
	result(id == OPT_PRINT_OLD, "misplaced", "list --print-old --transient");
	copy_argv(&a, WORDS("unset-override", "x", "--transient"));
	read_command_line(a.argc, a.argv, &cl);
	id = misplaced_option(&cl, find_command("unset-override"));
	result(id == OPT_TRANSIENT, "misplaced", "unset-override x --transient");
	copy_argv(&a, WORDS("bind", "x", "--transient", "--print-old",
			    "--driver", "none"));
	read_command_line(a.argc, a.argv, &cl);
	id = misplaced_option(&cl, find_command("bind"));
	result(id == -1, "misplaced.none",
	       "bind x --transient --print-old --driver none");
}

/* --- take_options --- */

/* Runs take_options() with stderr caught; the message, or "". */
static int take_caught(const char *const *words, struct options *o,
		       char *msg, size_t len)
{
	struct command_line cl;
	struct argv_copy a;
	FILE *f = tmpfile();
	int saved, rc;
	size_t n = 0;

	copy_argv(&a, words);
	read_command_line(a.argc, a.argv, &cl);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (!f || saved < 0 || dup2(fileno(f), STDERR_FILENO) < 0) {
		printf("# cannot catch stderr\n");
		exit(1);
	}
	rc = take_options(&cl, find_command(cl.command), o);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(msg, 1, len - 1, f);
	msg[n] = '\0';
	fclose(f);
	return rc;
}

static void takes(const char *const *words, const struct options *want)
{
	struct options o;
	char msg[256];
	int rc = take_caught(words, &o, msg, sizeof(msg));
	bool ok = !rc && !msg[0] && o.json == want->json &&
		  !strcmp(o.driver, want->driver) && o.open == want->open &&
		  o.v1 == want->v1 && o.v1_access == want->v1_access &&
		  o.chunk == want->chunk && o.precopy == want->precopy &&
		  o.run == want->run &&
		  o.precopy_rounds == want->precopy_rounds &&
		  o.transient == want->transient &&
		  o.print_old == want->print_old;

	if (!ok)
		printf("# rc %d '%s': json %d driver %s open %d v1 %d access %d chunk %zu precopy %d run %d rounds %u transient %d print_old %d\n",
		       rc, msg, o.json, o.driver, o.open, o.v1, o.v1_access,
		       o.chunk, o.precopy, o.run, o.precopy_rounds,
		       o.transient, o.print_old);
	result(ok, "options.takes", joined(words));
}

static void refuses(const char *const *words, const char *want)
{
	struct options o;
	char msg[256];
	int rc = take_caught(words, &o, msg, sizeof(msg));
	bool ok = rc == EXIT_USAGE && !strcmp(msg, want);

	if (!ok)
		printf("# rc %d '%s', want %d '%s'\n", rc, msg, EXIT_USAGE,
		       want);
	result(ok, "options.refuses", joined(words));
}

static void test_take_options(void)
{
	takes(WORDS("list"), &(struct options){ .driver = DEFAULT_DRIVER });
	takes(WORDS("-j", "list", "--driver=vfio-pci", "--open"),
	      &(struct options){ .json = true, .driver = "vfio-pci",
				 .open = true });
	takes(WORDS("save", "x", "y", "--precopy", "--chunk", "64k", "--run"),
	      &(struct options){ .driver = DEFAULT_DRIVER, .precopy = true,
				 .chunk = 64u << 10, .run = true });
	takes(WORDS("save", "x", "y", "--v1", "--mmap",
		    "--precopy-rounds", "1000000"),
	      &(struct options){ .driver = DEFAULT_DRIVER, .v1 = true,
				 .v1_access = VFMIG_V1_MMAP,
				 .precopy_rounds = 1000000 });
	/* A --v1 load may give the chunk its writes use. */
	takes(WORDS("load", "x", "y", "--v1", "--pread", "--chunk", "1M"),
	      &(struct options){ .driver = DEFAULT_DRIVER, .v1 = true,
				 .v1_access = VFMIG_V1_PREAD,
				 .chunk = 1u << 20 });

	takes(WORDS("bind", "x"), &(struct options){ .driver = DEFAULT_DRIVER });
	/* "none" is bind's to interpret: it reaches it as given. */
	takes(WORDS("bind", "x", "--driver", "none", "--transient",
		    "--print-old"),
	      &(struct options){ .driver = "none", .transient = true,
				 .print_old = true });

	refuses(WORDS("save", "x", "y", "--chunk", "0"),
		"vfmig save: --chunk 0: give a size from 1 byte to 1G (suffix k or M allowed)\n");
	refuses(WORDS("load", "x", "y", "--chunk", "2G"),
		"vfmig load: --chunk 2G: give a size from 1 byte to 1G (suffix k or M allowed)\n");
	refuses(WORDS("save", "x", "y", "--v1", "--precopy-rounds", "1000001"),
		"vfmig save: --precopy-rounds 1000001: give a number from 1 to 1000000\n");
	refuses(WORDS("save", "x", "y", "--v1", "--precopy-rounds", "0"),
		"vfmig save: --precopy-rounds 0: give a number from 1 to 1000000\n");
	refuses(WORDS("save", "x", "y", "--v1", "--pread", "--mmap"),
		"vfmig save: --pread and --mmap exclude each other\n");
	refuses(WORDS("load", "x", "y", "--mmap"),
		"vfmig load: --mmap goes with --v1\n");
	refuses(WORDS("save", "x", "y", "--precopy-rounds", "3"),
		"vfmig save: --precopy-rounds goes with --v1\n");
	refuses(WORDS("save", "x", "y", "--v1", "--precopy"),
		"vfmig save: --precopy is for v2; a --v1 save takes --precopy-rounds N\n");
	refuses(WORDS("save", "x", "y", "--v1", "--chunk", "4k"),
		"vfmig save: --chunk does nothing in a --v1 save, which reads each buffer the device offers whole\n");
}

int main(void)
{
	printf("TAP version 13\n");
	test_parse_size();
	test_read_command_line();
	test_commands();
	test_take_options();
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
