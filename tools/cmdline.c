// SPDX-License-Identifier: GPL-2.0-only
/* vfmig's command line (cmdline.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

const struct option_spec option_specs[OPT_COUNT] = {
	[OPT_JSON] = { "json", 'j', false },
	[OPT_HELP] = { "help", 'h', false },
	[OPT_VERSION] = { "version", 0, false },
	[OPT_DRIVER] = { "driver", 0, true },
	[OPT_OPEN] = { "open", 0, false },
	[OPT_V1] = { "v1", 0, false },
	[OPT_PREAD] = { "pread", 0, false },
	[OPT_MMAP] = { "mmap", 0, false },
	[OPT_CHUNK] = { "chunk", 0, true },
	[OPT_PRECOPY] = { "precopy", 0, false },
	[OPT_ROUNDS] = { "precopy-rounds", 0, true },
	[OPT_RUN] = { "run", 0, false },
	[OPT_TRANSIENT] = { "transient", 0, false },
	[OPT_PRINT_OLD] = { "print-old", 0, false },
};

/* Every command also takes --help, which prints its synopsis and summary. */
const struct command commands[CMD_COUNT] = {
	[CMD_LIST] = {
		.name = "list", .args_text = "no arguments",
		.options = OPT_BIT(OPT_JSON) | OPT_BIT(OPT_DRIVER) |
			   OPT_BIT(OPT_OPEN),
		.synopsis = { "vfmig [--json] list [--driver NAME] [--open]" },
		.summary = "List the devices bound to the driver (default " DEFAULT_DRIVER ") from sysfs; --open opens each to show the migration it offers.",
	},
	[CMD_BIND] = {
		.name = "bind", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_DRIVER) | OPT_BIT(OPT_TRANSIENT) |
			   OPT_BIT(OPT_PRINT_OLD),
		.synopsis = { "vfmig bind BDF [--driver NAME|none] [--transient] [--print-old]" },
		.summary = "Bind the device to the driver (default " DEFAULT_DRIVER ", none: unbound) through its driver_override; --transient clears the override again, --print-old prints only the driver it had (none if unbound).",
	},
	[CMD_UNSET_OVERRIDE] = {
		.name = "unset-override", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.synopsis = { "vfmig unset-override BDF" },
		.summary = "Clear the device's driver_override and let the kernel bind it to the driver that claims it.",
	},
	[CMD_INFO] = {
		.name = "info", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_JSON),
		.synopsis = { "vfmig [--json] info BDF" },
		.summary = "Open the device through VFIO and show its regions, interrupts, mediator and migration support.",
	},
	[CMD_SAVE] = {
		.name = "save", .min_args = 2, .max_args = 2,
		.args_text = "BDF FILE", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_V1) | OPT_BIT(OPT_PREAD) |
			   OPT_BIT(OPT_MMAP) | OPT_BIT(OPT_ROUNDS) |
			   OPT_BIT(OPT_PRECOPY) | OPT_BIT(OPT_CHUNK) |
			   OPT_BIT(OPT_RUN),
		.synopsis = {
			"vfmig save BDF FILE [--precopy] [--chunk BYTES] [--run]",
			"vfmig save BDF FILE --v1 [--pread|--mmap] [--precopy-rounds N] [--run]",
		},
		.summary = "Save the device's migration state to FILE (- for standard output).",
	},
	[CMD_LOAD] = {
		.name = "load", .min_args = 2, .max_args = 2,
		.args_text = "BDF FILE", .first_arg_is_bdf = true,
		.options = OPT_BIT(OPT_V1) | OPT_BIT(OPT_PREAD) |
			   OPT_BIT(OPT_MMAP) | OPT_BIT(OPT_CHUNK) |
			   OPT_BIT(OPT_RUN),
		.synopsis = { "vfmig load BDF FILE [--v1 [--pread|--mmap]] [--chunk BYTES] [--run]" },
		.summary = "Load state that vfmig save wrote from FILE (- for standard input) into the device.",
	},
	[CMD_HELP] = {
		.name = "help", .max_args = 1,
		.args_text = "at most one COMMAND",
		.synopsis = { "vfmig help [COMMAND]" },
		.summary = "Print the synopsis of every command, or that of COMMAND with what it does.",
	},
	/* driverctl's name above; this one was vfmig's first. */
	[CMD_UNBIND] = {
		.name = "unbind", .min_args = 1, .max_args = 1,
		.args_text = "BDF", .first_arg_is_bdf = true,
		.synopsis = { "vfmig unbind BDF" },
		.summary = "Clear the device's driver_override and let the kernel bind it to the driver that claims it (the old name of unset-override).",
		.old_name = true,
	},
};

static void print_synopsis(FILE *out, const struct command *cmd, bool *first)
{
	for (const char *const *line = cmd->synopsis; *line; line++) {
		fprintf(out, "%s%s\n", *first ? "usage: " : "       ", *line);
		*first = false;
	}
}

void usage(FILE *out)
{
	bool first = true;

	for (int i = 0; i < CMD_COUNT; i++)
		if (!commands[i].old_name)
			print_synopsis(out, &commands[i], &first);
	fprintf(out,
		"       vfmig COMMAND --help\n"
		"       vfmig --help | --version\n"
		"\n"
		"BDF is a PCI address (0000:00:03.0 or 00:03.0); FILE - is stdin/stdout.\n"
		"Each command takes only the options its synopsis shows.\n"
		"The default driver is " DEFAULT_DRIVER ". See vfmig(1).\n");
}

void command_help(FILE *out, const struct command *cmd)
{
	bool first = true;

	print_synopsis(out, cmd, &first);
	fprintf(out, "%s\n", cmd->summary);
}

/*
 * Prints "vfmig CMD: <message>", with "(see vfmig CMD --help)" when
 * @see_help: that shows which options go with CMD.  Returns EXIT_USAGE.
 */
int usage_error(const struct command *cmd, bool see_help,
		const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfmig%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (see_help)
		fprintf(stderr, " (see vfmig %s%s--help)", cmd ? cmd->name : "",
			cmd ? " " : "");
	fputc('\n', stderr);
	return EXIT_USAGE;
}

const struct command *find_command(const char *name)
{
	for (int i = 0; i < CMD_COUNT; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void note_malformed(struct command_line *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_malformed(struct command_line *cl, const char *fmt, ...)
{
	va_list ap;

	if (cl->malformed[0])
		return;
	va_start(ap, fmt);
	vsnprintf(cl->malformed, sizeof(cl->malformed), fmt, ap);
	va_end(ap);
}

static void note_option(struct command_line *cl, int id, int at,
			const char *value)
{
	if (!cl->seen_at[id])
		cl->seen_at[id] = at;
	cl->value[id] = value;
}

/* "--name", "--name=VALUE" or "--name VALUE" at argv[i]; returns the last index used. */
static int read_long_option(struct command_line *cl, int argc, char **argv,
			    int i)
{
	const char *name = argv[i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	for (int id = 0; id < OPT_COUNT; id++) {
		const struct option_spec *spec = &option_specs[id];

		if (strlen(spec->name) != len || strncmp(spec->name, name, len))
			continue;
		if (!spec->takes_value) {
			if (eq)
				note_malformed(cl, "--%s takes no value", spec->name);
			else
				note_option(cl, id, i, NULL);
		} else if (eq) {
			note_option(cl, id, i, eq + 1);
		} else if (i + 1 < argc) {
			i++;
			note_option(cl, id, i - 1, argv[i]);
		} else {
			note_malformed(cl, "--%s needs a value", spec->name);
		}
		return i;
	}
	note_malformed(cl, "unknown option '--%.*s'", (int)len, name);
	return i;
}

/* "-j", "-h" or both in one word. */
static void read_short_options(struct command_line *cl, char **argv, int i)
{
	for (const char *p = argv[i] + 1; *p; p++) {
		int id;

		for (id = 0; id < OPT_COUNT; id++)
			if (option_specs[id].short_name == *p)
				break;
		if (id == OPT_COUNT)
			note_malformed(cl, "unknown option '-%c'", *p);
		else
			note_option(cl, id, i, NULL);
	}
}

/*
 * Options may come before or after the command and its arguments (as
 * with getopt's permutation); "--" ends them.  The arguments are moved to
 * the front of argv, in order.
 */
void read_command_line(int argc, char **argv, struct command_line *cl)
{
	bool options_ended = false;
	int nwords = 0;

	memset(cl, 0, sizeof(*cl));
	for (int i = 1; i < argc; i++) {
		char *word = argv[i];

		if (options_ended || word[0] != '-' || !word[1])
			argv[1 + nwords++] = word;	/* "-" is a FILE */
		else if (!strcmp(word, "--"))
			options_ended = true;
		else if (word[1] == '-')
			i = read_long_option(cl, argc, argv, i);
		else
			read_short_options(cl, argv, i);
	}
	if (nwords) {
		cl->command = argv[1];
		cl->args = argv + 2;
		cl->nargs = nwords - 1;
	}
}

/* The first option given that @cmd does not take, or -1. */
int misplaced_option(const struct command_line *cl,
		     const struct command *cmd)
{
	int first = -1;

	for (int id = 0; id < OPT_COUNT; id++) {
		if (!cl->seen_at[id] || id == OPT_HELP ||
		    (cmd->options & OPT_BIT(id)))
			continue;
		if (first < 0 || cl->seen_at[id] < cl->seen_at[first])
			first = id;
	}
	return first;
}

bool parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-' || v > (1ull << 30))
		return false;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || !v || v > (1ull << 30))
		return false;
	*out = (size_t)v;
	return true;
}

/* The options' values, and the combinations a command cannot honour. */
int take_options(const struct command_line *cl,
		 const struct command *cmd, struct options *o)
{
	static const enum option_id v1_only[] = {
		OPT_PREAD, OPT_MMAP, OPT_ROUNDS,
	};
	bool seen[OPT_COUNT];
	size_t rounds;

	for (int id = 0; id < OPT_COUNT; id++)
		seen[id] = cl->seen_at[id] != 0;
	*o = (struct options){ .driver = DEFAULT_DRIVER };
	o->json = seen[OPT_JSON];
	o->open = seen[OPT_OPEN];
	if (seen[OPT_DRIVER])
		o->driver = cl->value[OPT_DRIVER];
	o->v1 = seen[OPT_V1];
	o->precopy = seen[OPT_PRECOPY];
	o->run = seen[OPT_RUN];
	o->transient = seen[OPT_TRANSIENT];
	o->print_old = seen[OPT_PRINT_OLD];
	if (seen[OPT_CHUNK] && !parse_size(cl->value[OPT_CHUNK], &o->chunk))
		return usage_error(cmd, false, "--chunk %s: give a size from 1 byte to 1G (suffix k or M allowed)",
				   cl->value[OPT_CHUNK]);
	if (seen[OPT_ROUNDS]) {
		if (!parse_size(cl->value[OPT_ROUNDS], &rounds) ||
		    rounds > 1000000)
			return usage_error(cmd, false, "--precopy-rounds %s: give a number from 1 to 1000000",
					   cl->value[OPT_ROUNDS]);
		o->precopy_rounds = (unsigned int)rounds;
	}
	if (seen[OPT_PREAD] && seen[OPT_MMAP])
		return usage_error(cmd, false, "--pread and --mmap exclude each other");
	o->v1_access = seen[OPT_PREAD] ? VFMIG_V1_PREAD :
		       seen[OPT_MMAP] ? VFMIG_V1_MMAP : VFMIG_V1_AUTO;
	for (size_t i = 0; i < sizeof(v1_only) / sizeof(v1_only[0]); i++)
		if (seen[v1_only[i]] && !o->v1)
			return usage_error(cmd, false, "--%s goes with --v1",
					   option_specs[v1_only[i]].name);
	/* A v1 save has no PRE_COPY state and reads whole buffers. */
	if (o->v1 && seen[OPT_PRECOPY])
		return usage_error(cmd, false, "--precopy is for v2; a --v1 save takes --precopy-rounds N");
	if (o->v1 && seen[OPT_CHUNK] && cmd == &commands[CMD_SAVE])
		return usage_error(cmd, false, "--chunk does nothing in a --v1 save, which reads each buffer the device offers whole");
	return EXIT_OK;
}
