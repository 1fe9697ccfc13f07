// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Following vfio-pci-mediate's dynamic traps: BAR ranges reached through
 * an mmap while the mediator allows it, by read/write while it traps them.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "internal.h"

void trap_init(struct vfmig_device *dev)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dev->trap.lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	dev->trap.efd = -1;
}

static void unmap_ranges(struct vfmig_trap *t)
{
	for (uint32_t i = 0; i < t->nr; i++) {
		if (t->ranges[i].map)
			munmap(t->ranges[i].map, t->ranges[i].size);
		t->ranges[i].map = NULL;
	}
}

void trap_cleanup(struct vfmig_device *dev)
{
	struct vfmig_trap *t = &dev->trap;

	unmap_ranges(t);
	if (t->efd >= 0)
		close(t->efd);
	pthread_rwlock_destroy(&t->lock);
}

static struct vfmig_trap_range *range_of(struct vfmig_trap *t,
					 unsigned int bar, uint64_t offset,
					 uint64_t size)
{
	for (uint32_t i = 0; i < t->nr; i++) {
		struct vfmig_trap_range *r = &t->ranges[i];

		if (r->bar == bar && offset < r->offset + r->size &&
		    r->offset < offset + size)
			return r;
	}
	return NULL;
}

bool trap_overlaps(struct vfmig_device *dev, unsigned int bar,
		   uint64_t offset, uint64_t size)
{
	return atomic_load(&dev->trap.enabled) &&
	       range_of(&dev->trap, bar, offset, size);
}

int trap_bar_access(struct vfmig_device *dev, unsigned int bar,
		    uint64_t offset, unsigned int size, uint64_t *val,
		    bool write)
{
	struct vfmig_trap *t = &dev->trap;
	struct vfmig_trap_range *r;
	uint8_t b[8];
	uint64_t pos;
	int ret;

	if (!atomic_load(&t->enabled))
		return 1;
	/* Aligned accesses of at most 8 bytes never straddle a page. */
	r = range_of(t, bar, offset, size);
	if (!r)
		return 1;

	pthread_rwlock_rdlock(&t->lock);
	if (r->map) {
		volatile void *p = (char *)r->map + (offset - r->offset);

		if (write)
			mmio_store(p, size, *val);
		else
			*val = mmio_load(p, size);
		pthread_rwlock_unlock(&t->lock);
		atomic_fetch_add(&t->mmap_accesses, 1);
		return 0;
	}
	pthread_rwlock_unlock(&t->lock);

	/* Trapped: the driver's read/write, always allowed. */
	pos = r->fd_offset + (offset - r->offset);
	if (write) {
		le_store(b, size, *val);
		ret = pwrite_exact(dev->fd, b, size, pos);
	} else {
		ret = pread_exact(dev->fd, b, size, pos);
		if (!ret)
			*val = le_load(b, size);
	}
	if (ret)
		return dev_fail(dev, ret,
				"BAR%u %s of %u bytes at %#llx (trapped): %s",
				bar, write ? "write" : "read", size,
				(unsigned long long)offset, strerror(-ret));
	atomic_fetch_add(&t->rw_accesses, 1);
	return 0;
}

/* The IRQ index of the trap notification, or -ENOENT. */
static int find_trap_irq(struct vfmig_device *dev, uint32_t *index)
{
	struct {
		struct vfio_pci_mediate_irq_info info;
		struct vfio_pci_mediate_irq_info_cap_type cap;
	} q;

	for (uint32_t i = VFIO_PCI_NUM_IRQS; i < (uint32_t)dev->info.num_irqs;
	     i++) {
		const struct vfio_pci_mediate_irq_info_cap_type *cap;

		memset(&q, 0, sizeof(q));
		q.info.argsz = sizeof(q);
		q.info.index = i;
		if (ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &q))
			continue;
		if (!(q.info.flags & VFIO_PCI_MEDIATE_IRQ_INFO_FLAG_CAPS) ||
		    q.info.cap_offset != sizeof(q.info))
			continue;
		cap = &q.cap;
		if (cap->header.id == VFIO_PCI_MEDIATE_IRQ_INFO_CAP_TYPE &&
		    cap->type == VFIO_PCI_MEDIATE_IRQ_TYPE &&
		    cap->subtype == VFIO_PCI_MEDIATE_IRQ_SUBTYPE_TRAP) {
			*index = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* The ranges' geometry, from the region and the BARs' fd offsets. */
static int read_geometry(struct vfmig_device *dev, struct vfmig_trap *t)
{
	struct vfio_pci_mediate_trap_info info;
	int ret;

	ret = pread_exact(dev->fd, &info, sizeof(info), t->region_fd_offset);
	if (ret)
		return dev_fail(dev, ret, "reading the trap region: %s",
				strerror(-ret));
	if (info.version != VFIO_PCI_MEDIATE_TRAP_VERSION ||
	    info.nr_ranges > VFIO_PCI_MEDIATE_TRAP_MAX_RANGES)
		return dev_fail(dev, -EPROTO,
				"trap region version %u with %u ranges: this library knows version %u with at most %u",
				info.version, info.nr_ranges,
				VFIO_PCI_MEDIATE_TRAP_VERSION,
				VFIO_PCI_MEDIATE_TRAP_MAX_RANGES);
	for (uint32_t i = 0; i < info.nr_ranges; i++) {
		struct vfmig_trap_range *r = &t->ranges[i];
		struct vfmig_region_info bi;

		if (info.ranges[i].index >= VFMIG_NR_BARS)
			return dev_fail(dev, -EPROTO,
					"trap range %u is in region %u, not a BAR",
					i, info.ranges[i].index);
		ret = vfmig_region_info(dev, info.ranges[i].index, &bi);
		if (ret)
			return ret;
		r->bar = info.ranges[i].index;
		r->offset = info.ranges[i].offset;
		r->size = info.ranges[i].size;
		r->fd_offset = bi.offset + r->offset;
		r->map = NULL;
	}
	t->nr = info.nr_ranges;
	return 0;
}

VFMIG_EXPORT int vfmig_trap_follow(struct vfmig_device *dev, int *fd)
{
	struct vfmig_trap *t = &dev->trap;
	struct vfmig_region_info ri;
	int region, efd, ret;

	if (atomic_load(&t->enabled))
		return dev_fail(dev, -EALREADY,
				"this handle follows the device's traps already");
	region = vfmig_region_find(dev, VFIO_PCI_MEDIATE_REGION_TYPE,
				   VFIO_PCI_MEDIATE_REGION_SUBTYPE_TRAP);
	if (region == -ENOENT || (region >= 0 &&
				  find_trap_irq(dev, &t->irq_index)))
		return dev_fail(dev, -EOPNOTSUPP,
				"the device has no dynamic traps (not bound to vfio-pci-mediate, or its mediator declared no trappable range)");
	if (region < 0)
		return region;
	ret = vfmig_region_info(dev, region, &ri);
	if (ret)
		return ret;
	t->region_fd_offset = ri.offset;
	ret = read_geometry(dev, t);
	if (ret)
		return ret;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return dev_fail(dev, neg_errno(), "eventfd: %s", strerror(errno));
	t->efd = efd;
	t->generation = 0;
	atomic_store(&t->enabled, true);
	ret = vfmig_irq_set_eventfds(dev, t->irq_index, 0, 1, &efd);
	if (ret)
		goto out_disable;
	/* Setting the eventfd signals it: take the initial state now. */
	ret = vfmig_trap_handle(dev);
	if (ret < 0) {
		/* Unaware again: the kernel withdraws any mapping at once. */
		vfmig_irq_disable(dev, t->irq_index);
		goto out_disable;
	}
	*fd = efd;
	return 0;

out_disable:
	atomic_store(&t->enabled, false);
	unmap_ranges(t);
	close(efd);
	t->efd = -1;
	return ret;
}

VFMIG_EXPORT int vfmig_trap_handle(struct vfmig_device *dev)
{
	struct vfmig_trap *t = &dev->trap;
	struct vfio_pci_mediate_trap_info info;
	uint64_t count;
	int ret;

	if (!atomic_load(&t->enabled))
		return 0;
	/* Only clears the signal: the region says what is new. */
	if (read(t->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return dev_fail(dev, neg_errno(), "reading the trap eventfd: %s",
				strerror(errno));

	pthread_rwlock_wrlock(&t->lock);
	ret = pread_exact(dev->fd, &info, sizeof(info), t->region_fd_offset);
	if (ret) {
		pthread_rwlock_unlock(&t->lock);
		return dev_fail(dev, ret, "reading the trap region: %s",
				strerror(-ret));
	}
	if (info.generation == t->generation) {
		pthread_rwlock_unlock(&t->lock);
		return 0;
	}
	for (uint32_t i = 0; i < t->nr; i++) {
		struct vfmig_trap_range *r = &t->ranges[i];
		bool trapped = info.ranges[i].flags &
			       VFIO_PCI_MEDIATE_TRAP_TRAPPED;

		if (trapped && r->map) {
			munmap(r->map, r->size);
			r->map = NULL;
		} else if (!trapped && !r->map) {
			void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
				       MAP_SHARED, dev->fd,
				       (off_t)r->fd_offset);

			/*
			 * Failing, it was trapped again since the read: the
			 * next signal says so.  Read/write meanwhile.
			 */
			r->map = p == MAP_FAILED ? NULL : p;
		}
	}
	ret = pwrite_exact(dev->fd, &info.generation, sizeof(info.generation),
			   t->region_fd_offset +
			   offsetof(struct vfio_pci_mediate_trap_info, ack));
	if (!ret) {
		t->generation = info.generation;
		t->handled++;
	}
	pthread_rwlock_unlock(&t->lock);
	if (ret)
		return dev_fail(dev, ret,
				"acknowledging trap generation %llu: %s",
				(unsigned long long)info.generation,
				strerror(-ret));
	return 1;
}

void trap_catch_up(struct vfmig_device *dev)
{
	/* A failure left its message; the next access still works by rw. */
	vfmig_trap_handle(dev);
}

VFMIG_EXPORT int vfmig_trap_stats(struct vfmig_device *dev,
				  struct vfmig_trap_stats *stats)
{
	struct vfmig_trap *t = &dev->trap;

	memset(stats, 0, sizeof(*stats));
	if (!atomic_load(&t->enabled))
		return 0;
	pthread_rwlock_rdlock(&t->lock);
	stats->nr_ranges = t->nr;
	for (uint32_t i = 0; i < t->nr; i++)
		stats->nr_mapped += t->ranges[i].map != NULL;
	stats->generation = t->generation;
	stats->handled = t->handled;
	pthread_rwlock_unlock(&t->lock);
	stats->mmap_accesses = atomic_load(&t->mmap_accesses);
	stats->rw_accesses = atomic_load(&t->rw_accesses);
	return 0;
}
