/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Migration inside vfio-pci-mediate: one engine (migration.c) drives the
 * mediator's struct vfio_pci_mediate_migration_ops and produces/consumes
 * the framed stream (stream.c); two front ends speak the client protocols
 * on top of it: the v1 migration region (migration_v1.c) and the v2
 * VFIO_DEVICE_FEATURE_MIGRATION uAPI (migration_v2.c).
 *
 * States are those of the v2 uAPI, PRE_COPY and PRE_COPY_P2P included
 * (values from <uapi/linux/vfio_pci_mediate.h>).  The v1 front end maps
 * its device_state bits onto them (RUNNING 1 -> RUNNING, SAVING|RUNNING 3
 * -> PRE_COPY, SAVING 2 -> STOP_COPY, 0 -> STOP, RESUMING 4 -> RESUMING).
 */
#ifndef VFIO_PCI_MEDIATE_MIGRATION_H
#define VFIO_PCI_MEDIATE_MIGRATION_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/ratelimit_types.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_mediate.h>
#include <uapi/linux/vfio_pci_mediate.h>

struct vfio_pci_mediate_device;
struct vpm_save_stream;
struct vpm_load_stream;
struct vpm_mig_v2_file;

/* Which protocol currently drives a device's migration. */
enum vpm_mig_client {
	VPM_MIG_CLIENT_NONE,
	VPM_MIG_CLIENT_V1,
	VPM_MIG_CLIENT_V2,
};

/**
 * struct vpm_migration - a device's migration state, inside its
 *	struct vfio_pci_mediate_device
 * @lock: serialises state changes, stream I/O and every call into the
 *	mediator's migration ops for the device (and its ->reset).  Taken by
 *	the front ends around each engine call (vpm_mig_lock()).  The
 *	mediator's callbacks run under it and may touch the user's memory
 *	(vfio_pci_mediate_dma_rw()).  Lock order: Locking in
 *	vfio_pci_mediate_priv.h.
 * @ops: the serving mediator's migration ops, NULL when the device is not
 *	open or its mediator cannot migrate
 * @state: current state (enum vfio_device_mig_state value)
 * @client: the protocol that left RUNNING; the other gets -EBUSY until
 *	the device is back in RUNNING with no session open
 * @run_state: what the mediator's ->set_run_state() last accepted
 * @save: the open save session, or NULL
 * @load: the open load session, or NULL
 * @v2_file: the v2 data fd attached to the open session, or NULL
 * @v2_dropped: v2 data fds detached under @lock whose own lock must still
 *	be taken to disable them; vpm_mig_unlock() does that after
 *	releasing @lock (see migration_v2.c)
 * @flags: VPM_MIG_DEVICE_WAS_RESET: the function was reset other than by
 *	VFIO_DEVICE_RESET; set atomically from the PCI core's reset_done,
 *	which may run with vfio-pci-core's memory_lock held for write (so it
 *	cannot take @lock), and acted on by the next vpm_mig_lock()
 * @refused: streams refused since the device was bound (sysfs
 *	migration_refused); written under @lock, read with READ_ONCE() (a
 *	long, so that the read cannot tear)
 * @refusal_rs: how often a refusal may be logged, per device
 *
 * Every other member is protected by @lock; @ops is also read without it
 * where the device cannot be closing (VFIO file operations).
 */
struct vpm_migration {
	struct mutex lock;
	const struct vfio_pci_mediate_migration_ops *ops;
	u32 state;
	enum vpm_mig_client client;
	enum vfio_pci_mediate_run_state run_state;
	struct vpm_save_stream *save;
	struct vpm_load_stream *load;
	struct vpm_mig_v2_file *v2_file;
	struct list_head v2_dropped;
	unsigned long flags;
	unsigned long refused;
	struct ratelimit_state refusal_rs;
};

#define VPM_MIG_DEVICE_WAS_RESET	0

/* --- engine: migration.c ---------------------------------------------- */

/*
 * mutex_lock(&vpmdev->mig.lock) and its release.  vpm_mig_unlock() also
 * disables the v2 data fds that were detached meanwhile, which needs the
 * lock dropped first; a front end that may end a v2 session (state change,
 * reset, close) must unlock with it.  Plain mutex_unlock() is fine where
 * no session can end.  The lock may be held for as long as a mediator's
 * run-state change waits for the user (a trap acknowledgement, bounded),
 * so the user's own syscalls take it with vpm_mig_lock_killable(), which
 * fails with -EINTR when the caller is killed meanwhile.
 */
void vpm_mig_lock(struct vfio_pci_mediate_device *vpmdev);
int __must_check vpm_mig_lock_killable(struct vfio_pci_mediate_device *vpmdev);
void vpm_mig_unlock(struct vfio_pci_mediate_device *vpmdev);

/* init_dev / release_dev. */
void vpm_mig_init(struct vfio_pci_mediate_device *vpmdev);
void vpm_mig_destroy(struct vfio_pci_mediate_device *vpmdev);

/*
 * After the mediator attached, before open returns: enable migration if
 * the mediator has migration ops (set the vfio_device's mig_ops and flags,
 * register the v1 region).  Close: end every session, clear them again.
 * Close runs while the device is still enabled and before the mediator's
 * ->release().
 */
int vpm_mig_open(struct vfio_pci_mediate_device *vpmdev);
void vpm_mig_close(struct vfio_pci_mediate_device *vpmdev);

/*
 * The next state on the way from @cur to @target, as vfio_mig_get_next_state()
 * does for 6.1's states, extended with PRE_COPY and PRE_COPY_P2P.  Returns
 * -EINVAL for an unknown state or an unreachable target (ERROR).
 */
int vpm_mig_next_state(u32 cur, u32 target, u32 *next);

/*
 * Take migration from its current state to @target for @client, one arc at
 * a time, calling the mediator on each.  -EBUSY if the other client drives
 * the device.  On a failed arc the state becomes ERROR and the error is
 * returned.  Lock held.
 */
int vpm_mig_set_state(struct vfio_pci_mediate_device *vpmdev,
		      enum vpm_mig_client client, u32 target);

/* The device's state is undefined: end every session, state ERROR. */
void vpm_mig_fail(struct vfio_pci_mediate_device *vpmdev);

/*
 * Save session (PRE_COPY*, STOP_COPY): copy up to @len next bytes of the
 * framed stream to @buf.  Returns bytes, 0 when nothing is available now
 * (PRE_COPY*) or the stream has ended (STOP_COPY), -EINVAL without a save
 * session.  Lock held.
 */
ssize_t vpm_mig_save_read(struct vfio_pci_mediate_device *vpmdev, void *buf,
			  size_t len);

/*
 * Framed bytes still to come: what can be read now without stopping
 * (PRE_COPY), as @initial until pre-copy first ran dry and as @dirty
 * after (VFIO_MIG_GET_PRECOPY_INFO); @stop_copy what a STOP_COPY would
 * produce from here to the end of the trailer.  Inside STOP_COPY
 * @stop_copy is nonzero until the trailer has been read, and 0 after.
 * Outside a session: a whole stream's size.  Lock held.
 */
void vpm_mig_save_pending(struct vfio_pci_mediate_device *vpmdev, u64 *initial,
			  u64 *dirty, u64 *stop_copy);

/*
 * Load session (RESUMING): consume @len bytes of framed stream.  Checks
 * as it goes; when the trailer completes a valid stream the mediator's
 * ->load() runs.  Returns @len or the refusal's errno (see the uAPI
 * header); after a refusal every further write fails with the same errno
 * until RESUMING is entered again.  Lock held.
 */
ssize_t vpm_mig_load_write(struct vfio_pci_mediate_device *vpmdev,
			   const void *buf, size_t len);

/*
 * After the device and its mediator (->reset) were reset: end sessions,
 * state RUNNING, client NONE, run state RUNNING.  Lock held.
 */
void vpm_mig_reset(struct vfio_pci_mediate_device *vpmdev);

/*
 * From the PCI core's reset_done: the function was reset.  Only flags it
 * (see @flags); the next vpm_mig_lock() resets the mediator and migration.
 */
void vpm_mig_device_was_reset(struct vfio_pci_mediate_device *vpmdev);

/* --- stream framing: stream.c ------------------------------------------ */

/* A save session's stream; @live: the device still runs (pre-copy). */
struct vpm_save_stream *vpm_save_stream_new(struct vfio_pci_mediate_device *vpmdev,
					    bool live);
void vpm_save_stream_free(struct vpm_save_stream *s);
/* The device stopped (PRE_COPY_P2P -> STOP_COPY): ->save() now ends. */
void vpm_save_stream_stop(struct vpm_save_stream *s);
ssize_t vpm_save_stream_read(struct vpm_save_stream *s,
			     struct vfio_pci_mediate_device *vpmdev, void *buf,
			     size_t len);
/*
 * Framed bytes still to come given the mediator's estimates (@s NULL:
 * a whole stream): what can be read now, as initial data or, once
 * pre-copy ran dry, as changed state; and in all if stopped now.
 */
void vpm_save_stream_pending(struct vpm_save_stream *s, u64 live_bytes,
			     u64 stop_bytes, u64 *initial, u64 *dirty,
			     u64 *stop_copy);

struct vpm_load_stream *vpm_load_stream_new(void);
void vpm_load_stream_free(struct vpm_load_stream *l);
ssize_t vpm_load_stream_write(struct vpm_load_stream *l,
			      struct vfio_pci_mediate_device *vpmdev,
			      const void *buf, size_t len);
/* RESUMING is left: 0 if a valid stream was loaded, else its errno. */
int vpm_load_stream_finish(struct vpm_load_stream *l,
			   struct vfio_pci_mediate_device *vpmdev);

/* sysfs attributes of devices bound to vfio-pci-mediate. */
extern struct device_attribute dev_attr_migration_protocol;
extern struct device_attribute dev_attr_migration_refused;

/* --- v1 front end: migration_v1.c -------------------------------------- */

/* Register the v1 migration region for this open (from vpm_mig_open). */
int vpm_mig_v1_register(struct vfio_pci_mediate_device *vpmdev);

/* --- v2 front end: migration_v2.c -------------------------------------- */

/* The vfio_device's mig_ops and migration_flags. */
extern const struct vfio_migration_ops vpm_mig_v2_ops;
#define VPM_MIG_V2_FLAGS (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | \
			  VFIO_MIGRATION_PRE_COPY)

/*
 * VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, which 6.1's vfio core leaves to the
 * driver's device_feature op (6.2+ answer it through vpm_mig_v2_ops).
 * Returns -ENOTTY when migration is off.
 */
int vpm_mig_v2_data_size_feature(struct vfio_pci_mediate_device *vpmdev,
				 u32 flags, void __user *arg, size_t argsz);

/*
 * The session the v2 data fd belongs to ends (arc, error, close, reset):
 * detach the fd; vpm_mig_unlock() then disables it, after which its read,
 * write and ioctl fail with -ENODEV and never touch @vpmdev again.  Lock
 * held.
 */
void vpm_mig_v2_drop_file(struct vfio_pci_mediate_device *vpmdev);

/* Disable the fds vpm_mig_v2_drop_file() detached (@dropped), lock not held. */
void vpm_mig_v2_disable_dropped(struct list_head *dropped);

#endif /* VFIO_PCI_MEDIATE_MIGRATION_H */
