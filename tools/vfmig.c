// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig: list, bind, inspect, save and load VFIO devices with libvfmig.
 * See vfmig.1 for the commands, their output and the exit codes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"

/* -DVFMIG_VERSION from tools/Makefile: the project's ../VERSION. */
#ifndef VFMIG_VERSION
#error "VFMIG_VERSION is not defined: build with tools/Makefile"
#endif

int exit_code(int err)
{
	switch (err) {
	case 0: return EXIT_OK;
	case -EBUSY: return EXIT_IN_USE;
	case -ENOENT:
	case -ENODEV: return EXIT_NO_DEVICE;
	case -EACCES:
	case -EPERM: return EXIT_PERM;
	default: return EXIT_FAILED;
	}
}

/* Output that did not reach stdout (a full disk, say) is a failure. */
static int stdout_checked(int rc)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "vfmig: writing the output: %s\n",
				strerror(errno));
		return rc ? rc : EXIT_FAILED;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct command_line cl;
	struct options o;
	char bdf[VFMIG_BDF_LEN];
	int misplaced, ret;

	read_command_line(argc, argv, &cl);
	if (cl.command) {
		cmd = find_command(cl.command);
		if (!cmd) {
			fprintf(stderr, "vfmig: unknown command '%s'\n",
				cl.command);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (cl.malformed[0])
		return usage_error(cmd, true, "%s", cl.malformed);
	if (!cmd) {
		if (cl.seen_at[OPT_HELP]) {
			usage(stdout);
			return EXIT_OK;
		}
		if (cl.seen_at[OPT_VERSION]) {
			printf("vfmig %s\n", VFMIG_VERSION);
			return EXIT_OK;
		}
		fprintf(stderr, "vfmig: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	/* --help asks for help whatever else is given. */
	if (cl.seen_at[OPT_HELP]) {
		command_help(stdout, cmd);
		return EXIT_OK;
	}
	misplaced = misplaced_option(&cl, cmd);
	if (misplaced >= 0)
		return usage_error(cmd, true, "option --%s does not apply to %s",
				   option_specs[misplaced].name, cmd->name);
	if (cl.nargs < cmd->min_args || cl.nargs > cmd->max_args) {
		fprintf(stderr, "vfmig %s: expected %s, got %d argument%s\n",
			cmd->name, cmd->args_text, cl.nargs,
			cl.nargs == 1 ? "" : "s");
		command_help(stderr, cmd);
		return EXIT_USAGE;
	}
	ret = take_options(&cl, cmd, &o);
	if (ret)
		return ret;
	if (cmd->first_arg_is_bdf && vfmig_parse_bdf(cl.args[0], bdf))
		return usage_error(cmd, false, "'%s' is not a PCI address: give DDDD:BB:DD.F or BB:DD.F (see lspci -D)",
				   cl.args[0]);

	switch ((enum command_id)(cmd - commands)) {
	case CMD_LIST:
		return stdout_checked(cmd_list(&o));
	case CMD_BIND:
		return stdout_checked(cmd_bind(&o, cl.args[0]));
	case CMD_UNSET_OVERRIDE:
	case CMD_UNBIND:
		return cmd_unset_override(cl.args[0]);
	case CMD_INFO:
		return stdout_checked(cmd_info(&o, cl.args[0]));
	case CMD_SAVE:
	case CMD_LOAD:
		return cmd_transfer(&o, cl.args[0], cl.args[1],
				    cmd == &commands[CMD_SAVE]);
	case CMD_HELP:
		if (!cl.nargs) {
			usage(stdout);
			return EXIT_OK;
		}
		cmd = find_command(cl.args[0]);
		if (!cmd) {
			fprintf(stderr, "vfmig help: unknown command '%s'\n",
				cl.args[0]);
			usage(stderr);
			return EXIT_USAGE;
		}
		command_help(stdout, cmd);
		return EXIT_OK;
	case CMD_COUNT:
		break;
	}
	return EXIT_FAILED;
}
