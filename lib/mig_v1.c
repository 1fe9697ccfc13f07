// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The v1 migration region (type 3, subtype 1) driven the way QEMU 7.2's
 * hw/vfio/migration.c drives it, so that tests see exactly the accesses a
 * QEMU 7.2 source or destination makes: header fields by pread/pwrite of
 * their own size, device_state changed by read-modify-write with a
 * validity check, the data section through mmap where the region offers
 * it and otherwise by naturally aligned 8/4/2/1-byte preads/pwrites.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "internal.h"

void v1_cleanup_locked(struct vfmig_device *dev)
{
	region_unmap_areas(&dev->v1.maps);
	memset(&dev->v1, 0, sizeof(dev->v1));
}

static int v1_setup_locked(struct vfmig_device *dev,
			   const struct vfmig_v1_options *opt)
{
	enum vfmig_v1_access access = opt ? opt->access : VFMIG_V1_AUTO;
	struct vfmig_region_info info;
	int index, ret;

	v1_cleanup_locked(dev);
	if (access != VFMIG_V1_AUTO && access != VFMIG_V1_PREAD &&
	    access != VFMIG_V1_MMAP)
		return dev_fail(dev, -EINVAL, "unknown v1 access mode %d",
				access);
	index = region_find_locked(dev, VFMIG_REGION_TYPE_MIGRATION,
				   VFMIG_REGION_SUBTYPE_MIGRATION);
	if (index < 0)
		return dev_fail(dev, index,
				"the device has no v1 migration region (type 3, subtype 1): its driver offers no v1 migration");
	ret = region_info_locked(dev, (uint32_t)index, &info);
	if (ret)
		return ret;
	if (info.size < VFMIG_V1_HEADER_SIZE)
		return dev_fail(dev, -EPROTO,
				"the v1 migration region %d has %llu bytes, less than its %d byte header",
				index, (unsigned long long)info.size,
				VFMIG_V1_HEADER_SIZE);
	if ((info.flags & (VFMIG_REGION_READ | VFMIG_REGION_WRITE)) !=
	    (VFMIG_REGION_READ | VFMIG_REGION_WRITE))
		return dev_fail(dev, -EPROTO,
				"the v1 migration region %d is not readable and writable (flags %#x)",
				index, info.flags);
	dev->v1.index = (uint32_t)index;
	dev->v1.size = info.size;
	dev->v1.fd_offset = info.offset;
	dev->v1.access = access;
	if (access != VFMIG_V1_PREAD) {
		ret = region_map_areas_locked(dev, (uint32_t)index,
					      &dev->v1.maps);
		/* QEMU falls back to the slow path; MMAP mode insists. */
		if (access == VFMIG_V1_MMAP && (ret || !dev->v1.maps.nr)) {
			region_unmap_areas(&dev->v1.maps);
			if (!ret)
				ret = dev_fail(dev, -ENOTSUP,
					       "the v1 migration region offers nothing for mmap (flags %#x, %s sparse mmap capability)",
					       info.flags,
					       info.has_sparse ? "a" : "no");
			return ret;
		}
	}
	dev->v1.ready = true;
	return index;
}

VFMIG_EXPORT int vfmig_v1_setup(struct vfmig_device *dev,
				const struct vfmig_v1_options *opt)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = v1_setup_locked(dev, opt);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT void vfmig_v1_cleanup(struct vfmig_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	v1_cleanup_locked(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* Takes dev->lock and sets the region up with defaults if need be. */
static int v1_lock(struct vfmig_device *dev)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	if (dev->v1.ready)
		return 0;
	ret = v1_setup_locked(dev, NULL);
	if (ret < 0) {
		pthread_mutex_unlock(&dev->lock);
		return ret;
	}
	return 0;
}

VFMIG_EXPORT int vfmig_v1_info(struct vfmig_device *dev,
			       struct vfmig_v1_info *info)
{
	const struct vfmig_map *big = NULL;
	int ret;

	ret = v1_lock(dev);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->index = dev->v1.index;
	info->size = dev->v1.size;
	for (uint32_t i = 0; i < dev->v1.maps.nr; i++)
		if (!big || dev->v1.maps.maps[i].size > big->size)
			big = &dev->v1.maps.maps[i];
	if (big) {
		info->mmapped = true;
		info->mmap_offset = big->offset;
		info->mmap_size = big->size;
	}
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

/* --- header fields --- */

static const char *field_name(uint64_t off)
{
	switch (off) {
	case VFMIG_V1_OFF_DEVICE_STATE: return "device_state";
	case VFMIG_V1_OFF_PENDING_BYTES: return "pending_bytes";
	case VFMIG_V1_OFF_DATA_OFFSET: return "data_offset";
	case VFMIG_V1_OFF_DATA_SIZE: return "data_size";
	default: return "a header field";
	}
}

static const char *v1_hint(int err)
{
	switch (err) {
	case -EBUSY:
		return " (the other migration protocol, v2, may be driving the device)";
	case -EINVAL:
		return " (the driver refused it in the current device_state)";
	default:
		return "";
	}
}

static int field_rw_locked(struct vfmig_device *dev, uint64_t off, void *val,
			   size_t len, bool write)
{
	uint64_t pos = dev->v1.fd_offset + off;
	int ret;

	ret = write ? pwrite_exact(dev->fd, val, len, pos) :
		      pread_exact(dev->fd, val, len, pos);
	if (ret)
		return dev_fail(dev, ret, "v1 %s of %s (%zu bytes): %s%s",
				write ? "write" : "read", field_name(off), len,
				strerror(-ret), v1_hint(ret));
	return 0;
}

static int field_read(struct vfmig_device *dev, uint64_t off, void *val,
		      size_t len)
{
	int ret = v1_lock(dev);

	if (ret)
		return ret;
	ret = field_rw_locked(dev, off, val, len, false);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

static int field_write(struct vfmig_device *dev, uint64_t off,
		       const void *val, size_t len)
{
	int ret = v1_lock(dev);

	if (ret)
		return ret;
	ret = field_rw_locked(dev, off, (void *)val, len, true);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_v1_get_state(struct vfmig_device *dev, uint32_t *state)
{
	return field_read(dev, VFMIG_V1_OFF_DEVICE_STATE, state,
			  sizeof(*state));
}

VFMIG_EXPORT int vfmig_v1_write_state(struct vfmig_device *dev,
				      uint32_t state)
{
	return field_write(dev, VFMIG_V1_OFF_DEVICE_STATE, &state,
			   sizeof(state));
}

VFMIG_EXPORT int vfmig_v1_set_state(struct vfmig_device *dev, uint32_t mask,
				    uint32_t value)
{
	uint32_t old, new, now;
	int ret;

	ret = v1_lock(dev);
	if (ret)
		return ret;
	ret = field_rw_locked(dev, VFMIG_V1_OFF_DEVICE_STATE, &old,
			      sizeof(old), false);
	if (ret)
		goto out;
	new = (old & mask) | value;
	if (!VFMIG_V1_VALID(new)) {
		ret = dev_fail(dev, -EINVAL,
			       "v1 device_state %#x & %#x | %#x = %#x is not a valid state: not written",
			       old, mask, value, new);
		goto out;
	}
	ret = field_rw_locked(dev, VFMIG_V1_OFF_DEVICE_STATE, &new,
			      sizeof(new), true);
	if (!ret)
		goto out;
	/* QEMU re-reads here and aborts on the error state. */
	dev_fail(dev, ret, "v1 device_state %#x -> %#x refused: %s%s", old,
		 new, strerror(-ret), v1_hint(ret));
	if (field_rw_locked(dev, VFMIG_V1_OFF_DEVICE_STATE, &now, sizeof(now),
			    false)) {
		dev_fail(dev, ret,
			 "v1 device_state %#x -> %#x refused (%s) and it cannot be read back: reset the device (vfmig_reset)",
			 old, new, strerror(-ret));
	} else if (VFMIG_V1_IS_ERROR(now)) {
		dev_fail_append(dev,
				"device_state is now the error state %#x: reset the device (vfmig_reset)",
				now);
	} else {
		dev_fail_append(dev, "device_state is now %#x", now);
	}
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_v1_read_pending(struct vfmig_device *dev,
				       uint64_t *pending_bytes)
{
	return field_read(dev, VFMIG_V1_OFF_PENDING_BYTES, pending_bytes,
			  sizeof(*pending_bytes));
}

VFMIG_EXPORT int vfmig_v1_read_data_offset(struct vfmig_device *dev,
					   uint64_t *data_offset)
{
	return field_read(dev, VFMIG_V1_OFF_DATA_OFFSET, data_offset,
			  sizeof(*data_offset));
}

VFMIG_EXPORT int vfmig_v1_read_data_size(struct vfmig_device *dev,
					 uint64_t *data_size)
{
	return field_read(dev, VFMIG_V1_OFF_DATA_SIZE, data_size,
			  sizeof(*data_size));
}

VFMIG_EXPORT int vfmig_v1_write_data_size(struct vfmig_device *dev,
					  uint64_t data_size)
{
	return field_write(dev, VFMIG_V1_OFF_DATA_SIZE, &data_size,
			   sizeof(data_size));
}

/* --- data section --- */

/* The map holding @offset, or NULL and *@limit = start of the next one. */
static const struct vfmig_map *map_at(const struct vfmig_device *dev,
				      uint64_t offset, uint64_t *limit)
{
	*limit = dev->v1.size;
	for (uint32_t i = 0; i < dev->v1.maps.nr; i++) {
		const struct vfmig_map *m = &dev->v1.maps.maps[i];

		if (offset >= m->offset && offset - m->offset < m->size)
			return m;
		if (m->offset > offset && m->offset < *limit)
			*limit = m->offset;
	}
	return NULL;
}

/* QEMU's vfio_mig_rw(): the largest naturally aligned access that fits. */
static int split_rw_locked(struct vfmig_device *dev, uint64_t offset,
			   char *buf, size_t len, bool write)
{
	while (len) {
		uint64_t pos = dev->v1.fd_offset + offset;
		size_t n;
		int ret;

		if (len >= 8 && !(pos % 8))
			n = 8;
		else if (len >= 4 && !(pos % 4))
			n = 4;
		else if (len >= 2 && !(pos % 2))
			n = 2;
		else
			n = 1;
		ret = write ? pwrite_exact(dev->fd, buf, n, pos) :
			      pread_exact(dev->fd, buf, n, pos);
		if (ret)
			return dev_fail(dev, ret,
					"v1 data %s of %zu bytes at region offset %#llx: %s%s",
					write ? "write" : "read", n,
					(unsigned long long)offset,
					strerror(-ret), v1_hint(ret));
		offset += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int data_rw_locked(struct vfmig_device *dev, uint64_t offset,
			  char *buf, size_t len, bool write)
{
	if (offset > dev->v1.size || len > dev->v1.size - offset)
		return dev_fail(dev, -EINVAL,
				"v1 data %s of %zu bytes at %#llx leaves the %#llx byte migration region",
				write ? "write" : "read", len,
				(unsigned long long)offset,
				(unsigned long long)dev->v1.size);
	/* Like QEMU's get_data_section_size(): mmapped parts by memcpy. */
	while (len) {
		const struct vfmig_map *m;
		uint64_t limit;
		size_t n;
		int ret;

		m = map_at(dev, offset, &limit);
		if (m) {
			char *p = (char *)m->addr + (offset - m->offset);

			n = m->size - (offset - m->offset);
			if (n > len)
				n = len;
			if (write)
				memcpy(p, buf, n);
			else
				memcpy(buf, p, n);
		} else {
			n = limit - offset;
			if (n > len)
				n = len;
			ret = split_rw_locked(dev, offset, buf, n, write);
			if (ret)
				return ret;
		}
		offset += n;
		buf += n;
		len -= n;
	}
	return 0;
}

VFMIG_EXPORT int vfmig_v1_read_data(struct vfmig_device *dev, uint64_t offset,
				    void *buf, size_t len)
{
	int ret = v1_lock(dev);

	if (ret)
		return ret;
	ret = data_rw_locked(dev, offset, buf, len, false);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_v1_write_data(struct vfmig_device *dev,
				     uint64_t offset, const void *buf,
				     size_t len)
{
	int ret = v1_lock(dev);

	if (ret)
		return ret;
	ret = data_rw_locked(dev, offset, (char *)buf, len, true);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT bool vfmig_v1_range_mmapped(struct vfmig_device *dev,
					 uint64_t offset, size_t len)
{
	const struct vfmig_map *m;
	uint64_t limit;
	bool mapped;

	if (v1_lock(dev))
		return false;
	m = map_at(dev, offset, &limit);
	mapped = m && len <= m->size - (offset - m->offset);
	pthread_mutex_unlock(&dev->lock);
	return mapped;
}

VFMIG_EXPORT int vfmig_v1_save_buffer(struct vfmig_device *dev, void *buf,
				      size_t cap, uint64_t *data_size)
{
	uint64_t data_offset, size;
	int ret;

	ret = v1_lock(dev);
	if (ret)
		return ret;
	/* QEMU's order: data_offset first, then data_size. */
	ret = field_rw_locked(dev, VFMIG_V1_OFF_DATA_OFFSET, &data_offset,
			      sizeof(data_offset), false);
	if (ret)
		goto out;
	ret = field_rw_locked(dev, VFMIG_V1_OFF_DATA_SIZE, &size, sizeof(size),
			      false);
	if (ret)
		goto out;
	if (size && (data_offset > dev->v1.size ||
		     size > dev->v1.size - data_offset)) {
		ret = dev_fail(dev, -EINVAL,
			       "v1 data_offset %#llx + data_size %#llx run past the %#llx byte migration region (QEMU fails this save too)",
			       (unsigned long long)data_offset,
			       (unsigned long long)size,
			       (unsigned long long)dev->v1.size);
		goto out;
	}
	if (size > cap) {
		ret = dev_fail(dev, -EMSGSIZE,
			       "v1 data_size %llu exceeds the %zu byte buffer",
			       (unsigned long long)size, cap);
		goto out;
	}
	if (size)
		ret = data_rw_locked(dev, data_offset, buf, size, false);
	if (!ret)
		*data_size = size;
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

VFMIG_EXPORT int vfmig_v1_load_buffer(struct vfmig_device *dev,
				      const void *buf, size_t len,
				      size_t chunk)
{
	const char *p = buf;
	int ret;

	ret = v1_lock(dev);
	if (ret)
		return ret;
	while (len) {
		uint64_t data_offset, n;

		ret = field_rw_locked(dev, VFMIG_V1_OFF_DATA_OFFSET,
				      &data_offset, sizeof(data_offset), false);
		if (ret)
			break;
		if (data_offset >= dev->v1.size) {
			ret = dev_fail(dev, -EINVAL,
				       "v1 data_offset %#llx lies outside the %#llx byte migration region",
				       (unsigned long long)data_offset,
				       (unsigned long long)dev->v1.size);
			break;
		}
		/* What does not fit goes in the next round, as QEMU does. */
		n = dev->v1.size - data_offset;
		if (n > len)
			n = len;
		if (chunk && n > chunk)
			n = chunk;
		ret = data_rw_locked(dev, data_offset, (char *)p, (size_t)n,
				     true);
		if (ret)
			break;
		ret = field_rw_locked(dev, VFMIG_V1_OFF_DATA_SIZE, &n,
				      sizeof(n), true);
		if (ret)
			break;
		p += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* --- whole save and load --- */

/* Sets the region up with @opt unless the caller did it already. */
static int v1_prepare(struct vfmig_device *dev,
		      const struct vfmig_v1_options *opt, uint64_t *size)
{
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	if (!dev->v1.ready || (opt && opt->access != dev->v1.access))
		ret = v1_setup_locked(dev, opt);
	*size = dev->v1.size;
	pthread_mutex_unlock(&dev->lock);
	return ret < 0 ? ret : 0;
}

static int save_one_buffer(struct vfmig_device *dev, int out_fd, void *buf,
			   size_t cap, uint64_t *size, uint64_t *moved)
{
	int ret;

	ret = vfmig_v1_save_buffer(dev, buf, cap, size);
	if (ret)
		return ret;
	ret = write_all(out_fd, buf, *size);
	if (ret)
		return dev_fail(dev, ret,
				"writing %llu bytes of device state to the output: %s",
				(unsigned long long)*size, strerror(-ret));
	*moved += *size;
	return 0;
}

/* QEMU's migration-state notifier on a failed or cancelled save. */
static void v1_cancel(struct vfmig_device *dev)
{
	char saved[VFMIG_MSG_LEN];
	uint32_t now;
	int ret;

	vfmig_strerror_r(dev, saved, sizeof(saved));
	if (!vfmig_v1_get_state(dev, &now) && VFMIG_V1_IS_ERROR(now)) {
		pthread_mutex_lock(&dev->msg_lock);
		memcpy(dev->msg, saved, sizeof(dev->msg));
		pthread_mutex_unlock(&dev->msg_lock);
		dev_fail_append(dev, "the device is in the v1 error state: reset it (vfmig_reset)");
		return;
	}
	ret = vfmig_v1_set_state(dev, ~(VFMIG_V1_SAVING | VFMIG_V1_RESUMING),
				 VFMIG_V1_RUNNING);
	pthread_mutex_lock(&dev->msg_lock);
	memcpy(dev->msg, saved, sizeof(dev->msg));
	pthread_mutex_unlock(&dev->msg_lock);
	dev_fail_append(dev, ret ?
			"setting it back to RUNNING failed too: reset it (vfmig_reset)" :
			"the device was set back to RUNNING, as QEMU does on a failed migration");
}

VFMIG_EXPORT int vfmig_v1_save(struct vfmig_device *dev, int out_fd,
			       const struct vfmig_v1_options *opt,
			       uint64_t *bytes)
{
	uint64_t region_size, pending, size, moved = 0;
	unsigned int rounds = opt ? opt->precopy_rounds : 0;
	char *buf;
	int ret;

	ret = v1_prepare(dev, opt, &region_size);
	if (ret)
		return ret;
	buf = malloc(region_size);
	if (!buf)
		return dev_fail(dev, -ENOMEM,
				"out of memory for a %llu byte data buffer",
				(unsigned long long)region_size);

	/* save_setup: keep RUNNING as it is, add SAVING. */
	ret = vfmig_v1_set_state(dev, VFMIG_V1_MASK, VFMIG_V1_SAVING);
	if (ret)
		goto fail;
	/*
	 * save_live_pending + save_live_iterate, while RUNNING|SAVING.  A
	 * round whose pending_bytes stays 0 moves no data; QEMU calls the
	 * next round all the same.
	 */
	for (unsigned int i = 0; i < rounds; i++) {
		ret = vfmig_v1_read_pending(dev, &pending);
		if (ret)
			goto fail;
		if (!pending) {
			ret = vfmig_v1_read_pending(dev, &pending);
			if (ret)
				goto fail;
			if (!pending)
				continue;
		}
		ret = save_one_buffer(dev, out_fd, buf, region_size, &size,
				      &moved);
		if (ret)
			goto fail;
	}
	/* vm_stop: RUNNING goes; then complete_precopy sets SAVING again. */
	ret = vfmig_v1_set_state(dev, ~VFMIG_V1_RUNNING, 0);
	if (ret)
		goto fail;
	ret = vfmig_v1_set_state(dev, ~VFMIG_V1_RUNNING, VFMIG_V1_SAVING);
	if (ret)
		goto fail;
	ret = vfmig_v1_read_pending(dev, &pending);
	if (ret)
		goto fail;
	while (pending) {
		ret = save_one_buffer(dev, out_fd, buf, region_size, &size,
				      &moved);
		if (ret)
			goto fail;
		if (!size)
			break;
		ret = vfmig_v1_read_pending(dev, &pending);
		if (ret)
			goto fail;
	}
	ret = vfmig_v1_set_state(dev, ~VFMIG_V1_SAVING, 0);
	if (ret)
		goto fail;
	if (opt && opt->run_after) {
		ret = vfmig_v1_set_state(dev, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING);
		if (ret)
			goto out;
	}
	goto out;

fail:
	v1_cancel(dev);
out:
	free(buf);
	if (bytes)
		*bytes = moved;
	return ret;
}

VFMIG_EXPORT int vfmig_v1_load(struct vfmig_device *dev, int in_fd,
			       const struct vfmig_v1_options *opt,
			       uint64_t *bytes)
{
	uint64_t region_size, moved = 0;
	size_t chunk = opt ? opt->chunk_size : 0;
	size_t piece;
	char *buf;
	int ret;

	ret = v1_prepare(dev, opt, &region_size);
	if (ret)
		return ret;
	/* Read the input in pieces the size of the region at most. */
	piece = chunk && chunk < region_size ? chunk : (size_t)region_size;
	buf = malloc(piece);
	if (!buf)
		return dev_fail(dev, -ENOMEM,
				"out of memory for a %zu byte data buffer", piece);
	/* load_setup */
	ret = vfmig_v1_set_state(dev, ~VFMIG_V1_MASK, VFMIG_V1_RESUMING);
	if (ret)
		goto out;
	for (;;) {
		ssize_t n = read_full(in_fd, buf, piece);

		if (n < 0) {
			ret = dev_fail(dev, (int)n,
				       "reading device state from the input: %s",
				       strerror((int)-n));
			break;
		}
		if (!n)
			break;
		ret = vfmig_v1_load_buffer(dev, buf, (size_t)n, chunk);
		if (ret)
			break;
		moved += (uint64_t)n;
	}
	/* The VM start on the destination: RESUMING straight to RUNNING. */
	if (!ret && opt && opt->run_after) {
		ret = vfmig_v1_set_state(dev, ~VFMIG_V1_MASK, VFMIG_V1_RUNNING);
		if (ret)
			dev_fail_append(dev, "the device did not accept the state it was given");
	}
out:
	free(buf);
	if (bytes)
		*bytes = moved;
	return ret;
}
