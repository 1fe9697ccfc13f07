/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mediate ops for vfio-pci-mediate.
 *
 * A mediator is a kernel module that never binds a device.  It registers a
 * const struct vfio_pci_mediate_ops; each time a device bound to the
 * vfio-pci-mediate driver is opened (first fd), the registered mediators are
 * asked in registration order, through ->open(), whether they want to serve
 * that open.  The first that accepts serves it until the device is closed
 * (last fd); if none accepts, the device is plain vfio-pci passthrough.
 * One mediator serves any number of devices, told apart by the handle its
 * ->open() returned.
 *
 * Autoload: before asking, on the first open after the device was bound,
 * the driver requests the module alias
 *
 *	vfio_pci_mediate:vVVVVVVVVdDDDDDDDDsvSSSSSSSSsdTTTTTTTT
 *
 * i.e. "vfio_pci_mediate:" followed by the ids part of the device's PCI
 * modalias (its sysfs "modalias" without "pci:" and without the class
 * fields, which would not fit request_module()'s 55-character limit;
 * upper-case hex).  A mediator module declares the devices it wants to be
 * loaded for with MODULE_ALIAS_VFIO_PCI_MEDIATE(vendor, device) and is
 * then loaded by modprobe with no user action.
 *
 * Lifetime: while a mediator serves an open device, the driver holds a
 * reference on ops->owner, so the module cannot be unloaded.  Ops are only
 * ever called between a successful ->open() and its ->release(), and
 * vfio_pci_unregister_mediate_ops() asks the users of the devices the
 * mediator serves to release them (VFIO's device request) and waits for
 * every ->release() before returning, so no call is in flight once it
 * returns.
 *
 * Where the exported functions are implemented, in vfio-mediate's kernel/:
 *
 *	vfio_pci_register_mediate_ops()		registry.c
 *	vfio_pci_unregister_mediate_ops()	registry.c
 *	vfio_pci_mediate_register_region()	regions.c
 *	vfio_pci_mediate_bar_read()		regions.c
 *	vfio_pci_mediate_bar_write()		regions.c
 *	vfio_pci_mediate_passthrough_rw()	regions.c
 *	vfio_pci_mediate_add_sparse_mmap()	regions.c
 *	vfio_pci_mediate_pdev()			regions.c
 *	vfio_pci_mediate_add_trappable()	trap.c
 *	vfio_pci_mediate_trap()			trap.c
 *	vfio_pci_mediate_untrap()		trap.c
 *	vfio_pci_mediate_dirty_begin()		dirty.c
 *	vfio_pci_mediate_dirty_end()		dirty.c
 *	vfio_pci_mediate_dirty_enable_logging()	dirty.c
 *	vfio_pci_mediate_dma_rw()		user_dma.c
 *	vfio_pci_mediate_user_dma_access()	user_dma.c
 */
#ifndef LINUX_VFIO_PCI_MEDIATE_H
#define LINUX_VFIO_PCI_MEDIATE_H

#include <linux/align.h>
#include <linux/device/driver.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/types.h>
#include <linux/vfio.h>

struct vfio_pci_mediate_device;
struct vm_area_struct;

/**
 * MODULE_ALIAS_VFIO_PCI_MEDIATE() - have a mediator autoloaded for a device
 * @vendor: PCI vendor id, four upper-case hex digits, no 0x (e.g. 1234)
 * @device: PCI device id, four upper-case hex digits, no 0x (e.g. 11E8)
 */
#define MODULE_ALIAS_VFIO_PCI_MEDIATE(vendor, device)			\
	MODULE_ALIAS("vfio_pci_mediate:v0000" #vendor "d0000" #device	\
		     "sv*sd*")

/**
 * enum vfio_pci_mediate_run_state - how far a mediated device may run
 * @VFIO_PCI_MEDIATE_RUNNING: normal operation.
 * @VFIO_PCI_MEDIATE_QUIESCED: the device still accepts accesses from the
 *	user but starts no new DMA and raises no new interrupts (the P2P
 *	states of the VFIO migration uAPI); work already started may finish.
 * @VFIO_PCI_MEDIATE_STOPPED: nothing in the device changes any more, so
 *	its complete state can be saved; or it is being loaded.
 */
enum vfio_pci_mediate_run_state {
	VFIO_PCI_MEDIATE_RUNNING,
	VFIO_PCI_MEDIATE_QUIESCED,
	VFIO_PCI_MEDIATE_STOPPED,
};

/**
 * struct vfio_pci_mediate_migration_ops - device state migration
 * @max_state_size: the most bytes ->save() ever produces for one device
 *	in one save session.  A stream that claims more is refused before
 *	any memory is allocated for it.
 * @set_run_state: change how far the device may run, one step at a time
 *	(RUNNING <-> QUIESCED <-> STOPPED; the framework never skips
 *	QUIESCED).  STOPPED must wait for work in flight to finish, with a
 *	bounded wait.  Return 0 or a negative errno; on error the device is
 *	taken to be in an undefined state and the user must reset it.
 * @save_start: a save session begins.  @live is true when the device is
 *	still RUNNING or QUIESCED (pre-copy): ->save() may then hand out an
 *	initial part of the state and must account for anything that changes
 *	afterwards in what it produces once STOPPED.  When @live is false the
 *	device is STOPPED.
 * @save: copy up to @len bytes of the device's state, continuing where
 *	the previous call stopped, to @buf.  Return the bytes written, 0 when
 *	there is nothing more to give for now (while live) or at all (when
 *	STOPPED: end of state), or a negative errno.  @buf may be memory the
 *	user has mapped (the v1 data section): only write to it, never read
 *	back what is there.
 * @save_size: estimates: *@live_bytes is what ->save() would give now
 *	without stopping the device, *@stop_bytes what it would give in all
 *	if the device were stopped now.  Called at any time while the device
 *	is open, also outside a save session (then: the whole state).
 * @save_end: the save session ends (finished, cancelled or failed).
 * @load: the complete state produced by a source's ->save() calls, in
 *	one buffer of @len bytes.  The framework has checked the stream's
 *	framing: identity (mediator name, vendor and device id), lengths and
 *	checksum.  That only shows the bytes arrived as they were sent; it
 *	authenticates nothing, and whoever holds the device can send any
 *	bytes that pass it.  So @data is untrusted input: check every field
 *	before using it, as the kernel checks a syscall's arguments.  The
 *	rest of @data's last page, past @len, reads as zeroes.  The device
 *	is STOPPED.  Apply it now or keep it until the next
 *	->set_run_state(); return 0 or a negative errno (the load fails with
 *	it, and the refusal is counted and logged ratelimited by the
 *	framework: if you log why, ratelimit it too).  @data is only valid
 *	during the call.
 *
 * The framework turns these into both VFIO migration protocols (the v1
 * migration region of QEMU up to 7.2, and VFIO_DEVICE_FEATURE_MIGRATION)
 * and wraps the state in its own framing (see
 * include/uapi/linux/vfio_pci_mediate.h); mediators see neither.  Calls
 * for one device are serialised; process context, may sleep.
 */
struct vfio_pci_mediate_migration_ops {
	u64 max_state_size;
	int (*set_run_state)(void *handle,
			     enum vfio_pci_mediate_run_state state);
	int (*save_start)(void *handle, bool live);
	ssize_t (*save)(void *handle, void *buf, size_t len);
	void (*save_size)(void *handle, u64 *live_bytes, u64 *stop_bytes);
	void (*save_end)(void *handle);
	int (*load)(void *handle, const void *data, size_t len);
};

/**
 * struct vfio_pci_mediate_ops - what a mediator implements
 * @owner: the module implementing the ops (THIS_MODULE); pinned while the
 *	mediator serves any open device.
 * @name: unique name, shown in sysfs and the kernel log.
 * @open: the device @pdev, bound to vfio-pci-mediate, is being opened
 *	through VFIO (first fd).  Return 0 and set *@handle to serve this
 *	open, -ENODEV to decline (the next mediator is asked), or any other
 *	negative errno to fail the open with it.  When it declines or fails,
 *	the framework takes back at once what it set up through the helpers
 *	(regions, whose ->release runs then, trappable ranges, the logging
 *	offer): free anything else yourself.  The device is enabled
 *	(vfio_pci_core_enable() done) but not yet known to the IOMMU backend
 *	as a user of the container: vfio_pci_mediate_dirty_begin() and
 *	vfio_pci_mediate_dma_rw() fail here (-EPERM).  Process context, may
 *	sleep; called with the registry lock held, so it must not register
 *	or unregister mediators.  @vpmdev is the handle for the
 *	vfio_pci_mediate_*() helpers and stays valid until ->release().
 * @release: the open that ->open() accepted has ended, however it ended
 *	(close of the last fd, process killed, device unbound).  Called
 *	exactly once per successful ->open(), after the device was disabled
 *	and the open's device-specific regions were released.  Process
 *	context, may sleep.
 * @get_region_info: VFIO_DEVICE_GET_REGION_INFO for the config region or
 *	BAR0-5 (other indexes are never passed).  @info comes filled in as
 *	vfio-pci would answer (@index, offset, size, flags) and @caps holds
 *	the capabilities vfio-pci would add; change either, add capabilities
 *	with vfio_info_add_capability() or vfio_pci_mediate_add_sparse_mmap().
 *	Set *@pt to leave the answer entirely to vfio-pci.  Return 0 or a
 *	negative errno for the ioctl.  Process context, may sleep.  Unset:
 *	vfio-pci answers.  For a BAR with trappable ranges
 *	(vfio_pci_mediate_add_trappable()) the framework adds the sparse-mmap
 *	capability itself; do not add one there.  Likewise, when @migration
 *	is set, for a BAR whose MSI-X table or PBA shares a host page with
 *	other space: the framework drops vfio-pci's MSIX_MAPPABLE capability
 *	and adds a sparse mmap without the pages of table and PBA, so a VMM
 *	emulating them is left only page-aligned mmapped sections (QEMU's
 *	dirty-page sync through type1 fails on others).
 * @rw: read (@iswrite false) or write of @count bytes at @offset into the
 *	config region or BAR0-5 (@index), with @buf the user's buffer.  The
 *	framework only passes accesses that lie inside the region as vfio-pci
 *	sizes it: one that starts beyond its end gets vfio-pci's own error,
 *	one that starts inside and runs past the end gets -EINVAL.  Return
 *	the bytes done or a negative errno; or set *@pt and return 0 to have
 *	vfio-pci do the access.  Process context, may sleep, may run
 *	concurrently with itself for the same device.  Unset: vfio-pci does
 *	every access.  When set, VFIO_DEVICE_IOEVENTFD is refused
 *	(-EOPNOTSUPP): its writes would reach the device without ->rw.
 * @mmap: mmap of BAR0-5 (@index).  vma->vm_pgoff still carries the
 *	region index; the offset in the region is
 *	(vm_pgoff << PAGE_SHIFT) & VFIO_PCI_OFFSET_MASK, and whether the
 *	mapping lies inside the region is for the mediator to check.
 *	Return 0 after setting up @vma, a negative errno to refuse, or set
 *	*@pt and return 0 to let vfio-pci map it.  Process context, mmap lock
 *	held for write.  Unset: vfio-pci maps.  Mappings that touch a
 *	trappable range are the framework's and never reach it.
 * @reset: return the device, and what the mediator keeps of it (state
 *	loaded but not applied yet included), to power-on (what a
 *	function-level reset would do), for a device that has no reset of
 *	its own or whose own reset is not enough.  When set, the device
 *	reports VFIO_DEVICE_INFO_FLAG_RESET and VFIO_DEVICE_RESET runs
 *	vfio-pci's reset (if the device has one) and then this.  A reset of
 *	the function that did not come through VFIO_DEVICE_RESET (hot reset,
 *	an FLR the user started through config space) is followed by a call
 *	too, before the next migration call.  Any migration session ends and
 *	migration returns to RUNNING; afterwards the device runs: the run
 *	state is RUNNING without a ->set_run_state() call.  Called with the
 *	device's migration lock held, so no migration callback runs
 *	meanwhile.  Process context.  Required with @migration.
 * @dirty_tracking: VFIO DMA logging of the device starts (@on, before
 *	the framework records anything; an error fails the start) or stops
 *	(after it stopped; the return value is ignored).  A mediator that
 *	learns of the device's writes by trapping its command registers
 *	traps them here (vfio_pci_mediate_trap()).  Not called when the
 *	device is closed with logging on.  Process context, may sleep; the
 *	framework's DMA logging lock is held (start and stop are
 *	serialised), no other.  Optional.
 * @dirty_sync: a DMA logging report is about to be made: end
 *	(vfio_pci_mediate_dirty_end()) every write whose transfer has
 *	finished, so that its pages are reported this once and not again
 *	until written again.  Writes still announced are reported in every
 *	report.  Called in the user's syscall, possibly several times per
 *	report (once per part of its bitmap).  Return 0, or a negative
 *	errno when the mediator has lost track of the device's writes since
 *	logging started: the report then fails with it (the user must not
 *	trust an incomplete report).  Process context, may sleep; no
 *	framework lock held.  Optional: without it, a finished write is
 *	reported until the mediator ends it.
 * @migration: the device's state can be migrated; see
 *	struct vfio_pci_mediate_migration_ops.  All its callbacks and @reset
 *	must be set and max_state_size must not be 0, or registration fails
 *	(-EINVAL): a migration that fails half-way must be able to start
 *	over from a known state.
 *
 * Members may be added by later versions; initialise with designated
 * initialisers.
 */
struct vfio_pci_mediate_ops {
	struct module *owner;
	const char *name;
	int (*open)(struct vfio_pci_mediate_device *vpmdev,
		    struct pci_dev *pdev, void **handle);
	void (*release)(void *handle);
	int (*get_region_info)(void *handle, unsigned int index,
			       struct vfio_region_info *info,
			       struct vfio_info_cap *caps, bool *pt);
	ssize_t (*rw)(void *handle, unsigned int index, char __user *buf,
		      size_t count, loff_t offset, bool iswrite, bool *pt);
	int (*mmap)(void *handle, unsigned int index,
		    struct vm_area_struct *vma, bool *pt);
	int (*reset)(void *handle);
	int (*dirty_tracking)(void *handle, bool on);
	int (*dirty_sync)(void *handle);
	const struct vfio_pci_mediate_migration_ops *migration;
};

int vfio_pci_register_mediate_ops(const struct vfio_pci_mediate_ops *ops);
void vfio_pci_unregister_mediate_ops(const struct vfio_pci_mediate_ops *ops);

/**
 * module_vfio_pci_mediate_ops() - register a mediator for a module's lifetime
 * @__ops: the module's struct vfio_pci_mediate_ops (not a pointer)
 *
 * For a mediator module whose init and exit do nothing but register and
 * unregister its ops: it replaces module_init() and module_exit(), so it
 * may be used once per module.  A module that must do more at load, or
 * register ops only under some condition, calls
 * vfio_pci_register_mediate_ops() from its own init instead.
 */
#define module_vfio_pci_mediate_ops(__ops)				\
	module_driver(__ops, vfio_pci_register_mediate_ops,		\
		      vfio_pci_unregister_mediate_ops)

/**
 * struct vfio_pci_mediate_region_ops - a mediator's device-specific region
 * @rw: access of @count bytes at @offset; the framework has checked that
 *	the access lies inside the region (else the user gets -EINVAL).
 *	Return the bytes done or a negative errno.  Process context.
 * @mmap: map @vma; the framework has checked that the region has
 *	VFIO_REGION_INFO_FLAG_MMAP and that the mapping lies inside it
 *	(vm_pgoff carries the region index, as for the ops' @mmap).
 *	Optional: without it mmap fails with -EINVAL.
 * @add_capability: add capabilities to the region's info beyond its type
 *	(e.g. sparse mmap).  Optional.
 * @release: the open ends; called once: at close, before the mediator's
 *	->release(), or, if the ->open() that registered the region then
 *	declined or failed, right after it (with the registry lock held).
 *	Optional.
 *
 * Each callback gets the @data given to vfio_pci_mediate_register_region().
 */
struct vfio_pci_mediate_region_ops {
	ssize_t (*rw)(void *data, char __user *buf, size_t count,
		      loff_t offset, bool iswrite);
	int (*mmap)(void *data, struct vm_area_struct *vma);
	int (*add_capability)(void *data, struct vfio_info_cap *caps);
	void (*release)(void *data);
};

/**
 * vfio_pci_mediate_rw_piece() - the next piece of an access, as vfio-pci
 * carries it to the device
 * @offset: where what is left of the access starts
 * @left: bytes left, more than 0
 *
 * vfio-pci (Linux 6.1) splits a user's read or write of a BAR into
 * naturally aligned accesses of at most 4 bytes.  A mediator that carries
 * an access itself splits it the same way, so that the device sees what
 * it would see without the mediator.
 *
 * Return: 4, 2 or 1.
 */
static inline size_t vfio_pci_mediate_rw_piece(loff_t offset, size_t left)
{
	if (left >= 4 && IS_ALIGNED(offset, 4))
		return 4;
	if (left >= 2 && IS_ALIGNED(offset, 2))
		return 2;
	return 1;
}

int vfio_pci_mediate_register_region(struct vfio_pci_mediate_device *vpmdev,
				     u32 type, u32 subtype,
				     const struct vfio_pci_mediate_region_ops *ops,
				     size_t size, u32 flags, void *data);

int vfio_pci_mediate_bar_read(struct vfio_pci_mediate_device *vpmdev,
			      unsigned int bar, loff_t offset, void *buf,
			      size_t count);
int vfio_pci_mediate_bar_write(struct vfio_pci_mediate_device *vpmdev,
			       unsigned int bar, loff_t offset,
			       const void *buf, size_t count);

/**
 * vfio_pci_mediate_bar_read32() - read a little-endian 32-bit register
 * @vpmdev: the device
 * @bar: the BAR
 * @offset: the register's offset in it
 * @val: the value read, in CPU order (unchanged on error)
 *
 * Context and return: as vfio_pci_mediate_bar_read().
 */
static inline int
vfio_pci_mediate_bar_read32(struct vfio_pci_mediate_device *vpmdev,
			    unsigned int bar, loff_t offset, u32 *val)
{
	__le32 raw;
	int ret;

	ret = vfio_pci_mediate_bar_read(vpmdev, bar, offset, &raw, sizeof(raw));
	if (!ret)
		*val = le32_to_cpu(raw);
	return ret;
}

/**
 * vfio_pci_mediate_bar_write32() - write a little-endian 32-bit register
 * @vpmdev: the device
 * @bar: the BAR
 * @offset: the register's offset in it
 * @val: the value, in CPU order
 *
 * Context and return: as vfio_pci_mediate_bar_write().
 */
static inline int
vfio_pci_mediate_bar_write32(struct vfio_pci_mediate_device *vpmdev,
			     unsigned int bar, loff_t offset, u32 val)
{
	__le32 raw = cpu_to_le32(val);

	return vfio_pci_mediate_bar_write(vpmdev, bar, offset, &raw,
					  sizeof(raw));
}
ssize_t vfio_pci_mediate_passthrough_rw(struct vfio_pci_mediate_device *vpmdev,
					unsigned int index, char __user *buf,
					size_t count, loff_t offset,
					bool iswrite);
int vfio_pci_mediate_add_sparse_mmap(struct vfio_info_cap *caps,
				     const struct vfio_region_sparse_mmap_area *areas,
				     u32 nr_areas);
struct pci_dev *vfio_pci_mediate_pdev(struct vfio_pci_mediate_device *vpmdev);
int vfio_pci_mediate_dma_rw(struct vfio_pci_mediate_device *vpmdev,
			    dma_addr_t iova, void *buf, size_t len, bool write);
bool vfio_pci_mediate_user_dma_access(struct vfio_pci_mediate_device *vpmdev);
/*
 * Writes announced by vfio_pci_mediate_dirty_begin() and not ended, per
 * device: enough for the packet and header buffers of two receive queues
 * of 4096 descriptors (igb's largest ring), a third while one queue's
 * new buffers are announced before its old ones end, and their rings.
 */
#define VFIO_PCI_MEDIATE_DIRTY_MAX_WRITES	(3 * 2 * 4096 + 64)

int vfio_pci_mediate_dirty_begin(struct vfio_pci_mediate_device *vpmdev,
				 dma_addr_t iova, size_t len);
void vfio_pci_mediate_dirty_end(struct vfio_pci_mediate_device *vpmdev,
				dma_addr_t iova, size_t len);
void
vfio_pci_mediate_dirty_enable_logging(struct vfio_pci_mediate_device *vpmdev);
int vfio_pci_mediate_add_trappable(struct vfio_pci_mediate_device *vpmdev,
				   unsigned int index, u64 offset, u64 size);
int vfio_pci_mediate_trap(struct vfio_pci_mediate_device *vpmdev,
			  unsigned int id);
void vfio_pci_mediate_untrap(struct vfio_pci_mediate_device *vpmdev,
			     unsigned int id);

#endif /* LINUX_VFIO_PCI_MEDIATE_H */
