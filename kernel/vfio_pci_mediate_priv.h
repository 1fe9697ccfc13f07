/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vfio-pci-mediate: per-device state, the registry's entries and
 * the functions the driver's files share.
 *
 * Locking: every order between the module's locks, and between them and
 * the kernel's, is here; each lock's comment says what it protects.
 * "A > B" means B may be taken while A is held, never A while B is.
 *
 * The registry lock (registry.c)
 *	> whatever a mediator's ->open() takes through the helpers (the trap
 *	  lock, vfio_pci_mediate_add_trappable()): it is held across ->open()
 *	  and across the ->release of the regions of an open it refused, so
 *	  that unregister cannot race with them; never across ->release() or
 *	  any other callback.
 *	> vfio-pci-core's igate (the device request of unregister).
 *	Never taken with a device's mig.lock held.
 *
 * A v2 data fd's lock (migration_v2.c) > mig.lock > vfio-pci-core's
 *	memory_lock.  The mediator's migration callbacks (and its ->reset)
 *	run under mig.lock; its BAR helpers take memory_lock for read, and
 *	VFIO_DEVICE_RESET takes it for write under mig.lock.  The engine,
 *	holding mig.lock, only detaches a data fd; vpm_mig_unlock() takes the
 *	fd's lock to disable it after releasing mig.lock.
 * mig.lock > the user's memory (vfio_pci_mediate_dma_rw() in the
 *	mediator's callbacks), so mig.lock is never taken with the mm's
 *	mmap_lock held: not from ->mmap or a fault handler.  The PCI core's
 *	reset_done may run with memory_lock held for write, so it takes no
 *	lock of ours (mig.flags).
 * mig.lock > a v1 region's data_lock (migration_v1.c), and the mm's
 *	mmap_lock > data_lock (the data section's mmap).  data_lock is
 *	innermost: never held while taking another lock or touching user
 *	memory.
 *
 * dirty.log_lock > dirty.lock.  log_lock is held across the mediator's
 *	->dirty_tracking(), dirty.lock never across a mediator callback.
 * mig.lock > dirty.lock: a mediator's save path ends its transfers
 *	(vfio_pci_mediate_dirty_end()).
 * mig.lock > trap.lock and dirty.log_lock > trap.lock: mediators trap
 *	from their migration callbacks and ->dirty_tracking(), and
 *	vfio_pci_mediate_trap() then waits for the user's acknowledgement
 *	with that lock held, for at most trap_ack_timeout_ms.  The wait
 *	cannot deadlock: the acknowledgement, a write to the trap region,
 *	takes only trap.lock, which the waiter does not hold.
 * type1's device_list_lock > dirty.lock > type1's iommu->lock.  type1
 *	calls our dma_unmap holding device_list_lock; where the user's
 *	memory may be pinned (user_dma_access), vfio_pin_pages() and
 *	vfio_unpin_pages() take iommu->lock under dirty.lock.  Without pins
 *	type1 never calls dma_unmap for this device's sake and the last
 *	arrow does not exist.
 *
 * The mm's mmap_lock (mmap, the vm_ops of the mappings), on 6.10+ also a
 *	VMA's lock (->huge_fault), > trap.lock > vfio-pci-core's
 *	memory_lock (its fault handler runs under it), before 6.10 its
 *	vma_lock, from 6.10 the device inode's i_mmap_rwsem
 *	(unmap_mapping_range()).  trap_vma_list.c drops trap.lock to take an
 *	mm's mmap_lock.  trap.lock is never held while waiting for the user.
 * The mm's mmap_lock > barmap_lock (mmap).  barmap_lock is held only
 *	across the first use of a BAR, never across user memory.
 * bar_lock is innermost: held only to map or unmap a BAR for the
 *	mediator's BAR helpers.
 */
#ifndef VFIO_PCI_MEDIATE_PRIV_H
#define VFIO_PCI_MEDIATE_PRIV_H

#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_mediate.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "compat.h"
#include "migration.h"

/**
 * struct vfio_pci_mediate_registration - a registered mediator
 * @ops: its ops table, as given to vfio_pci_register_mediate_ops()
 * @node: entry in the registry, in registration order
 * @served: the devices whose open it serves (their @served_node)
 * @users: entries of @served
 * @unused: woken when @users drops to zero, for unregister
 *
 * @node, @served and @users are protected by vfio_pci_mediate_registry_lock.
 */
struct vfio_pci_mediate_registration {
	const struct vfio_pci_mediate_ops *ops;
	struct list_head node;
	struct list_head served;
	unsigned int users;
	wait_queue_head_t unused;
};

/**
 * struct vpm_dirty - pages a device writes by DMA (dirty.c)
 * @lock: protects all other members but @logging_offered and @log_lock.
 *	Taken in the mediator's callbacks, in the DMA logging ops and in
 *	vfio_device_ops.dma_unmap (order: Locking, at the top).
 * @writes: struct vpm_dirty_write entries (ranges announced by
 *	vfio_pci_mediate_dirty_begin() and not ended yet), oldest first
 * @index: the same entries hashed by range, for dirty_end to find its
 *	write among thousands (a NIC's receive buffers)
 * @nr_writes: entries in @writes
 * @log_lock: serialises DMA logging start and stop (6.1's vfio core does
 *	not), held across the mediator's ->dirty_tracking(); taken before
 *	@lock (Locking, at the top)
 * @logging_offered: the mediator of this open announces every write; set
 *	in its ->open(), cleared when it declines and at close (serialised
 *	by VFIO's open and close)
 * @logging: VFIO DMA logging is started; written under @log_lock and
 *	@lock, read under either
 * @logged: PFNs (IOVA >> PAGE_SHIFT) written since they were last
 *	reported, inside @ranges
 * @ranges: the IOVA ranges logging was started for, widened to whole pages
 * @nr_ranges: entries in @ranges
 */
struct vpm_dirty {
	struct mutex lock;
	struct list_head writes;
	DECLARE_HASHTABLE(index, 10);
	unsigned int nr_writes;
	struct mutex log_lock;
	bool logging_offered;
	bool logging;
	struct xarray logged;
	struct vpm_log_range {
		u64 start, last;
	} *ranges;
	u32 nr_ranges;
};

/*
 * Where a trappable range is for the user (trap.c):
 * OPEN: it may mmap and fault it in;
 * CLOSING: no new mmap; its mappings work until it acknowledges the
 *	change or the acknowledgement times out;
 * SEALING: faults refused, its mappings are being removed;
 * CLOSED: no mapping of it exists; every access reaches the mediator.
 * A range starts CLOSED (vfio_pci_mediate_add_trappable()) and then
 * moves only along the arcs of vpm_trap_next_state().
 */
enum vpm_trap_state {
	VPM_TRAP_OPEN,
	VPM_TRAP_CLOSING,
	VPM_TRAP_SEALING,
	VPM_TRAP_CLOSED,
};

/* Not an enumerator: the enum is part of the exports' symbol versions. */
#define VPM_TRAP_NR_STATES	(VPM_TRAP_CLOSED + 1)

/*
 * What moves a range (trap.c, vpm_trap_update() and vpm_trap_zap()):
 * TRAP: it must not stay mapped: the mediator traps it, or the client no
 *	longer follows traps (it removed its eventfd);
 * UNTRAP: it may be mapped: the mediator untrapped it and the client
 *	follows traps (untrap, or the client set its eventfd);
 * ACK: the client acknowledged the generation that announced CLOSING, or
 *	does not follow traps, so there is nobody to wait for;
 * TIMEOUT: trap_ack_timeout_ms passed without that;
 * ZAP: a removal pass that covers it removed the user's mappings.
 * The device's close is none of these: it only drops the client's
 * eventfd (vpm_trap_close()); ranges move at the mediator's next call.
 */
enum vpm_trap_event {
	VPM_TRAP_EV_TRAP,
	VPM_TRAP_EV_UNTRAP,
	VPM_TRAP_EV_ACK,
	VPM_TRAP_EV_TIMEOUT,
	VPM_TRAP_EV_ZAP,
	VPM_TRAP_NR_EVENTS
};

/*
 * The transitions, [state][event] -> new state; false for an event that
 * cannot happen in @state (trap.c only raises events the table has).
 */
static inline bool vpm_trap_next_state(enum vpm_trap_state state,
				       enum vpm_trap_event event,
				       enum vpm_trap_state *next)
{
	static const struct {
		bool valid;
		enum vpm_trap_state next;
	} arcs[VPM_TRAP_NR_STATES][VPM_TRAP_NR_EVENTS] = {
		[VPM_TRAP_OPEN] = {
			[VPM_TRAP_EV_TRAP]	= { true, VPM_TRAP_CLOSING },
		},
		[VPM_TRAP_CLOSING] = {
			[VPM_TRAP_EV_UNTRAP]	= { true, VPM_TRAP_OPEN },
			[VPM_TRAP_EV_ACK]	= { true, VPM_TRAP_SEALING },
			[VPM_TRAP_EV_TIMEOUT]	= { true, VPM_TRAP_SEALING },
		},
		[VPM_TRAP_SEALING] = {
			[VPM_TRAP_EV_UNTRAP]	= { true, VPM_TRAP_OPEN },
			[VPM_TRAP_EV_ZAP]	= { true, VPM_TRAP_CLOSED },
		},
		[VPM_TRAP_CLOSED] = {
			[VPM_TRAP_EV_UNTRAP]	= { true, VPM_TRAP_OPEN },
		},
	};

	if (state >= VPM_TRAP_NR_STATES || event >= VPM_TRAP_NR_EVENTS ||
	    !arcs[state][event].valid)
		return false;
	*next = arcs[state][event].next;
	return true;
}

/**
 * struct vpm_trap_range - a BAR range a mediator declared trappable
 * @index: BAR
 * @offset: start in the BAR, page aligned
 * @size: bytes, page aligned
 * @trapped: the mediator wants to see every access
 * @state: what the user may do (enum vpm_trap_state)
 * @closing_gen: the generation that announced CLOSING
 * @opened: it was OPEN since vfio_pci_mediate_trap() last returned
 * @seal_seq: the first removal pass (struct vpm_trap's @zap_seq) that
 *	covers it since it became SEALING
 */
struct vpm_trap_range {
	unsigned int index;
	u64 offset;
	u64 size;
	bool trapped;
	bool opened;
	enum vpm_trap_state state;
	u64 closing_gen;
	u64 seal_seq;
};

/**
 * struct vpm_trap - dynamic traps of one open (trap.c)
 * @lock: protects all members but @ranges' constant fields (@index,
 *	@offset, @size, set in ->open()).  Never held while waiting for
 *	the user; order: Locking, at the top.
 * @ranges: the trappable ranges, @nr_ranges of them; ids are indexes
 * @nr_ranges: fixed once ->open() returned
 * @trigger: the aware client's eventfd, or NULL (unaware)
 * @generation: grows with each change the client must follow
 * @ack: the newest generation the client acknowledged
 * @vmas: struct vpm_trap_vma, every live mapping of a trappable range
 *	(before Linux 6.10 only: trap_vma_list.c)
 * @zap_seq: numbers the passes that remove mappings
 * @core_vm_ops: vfio-pci-core's vm_ops of BAR mappings, which ours wrap
 * @ack_timeout: removes the mappings of CLOSING ranges when the client
 *	did not acknowledge in time
 * @closed: woken when ranges became CLOSED
 */
struct vpm_trap {
	struct mutex lock;
	struct vpm_trap_range ranges[VFIO_PCI_MEDIATE_TRAP_MAX_RANGES];
	unsigned int nr_ranges;
	struct eventfd_ctx *trigger;
	u64 generation;
	u64 ack;
	struct list_head vmas;
	u64 zap_seq;
	const struct vm_operations_struct *core_vm_ops;
	struct delayed_work ack_timeout;
	wait_queue_head_t closed;
};

/**
 * struct vfio_pci_mediate_device - a device bound to vfio-pci-mediate
 * @core_device: vfio-pci-core's state; must stay first, as vfio_alloc_device()
 *	and the core find it by container_of() from the vfio_device.
 * @mediator: the mediator serving the current open, or NULL
 * @handle: what @mediator's ->open() returned for this open
 * @served_node: entry in @mediator's served list
 * @in_open: @mediator's ->open() is running (it may add regions then)
 * @autoload_done: the mediator module alias was requested since bind
 * @enabled: between vfio_pci_core_enable() and the start of close: the
 *	device may be accessed from kernel helpers
 * @user_dma_access: this open may reach the user's DMA memory (user_dma.c);
 *	set at open
 * @user_dma_pin: and pin pages of it for type1 (alone in its IOMMU group)
 * @barmap_lock: serialises the first use of each BAR (claiming and mapping
 *	it for vfio-pci-core, vpm_setup_barmap()); held only across that,
 *	never across user memory (order: Locking, at the top)
 * @bar_lock: protects @bar_io
 * @bar_io: kernel mappings of the BARs for the mediator's BAR helpers,
 *	made on first use and dropped at close
 * @mig: migration state (see migration.h for its locking)
 * @dirty: pages pinned for the IOMMU backend's dirty tracking (dirty.c)
 * @trap: BAR ranges the mediator traps at run time (trap.c)
 *
 * @mediator, @handle and @served_node are written only by open and close,
 * under vfio_pci_mediate_registry_lock; the VFIO file operations read them
 * without a lock, since VFIO calls those only while the device is open.
 * @enabled is written under the core's memory_lock held for write and read
 * under it held for read.  @in_open and @autoload_done are only touched
 * from open and close, which VFIO serialises per device.
 */
struct vfio_pci_mediate_device {
	struct vfio_pci_core_device core_device;
	struct vfio_pci_mediate_registration *mediator;
	void *handle;
	struct list_head served_node;
	bool in_open;
	bool autoload_done;
	bool enabled;
	bool user_dma_access;
	bool user_dma_pin;
	struct mutex barmap_lock;
	struct mutex bar_lock;
	void __iomem *bar_io[PCI_STD_NUM_BARS];
	struct vpm_migration mig;
	struct vpm_dirty dirty;
	struct vpm_trap trap;
};

static inline struct vfio_pci_mediate_device *
to_mediate_device(struct vfio_device *core_vdev)
{
	return container_of(core_vdev, struct vfio_pci_mediate_device,
			    core_device.vdev);
}

/* registry.c */
int vpm_attach(struct vfio_pci_mediate_device *vpmdev);
void vpm_detach(struct vfio_pci_mediate_device *vpmdev);
extern const struct attribute_group *vfio_pci_mediate_driver_groups[];
extern const struct attribute_group *vfio_pci_mediate_dev_groups[];

/* intercept.c */
ssize_t vpm_core_rw(struct vfio_pci_mediate_device *vpmdev, char __user *buf,
		    size_t count, loff_t *ppos, bool iswrite);
long vpm_ioctl(struct vfio_device *core_vdev, unsigned int cmd,
	       unsigned long arg);
ssize_t vpm_read(struct vfio_device *core_vdev, char __user *buf, size_t count,
		 loff_t *ppos);
ssize_t vpm_write(struct vfio_device *core_vdev, const char __user *buf,
		  size_t count, loff_t *ppos);
int vpm_mmap(struct vfio_device *core_vdev, struct vm_area_struct *vma);

/* user_dma.c */
void vpm_user_dma_open(struct vfio_pci_mediate_device *vpmdev);

/* dirty.c */
void vpm_dirty_init(struct vfio_pci_mediate_device *vpmdev);
void vpm_dirty_dma_unmap(struct vfio_pci_mediate_device *vpmdev, u64 iova,
			 u64 length);
void vpm_dirty_open_declined(struct vfio_pci_mediate_device *vpmdev);
void vpm_dirty_open(struct vfio_pci_mediate_device *vpmdev);
void vpm_dirty_close(struct vfio_pci_mediate_device *vpmdev);

/* trap.c */
#define VPM_TRAP_IRQ_INDEX VFIO_PCI_NUM_IRQS
/*
 * Ranges whose trap came in force without the user's acknowledgement, on
 * every device (debugfs trap_ack_timeouts); the log line for it is
 * ratelimited, this counts each.
 */
extern atomic_t vpm_trap_ack_timeouts;
void vpm_trap_init(struct vfio_pci_mediate_device *vpmdev);
int vpm_trap_open(struct vfio_pci_mediate_device *vpmdev);
void vpm_trap_close(struct vfio_pci_mediate_device *vpmdev);
void vpm_trap_forget(struct vfio_pci_mediate_device *vpmdev);
bool vpm_trap_in_bar(struct vfio_pci_mediate_device *vpmdev,
		     unsigned int index);
int vpm_trap_mmap(struct vfio_pci_mediate_device *vpmdev, unsigned int index,
		  struct vm_area_struct *vma);
/* The most areas vpm_trap_sparse_areas() fills in. */
#define VPM_TRAP_MAX_AREAS (2 * VFIO_PCI_MEDIATE_TRAP_MAX_RANGES + 1)
unsigned int vpm_trap_sparse_areas(struct vfio_pci_mediate_device *vpmdev,
				   unsigned int index, u64 size,
				   struct vfio_region_sparse_mmap_area *areas);
long vpm_trap_get_irq_info(struct vfio_pci_mediate_device *vpmdev,
			   unsigned long arg);
long vpm_trap_set_irqs(struct vfio_pci_mediate_device *vpmdev,
		       unsigned long arg);

/* regions.c */
void vpm_unmap_bars(struct vfio_pci_mediate_device *vpmdev);
void vpm_release_regions_from(struct vfio_pci_mediate_device *vpmdev,
			      int first);

#endif /* VFIO_PCI_MEDIATE_PRIV_H */
