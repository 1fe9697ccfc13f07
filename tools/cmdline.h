/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfmig's command line: the options and commands it knows, how argv is
 * read (options anywhere, "--" ends them) and checked against the
 * command, and the usage texts.
 */
#ifndef VFMIG_TOOLS_CMDLINE_H
#define VFMIG_TOOLS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"

enum option_id {
	OPT_JSON, OPT_HELP, OPT_VERSION, OPT_DRIVER, OPT_OPEN, OPT_V1, OPT_PREAD,
	OPT_MMAP, OPT_CHUNK, OPT_PRECOPY, OPT_ROUNDS, OPT_RUN, OPT_TRANSIENT,
	OPT_PRINT_OLD,
	OPT_COUNT
};

#define OPT_BIT(id) (1u << (id))

struct option_spec {
	const char *name;	/* the long name, without "--" */
	char short_name;	/* 0 if none; only flags have one */
	bool takes_value;
};

enum command_id {
	CMD_LIST, CMD_BIND, CMD_UNSET_OVERRIDE, CMD_INFO, CMD_SAVE, CMD_LOAD,
	CMD_HELP, CMD_UNBIND,
	CMD_COUNT
};

struct command {
	const char *name;
	int min_args, max_args;
	const char *args_text;	/* the arguments it takes, for a wrong count */
	bool first_arg_is_bdf;
	unsigned int options;	/* OPT_BIT()s of the options it takes */
	const char *synopsis[3];	/* its usage lines, NULL-terminated */
	const char *summary;	/* what it does, one line */
	bool old_name;		/* kept for scripts, left out of the usage */
};

/* argv as read, before anything is checked against the command. */
struct command_line {
	const char *command;		/* the first argument, or NULL */
	char **args;			/* the arguments after it */
	int nargs;
	int seen_at[OPT_COUNT];		/* argv index of its first use; 0: absent */
	const char *value[OPT_COUNT];	/* its last value */
	char malformed[160];		/* the first option not understood, why */
};

extern const struct option_spec option_specs[OPT_COUNT];
extern const struct command commands[CMD_COUNT];

void usage(FILE *out);
void command_help(FILE *out, const struct command *cmd);
__attribute__((format(printf, 3, 4)))
int usage_error(const struct command *cmd, bool see_help,
		const char *fmt, ...);
const struct command *find_command(const char *name);
void read_command_line(int argc, char **argv, struct command_line *cl);
int misplaced_option(const struct command_line *cl,
		     const struct command *cmd);
bool parse_size(const char *s, size_t *out);
int take_options(const struct command_line *cl,
		 const struct command *cmd, struct options *o);

#endif /* VFMIG_TOOLS_CMDLINE_H */
