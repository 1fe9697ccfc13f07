// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate, the pages the VF writes by DMA, the seed's way: while a
 * migration or VFIO DMA logging needs them, the queue register pages are
 * trapped (igbvf_trap.c), and every receive tail the user writes passes
 * through here before it reaches the device.  The descriptors between the
 * old tail and the new one have just been handed to the device: they are
 * read from the user's memory and their buffers announced to the
 * framework (vfio_pci_mediate_dirty_begin()) before the device can see
 * them.  A buffer is ended once the device's head has passed its
 * descriptor, which the device advances only after writing the buffer and
 * the descriptor back: at the next tail write, and before each DMA logging
 * report (->dirty_sync).  The framework then reports each page once more.
 *
 * What the device writes, per queue:
 *  - receive buffers, packet and (header split) header, of the
 *    descriptors it owns, [RDH, RDT);
 *  - the receive and transmit descriptor rings (write-back): announced
 *    whole for as long as tracking runs;
 *  - the transmit head write-back word, when TDWBAL enables it.
 * Transmit buffers are only read.
 *
 * Consistency: while tracking runs, RDT changes only through us, so the
 * device's RDT is the end of our window and its RDH lies inside it.  If
 * either is not so (a VF reset through CTRL, which is not trapped, or the
 * user writing RDH), or a ring register changed, the queue's tracking
 * starts over from what the device holds: everything announced ends, and
 * [RDH, RDT) is read again.  A guest that rewrites a descriptor the
 * device owns makes the device write where it was not told to, on real
 * hardware too; its own memory is what it corrupts.
 *
 * Reading descriptors needs the user's memory (vfio-pci-mediate's
 * user_dma_access); without it nothing is tracked, no DMA logging is
 * offered, and type1 reports every page dirty.  Rings of more than
 * IGBVF_TRACK_MAX_DESC descriptors are not tracked: the migration fails.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sizes.h>

#include "igbvf_mediate.h"

/* Descriptors read from the user's memory at once. */
#define IGBVF_READ_DESC		(SZ_4K / IGBVF_DESC_SIZE)

/* Buffer sizes when SRRCTL leaves them to the PF: the largest there is. */
#define IGBVF_PKT_BUF_MAX	SZ_16K
#define IGBVF_HDR_BUF_MAX	SZ_1K

/* Distance from @from to @to in a ring of @count descriptors. */
static u32 igbvf_ring_dist(u32 from, u32 to, u32 count)
{
	return (to + count - from) % count;
}

static u64 igbvf_iova(u32 hi, u32 lo, u32 align_mask)
{
	return (u64)hi << 32 | (lo & ~align_mask);
}

/* Ends the buffers of descriptors [@from, @to). */
static void igbvf_rx_end(struct igbvf_dev *ivf, struct igbvf_rx_track *t,
			 u32 from, u32 to)
{
	for (; from != to; from = (from + 1) % t->count) {
		vfio_pci_mediate_dirty_end(ivf->mdev, t->bufs[from].pkt,
					   t->pkt_len);
		if (t->hdr_len)
			vfio_pci_mediate_dirty_end(ivf->mdev, t->bufs[from].hdr,
						   t->hdr_len);
	}
}

static int igbvf_rx_begin_one(struct igbvf_dev *ivf, struct igbvf_rx_track *t,
			      const __le64 *desc, u32 i)
{
	int ret;

	t->bufs[i].pkt = le64_to_cpu(desc[0]);
	t->bufs[i].hdr = le64_to_cpu(desc[1]);
	ret = vfio_pci_mediate_dirty_begin(ivf->mdev, t->bufs[i].pkt,
					   t->pkt_len);
	if (ret || !t->hdr_len)
		return ret;
	ret = vfio_pci_mediate_dirty_begin(ivf->mdev, t->bufs[i].hdr,
					   t->hdr_len);
	if (ret)
		vfio_pci_mediate_dirty_end(ivf->mdev, t->bufs[i].pkt,
					   t->pkt_len);
	return ret;
}

/*
 * Announces the buffers of descriptors [t->tail, @to) and moves the
 * window's tail there; on error the tail stays after the last one done.
 */
static int igbvf_rx_begin(struct igbvf_dev *ivf, struct igbvf_rx_track *t,
			  u32 to)
{
	u32 n, i;
	int ret;

	while (t->tail != to) {
		n = min3(igbvf_ring_dist(t->tail, to, t->count),
			 t->count - t->tail, (u32)IGBVF_READ_DESC);
		ret = vfio_pci_mediate_dma_rw(ivf->mdev,
					      t->ring + t->tail * IGBVF_DESC_SIZE,
					      ivf->track.desc,
					      n * IGBVF_DESC_SIZE, false);
		if (ret)
			return ret;
		for (i = 0; i < n; i++) {
			ret = igbvf_rx_begin_one(ivf, t,
						 ivf->track.desc + 2 * i,
						 t->tail);
			if (ret)
				return ret;
			t->tail = (t->tail + 1) % t->count;
		}
	}
	return 0;
}

/* Ends everything announced for receive queue @t. */
static void igbvf_rx_forget(struct igbvf_dev *ivf, struct igbvf_rx_track *t)
{
	if (!t->count)
		return;
	igbvf_rx_end(ivf, t, t->head, t->tail);
	vfio_pci_mediate_dirty_end(ivf->mdev, t->ring,
				   t->count * IGBVF_DESC_SIZE);
	kvfree(t->bufs);
	memset(t, 0, sizeof(*t));
}

/* Packet and header buffer sizes of a receive queue with @srrctl. */
static void igbvf_rx_buf_sizes(u32 srrctl, u32 *pkt_len, u32 *hdr_len)
{
	u32 pkt = FIELD_GET(IGBVF_SRRCTL_BSIZEPKT, srrctl) * SZ_1K;
	u32 hdr = FIELD_GET(IGBVF_SRRCTL_BSIZEHDR, srrctl) * 64;

	*pkt_len = pkt ?: IGBVF_PKT_BUF_MAX;
	switch (FIELD_GET(IGBVF_SRRCTL_DESCTYPE, srrctl)) {
	case IGBVF_SRRCTL_DESCTYPE_LEGACY:
	case IGBVF_SRRCTL_DESCTYPE_ONEBUF:
		*hdr_len = 0;
		break;
	default:	/* header split, or a kind we do not know: both */
		*hdr_len = hdr ?: IGBVF_HDR_BUF_MAX;
		break;
	}
}

/*
 * Receive queue @q's tracking from scratch, from what the device holds:
 * its ring announced, and the buffers of [RDH, RDT).  @lock.
 */
static int igbvf_rx_restart(struct igbvf_dev *ivf, unsigned int q)
{
	struct igbvf_rx_track *t = &ivf->track.rx[q];
	u32 bal, bah, len, srrctl, rdh, rdt, count;
	int ret;

	igbvf_rx_forget(ivf, t);
	ret = igbvf_rd(ivf, IGBVF_RDBAL(q), &bal);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_RDBAH(q), &bah);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_RDLEN(q), &len);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_SRRCTL(q), &srrctl);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_RDH(q), &rdh);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_RDT(q), &rdt);
	if (ret)
		return ret;
	count = (len & IGBVF_RING_LEN_MAX) / IGBVF_DESC_SIZE;
	if (!count)
		return 0;
	if (count > IGBVF_TRACK_MAX_DESC) {
		igbvf_warn(ivf, "cannot track dirty pages: receive ring %u has %u descriptors, at most %u are tracked\n",
			   q, count, IGBVF_TRACK_MAX_DESC);
		return -E2BIG;
	}
	if (rdh >= count || rdt >= count) {
		igbvf_warn(ivf, "cannot track dirty pages: receive queue %u's head %u or tail %u lies beyond its %u descriptors\n",
			   q, rdh, rdt, count);
		return -EINVAL;
	}

	t->bufs = kvcalloc(count, sizeof(*t->bufs), GFP_KERNEL_ACCOUNT);
	if (!t->bufs)
		return -ENOMEM;
	t->ring = igbvf_iova(bah, bal, IGBVF_RING_ALIGN - 1);
	ret = vfio_pci_mediate_dirty_begin(ivf->mdev, t->ring,
					   count * IGBVF_DESC_SIZE);
	if (ret) {
		kvfree(t->bufs);
		t->bufs = NULL;
		return ret;
	}
	t->count = count;
	igbvf_rx_buf_sizes(srrctl, &t->pkt_len, &t->hdr_len);
	t->head = rdh;
	t->tail = rdh;
	return igbvf_rx_begin(ivf, t, rdt);
}

/* Whether the device's @rdh and @rdt are what our window expects. */
static bool igbvf_rx_in_step(const struct igbvf_rx_track *t, u32 rdh, u32 rdt)
{
	return rdt == t->tail && rdh < t->count &&
	       igbvf_ring_dist(t->head, rdh, t->count) <=
	       igbvf_ring_dist(t->head, t->tail, t->count);
}

/*
 * Ends the buffers the device is done with (its head passed them), or
 * starts over if the device is not where the window says.  @lock.
 */
static int igbvf_rx_settle(struct igbvf_dev *ivf, unsigned int q)
{
	struct igbvf_rx_track *t = &ivf->track.rx[q];
	u32 rdh, rdt;
	int ret;

	if (!t->count)
		return igbvf_rx_restart(ivf, q);
	ret = igbvf_rd(ivf, IGBVF_RDH(q), &rdh);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_RDT(q), &rdt);
	if (ret)
		return ret;
	if (!igbvf_rx_in_step(t, rdh, rdt))
		return igbvf_rx_restart(ivf, q);
	igbvf_rx_end(ivf, t, t->head, rdh);
	t->head = rdh;
	return 0;
}

/* Announces transmit queue @q's ring and head write-back.  @lock. */
static int igbvf_tx_restart(struct igbvf_dev *ivf, unsigned int q)
{
	struct igbvf_tx_track *t = &ivf->track.tx[q], old = *t;
	u32 bal, bah, len, wbal, wbah;
	int ret;

	ret = igbvf_rd(ivf, IGBVF_TDBAL(q), &bal);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_TDBAH(q), &bah);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_TDLEN(q), &len);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_TDWBAL(q), &wbal);
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_TDWBAH(q), &wbah);
	if (ret)
		return ret;

	/* The new ranges begin before the old ones end: no gap. */
	memset(t, 0, sizeof(*t));
	t->ring_len = len & IGBVF_RING_LEN_MAX;
	if (t->ring_len) {
		t->ring = igbvf_iova(bah, bal, IGBVF_RING_ALIGN - 1);
		ret = vfio_pci_mediate_dirty_begin(ivf->mdev, t->ring,
						   t->ring_len);
		if (ret)
			t->ring_len = 0;
	}
	if (!ret && (wbal & IGBVF_TDWBAL_ENABLE)) {
		t->wb = igbvf_iova(wbah, wbal, IGBVF_TDWBAL_ALIGN - 1);
		ret = vfio_pci_mediate_dirty_begin(ivf->mdev, t->wb,
						   sizeof(u32));
		t->wb_on = !ret;
	}
	if (old.ring_len)
		vfio_pci_mediate_dirty_end(ivf->mdev, old.ring, old.ring_len);
	if (old.wb_on)
		vfio_pci_mediate_dirty_end(ivf->mdev, old.wb, sizeof(u32));
	return ret;
}

static void igbvf_tx_forget(struct igbvf_dev *ivf, struct igbvf_tx_track *t)
{
	if (t->ring_len)
		vfio_pci_mediate_dirty_end(ivf->mdev, t->ring, t->ring_len);
	if (t->wb_on)
		vfio_pci_mediate_dirty_end(ivf->mdev, t->wb, sizeof(u32));
	memset(t, 0, sizeof(*t));
}

/* Keeps the first error: it fails the save (igbvf_dirty_error()). */
static int igbvf_track_failed(struct igbvf_dev *ivf, int ret)
{
	if (ret && !ivf->track.err)
		ivf->track.err = ret;
	return ret;
}

/**
 * igbvf_dirty_start() - start announcing what the VF writes
 * @ivf: the open VF, whose queue pages are trapped now
 *
 * Context: @lock held; the user's syscall (reads the user's memory).
 * Return: 0, or the error that keeps the VF's writes from being tracked
 * (also kept for igbvf_dirty_error()).
 */
int igbvf_dirty_start(struct igbvf_dev *ivf)
{
	unsigned int q;
	int ret = 0;

	lockdep_assert_held(&ivf->lock);
	if (ivf->track.on)
		return 0;
	ivf->track.desc = kmalloc(IGBVF_READ_DESC * IGBVF_DESC_SIZE,
				  GFP_KERNEL_ACCOUNT);
	if (!ivf->track.desc)
		return -ENOMEM;
	ivf->track.on = true;
	ivf->track.err = 0;
	for (q = 0; !ret && q < IGBVF_NR_QUEUES; q++) {
		ret = igbvf_rx_restart(ivf, q);
		if (!ret)
			ret = igbvf_tx_restart(ivf, q);
	}
	if (ret) {
		igbvf_dirty_stop(ivf);
		ivf->track.err = ret;
	}
	return ret;
}

/**
 * igbvf_dirty_stop() - stop announcing; end everything announced
 * @ivf: the open VF
 *
 * Context: @lock held.
 */
void igbvf_dirty_stop(struct igbvf_dev *ivf)
{
	unsigned int q;

	lockdep_assert_held(&ivf->lock);
	for (q = 0; q < IGBVF_NR_QUEUES; q++) {
		igbvf_rx_forget(ivf, &ivf->track.rx[q]);
		igbvf_tx_forget(ivf, &ivf->track.tx[q]);
	}
	kfree(ivf->track.desc);
	ivf->track.desc = NULL;
	ivf->track.on = false;
}

/**
 * igbvf_dirty_free() - free what tracking holds, at the end of the open
 * @ivf: the VF, released: the framework has dropped what we announced
 */
void igbvf_dirty_free(struct igbvf_dev *ivf)
{
	unsigned int q;

	for (q = 0; q < IGBVF_NR_QUEUES; q++)
		kvfree(ivf->track.rx[q].bufs);
	kfree(ivf->track.desc);
	memset(&ivf->track, 0, sizeof(ivf->track));
}

/**
 * igbvf_dirty_rx_tail() - the user writes receive queue @q's tail
 * @ivf: the open VF
 * @q: the queue
 * @rdt: the tail the user writes
 *
 * Writes it to the device, after announcing the buffers it hands over.
 *
 * Context: @lock held; the user's syscall.
 * Return: 0; or a negative errno, and the tail is not written: the
 * device gets no descriptor whose writes we could not announce.
 */
int igbvf_dirty_rx_tail(struct igbvf_dev *ivf, unsigned int q, u32 rdt)
{
	struct igbvf_rx_track *t = &ivf->track.rx[q];
	int ret;

	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
	ret = igbvf_rx_settle(ivf, q);
	if (ret)
		return igbvf_track_failed(ivf, ret);
	if (!t->count)
		return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
	if (rdt >= t->count) {
		igbvf_warn(ivf, "receive tail %u refused while tracking dirty pages: queue %u has %u descriptors\n",
			   rdt, q, t->count);
		return -EINVAL;
	}
	if (igbvf_ring_dist(t->head, rdt, t->count) >=
	    igbvf_ring_dist(t->head, t->tail, t->count)) {
		ret = igbvf_rx_begin(ivf, t, rdt);
		if (ret) {
			igbvf_warn(ivf, "receive tail %u refused: cannot track the buffers handed over: %pe\n",
				   rdt, ERR_PTR(ret));
			return igbvf_track_failed(ivf, ret);
		}
	} else {
		/* Taken back from the device: the user may rewrite them. */
		igbvf_rx_end(ivf, t, rdt, t->tail);
		t->tail = rdt;
	}
	return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
}

/**
 * igbvf_dirty_queue_changed() - the user wrote a register of queue pair @q
 * @ivf: the open VF
 * @q: the queue pair
 * @rx: a receive register (else transmit)
 *
 * A ring's base, length or buffer sizes, or the receive head, may have
 * changed: that queue's tracking starts over from what the device holds.
 *
 * Context: @lock held; the user's syscall.
 */
void igbvf_dirty_queue_changed(struct igbvf_dev *ivf, unsigned int q, bool rx)
{
	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return;
	igbvf_track_failed(ivf, rx ? igbvf_rx_restart(ivf, q) :
				     igbvf_tx_restart(ivf, q));
}

/**
 * igbvf_dirty_sync() - end the buffers the device is done with
 * @ivf: the open VF
 *
 * Before a DMA logging report, so that each written page is reported once.
 *
 * Context: @lock held; the user's syscall.
 */
void igbvf_dirty_sync(struct igbvf_dev *ivf)
{
	unsigned int q;

	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return;
	for (q = 0; q < IGBVF_NR_QUEUES; q++)
		igbvf_track_failed(ivf, igbvf_rx_settle(ivf, q));
}

/**
 * igbvf_dirty_error() - whether the VF wrote pages we could not announce
 * @ivf: the open VF
 *
 * Context: @lock held.
 * Return: 0, or the first error of tracking since it started: a save
 * must fail then, as the destination's memory may miss the VF's writes.
 */
int igbvf_dirty_error(struct igbvf_dev *ivf)
{
	lockdep_assert_held(&ivf->lock);
	return ivf->track.err;
}
