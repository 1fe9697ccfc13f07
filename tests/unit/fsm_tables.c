// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit test (TAP): the kernel's migration path table
 * (kernel/migration_fsm.h) and libvfmig's vfmig_mig_next_state() agree on
 * every (from, to) pair of a device with every optional state, and
 * libvfmig's paths for a device without P2P or PRE_COPY never enter a
 * state the device lacks and still lead to the target.  The two tables
 * are kept apart by their licences; this is what holds them together.
 */
#include <stdint.h>
#include <stdio.h>

#include <linux/vfio_pci_mediate.h>	/* the uAPI states, PRE_COPY too */
#include "vfmig.h"

typedef uint8_t u8;
#include "../../kernel/migration_fsm.h"

/* libvfmig's states are the uAPI's, value for value: the test relies on it. */
_Static_assert(VFMIG_NR_STATES == NUM_STATES, "state count");
#define SAME(lib, uapi) ((int)(lib) == (int)(uapi))
_Static_assert(SAME(VFMIG_STATE_ERROR, ERROR) &&
	       SAME(VFMIG_STATE_STOP, STOP) &&
	       SAME(VFMIG_STATE_RUNNING, RUNNING) &&
	       SAME(VFMIG_STATE_STOP_COPY, STOP_COPY) &&
	       SAME(VFMIG_STATE_RESUMING, RESUMING) &&
	       SAME(VFMIG_STATE_RUNNING_P2P, RUNNING_P2P) &&
	       SAME(VFMIG_STATE_PRE_COPY, PRE_COPY) &&
	       SAME(VFMIG_STATE_PRE_COPY_P2P, PRE_COPY_P2P), "state values");
#undef SAME

static const char *const state_names[NUM_STATES] = {
	"ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P",
	"PRE_COPY", "PRE_COPY_P2P",
};

static int tests, failed;

static void result(int ok, const char *name)
{
	printf("%sok %d %s\n", ok ? "" : "not ", ++tests, name);
	failed += !ok;
}

/* Every cell: the kernel's first step is libvfmig's, or both say none. */
static int kernel_equals_lib(void)
{
	const uint64_t all = VFMIG_MIG_STOP_COPY | VFMIG_MIG_P2P |
			     VFMIG_MIG_PRE_COPY;
	int bad = 0;

	for (unsigned int from = 0; from < NUM_STATES; from++) {
		for (unsigned int to = 0; to < NUM_STATES; to++) {
			enum vfmig_state next = VFMIG_STATE_ERROR;
			int rc = vfmig_mig_next_state(all, from, to, &next);
			unsigned int lib = rc ? ERROR : (unsigned int)next;

			if (lib == next_state[from][to])
				continue;
			printf("# %s -> %s: kernel first step %s, libvfmig %s\n",
			       state_names[from], state_names[to],
			       state_names[next_state[from][to]],
			       state_names[lib]);
			bad++;
		}
	}
	return !bad;
}

/*
 * A device with only some optional states: libvfmig's steps from each
 * state it has to each other one stay inside what it has and arrive,
 * within NUM_STATES steps, wherever the full table has a path.
 */
static int lib_paths_stay_supported(uint64_t flags, const char *what)
{
	int bad = 0;

	for (unsigned int from = 1; from < NUM_STATES; from++) {
		for (unsigned int to = 1; to < NUM_STATES; to++) {
			enum vfmig_state cur = from, next;
			int steps = 0;

			if (vfmig_mig_next_state(flags, from, from, &next))
				break;	/* from: a state this device lacks */
			if (vfmig_mig_next_state(flags, to, to, &next))
				continue;
			while (cur != to && steps++ < NUM_STATES &&
			       !vfmig_mig_next_state(flags, cur, to, &next)) {
				enum vfmig_state same;

				if (vfmig_mig_next_state(flags, next, next,
							 &same)) {
					printf("# %s: %s -> %s enters %s\n",
					       what, state_names[from],
					       state_names[to],
					       state_names[next]);
					bad++;
					break;
				}
				cur = next;
			}
			if (cur == to || next_state[from][to] == ERROR)
				continue;
			printf("# %s: %s -> %s stops at %s\n", what,
			       state_names[from], state_names[to],
			       state_names[cur]);
			bad++;
		}
	}
	return !bad;
}

int main(void)
{
	printf("TAP version 13\n1..3\n");
	result(kernel_equals_lib(), "fsm.kernel_table_equals_libvfmig");
	result(lib_paths_stay_supported(VFMIG_MIG_STOP_COPY, "STOP_COPY only"),
	       "fsm.libvfmig_paths_without_p2p_and_pre_copy");
	result(lib_paths_stay_supported(VFMIG_MIG_STOP_COPY | VFMIG_MIG_P2P,
					"STOP_COPY and P2P"),
	       "fsm.libvfmig_paths_without_pre_copy");
	return failed ? 1 : 0;
}
