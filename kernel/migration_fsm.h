/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The migration state machine's path table, data only, so that a host test
 * (tests/unit/fsm_tables.c) can hold it against libvfmig's: the two must
 * agree, and they cannot share a file (GPL-2.0-only here, LGPL-2.1+ in
 * lib/).  Included by migration.c and that test; needs u8 and the uAPI's
 * VFIO_DEVICE_STATE_* values.
 */
#ifndef VPM_MIGRATION_FSM_H
#define VPM_MIGRATION_FSM_H

#define ERROR		VFIO_DEVICE_STATE_ERROR
#define STOP		VFIO_DEVICE_STATE_STOP
#define RUNNING		VFIO_DEVICE_STATE_RUNNING
#define STOP_COPY	VFIO_DEVICE_STATE_STOP_COPY
#define RESUMING	VFIO_DEVICE_STATE_RESUMING
#define RUNNING_P2P	VFIO_DEVICE_STATE_RUNNING_P2P
#define PRE_COPY	VFIO_DEVICE_STATE_PRE_COPY
#define PRE_COPY_P2P	VFIO_DEVICE_STATE_PRE_COPY_P2P
#define NUM_STATES	(PRE_COPY_P2P + 1)

/*
 * next_state[from][to]: the first arc on the way.  Paths are the shortest
 * ones through the arcs migration.c lists, and none passes through a
 * saving state (PRE_COPY, PRE_COPY_P2P, STOP_COPY) or RESUMING on the way
 * to another state, except PRE_COPY -> PRE_COPY_P2P -> STOP_COPY, the one
 * way from pre-copy to stop-copy that keeps the session.  So a session is
 * only ever opened by the last arc of a path, and a data fd is returned
 * for it.
 * Where two shortest paths exist, the one that leaves a saving state
 * first wins (PRE_COPY -> STOP goes through RUNNING, not PRE_COPY_P2P).
 * ERROR (0) as a value means "no way there".
 */
static const u8 next_state[NUM_STATES][NUM_STATES] = {
	[STOP] = {
		[STOP] = STOP,
		[RUNNING] = RUNNING_P2P,
		[STOP_COPY] = STOP_COPY,
		[RESUMING] = RESUMING,
		[RUNNING_P2P] = RUNNING_P2P,
		[PRE_COPY] = RUNNING_P2P,
		[PRE_COPY_P2P] = RUNNING_P2P,
	},
	[RUNNING] = {
		[STOP] = RUNNING_P2P,
		[RUNNING] = RUNNING,
		[STOP_COPY] = RUNNING_P2P,
		[RESUMING] = RUNNING_P2P,
		[RUNNING_P2P] = RUNNING_P2P,
		[PRE_COPY] = PRE_COPY,
		[PRE_COPY_P2P] = RUNNING_P2P,
	},
	[STOP_COPY] = {
		[STOP] = STOP,
		[RUNNING] = STOP,
		[STOP_COPY] = STOP_COPY,
		[RESUMING] = STOP,
		[RUNNING_P2P] = STOP,
		/* Pre-copy cannot follow stop-copy: no way there. */
		[PRE_COPY] = ERROR,
		[PRE_COPY_P2P] = ERROR,
	},
	[RESUMING] = {
		[STOP] = STOP,
		[RUNNING] = STOP,
		[STOP_COPY] = STOP,
		[RESUMING] = RESUMING,
		[RUNNING_P2P] = STOP,
		[PRE_COPY] = STOP,
		[PRE_COPY_P2P] = STOP,
	},
	[RUNNING_P2P] = {
		[STOP] = STOP,
		[RUNNING] = RUNNING,
		[STOP_COPY] = STOP,
		[RESUMING] = STOP,
		[RUNNING_P2P] = RUNNING_P2P,
		[PRE_COPY] = RUNNING,
		[PRE_COPY_P2P] = PRE_COPY_P2P,
	},
	[PRE_COPY] = {
		[STOP] = RUNNING,
		[RUNNING] = RUNNING,
		[STOP_COPY] = PRE_COPY_P2P,
		[RESUMING] = RUNNING,
		[RUNNING_P2P] = RUNNING,
		[PRE_COPY] = PRE_COPY,
		[PRE_COPY_P2P] = PRE_COPY_P2P,
	},
	[PRE_COPY_P2P] = {
		[STOP] = RUNNING_P2P,
		[RUNNING] = RUNNING_P2P,
		[STOP_COPY] = STOP_COPY,
		[RESUMING] = RUNNING_P2P,
		[RUNNING_P2P] = RUNNING_P2P,
		[PRE_COPY] = PRE_COPY,
		[PRE_COPY_P2P] = PRE_COPY_P2P,
	},
	/* [ERROR] = all ERROR: only reset or close leaves it. */
};

#endif /* VPM_MIGRATION_FSM_H */
