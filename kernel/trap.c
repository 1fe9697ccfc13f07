// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dynamic traps: BAR ranges a mediator declared trappable are offered to
 * the user for mmap only while the mediator does not trap them and the
 * user follows changes (include/uapi/linux/vfio_pci_mediate.h, section 3).
 *
 * This file is the ranges' state machine, the trap region and the
 * mediator's helpers.  The user's mappings of the ranges are vfio-pci-
 * core's, with our fault handler in front; how they are made and removed
 * depends on the core's mmap, so that part is in trap_vma_list.c (Linux
 * before 6.10) or trap_vma_inode.c (6.10 and later), behind trap.h.
 */

#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "trap.h"
#include "vfio_pci_mediate_priv.h"

/*
 * A mediator's trap waits for the user this long at most, with its own
 * locks and maybe the device's migration lock held: bounded, whatever
 * root sets.
 */
#define TRAP_ACK_TIMEOUT_MAX_MS	10000

static unsigned int trap_ack_timeout_ms = 1000;

static int trap_ack_timeout_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, TRAP_ACK_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops trap_ack_timeout_ops = {
	.set = trap_ack_timeout_set,
	.get = param_get_uint,
};

module_param_cb(trap_ack_timeout_ms, &trap_ack_timeout_ops,
		&trap_ack_timeout_ms, 0644);
MODULE_PARM_DESC(trap_ack_timeout_ms,
		 "How long a dynamic trap waits for the user's acknowledgement before it removes the user's mappings anyway, 1 to 10000 (default 1000)");

static unsigned int ack_timeout_ms(void)
{
	return READ_ONCE(trap_ack_timeout_ms);
}

atomic_t vpm_trap_ack_timeouts = ATOMIC_INIT(0);

bool vpm_trap_range_usable(const struct vpm_trap_range *r)
{
	return r->state == VPM_TRAP_OPEN || r->state == VPM_TRAP_CLOSING;
}

struct vpm_trap_range *vpm_trap_range_at(struct vfio_pci_mediate_device *vpmdev,
					 unsigned int index, u64 offset)
{
	struct vpm_trap *t = &vpmdev->trap;
	unsigned int i;

	for (i = 0; i < t->nr_ranges; i++) {
		struct vpm_trap_range *r = &t->ranges[i];

		if (r->index == index && offset >= r->offset &&
		    offset - r->offset < r->size)
			return r;
	}
	return NULL;
}

/*
 * Every change of a range's state, along an arc of vpm_trap_next_state().
 * Each caller raises @event only in a state whose row has it (it tests
 * the state first, under @lock), whatever the user does; a refused arc is
 * a bug here, and the range then stays as it is.  @lock held.
 */
static void vpm_trap_set_state(struct vpm_trap *t, struct vpm_trap_range *r,
			       enum vpm_trap_event event)
{
	enum vpm_trap_state next;

	lockdep_assert_held(&t->lock);
	if (WARN_ONCE(!vpm_trap_next_state(r->state, event, &next),
		      "trap range state %d: no arc for event %d\n",
		      r->state, event))
		return;
	r->state = next;
}

/*
 * A removal pass: the user's mappings of SEALING and CLOSED ranges go
 * (trap_vma_*.c), then the SEALING ones become CLOSED and whoever waits
 * for that is woken.
 */
static void vpm_trap_zap(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_trap *t = &vpmdev->trap;
	unsigned int i;
	u64 seq;

	mutex_lock(&t->lock);
	seq = ++t->zap_seq;
	vpm_trap_vma_remove(vpmdev, seq);
	/* Ranges sealed after this pass began wait for their own pass. */
	for (i = 0; i < t->nr_ranges; i++)
		if (t->ranges[i].state == VPM_TRAP_SEALING &&
		    t->ranges[i].seal_seq <= seq)
			vpm_trap_set_state(t, &t->ranges[i], VPM_TRAP_EV_ZAP);
	mutex_unlock(&t->lock);
	wake_up_all(&t->closed);
}

/*
 * Moves every range towards what the mediator and the client's awareness
 * ask for.  Returns whether mappings must be removed (vpm_trap_zap()).
 * @timed_out: CLOSING ranges waited long enough.  @announce: tell the
 * client even if nothing changed (its eventfd is new).  @lock held.
 */
static bool vpm_trap_update(struct vfio_pci_mediate_device *vpmdev,
			    bool timed_out, bool announce)
{
	struct vpm_trap *t = &vpmdev->trap;
	bool changed = false, closing = false, zap = false;
	unsigned int i;

	lockdep_assert_held(&t->lock);
	for (i = 0; i < t->nr_ranges; i++) {
		struct vpm_trap_range *r = &t->ranges[i];
		bool close = r->trapped || !t->trigger;

		if (!close) {
			if (r->state != VPM_TRAP_OPEN) {
				vpm_trap_set_state(t, r, VPM_TRAP_EV_UNTRAP);
				r->opened = true;
				changed = true;
			}
			continue;
		}
		if (r->state == VPM_TRAP_OPEN) {
			vpm_trap_set_state(t, r, VPM_TRAP_EV_TRAP);
			r->closing_gen = t->generation + 1;
			changed = true;
		}
		if (r->state == VPM_TRAP_CLOSING) {
			bool acked = !t->trigger || t->ack >= r->closing_gen;

			if (!acked && timed_out) {
				atomic_inc(&vpm_trap_ack_timeouts);
				pci_notice_ratelimited(vpmdev->core_device.pdev,
						       "BAR%u %#llx+%#llx trapped without the user's acknowledgement (%u ms): its mappings are removed\n",
						       r->index, r->offset, r->size,
						       ack_timeout_ms());
			}
			if (acked || timed_out) {
				vpm_trap_set_state(t, r, acked ?
						   VPM_TRAP_EV_ACK :
						   VPM_TRAP_EV_TIMEOUT);
				/* The next removal pass covers it. */
				r->seal_seq = t->zap_seq + 1;
			}
		}
		if (r->state == VPM_TRAP_CLOSING)
			closing = true;
		if (r->state == VPM_TRAP_SEALING)
			zap = true;
	}
	if (changed || announce) {
		t->generation++;
		if (t->trigger)
			vpm_eventfd_signal(t->trigger);
	}
	if (closing && changed)
		mod_delayed_work(system_wq, &t->ack_timeout,
				 msecs_to_jiffies(ack_timeout_ms()));
	else if (!closing)
		cancel_delayed_work(&t->ack_timeout);
	return zap;
}

/*
 * vpm_trap_update(), then @lock is released and the mappings of ranges it
 * sealed are removed.  Called with @lock held.
 */
static void vpm_trap_update_unlock(struct vfio_pci_mediate_device *vpmdev,
				   bool timed_out, bool announce)
{
	bool zap = vpm_trap_update(vpmdev, timed_out, announce);

	mutex_unlock(&vpmdev->trap.lock);
	if (zap)
		vpm_trap_zap(vpmdev);
}

static void vpm_trap_ack_timeout(struct work_struct *work)
{
	struct vpm_trap *t = container_of(to_delayed_work(work),
					  struct vpm_trap, ack_timeout);
	struct vfio_pci_mediate_device *vpmdev =
		container_of(t, struct vfio_pci_mediate_device, trap);

	mutex_lock(&t->lock);
	vpm_trap_update_unlock(vpmdev, true, false);
}

/* --- mediator helpers ---------------------------------------------------- */

/**
 * vfio_pci_mediate_add_trappable() - declare a BAR range trappable
 * @vpmdev: the device, as passed to the mediator's ->open()
 * @index: BAR (VFIO_PCI_BAR0_REGION_INDEX..BAR5), a memory BAR; if
 *	vfio-pci does not let the user mmap it, the range is never offered
 * @offset: start in the BAR, page aligned
 * @size: bytes, page aligned, more than 0
 *
 * The range starts trapped: it is not offered for mmap and every access
 * reaches the mediator's ->rw().  vfio_pci_mediate_untrap() offers it to
 * a client that follows traps; one that does not never gets it (see
 * include/uapi/linux/vfio_pci_mediate.h).  Mappings of the range are the
 * framework's: the mediator's ->mmap() never sees them, and for the BAR
 * the framework adds the sparse-mmap capability (the mediator's
 * ->get_region_info() must not add one).  Only from within ->open(),
 * before it accepts.  Process context.
 *
 * Return: the range's id (for vfio_pci_mediate_trap() and _untrap()),
 * -EPERM outside ->open(), -EINVAL for a range that is not as above or
 * overlaps another, -ENOSPC beyond VFIO_PCI_MEDIATE_TRAP_MAX_RANGES.
 */
int vfio_pci_mediate_add_trappable(struct vfio_pci_mediate_device *vpmdev,
				   unsigned int index, u64 offset, u64 size)
{
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	struct vpm_trap *t = &vpmdev->trap;
	struct vpm_trap_range *r;
	unsigned int i;
	int ret;

	if (!vpmdev->in_open)
		return -EPERM;
	if (index > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	/* Whether vfio-pci can mmap it at all is only known after ->open(). */
	if (!(pci_resource_flags(vdev->pdev, index) & IORESOURCE_MEM))
		return -EINVAL;
	if (!size || !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(size) ||
	    offset >= pci_resource_len(vdev->pdev, index) ||
	    size > pci_resource_len(vdev->pdev, index) - offset)
		return -EINVAL;

	mutex_lock(&t->lock);
	for (i = 0; i < t->nr_ranges; i++) {
		r = &t->ranges[i];
		if (r->index == index && offset < r->offset + r->size &&
		    r->offset < offset + size) {
			ret = -EINVAL;
			goto out_unlock;
		}
	}
	if (t->nr_ranges == VFIO_PCI_MEDIATE_TRAP_MAX_RANGES) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	/*
	 * Nothing of an earlier open's range, or a declined mediator's.  Born
	 * CLOSED: the one state a range is not moved into along an arc.
	 */
	t->ranges[t->nr_ranges] = (struct vpm_trap_range) {
		.index		= index,
		.offset		= offset,
		.size		= size,
		.trapped	= true,
		.state		= VPM_TRAP_CLOSED,
	};
	ret = t->nr_ranges++;
out_unlock:
	mutex_unlock(&t->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_add_trappable);

/**
 * vfio_pci_mediate_trap() - see every access to a trappable range
 * @vpmdev: the device, while the mediator serves it
 * @id: what vfio_pci_mediate_add_trappable() returned
 *
 * Withdraws the range from mmap and tells a client that follows traps;
 * returns once the trap is in force: no mapping of the range is left, so
 * every access from now on reaches ->rw().  That is at once for a client
 * that does not follow traps, else when it acknowledges, at the latest
 * after the module's trap_ack_timeout_ms.  Trapping a trapped range only
 * waits until it is in force.  Process context, sleeps: the caller must
 * not hold a lock that the user's accesses to the device need (the
 * client cannot acknowledge otherwise), nor the mm's mmap_lock.
 *
 * Return: 1 if the range was offered for mmap since it was last in force
 * (the client may have reached the device behind ->rw() meanwhile), 0 if
 * not, -EINVAL for an unknown @id, -EINTR if the caller was killed while
 * waiting (the trap then comes in force later).
 */
int vfio_pci_mediate_trap(struct vfio_pci_mediate_device *vpmdev,
			  unsigned int id)
{
	struct vpm_trap *t = &vpmdev->trap;
	struct vpm_trap_range *r;
	bool opened;

	if (id >= READ_ONCE(t->nr_ranges))
		return -EINVAL;
	r = &t->ranges[id];

	mutex_lock(&t->lock);
	r->trapped = true;
	vpm_trap_update_unlock(vpmdev, false, false);

	if (wait_event_killable(t->closed,
				READ_ONCE(r->state) == VPM_TRAP_CLOSED ||
				!READ_ONCE(r->trapped)))
		return -EINTR;

	mutex_lock(&t->lock);
	opened = r->opened;
	if (r->state == VPM_TRAP_CLOSED)
		r->opened = false;
	mutex_unlock(&t->lock);
	return opened;
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_trap);

/**
 * vfio_pci_mediate_untrap() - let a client that follows traps mmap a range
 * @vpmdev: the device, while the mediator serves it
 * @id: what vfio_pci_mediate_add_trappable() returned
 *
 * From now on the mediator no longer sees the accesses a client makes
 * through mmap.  A client that does not follow traps keeps reaching the
 * range through ->rw().  Process context.
 */
void vfio_pci_mediate_untrap(struct vfio_pci_mediate_device *vpmdev,
			     unsigned int id)
{
	struct vpm_trap *t = &vpmdev->trap;

	if (WARN_ON_ONCE(id >= READ_ONCE(t->nr_ranges)))
		return;
	mutex_lock(&t->lock);
	t->ranges[id].trapped = false;
	/* Nothing to remove when ranges open. */
	vpm_trap_update(vpmdev, false, false);
	mutex_unlock(&t->lock);
	wake_up_all(&t->closed);
}
EXPORT_SYMBOL_GPL(vfio_pci_mediate_untrap);

/* --- the trap region ------------------------------------------------------ */

static ssize_t vpm_trap_region_rw(struct vfio_pci_core_device *vdev,
				  char __user *buf, size_t count, loff_t *ppos,
				  bool iswrite)
{
	struct vfio_pci_mediate_device *vpmdev =
		container_of(vdev, struct vfio_pci_mediate_device, core_device);
	struct vfio_pci_mediate_trap_info *info;
	struct vpm_trap *t = &vpmdev->trap;
	loff_t offset = *ppos & VFIO_PCI_OFFSET_MASK;
	unsigned int i;
	u64 ack;

	if (iswrite) {
		if (offset != offsetof(struct vfio_pci_mediate_trap_info, ack) ||
		    count != sizeof(ack))
			return -EINVAL;
		if (copy_from_user(&ack, buf, sizeof(ack)))
			return -EFAULT;
		mutex_lock(&t->lock);
		if (ack > t->generation) {
			mutex_unlock(&t->lock);
			return -EINVAL;
		}
		t->ack = max(t->ack, ack);
		vpm_trap_update_unlock(vpmdev, false, false);
		*ppos += count;
		return count;
	}

	if (offset >= sizeof(*info) || count > sizeof(*info) - offset)
		return -EINVAL;
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	info->version = VFIO_PCI_MEDIATE_TRAP_VERSION;
	info->ack_timeout_ms = ack_timeout_ms();
	mutex_lock(&t->lock);
	info->nr_ranges = t->nr_ranges;
	info->generation = t->generation;
	info->ack = t->ack;
	for (i = 0; i < t->nr_ranges; i++) {
		struct vpm_trap_range *r = &t->ranges[i];

		info->ranges[i].index = r->index;
		info->ranges[i].offset = r->offset;
		info->ranges[i].size = r->size;
		if (r->state != VPM_TRAP_OPEN)
			info->ranges[i].flags = VFIO_PCI_MEDIATE_TRAP_TRAPPED;
	}
	mutex_unlock(&t->lock);

	if (copy_to_user(buf, (u8 *)info + offset, count))
		count = -EFAULT;
	else
		*ppos += count;
	kfree(info);
	return count;
}

/* Our part ends in vpm_trap_close(); the core calls this at disable. */
static void vpm_trap_region_release(struct vfio_pci_core_device *vdev,
				    struct vfio_pci_region *region)
{
}

static const struct vfio_pci_regops vpm_trap_region_ops = {
	.rw		= vpm_trap_region_rw,
	.release	= vpm_trap_region_release,
};

/* --- the VFIO file operations' part --------------------------------------- */

bool vpm_trap_in_bar(struct vfio_pci_mediate_device *vpmdev, unsigned int index)
{
	struct vpm_trap *t = &vpmdev->trap;
	unsigned int i;

	for (i = 0; i < t->nr_ranges; i++)
		if (t->ranges[i].index == index)
			return true;
	return false;
}

/*
 * mmap of a BAR with trappable ranges.  A mapping that touches none goes
 * on to the mediator or the core; one inside a range OPEN for the client
 * is the core's with our vm_ops; anything else is refused.  mmap_lock
 * held for write.
 */
int vpm_trap_mmap(struct vfio_pci_mediate_device *vpmdev, unsigned int index,
		  struct vm_area_struct *vma)
{
	struct vpm_trap *t = &vpmdev->trap;
	u64 start = ((u64)vma->vm_pgoff << PAGE_SHIFT) & VFIO_PCI_OFFSET_MASK;
	u64 len = vma->vm_end - vma->vm_start;
	struct vpm_trap_range *inside = NULL;
	unsigned int i;
	int ret;

	for (i = 0; i < t->nr_ranges; i++) {
		struct vpm_trap_range *r = &t->ranges[i];

		if (r->index != index || start >= r->offset + r->size ||
		    r->offset >= start + len)
			continue;
		if (start < r->offset || len > r->offset + r->size - start)
			return -EINVAL;
		inside = r;
	}
	if (!inside)
		return 1;

	mutex_lock(&t->lock);
	if (inside->state == VPM_TRAP_OPEN)
		ret = vpm_trap_vma_mmap(vpmdev, vma);
	else
		ret = -EACCES;
	mutex_unlock(&t->lock);
	return ret;
}

/*
 * The mmappable areas of a BAR with trappable ranges: the BAR (@size
 * bytes) cut at the ranges' edges, without the ranges not OPEN for the
 * client.  Each OPEN range is an area of its own.  @areas has room for
 * VPM_TRAP_MAX_AREAS.  Returns the number of areas.
 */
unsigned int vpm_trap_sparse_areas(struct vfio_pci_mediate_device *vpmdev,
				   unsigned int index, u64 size,
				   struct vfio_region_sparse_mmap_area *areas)
{
	struct vpm_trap *t = &vpmdev->trap;
	unsigned int nr = 0, i;
	u64 pos = 0;

	mutex_lock(&t->lock);
	while (pos < size) {
		struct vpm_trap_range *next = NULL;

		/* The first range at or after pos. */
		for (i = 0; i < t->nr_ranges; i++) {
			struct vpm_trap_range *r = &t->ranges[i];

			if (r->index == index && r->offset >= pos &&
			    (!next || r->offset < next->offset))
				next = r;
		}
		if (!next) {
			areas[nr].offset = pos;
			areas[nr++].size = size - pos;
			break;
		}
		if (next->offset > pos) {
			areas[nr].offset = pos;
			areas[nr++].size = next->offset - pos;
		}
		if (next->state == VPM_TRAP_OPEN) {
			areas[nr].offset = next->offset;
			areas[nr++].size = next->size;
		}
		pos = next->offset + next->size;
	}
	mutex_unlock(&t->lock);
	return nr;
}

long vpm_trap_get_irq_info(struct vfio_pci_mediate_device *vpmdev,
			   unsigned long arg)
{
	struct vfio_pci_mediate_irq_info __user *uinfo = (void __user *)arg;
	const size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_pci_mediate_irq_info_cap_type cap = {
		.header.id = VFIO_PCI_MEDIATE_IRQ_INFO_CAP_TYPE,
		.header.version = 1,
		.type = VFIO_PCI_MEDIATE_IRQ_TYPE,
		.subtype = VFIO_PCI_MEDIATE_IRQ_SUBTYPE_TRAP,
	};
	struct vfio_pci_mediate_irq_info info;
	size_t need = sizeof(info) + sizeof(cap);
	size_t given;

	if (copy_from_user(&info, uinfo, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	/* Never write beyond what the user said it has. */
	given = info.argsz >= sizeof(info) ? sizeof(info) : minsz;

	info.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE |
		     VFIO_PCI_MEDIATE_IRQ_INFO_FLAG_CAPS;
	info.count = 1;
	info.reserved = 0;
	if (info.argsz < need) {
		info.cap_offset = 0;
		info.argsz = need;
	} else {
		info.cap_offset = sizeof(info);
		if (copy_to_user(uinfo + 1, &cap, sizeof(cap)))
			return -EFAULT;
	}
	if (copy_to_user(uinfo, &info, given))
		return -EFAULT;
	return 0;
}

/* Make the client aware (@trigger) or unaware (NULL).  Takes @trigger. */
static void vpm_trap_set_trigger(struct vfio_pci_mediate_device *vpmdev,
				 struct eventfd_ctx *trigger)
{
	struct vpm_trap *t = &vpmdev->trap;
	struct eventfd_ctx *old;

	mutex_lock(&t->lock);
	old = t->trigger;
	t->trigger = trigger;
	/* A new eventfd hears at once, so the client reads the state. */
	vpm_trap_update_unlock(vpmdev, false, trigger && trigger != old);
	if (old)
		eventfd_ctx_put(old);
}

long vpm_trap_set_irqs(struct vfio_pci_mediate_device *vpmdev,
		       unsigned long arg)
{
	const size_t minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	struct eventfd_ctx *trigger;
	size_t data_size = 0;
	s32 fd;
	int ret;

	if (copy_from_user(&hdr, (void __user *)arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, 1,
						 VPM_TRAP_IRQ_INDEX + 1,
						 &data_size);
	if (ret)
		return ret;
	if ((hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (hdr.count)
			return -EINVAL;
		vpm_trap_set_trigger(vpmdev, NULL);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (hdr.count != 1)
			return -EINVAL;
		if (copy_from_user(&fd, (void __user *)(arg + minsz),
				   sizeof(fd)))
			return -EFAULT;
		if (fd < 0) {
			vpm_trap_set_trigger(vpmdev, NULL);
			return 0;
		}
		trigger = eventfd_ctx_fdget(fd);
		if (IS_ERR(trigger))
			return PTR_ERR(trigger);
		vpm_trap_set_trigger(vpmdev, trigger);
		return 0;
	default:
		return -EINVAL;
	}
}

/* --- open and close ---------------------------------------------------- */

void vpm_trap_init(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_trap *t = &vpmdev->trap;

	mutex_init(&t->lock);
	INIT_LIST_HEAD(&t->vmas);
	INIT_DELAYED_WORK(&t->ack_timeout, vpm_trap_ack_timeout);
	init_waitqueue_head(&t->closed);
}

/* After the mediator's ->open(): the region, if it declared ranges. */
int vpm_trap_open(struct vfio_pci_mediate_device *vpmdev)
{
	if (!vpmdev->trap.nr_ranges)
		return 0;
	return vfio_pci_core_register_dev_region(&vpmdev->core_device,
						 VFIO_PCI_MEDIATE_REGION_TYPE,
						 VFIO_PCI_MEDIATE_REGION_SUBTYPE_TRAP,
						 &vpm_trap_region_ops,
						 sizeof(struct vfio_pci_mediate_trap_info),
						 VFIO_REGION_INFO_FLAG_READ |
						 VFIO_REGION_INFO_FLAG_WRITE,
						 NULL);
}

/*
 * The ranges a mediator's ->open() declared go: after its ->release(), or
 * when that ->open() refused the device.  No eventfd, ack or mapping
 * exists by then.
 */
void vpm_trap_forget(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_trap *t = &vpmdev->trap;

	mutex_lock(&t->lock);
	t->nr_ranges = 0;
	t->generation = 0;
	t->ack = 0;
	mutex_unlock(&t->lock);
}

/*
 * The last fd is closed, so no mapping is left (each holds the file) and
 * no ioctl runs; only the timeout may still be queued.  The client is
 * unaware from now on, so the mediator's trap() and untrap(), valid until
 * its ->release(), still work and never wait (vpm_trap_forget() then
 * follows).
 */
void vpm_trap_close(struct vfio_pci_mediate_device *vpmdev)
{
	struct vpm_trap *t = &vpmdev->trap;

	cancel_delayed_work_sync(&t->ack_timeout);
	mutex_lock(&t->lock);
	vpm_trap_vma_close(vpmdev);
	if (t->trigger)
		eventfd_ctx_put(t->trigger);
	t->trigger = NULL;
	mutex_unlock(&t->lock);
}
