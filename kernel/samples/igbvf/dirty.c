// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate, the pages the VF writes by DMA, the seed's way: while a
 * migration or VFIO DMA logging needs them, the queue register pages are
 * trapped (trap.c), and every receive tail the user writes passes
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
 * Consistency: while tracking runs, RDT changes only through us (writes
 * of part of a queue register are refused, and the mediator's own writes
 * at a reset or a load are followed by a restart), so the device's RDT
 * is the end of our window and its RDH lies inside it.  If either is not
 * so (a VF reset through CTRL, which only the device sees through), or a
 * ring register changed, the queue's tracking starts over from what the
 * device holds: [RDH, RDT) is read and announced again, then what was
 * announced before ends.  A guest that rewrites a descriptor the device
 * owns, or a ring while its queue runs, makes the device write where it
 * was not told to, on real hardware too; its own memory is what it
 * corrupts.
 *
 * Reading descriptors needs the user's memory (vfio-pci-mediate's
 * user_dma_access); without it nothing is tracked, no DMA logging is
 * offered, and type1 reports every page dirty.  What cannot be tracked
 * on a running queue (a ring of more than IGBVF_TRACK_MAX_DESC
 * descriptors, a head beyond the ring, a failure to announce) is kept as
 * an error until tracking stops: the save fails, and so does every DMA
 * logging report.  A receive tail whose buffers could not all be
 * announced is held at the last one that was.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sizes.h>

#include "igbvf.h"

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
		vfio_pci_mediate_dirty_end(ivf->vpmdev, t->bufs[from].pkt,
					   t->pkt_len);
		if (t->hdr_len)
			vfio_pci_mediate_dirty_end(ivf->vpmdev,
						   t->bufs[from].hdr,
						   t->hdr_len);
	}
}

static int igbvf_rx_begin_one(struct igbvf_dev *ivf, struct igbvf_rx_track *t,
			      const __le64 *desc, u32 i)
{
	int ret;

	t->bufs[i].pkt = le64_to_cpu(desc[0]);
	t->bufs[i].hdr = le64_to_cpu(desc[1]);
	ret = vfio_pci_mediate_dirty_begin(ivf->vpmdev, t->bufs[i].pkt,
					   t->pkt_len);
	if (ret || !t->hdr_len)
		return ret;
	ret = vfio_pci_mediate_dirty_begin(ivf->vpmdev, t->bufs[i].hdr,
					   t->hdr_len);
	if (ret)
		vfio_pci_mediate_dirty_end(ivf->vpmdev, t->bufs[i].pkt,
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
		ret = vfio_pci_mediate_dma_rw(ivf->vpmdev,
					      t->ring + t->tail * IGBVF_DESC_SIZE,
					      ivf->track.desc,
					      n * IGBVF_DESC_SIZE, false);
		if (ret)
			return ret;
		cond_resched();
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
	if (t->count) {
		igbvf_rx_end(ivf, t, t->head, t->tail);
		vfio_pci_mediate_dirty_end(ivf->vpmdev, t->ring,
					   t->count * IGBVF_DESC_SIZE);
	}
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
 * A ring as the device uses it: QEMU's model keeps more low bits of the
 * base and length than the 82576 (which ignores those below bit 7), so
 * take what the device reads back, down to a descriptor.
 */
static u64 igbvf_ring_base(u32 bah, u32 bal)
{
	return igbvf_iova(bah, bal, IGBVF_DESC_SIZE - 1);
}

static u32 igbvf_ring_count(u32 len)
{
	return (len & IGBVF_RING_LEN_DEV) / IGBVF_DESC_SIZE;
}

/*
 * Whether queue control register @ctl_reg is enabled as the user has it:
 * while the queues are held off, the user's value is @kept.  @lock.
 */
static int igbvf_queue_enabled(struct igbvf_dev *ivf, u32 ctl_reg, u32 kept,
			       bool *enabled)
{
	u32 ctl;
	int ret = 0;

	if (ivf->held)
		ctl = kept;
	else
		ret = igbvf_rd(ivf, ctl_reg, &ctl);
	*enabled = ctl & IGBVF_QUEUE_ENABLE;
	return ret;
}

/*
 * Receive queue @q's tracking from scratch, from what the device holds:
 * its ring, and the buffers of [RDH, RDT), announced before what was
 * announced so far ends.  The device fetches nothing when RDT lies beyond
 * the ring (QEMU's model takes the ring for empty) or the queue is off
 * (@enabled, as the user has it); otherwise a ring too large to track or
 * a head beyond it is an error: the device writes what we cannot tell.
 * @lock.
 */
static int igbvf_rx_restart_as(struct igbvf_dev *ivf, unsigned int q,
			       bool enabled)
{
	struct igbvf_rx_track *t = &ivf->track.rx[q], nt = { 0 };
	u32 bal, bah, len, srrctl, rdh, rdt, count;
	int ret;

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
	count = igbvf_ring_count(len);
	rdh &= IGBVF_RING_POS;
	rdt &= IGBVF_RING_POS;
	if (!count)
		goto out_forget;
	if (count > IGBVF_TRACK_MAX_DESC || rdh >= count) {
		if (!enabled)
			goto out_forget;
		igbvf_warn(ivf, "cannot track dirty pages: receive queue %u has %u descriptors (at most %u tracked), head %u\n",
			   q, count, IGBVF_TRACK_MAX_DESC, rdh);
		ret = count > IGBVF_TRACK_MAX_DESC ? -E2BIG : -EINVAL;
		goto out_forget;
	}

	nt.bufs = kvcalloc(count, sizeof(*nt.bufs), GFP_KERNEL_ACCOUNT);
	if (!nt.bufs) {
		ret = -ENOMEM;
		goto out_forget;
	}
	nt.ring = igbvf_ring_base(bah, bal);
	ret = vfio_pci_mediate_dirty_begin(ivf->vpmdev, nt.ring,
					   count * IGBVF_DESC_SIZE);
	if (ret) {
		kvfree(nt.bufs);
		nt.bufs = NULL;
		goto out_forget;
	}
	nt.count = count;
	igbvf_rx_buf_sizes(srrctl, &nt.pkt_len, &nt.hdr_len);
	nt.head = rdh;
	nt.tail = rdh;
	/*
	 * A tail beyond the ring makes QEMU's model take the ring for empty:
	 * nothing to announce until the tail comes back into it.  On error,
	 * what was announced of the new window stays so.
	 */
	if (rdt < count)
		ret = igbvf_rx_begin(ivf, &nt, rdt);
out_forget:
	igbvf_rx_forget(ivf, t);
	*t = nt;
	return ret;
}

static int igbvf_rx_restart(struct igbvf_dev *ivf, unsigned int q)
{
	bool enabled;
	int ret;

	ret = igbvf_queue_enabled(ivf, IGBVF_RXDCTL(q), ivf->rxdctl[q],
				  &enabled);
	return ret ?: igbvf_rx_restart_as(ivf, q, enabled);
}

/* Whether the device's @rdh and @rdt are what our window expects. */
static bool igbvf_rx_in_step(const struct igbvf_rx_track *t, u32 rdh, u32 rdt)
{
	rdh &= IGBVF_RING_POS;
	rdt &= IGBVF_RING_POS;
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
	rdh &= IGBVF_RING_POS;
	igbvf_rx_end(ivf, t, t->head, rdh);
	t->head = rdh;
	return 0;
}

/*
 * Announces transmit queue @q's ring and head write-back, before what was
 * announced so far ends.  A head beyond the ring makes the device write
 * back a descriptor there before it wraps: an error while the queue is
 * on (@enabled, as the user has it).  @lock.
 */
static int igbvf_tx_restart_as(struct igbvf_dev *ivf, unsigned int q,
			       bool enabled)
{
	struct igbvf_tx_track *t = &ivf->track.tx[q], old = *t;
	u32 bal, bah, len, wbal, wbah, tdh, count;
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
	if (!ret)
		ret = igbvf_rd(ivf, IGBVF_TDH(q), &tdh);
	if (ret)
		return ret;

	memset(t, 0, sizeof(*t));
	count = igbvf_ring_count(len);
	if (count) {
		t->ring = igbvf_ring_base(bah, bal);
		ret = vfio_pci_mediate_dirty_begin(ivf->vpmdev, t->ring,
						   count * IGBVF_DESC_SIZE);
		if (!ret)
			t->ring_len = count * IGBVF_DESC_SIZE;
	}
	if (!ret && (wbal & IGBVF_TDWBAL_ENABLE)) {
		t->wb = igbvf_iova(wbah, wbal, IGBVF_TDWBAL_ALIGN - 1);
		ret = vfio_pci_mediate_dirty_begin(ivf->vpmdev, t->wb,
						   sizeof(u32));
		t->wb_on = !ret;
	}
	tdh &= IGBVF_RING_POS;
	if (!ret && enabled && count && tdh >= count) {
		igbvf_warn(ivf, "cannot track dirty pages: transmit queue %u's head %u lies beyond its %u descriptors\n",
			   q, tdh, count);
		ret = -EINVAL;
	}
	if (old.ring_len)
		vfio_pci_mediate_dirty_end(ivf->vpmdev, old.ring, old.ring_len);
	if (old.wb_on)
		vfio_pci_mediate_dirty_end(ivf->vpmdev, old.wb, sizeof(u32));
	return ret;
}

static int igbvf_tx_restart(struct igbvf_dev *ivf, unsigned int q)
{
	bool enabled;
	int ret;

	ret = igbvf_queue_enabled(ivf, IGBVF_TXDCTL(q), ivf->txdctl[q],
				  &enabled);
	return ret ?: igbvf_tx_restart_as(ivf, q, enabled);
}

static void igbvf_tx_forget(struct igbvf_dev *ivf, struct igbvf_tx_track *t)
{
	if (t->ring_len)
		vfio_pci_mediate_dirty_end(ivf->vpmdev, t->ring, t->ring_len);
	if (t->wb_on)
		vfio_pci_mediate_dirty_end(ivf->vpmdev, t->wb, sizeof(u32));
	memset(t, 0, sizeof(*t));
}

/* Keeps the first error: it fails the save and DMA logging reports. */
static int igbvf_track_failed(struct igbvf_dev *ivf, int ret)
{
	if (ret && !ivf->track.err)
		ivf->track.err = ret;
	return ret;
}

/* Every queue's tracking from scratch.  ivf->lock held. */
static void igbvf_restart_all(struct igbvf_dev *ivf)
{
	unsigned int q;

	for (q = 0; q < IGBVF_NR_QUEUES; q++) {
		igbvf_track_failed(ivf, igbvf_rx_restart(ivf, q));
		igbvf_track_failed(ivf, igbvf_tx_restart(ivf, q));
	}
}

/**
 * igbvf_dirty_start() - start announcing what the VF writes
 * @ivf: the open VF, whose queue pages are trapped now
 *
 * Whatever fails is kept for igbvf_dirty_error(): the trap stays, the
 * save fails.
 *
 * Context: ivf->lock held; the user's syscall (reads the user's memory).
 */
void igbvf_dirty_start(struct igbvf_dev *ivf)
{
	lockdep_assert_held(&ivf->lock);
	if (ivf->track.on)
		return;
	ivf->track.on = true;
	ivf->track.err = 0;
	igbvf_restart_all(ivf);
}

/**
 * igbvf_dirty_stop() - stop announcing; end everything announced
 * @ivf: the open VF
 *
 * Context: ivf->lock held.
 */
void igbvf_dirty_stop(struct igbvf_dev *ivf)
{
	unsigned int q;

	lockdep_assert_held(&ivf->lock);
	for (q = 0; q < IGBVF_NR_QUEUES; q++) {
		igbvf_rx_forget(ivf, &ivf->track.rx[q]);
		igbvf_tx_forget(ivf, &ivf->track.tx[q]);
	}
	ivf->track.on = false;
}

/**
 * igbvf_dirty_refresh() - the mediator rewrote the VF's queue registers
 * @ivf: the open VF, after a reset or a loaded state went in
 *
 * Context: ivf->lock held; the user's syscall.
 */
void igbvf_dirty_refresh(struct igbvf_dev *ivf)
{
	lockdep_assert_held(&ivf->lock);
	if (ivf->track.on)
		igbvf_restart_all(ivf);
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
	memset(&ivf->track, 0, sizeof(ivf->track));
}

/**
 * igbvf_dirty_rx_tail() - the user writes receive queue @q's tail
 * @ivf: the open VF
 * @q: the queue
 * @rdt: the tail the user writes
 *
 * Writes it to the device, after announcing the buffers it hands over.
 * What cannot be announced, or a tail moved back, is kept as an error.
 *
 * Context: ivf->lock held; the user's syscall.
 * Return: 0 or the error of a register access.
 */
int igbvf_dirty_rx_tail(struct igbvf_dev *ivf, unsigned int q, u32 rdt)
{
	struct igbvf_rx_track *t = &ivf->track.rx[q];
	u32 pos = rdt & IGBVF_RING_POS;	/* what the device keeps */
	int ret;

	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
	igbvf_track_failed(ivf, igbvf_rx_settle(ivf, q));
	/*
	 * No ring, or one we cannot track (the error is kept if the queue
	 * runs), or a tail beyond it (the device takes nothing): nothing to
	 * announce now; the next settle starts over from the registers.
	 */
	if (!t->count || pos >= t->count)
		return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
	if (igbvf_ring_dist(t->head, pos, t->count) <
	    igbvf_ring_dist(t->head, t->tail, t->count)) {
		/*
		 * Taken back from the device, which no driver does: a real
		 * 82576 may have fetched those descriptors.  Nothing ends;
		 * the error fails the save.
		 */
		igbvf_warn(ivf, "receive tail of queue %u moved back from %u to %u while tracking dirty pages\n",
			   q, t->tail, pos);
		igbvf_track_failed(ivf, -EINVAL);
		return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
	}
	ret = igbvf_rx_begin(ivf, t, pos);
	cond_resched();
	if (ret) {
		igbvf_warn(ivf, "cannot announce the buffers of receive queue %u up to %u: %pe\n",
			   q, pos, ERR_PTR(ret));
		igbvf_track_failed(ivf, ret);
	}
	/* The error fails the save: the user's tail goes in all the same. */
	return igbvf_wr(ivf, IGBVF_RDT(q), rdt);
}

/**
 * igbvf_dirty_queue_changed() - the user wrote a register of queue pair @q
 * @ivf: the open VF
 * @q: the queue pair
 * @rx: a receive register (else transmit)
 *
 * A ring's base, length or buffer sizes, a head or a head write-back may
 * have changed: that queue's tracking starts over from what the device
 * holds.  A driver changes those with the queue off; on a running queue
 * the device may have used them before this, which is kept as an error.
 *
 * Context: ivf->lock held; the user's syscall.
 */
void igbvf_dirty_queue_changed(struct igbvf_dev *ivf, unsigned int q, bool rx)
{
	bool enabled;

	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return;
	if (igbvf_queue_enabled(ivf, rx ? IGBVF_RXDCTL(q) : IGBVF_TXDCTL(q),
				rx ? ivf->rxdctl[q] : ivf->txdctl[q],
				&enabled) || enabled) {
		/* The device may have used it before we could announce. */
		igbvf_warn(ivf, "%s queue %u's ring changed while it runs, tracking dirty pages\n",
			   rx ? "receive" : "transmit", q);
		igbvf_track_failed(ivf, -EBUSY);
	}
	igbvf_track_failed(ivf, rx ? igbvf_rx_restart(ivf, q) :
				     igbvf_tx_restart(ivf, q));
}

/**
 * igbvf_dirty_queue_enabling() - the user is about to turn queue @q on
 * @ivf: the open VF
 * @q: the queue pair
 * @rx: the receive queue (else transmit)
 *
 * Called before the write: what the device will fetch is announced
 * before it can.
 *
 * Context: ivf->lock held; the user's syscall.
 */
void igbvf_dirty_queue_enabling(struct igbvf_dev *ivf, unsigned int q,
				bool rx)
{
	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return;
	igbvf_track_failed(ivf, rx ? igbvf_rx_restart_as(ivf, q, true) :
				     igbvf_tx_restart_as(ivf, q, true));
}

/**
 * igbvf_dirty_sync() - end the buffers the device is done with
 * @ivf: the open VF
 *
 * Before a DMA logging report, so that each written page is reported once.
 *
 * Context: ivf->lock held; the user's syscall.
 * Return: 0, or the first error of tracking since it started: the report
 * must fail then, as it may miss the VF's writes.
 */
int igbvf_dirty_sync(struct igbvf_dev *ivf)
{
	unsigned int q;

	lockdep_assert_held(&ivf->lock);
	if (!ivf->track.on)
		return 0;
	for (q = 0; q < IGBVF_NR_QUEUES; q++)
		igbvf_track_failed(ivf, igbvf_rx_settle(ivf, q));
	return ivf->track.err;
}

/**
 * igbvf_dirty_error() - whether the VF wrote pages we could not announce
 * @ivf: the open VF
 *
 * Context: ivf->lock held.
 * Return: 0, or the first error of tracking since it started: a save
 * must fail then, as the destination's memory may miss the VF's writes.
 */
int igbvf_dirty_error(struct igbvf_dev *ivf)
{
	lockdep_assert_held(&ivf->lock);
	return ivf->track.err;
}
