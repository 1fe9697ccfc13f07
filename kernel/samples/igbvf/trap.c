// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate, the pages of BAR0 it traps.  The first page (CTRL and
 * the mailbox) is trapped for as long as the device is open: the user's
 * resets and its requests to the PF are noted there (requests.c);
 * its driver touches it rarely.  The queue register pages (receive at
 * 0x2000, transmit at 0x3000) are trappable: a client that follows dynamic traps
 * (libvfmig) has them mmapped while nothing needs them trapped; one that
 * does not (QEMU) reaches them through ->rw() always.  They are trapped,
 * and in force, from the start of a save session or the device leaving
 * RUNNING, and while VFIO DMA logging runs; offered again once migration
 * is back in RUNNING with no session and logging stopped.
 *
 * While trapped, the user's writes to them come here (writes of part of
 * a register we watch are refused):
 *  - a receive tail goes through igbvf_dirty_rx_tail(), which announces
 *    the buffers it hands to the device before writing it;
 *  - a change of a ring's base, length or buffer sizes, a head, or a
 *    head write-back address restarts that queue's tracking, and a queue
 *    being enabled has what it will fetch announced first;
 *  - RXDCTL and TXDCTL, while the mediator holds the queues off
 *    (QUIESCED, STOPPED), are kept for RUNNING instead of reaching the
 *    device, so the user cannot restart DMA behind a stopped device.
 * Reads, and everything else, go to the device as vfio-pci would carry
 * them (naturally aligned pieces of at most 4 bytes).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uaccess.h>

#include "igbvf.h"

/**
 * igbvf_trap_open() - declare the queue pages trappable, from ->open()
 * @ivf: the VF being opened
 *
 * Return: 0 or the framework's error.
 */
int igbvf_trap_open(struct igbvf_dev *ivf)
{
	const u32 pages[] = { IGBVF_MBX_PAGE, IGBVF_RXQ_PAGE, IGBVF_TXQ_PAGE };
	unsigned int *ids[] = { &ivf->mbx_trap, &ivf->rxq_trap,
				&ivf->txq_trap };
	unsigned int i;
	int ret;

	mutex_init(&ivf->trap_lock);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ret = vfio_pci_mediate_add_trappable(ivf->vpmdev, IGBVF_BAR,
						     pages[i],
						     IGBVF_QUEUE_PAGE_SIZE);
		if (ret < 0)
			return ret;
		*ids[i] = ret;
	}
	/*
	 * Trapped from the start.  The queue pages are offered to clients
	 * that follow traps; the mailbox page never is.
	 */
	vfio_pci_mediate_untrap(ivf->vpmdev, ivf->rxq_trap);
	vfio_pci_mediate_untrap(ivf->vpmdev, ivf->txq_trap);

	/* Descriptors are read from the user's memory. */
	ivf->track.possible = vfio_pci_mediate_user_dma_access(ivf->vpmdev);
	if (ivf->track.possible)
		vfio_pci_mediate_dirty_enable_logging(ivf->vpmdev);
	return 0;
}

/* Traps both pages; once in force, tracking starts. @trap_lock. */
static int igbvf_trap_queues(struct igbvf_dev *ivf)
{
	int ret;

	ret = vfio_pci_mediate_trap(ivf->vpmdev, ivf->rxq_trap);
	if (ret >= 0)
		ret = vfio_pci_mediate_trap(ivf->vpmdev, ivf->txq_trap);
	if (ret < 0)
		return ret;
	if (!ivf->track.possible)
		return 0;
	/*
	 * Whatever the user did through the mappings before is in the
	 * registers, which tracking starts from.  A failure is kept and
	 * fails the save; the trap itself stays in force.
	 */
	mutex_lock(&ivf->lock);
	igbvf_dirty_start(ivf);
	mutex_unlock(&ivf->lock);
	return 0;
}

static void igbvf_untrap_queues(struct igbvf_dev *ivf)
{
	mutex_lock(&ivf->lock);
	igbvf_dirty_stop(ivf);
	mutex_unlock(&ivf->lock);
	vfio_pci_mediate_untrap(ivf->vpmdev, ivf->rxq_trap);
	vfio_pci_mediate_untrap(ivf->vpmdev, ivf->txq_trap);
}

/**
 * igbvf_trap_hold() - trap the queue pages for a reason
 * @ivf: the open VF
 * @why: IGBVF_TRAP_*
 *
 * Returns once the trap is in force.  Whether tracking the VF's writes
 * started is igbvf_dirty_error()'s to say.
 *
 * Context: @trap_lock and @lock not held; may wait for the user.
 * Return: 0, -EINTR if killed, or the framework's error.
 */
int igbvf_trap_hold(struct igbvf_dev *ivf, unsigned int why)
{
	unsigned int was;
	int ret = 0;

	if (mutex_lock_killable(&ivf->trap_lock))
		return -EINTR;
	was = ivf->trap_holds;
	ivf->trap_holds |= why;
	if (!was) {
		ret = igbvf_trap_queues(ivf);
		if (ret) {
			ivf->trap_holds = was;
			igbvf_untrap_queues(ivf);
		}
	}
	mutex_unlock(&ivf->trap_lock);
	return ret;
}

/**
 * igbvf_trap_release() - drop a reason; the last one offers the pages
 * @ivf: the open VF
 * @why: IGBVF_TRAP_*
 *
 * Context: @trap_lock and @lock not held.
 */
void igbvf_trap_release(struct igbvf_dev *ivf, unsigned int why)
{
	mutex_lock(&ivf->trap_lock);
	if (ivf->trap_holds & why) {
		ivf->trap_holds &= ~why;
		if (!ivf->trap_holds)
			igbvf_untrap_queues(ivf);
	}
	mutex_unlock(&ivf->trap_lock);
}

/**
 * igbvf_trap_migration_over() - migration no longer needs the trap
 * @ivf: the open VF
 *
 * Once the device is RUNNING without a save session.
 *
 * Context: @trap_lock and @lock not held.
 */
void igbvf_trap_migration_over(struct igbvf_dev *ivf)
{
	bool over;

	mutex_lock(&ivf->lock);
	over = ivf->run_state == VFIO_PCI_MEDIATE_RUNNING && !ivf->saving;
	mutex_unlock(&ivf->lock);
	if (over)
		igbvf_trap_release(ivf, IGBVF_TRAP_MIGRATION);
}

/*
 * A queue control register write: kept while the queues are held off
 * (the hold gives it to the device at RUNNING), else written, what the
 * queue will fetch announced first.  ivf->lock held.
 */
static int igbvf_queue_ctl_write(struct igbvf_dev *ivf, unsigned int q,
				 bool rx, u32 val)
{
	u32 reg = rx ? IGBVF_RXDCTL(q) : IGBVF_TXDCTL(q);

	if (ivf->held) {
		if (rx)
			ivf->rxdctl[q] = val;
		else
			ivf->txdctl[q] = val;
		return igbvf_wr(ivf, reg, val & ~IGBVF_QUEUE_ENABLE);
	}
	if (val & IGBVF_QUEUE_ENABLE)
		igbvf_dirty_queue_enabling(ivf, q, rx);
	return igbvf_wr(ivf, reg, val);
}

/*
 * Whether @offset, in a queue page, lies in the registers of one of the
 * VF's queues; if so, which (*@q).
 */
static bool igbvf_queue_block(loff_t offset, u32 *q)
{
	const u32 first = IGBVF_RDBAL(0) - IGBVF_RXQ_PAGE;
	u32 in_page = offset % IGBVF_QUEUE_PAGE_SIZE;

	if (in_page < first ||
	    in_page >= first + IGBVF_NR_QUEUES * IGBVF_QUEUE_STRIDE)
		return false;
	*q = (in_page - first) / IGBVF_QUEUE_STRIDE;
	return true;
}

/* A 4-byte write at @reg, a register of the queue pages.  @lock. */
static int igbvf_queue_reg_write(struct igbvf_dev *ivf, u32 reg, u32 val)
{
	bool rx = reg < IGBVF_TXQ_PAGE;
	u32 q;
	int ret;

	if (!igbvf_queue_block(reg, &q))
		return igbvf_wr(ivf, reg, val);
	switch (reg - q * IGBVF_QUEUE_STRIDE) {
	case IGBVF_RDT(0):
		return igbvf_dirty_rx_tail(ivf, q, val);
	case IGBVF_RXDCTL(0):
		return igbvf_queue_ctl_write(ivf, q, true, val);
	case IGBVF_TXDCTL(0):
		return igbvf_queue_ctl_write(ivf, q, false, val);
	case IGBVF_RDBAL(0):
	case IGBVF_RDBAH(0):
	case IGBVF_RDLEN(0):
	case IGBVF_SRRCTL(0):
	case IGBVF_RDH(0):
	case IGBVF_TDBAL(0):
	case IGBVF_TDBAH(0):
	case IGBVF_TDLEN(0):
	case IGBVF_TDH(0):
	case IGBVF_TDWBAL(0):
	case IGBVF_TDWBAH(0):
		ret = igbvf_wr(ivf, reg, val);
		if (!ret)
			igbvf_dirty_queue_changed(ivf, q, rx);
		return ret;
	}
	return igbvf_wr(ivf, reg, val);
}

/*
 * A 4-byte write at @reg in the mailbox page: a reset forgets the user's
 * requests to the PF; a request is read when the user hands it over and
 * noted when the user takes the PF's ACK of it.  ivf->lock held.
 */
static int igbvf_mbx_reg_write(struct igbvf_dev *ivf, u32 reg, u32 val)
{
	unsigned int i;
	u32 answer;
	int ret = 0;

	if (reg == IGBVF_CTRL && (val & IGBVF_CTRL_RST)) {
		igbvf_requests_forget(ivf);
		ret = igbvf_wr(ivf, reg, val);
		/* The reset cleared the queues behind the tracker. */
		igbvf_dirty_refresh(ivf);
		return ret;
	}
	if (reg != IGBVF_V2PMAILBOX)
		return igbvf_wr(ivf, reg, val);
	if (val & IGBVF_MBX_REQ) {
		/* The request, as the user hands it to the PF. */
		for (i = 0; !ret && i < IGBVF_MBX_WORDS; i++)
			ret = igbvf_rd(ivf, IGBVF_VMBMEM(i), &ivf->pending[i]);
		ivf->pending_valid = !ret;
	} else if ((val & IGBVF_MBX_ACK) && ivf->pending_valid) {
		/* The user takes the PF's answer: kept if it is an ACK. */
		ret = igbvf_rd(ivf, IGBVF_VMBMEM(0), &answer);
		if (!ret && (answer & IGBVF_MSG_ACK) &&
		    (answer & IGBVF_MSG_TYPE) ==
		    (ivf->pending[0] & IGBVF_MSG_TYPE))
			igbvf_requests_note(ivf, ivf->pending);
		ivf->pending_valid = false;
	}
	return ret ?: igbvf_wr(ivf, reg, val);
}

/* Whether @offset of BAR0 lies in a page we may trap. */
static bool igbvf_in_trapped_page(loff_t offset)
{
	return offset < IGBVF_MBX_PAGE + IGBVF_QUEUE_PAGE_SIZE ||
	       (offset >= IGBVF_RXQ_PAGE &&
		offset < IGBVF_TXQ_PAGE + IGBVF_QUEUE_PAGE_SIZE);
}

/*
 * Whether @offset lies in a register whose writes we must see whole:
 * CTRL, the mailbox register, the queue registers.
 */
static bool igbvf_watched(loff_t offset)
{
	u32 q;

	if (offset < IGBVF_MBX_PAGE + IGBVF_QUEUE_PAGE_SIZE)
		return ALIGN_DOWN(offset, 4) == IGBVF_CTRL ||
		       ALIGN_DOWN(offset, 4) == IGBVF_V2PMAILBOX;
	return igbvf_in_trapped_page(offset) && igbvf_queue_block(offset, &q);
}

/**
 * igbvf_trap_rw() - the mediator's ->rw: writes to the queue pages
 * @handle: the open VF
 * @index: the region
 * @buf: the user's buffer
 * @count: bytes
 * @offset: in the region, inside it (the framework checked)
 * @iswrite: a write
 * @pt: set for what vfio-pci does itself
 *
 * Context: the user's syscall; may run concurrently with itself.
 * Return: bytes done, or a negative errno if none was.
 */
ssize_t igbvf_trap_rw(void *handle, unsigned int index, char __user *buf,
		      size_t count, loff_t offset, bool iswrite, bool *pt)
{
	struct igbvf_dev *ivf = handle;
	size_t done = 0, piece;
	__le32 data;
	int ret = 0;

	/* BAR0's one page we never trap lies between those we may. */
	if (index != IGBVF_BAR || !iswrite ||
	    (offset >= IGBVF_MBX_PAGE + IGBVF_QUEUE_PAGE_SIZE &&
	     offset + count <= IGBVF_RXQ_PAGE)) {
		*pt = true;
		return 0;
	}
	while (done < count) {
		loff_t off = offset + done;

		piece = vfio_pci_mediate_rw_piece(off, count - done);
		if (copy_from_user(&data, buf + done, piece)) {
			ret = -EFAULT;
			break;
		}
		/*
		 * The 82576's registers are 32 bits, accessed as such by
		 * every driver: a part of one we must see is refused.
		 */
		if (piece != 4 && igbvf_watched(off)) {
			ret = -EINVAL;
			break;
		}
		if (mutex_lock_killable(&ivf->lock)) {
			ret = -EINTR;
			break;
		}
		if (piece != 4 || !igbvf_in_trapped_page(off))
			ret = vfio_pci_mediate_bar_write(ivf->vpmdev, IGBVF_BAR,
							 off, &data, piece);
		else if (off < IGBVF_MBX_PAGE + IGBVF_QUEUE_PAGE_SIZE)
			ret = igbvf_mbx_reg_write(ivf, off, le32_to_cpu(data));
		else
			ret = igbvf_queue_reg_write(ivf, off,
						    le32_to_cpu(data));
		mutex_unlock(&ivf->lock);
		if (ret)
			break;
		done += piece;
	}
	return done ? done : ret;
}
