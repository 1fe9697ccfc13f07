// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate: a PF-centric mediator for the virtual functions of the
 * Intel 82576 (igb), the seed's SR-IOV scenario on a NIC QEMU emulates.
 *
 * It never binds anything.  vfio-pci-mediate binds the VF and offers each
 * open to this module, which takes a VF (8086:10ca) whose PF is driven by
 * Linux's igb; one module serves every such VF and is loaded by alias on
 * the first open.  The VF stays passthrough, but for the pages of BAR0
 * that hold the queue registers, which are trapped while migrating
 * (trap.c) so that the mediator sees what the VF is told to do and
 * can announce the pages it will write (dirty.c).
 *
 * What moves with the VF:
 *  - its configuration kept in the PF (MAC, port VLAN and QoS, transmit
 *    rate, spoof check, trust: pf.c), read and set through the PF
 *    netdev's VF operations.  Setting it is a host administrator's
 *    privilege, and the migration stream comes from the device's user:
 *    so unless apply_pf_config is on, a destination VF must already have
 *    the source's configuration (the orchestrator sets it, as for any VF
 *    it hands to a guest), and a stream that says otherwise is refused.
 *    apply_pf_config is for hosts whose VMM is trusted: what a load set
 *    stays set after a failed load, a reset or the close (it is not
 *    rolled back), the stream may give a VF another VF's MAC, trust or no
 *    spoof check, and igb logs every change;
 *  - the registers the VF's driver programs: both queue pairs (ring base,
 *    length, head, tail, SRRCTL, RXDCTL/TXDCTL, DCA control, TX head
 *    write-back), interrupt routing (IVAR) and throttling (EITR), auto
 *    clear and auto mask, PSRTYPE.  MSI-X is the VMM's.
 *
 * On the destination, before those registers go in, the mediator resets
 * the VF and does the handshake a VF driver does at start with the PF
 * (mbx.c): the PF serves a VF's mailbox and enables its receive and
 * transmit only after it.  Then the requests the guest's driver made to
 * the PF since its own reset (multicast list, VLAN filters, promiscuous
 * mode, long frame limit, a MAC it chose itself), noted on the source as
 * they went through the trapped mailbox page, are made again
 * (requests.c), so that multicast (IPv6 neighbour discovery) and
 * VLAN traffic keep reaching it.  A mailbox message in flight at the
 * switch-over is lost; igbvf times out and resets the VF.
 *
 * Stopping (RUNNING -> QUIESCED, the P2P states): the interrupts are
 * masked and each queue is disabled, its disable awaited, so QUIESCED
 * already means no DMA.  Frames given to the device and not sent yet stay
 * in the ring and go once the queue runs again, on the destination if it
 * migrated.
 * Frames that reach the VF while its receive queues are off are dropped
 * by the device, as on a real 82576: the guest sees them lost.  Back in
 * RUNNING, the queues are enabled as the user had them, their tails are
 * written again so that the device looks at the rings, and every vector
 * is unmasked and raised once.  The mask itself is not carried because
 * QEMU's model reads back the last value written to EIMS, not the mask;
 * an extra interrupt is harmless to a driver, a lost one is not.
 *
 * Device state is struct igbvf_state (igbvf.h), versioned; the
 * framework's stream refuses one from another device kind before we see
 * it.  What the device writes by DMA is announced while migrating
 * (dirty.c); a save fails rather than miss a page.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "igbvf.h"

#define PCI_DEVICE_ID_INTEL_82576_VF	0x10ca

/* How long a queue may take to stop (igbvf waits 10 ms for RX). */
#define IGBVF_STOP_WAIT_MS	100
#define IGBVF_STOP_POLL_US	100

static bool apply_pf_config;
module_param(apply_pf_config, bool, 0644);
MODULE_PARM_DESC(apply_pf_config,
		 "Set a loaded state's VF configuration (MAC, VLAN, rate, spoof check, trust) on the destination VF through its PF. Off (default): the host sets it, and a state whose configuration differs is refused. On lets whoever holds the device choose these, which are the host's to choose. Read at each open.");

/**
 * igbvf_rd() - read a VF register through the framework
 * @ivf: the open VF
 * @reg: offset in BAR0
 * @val: the value
 *
 * Return: 0 or the framework's error (see vfio_pci_mediate_bar_read()).
 */
int igbvf_rd(struct igbvf_dev *ivf, u32 reg, u32 *val)
{
	return vfio_pci_mediate_bar_read32(ivf->vpmdev, IGBVF_BAR, reg, val);
}

/**
 * igbvf_wr() - write a VF register through the framework
 * @ivf: the open VF
 * @reg: offset in BAR0
 * @val: the value
 *
 * Return: 0 or the framework's error (see vfio_pci_mediate_bar_write()).
 */
int igbvf_wr(struct igbvf_dev *ivf, u32 reg, u32 val)
{
	return vfio_pci_mediate_bar_write32(ivf->vpmdev, IGBVF_BAR, reg, val);
}

/**
 * igbvf_poll_pause() - one pause of a bounded, killable poll
 * @deadline: in jiffies, when the poll gives up
 * @poll_us: the pause
 *
 * The callers are the device user's syscalls: every wait on the device or
 * the PF is bounded, and ends when the user is killed.
 *
 * Return: 0 after the pause, -ETIMEDOUT past @deadline, -EINTR if killed.
 */
int igbvf_poll_pause(unsigned long deadline, unsigned int poll_us)
{
	if (time_after(jiffies, deadline))
		return -ETIMEDOUT;
	if (fatal_signal_pending(current))
		return -EINTR;
	usleep_range(poll_us, 2 * poll_us);
	return 0;
}

/* Waits until (@reg & @mask) == @want, at most IGBVF_STOP_WAIT_MS. */
static int igbvf_wait_reg(struct igbvf_dev *ivf, u32 reg, u32 mask, u32 want)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(IGBVF_STOP_WAIT_MS);
	u32 val;
	int ret;

	do {
		ret = igbvf_rd(ivf, reg, &val);
		if (ret || (val & mask) == want)
			return ret;
	} while (!(ret = igbvf_poll_pause(deadline, IGBVF_STOP_POLL_US)));
	return ret;
}

/**
 * igbvf_vf_reset() - the VF's queue and interrupt reset
 * @ivf: the open VF
 *
 * It disables the VF's queues and tells the PF, which forgets the VF
 * until its next reset handshake, as after an FLR.
 *
 * Return: 0 or the error of a register access.
 */
int igbvf_vf_reset(struct igbvf_dev *ivf)
{
	u32 ctrl;
	int ret;

	ret = igbvf_rd(ivf, IGBVF_CTRL, &ctrl);
	return ret ?: igbvf_wr(ivf, IGBVF_CTRL, ctrl | IGBVF_CTRL_RST);
}

/*
 * Stops a queue whose control register @ctl_reg holds @ctl.  The disable
 * takes effect once it reads back clear: the device has then finished its
 * descriptor fetches and write-backs.
 */
static int igbvf_queue_stop(struct igbvf_dev *ivf, u32 ctl_reg, u32 ctl)
{
	int ret;

	if (!(ctl & IGBVF_QUEUE_ENABLE))
		return 0;
	ret = igbvf_wr(ivf, ctl_reg, ctl & ~IGBVF_QUEUE_ENABLE);
	return ret ?: igbvf_wait_reg(ivf, ctl_reg, IGBVF_QUEUE_ENABLE, 0);
}

/*
 * Gives a queue its control register value @ctl back.  A running queue's
 * enable takes effect once it reads back set (82576 7.1.4.4); its tail is
 * then written again so that the device looks at the ring.
 */
static int igbvf_queue_start(struct igbvf_dev *ivf, u32 ctl_reg, u32 ctl,
			     u32 tail_reg)
{
	u32 tail;
	int ret;

	ret = igbvf_wr(ivf, ctl_reg, ctl);
	if (ret || !(ctl & IGBVF_QUEUE_ENABLE))
		return ret;
	ret = igbvf_wait_reg(ivf, ctl_reg, IGBVF_QUEUE_ENABLE,
			     IGBVF_QUEUE_ENABLE);
	if (!ret)
		ret = igbvf_rd(ivf, tail_reg, &tail);
	return ret ?: igbvf_wr(ivf, tail_reg, tail);
}

/* Masks the interrupts and stops the queues: no DMA from here on.  @lock. */
static int igbvf_hold(struct igbvf_dev *ivf)
{
	unsigned int q;
	int ret;

	if (ivf->held)
		return 0;
	ret = igbvf_wr(ivf, IGBVF_EIMC, IGBVF_EIMS_ALL);
	for (q = 0; !ret && q < IGBVF_NR_QUEUES; q++) {
		ret = igbvf_rd(ivf, IGBVF_RXDCTL(q), &ivf->rxdctl[q]);
		if (!ret)
			ret = igbvf_rd(ivf, IGBVF_TXDCTL(q), &ivf->txdctl[q]);
	}
	if (ret)
		return ret;
	/* From here on, RUNNING gives the user its values back. */
	ivf->held = true;

	/*
	 * Transmit is not drained: what the device has not sent stays
	 * between head and tail, and goes once the queue runs again (here
	 * or on the destination).  Waiting for it could wait forever (PF
	 * or link down).
	 */
	for (q = 0; !ret && q < IGBVF_NR_QUEUES; q++) {
		ret = igbvf_queue_stop(ivf, IGBVF_RXDCTL(q), ivf->rxdctl[q]);
		if (!ret)
			ret = igbvf_queue_stop(ivf, IGBVF_TXDCTL(q),
					       ivf->txdctl[q]);
	}
	if (ret == -ETIMEDOUT)
		igbvf_warn(ivf, "cannot stop: queue pair %u did not stop within %u ms\n",
			   q - 1, IGBVF_STOP_WAIT_MS);
	return ret;
}

/*
 * Gives the device back to the user: queues as the user programmed them,
 * tails written again so that the device looks at the rings, and every
 * vector unmasked and raised once (see the top of this file).  @lock.
 */
static int igbvf_release_hold(struct igbvf_dev *ivf)
{
	unsigned int q;
	int ret = 0;

	if (!ivf->held)
		return 0;
	for (q = 0; !ret && q < IGBVF_NR_QUEUES; q++) {
		/* What a queue will fetch is announced before it runs. */
		if (ivf->rxdctl[q] & IGBVF_QUEUE_ENABLE)
			igbvf_dirty_queue_enabling(ivf, q, true);
		ret = igbvf_queue_start(ivf, IGBVF_RXDCTL(q), ivf->rxdctl[q],
					IGBVF_RDT(q));
		if (ret)
			break;
		if (ivf->txdctl[q] & IGBVF_QUEUE_ENABLE)
			igbvf_dirty_queue_enabling(ivf, q, false);
		ret = igbvf_queue_start(ivf, IGBVF_TXDCTL(q), ivf->txdctl[q],
					IGBVF_TDT(q));
	}
	if (!ret)
		ret = igbvf_wr(ivf, IGBVF_EIMS, IGBVF_EIMS_ALL);
	if (!ret)
		ret = igbvf_wr(ivf, IGBVF_EICS, IGBVF_EIMS_ALL);
	if (!ret)
		ivf->held = false;
	return ret;
}

struct igbvf_reg_field {
	u32 reg;
	size_t field;	/* offset in struct igbvf_queue_state */
};

#define IGBVF_QF(name, REG) \
	{ REG(0), offsetof(struct igbvf_queue_state, name) }

/*
 * A queue's registers, in the order they are restored: rings before
 * heads and tails, heads before tails.  RXDCTL and TXDCTL are not here:
 * they are held (igbvf_hold()) and given back (igbvf_release_hold()).
 * Queue n's register is at REG(0) + 0x100 * n.
 */
static const struct igbvf_reg_field igbvf_queue_regs[] = {
	IGBVF_QF(rdbal, IGBVF_RDBAL), IGBVF_QF(rdbah, IGBVF_RDBAH),
	IGBVF_QF(rdlen, IGBVF_RDLEN), IGBVF_QF(srrctl, IGBVF_SRRCTL),
	IGBVF_QF(rxctl, IGBVF_RXCTL), IGBVF_QF(rdh, IGBVF_RDH),
	IGBVF_QF(rdt, IGBVF_RDT),
	IGBVF_QF(tdbal, IGBVF_TDBAL), IGBVF_QF(tdbah, IGBVF_TDBAH),
	IGBVF_QF(tdlen, IGBVF_TDLEN), IGBVF_QF(txctl, IGBVF_TXCTL),
	IGBVF_QF(tdwbal, IGBVF_TDWBAL), IGBVF_QF(tdwbah, IGBVF_TDWBAH),
	IGBVF_QF(tdh, IGBVF_TDH), IGBVF_QF(tdt, IGBVF_TDT),
};

static __le32 *igbvf_queue_field(struct igbvf_queue_state *qs,
				 const struct igbvf_reg_field *rf)
{
	return (__le32 *)((u8 *)qs + rf->field);
}

/* The VF's other registers that move, in restore order. */
static const struct igbvf_reg_field igbvf_misc_regs[] = {
	{ IGBVF_EITR(0), offsetof(struct igbvf_state, eitr[0]) },
	{ IGBVF_EITR(1), offsetof(struct igbvf_state, eitr[1]) },
	{ IGBVF_EITR(2), offsetof(struct igbvf_state, eitr[2]) },
	{ IGBVF_IVAR0, offsetof(struct igbvf_state, ivar0) },
	{ IGBVF_IVAR_MISC, offsetof(struct igbvf_state, ivar_misc) },
	{ IGBVF_EIAC, offsetof(struct igbvf_state, eiac) },
	{ IGBVF_EIAM, offsetof(struct igbvf_state, eiam) },
	{ IGBVF_PSRTYPE, offsetof(struct igbvf_state, psrtype) },
};

static __le32 *igbvf_misc_field(struct igbvf_state *st,
				const struct igbvf_reg_field *rf)
{
	return (__le32 *)((u8 *)st + rf->field);
}

/* The stopped device's state into @st.  @lock. */
static int igbvf_capture(struct igbvf_dev *ivf, struct igbvf_state *st)
{
	unsigned int q, i;
	u32 val;
	int ret;

	memset(st, 0, sizeof(*st));
	st->version = cpu_to_le32(IGBVF_STATE_VERSION);
	ret = igbvf_pf_config_get(ivf, &st->pf);
	if (ret) {
		igbvf_warn(ivf, "cannot read the VF's configuration from its PF: %pe\n",
			   ERR_PTR(ret));
		return ret;
	}
	for (q = 0; q < IGBVF_NR_QUEUES; q++) {
		struct igbvf_queue_state *qs = &st->queue[q];

		for (i = 0; i < ARRAY_SIZE(igbvf_queue_regs); i++) {
			const struct igbvf_reg_field *rf = &igbvf_queue_regs[i];

			ret = igbvf_rd(ivf, rf->reg + q * IGBVF_QUEUE_STRIDE,
				       &val);
			if (ret)
				return ret;
			*igbvf_queue_field(qs, rf) = cpu_to_le32(val);
		}
		qs->rxdctl = cpu_to_le32(ivf->rxdctl[q]);
		qs->txdctl = cpu_to_le32(ivf->txdctl[q]);
	}
	for (i = 0; i < ARRAY_SIZE(igbvf_misc_regs); i++) {
		ret = igbvf_rd(ivf, igbvf_misc_regs[i].reg, &val);
		if (ret)
			return ret;
		*igbvf_misc_field(st, &igbvf_misc_regs[i]) = cpu_to_le32(val);
	}
	st->requests = ivf->requests;
	return 0;
}

/*
 * Puts a loaded state into the stopped device (its PF configuration went
 * in at the load): the PF handshake, then the registers, with the queues
 * held until RUNNING.  @lock.
 */
static int igbvf_apply(struct igbvf_dev *ivf, struct igbvf_state *st)
{
	u8 mac[ETH_ALEN];
	unsigned int q, i;
	int ret;

	ret = igbvf_mbx_reset(ivf, mac);
	if (ret) {
		igbvf_warn(ivf, "the PF did not complete the VF reset handshake: %pe\n",
			   ERR_PTR(ret));
		return ret;
	}
	/*
	 * The PF hands out the MAC the load put in its VF configuration:
	 * anything else means the VF does not have the source's address.
	 */
	if (!ether_addr_equal(mac, st->pf.mac)) {
		igbvf_warn(ivf, "the PF gave the VF MAC %pM after the handshake, the source had %pM\n",
			   mac, st->pf.mac);
		return -EIO;
	}
	/* What the source's driver had asked the PF since its reset. */
	igbvf_requests_forget(ivf);
	ret = igbvf_requests_replay(ivf, &st->requests,
				    le16_to_cpu(st->pf.vlan) != 0);
	if (ret)
		return ret;
	/* The reset disabled the queues: they stay so until RUNNING. */
	ivf->held = true;
	for (q = 0; q < IGBVF_NR_QUEUES; q++) {
		struct igbvf_queue_state *qs = &st->queue[q];

		ivf->rxdctl[q] = le32_to_cpu(qs->rxdctl);
		ivf->txdctl[q] = le32_to_cpu(qs->txdctl);
		ret = igbvf_wr(ivf, IGBVF_RXDCTL(q),
			       ivf->rxdctl[q] & ~IGBVF_QUEUE_ENABLE);
		if (!ret)
			ret = igbvf_wr(ivf, IGBVF_TXDCTL(q),
				       ivf->txdctl[q] & ~IGBVF_QUEUE_ENABLE);
		for (i = 0; !ret && i < ARRAY_SIZE(igbvf_queue_regs); i++) {
			const struct igbvf_reg_field *rf = &igbvf_queue_regs[i];

			ret = igbvf_wr(ivf, rf->reg + q * IGBVF_QUEUE_STRIDE,
				       le32_to_cpu(*igbvf_queue_field(qs, rf)));
		}
		if (ret)
			return ret;
	}
	for (i = 0; i < ARRAY_SIZE(igbvf_misc_regs); i++) {
		ret = igbvf_wr(ivf, igbvf_misc_regs[i].reg,
			       le32_to_cpu(*igbvf_misc_field(st, &igbvf_misc_regs[i])));
		if (ret)
			return ret;
	}
	return igbvf_wr(ivf, IGBVF_EIMC, IGBVF_EIMS_ALL);
}

/* A head or tail inside a ring of @len bytes (0 in an empty one). */
static bool igbvf_ring_pos_ok(u32 pos, u32 len)
{
	return len ? pos < len / IGBVF_DESC_SIZE : pos == 0;
}

/* Whether @st is a state this version can load; logs why not. */
static int igbvf_check_state(struct igbvf_dev *ivf,
			     const struct igbvf_state *st)
{
	const char *why = NULL;
	unsigned int q;

	if (le32_to_cpu(st->version) != IGBVF_STATE_VERSION)
		why = "unknown state version";
	else if (st->flags)
		why = "unknown flags";
	else if (st->reserved[0] || st->reserved[1])
		why = "reserved fields set";
	else if (!igbvf_pf_config_check(&st->pf, &why))
		igbvf_requests_check(&st->requests, &why);

	/*
	 * The registers hold nothing the user could not write through BAR0
	 * anyway; the rings are checked so that a state makes sense.
	 */
	for (q = 0; !why && q < IGBVF_NR_QUEUES; q++) {
		const struct igbvf_queue_state *qs = &st->queue[q];
		u32 rdlen = le32_to_cpu(qs->rdlen), tdlen = le32_to_cpu(qs->tdlen);

		if (qs->reserved)
			why = "reserved queue field set";
		else if (rdlen > IGBVF_RING_LEN_MAX || tdlen > IGBVF_RING_LEN_MAX ||
			 !IS_ALIGNED(rdlen, IGBVF_RING_ALIGN) ||
			 !IS_ALIGNED(tdlen, IGBVF_RING_ALIGN))
			why = "ring length not a multiple of 128 up to 1 MiB";
		else if (!igbvf_ring_pos_ok(le32_to_cpu(qs->rdh), rdlen) ||
			 !igbvf_ring_pos_ok(le32_to_cpu(qs->rdt), rdlen) ||
			 !igbvf_ring_pos_ok(le32_to_cpu(qs->tdh), tdlen) ||
			 !igbvf_ring_pos_ok(le32_to_cpu(qs->tdt), tdlen))
			why = "ring head or tail beyond its ring";
	}
	if (!why)
		return 0;
	igbvf_warn(ivf, "refusing device state: %s\n", why);
	return -EINVAL;
}

static int igbvf_open(struct vfio_pci_mediate_device *vpmdev,
		      struct pci_dev *pdev, void **handle)
{
	struct igbvf_dev *ivf;
	struct pci_dev *pf;
	int vf_id, ret;

	if (!pdev->is_virtfn || pdev->vendor != PCI_VENDOR_ID_INTEL ||
	    pdev->device != PCI_DEVICE_ID_INTEL_82576_VF ||
	    pci_resource_len(pdev, IGBVF_BAR) < IGBVF_BAR_SIZE ||
	    !(pci_resource_flags(pdev, IGBVF_BAR) & IORESOURCE_MEM))
		return -ENODEV;
	pf = pci_physfn(pdev);
	if (!igbvf_pf_is_igb(pf))
		return -ENODEV;
	vf_id = pci_iov_vf_id(pdev);
	if (vf_id < 0)
		return -ENODEV;

	ivf = kzalloc(sizeof(*ivf), GFP_KERNEL_ACCOUNT);
	if (!ivf)
		return -ENOMEM;
	ivf->vpmdev = vpmdev;
	ivf->vf = pdev;
	ivf->pf = pf;
	ivf->vf_id = vf_id;
	ivf->apply_pf_config = READ_ONCE(apply_pf_config);
	mutex_init(&ivf->lock);
	ivf->run_state = VFIO_PCI_MEDIATE_RUNNING;
	ret = igbvf_trap_open(ivf);
	if (ret) {
		mutex_destroy(&ivf->trap_lock);
		mutex_destroy(&ivf->lock);
		kfree(ivf);
		return ret;
	}
	*handle = ivf;
	return 0;
}

static void igbvf_release(void *handle)
{
	struct igbvf_dev *ivf = handle;

	igbvf_dirty_free(ivf);
	mutex_destroy(&ivf->trap_lock);
	mutex_destroy(&ivf->lock);
	kfree(ivf);
}

/*
 * Back to power-on, as an FLR would: the VF's queue and interrupt reset
 * (which also tells the PF, as an FLR does), and nothing kept.
 */
static int igbvf_reset(void *handle)
{
	struct igbvf_dev *ivf = handle;
	int ret;

	mutex_lock(&ivf->lock);
	ivf->run_state = VFIO_PCI_MEDIATE_RUNNING;
	ivf->held = false;
	ivf->load_pending = false;
	ivf->snap_valid = false;
	igbvf_requests_forget(ivf);
	ret = igbvf_vf_reset(ivf);
	igbvf_dirty_refresh(ivf);
	mutex_unlock(&ivf->lock);
	/* A save session still on ends right after (->save_end()). */
	igbvf_trap_migration_over(ivf);
	return ret;
}

static int igbvf_set_run_state(void *handle,
			       enum vfio_pci_mediate_run_state state)
{
	struct igbvf_dev *ivf = handle;
	int ret = 0;

	/* From here on the user cannot restart the queues behind ->rw(). */
	if (state != VFIO_PCI_MEDIATE_RUNNING) {
		ret = igbvf_trap_hold(ivf, IGBVF_TRAP_MIGRATION);
		if (ret)
			return ret;
	}

	mutex_lock(&ivf->lock);
	if (state == VFIO_PCI_MEDIATE_RUNNING) {
		ret = igbvf_release_hold(ivf);
	} else if (state == VFIO_PCI_MEDIATE_QUIESCED &&
		   ivf->run_state == VFIO_PCI_MEDIATE_STOPPED) {
		/* Leaving STOPPED: a loaded state goes in now. */
		if (ivf->load_pending) {
			ret = igbvf_apply(ivf, &ivf->loaded);
			ivf->load_pending = false;
			igbvf_dirty_refresh(ivf);
		}
	} else if (state == VFIO_PCI_MEDIATE_QUIESCED) {
		ret = igbvf_hold(ivf);
	}
	if (!ret)
		ivf->run_state = state;
	mutex_unlock(&ivf->lock);
	if (!ret && state == VFIO_PCI_MEDIATE_RUNNING)
		igbvf_trap_migration_over(ivf);
	return ret;
}

/*
 * Everything is saved once the device is stopped: nothing while live.  A
 * session traps the queue pages: from now on the VF's writes count.
 */
static int igbvf_save_start(void *handle, bool live)
{
	struct igbvf_dev *ivf = handle;
	int ret;

	mutex_lock(&ivf->lock);
	ivf->saving = true;
	ivf->snap_valid = false;
	ivf->snap_pos = 0;
	mutex_unlock(&ivf->lock);
	ret = igbvf_trap_hold(ivf, IGBVF_TRAP_MIGRATION);
	if (!ret) {
		mutex_lock(&ivf->lock);
		ret = igbvf_dirty_error(ivf);
		mutex_unlock(&ivf->lock);
	}
	if (ret) {
		mutex_lock(&ivf->lock);
		ivf->saving = false;
		mutex_unlock(&ivf->lock);
		igbvf_trap_migration_over(ivf);
	}
	return ret;
}

static ssize_t igbvf_save(void *handle, void *buf, size_t len)
{
	struct igbvf_dev *ivf = handle;
	ssize_t ret = 0;

	/* The user's other threads may hold it across mailbox waits. */
	if (mutex_lock_killable(&ivf->lock))
		return -EINTR;
	/* The VF wrote pages we could not tell the user about. */
	ret = igbvf_dirty_error(ivf);
	if (ret)
		goto out_unlock;
	if (!ivf->snap_valid) {
		if (ivf->run_state != VFIO_PCI_MEDIATE_STOPPED)
			goto out_unlock;
		if (ivf->load_pending)
			memcpy(&ivf->snap, &ivf->loaded, sizeof(ivf->snap));
		else
			ret = igbvf_capture(ivf, &ivf->snap);
		if (ret)
			goto out_unlock;
		ivf->snap_valid = true;
		ivf->snap_pos = 0;
	}
	ret = min(len, sizeof(ivf->snap) - ivf->snap_pos);
	memcpy(buf, (u8 *)&ivf->snap + ivf->snap_pos, ret);
	ivf->snap_pos += ret;
out_unlock:
	mutex_unlock(&ivf->lock);
	return ret;
}

static void igbvf_save_size(void *handle, u64 *live_bytes, u64 *stop_bytes)
{
	struct igbvf_dev *ivf = handle;
	u64 left = sizeof(ivf->snap);

	mutex_lock(&ivf->lock);
	if (ivf->snap_valid)
		left -= ivf->snap_pos;
	*live_bytes = ivf->snap_valid ? left : 0;
	*stop_bytes = left;
	mutex_unlock(&ivf->lock);
}

static void igbvf_save_end(void *handle)
{
	struct igbvf_dev *ivf = handle;

	mutex_lock(&ivf->lock);
	ivf->snap_valid = false;
	ivf->saving = false;
	mutex_unlock(&ivf->lock);
	igbvf_trap_migration_over(ivf);
}

/* Before a DMA logging report: buffers the device is done with end. */
static int igbvf_dirty_sync_op(void *handle)
{
	struct igbvf_dev *ivf = handle;
	int ret;

	if (mutex_lock_killable(&ivf->lock))
		return -EINTR;
	ret = igbvf_dirty_sync(ivf);
	mutex_unlock(&ivf->lock);
	return ret;
}

static int igbvf_dirty_tracking(void *handle, bool on)
{
	struct igbvf_dev *ivf = handle;
	int ret;

	if (!on) {
		igbvf_trap_release(ivf, IGBVF_TRAP_LOGGING);
		return 0;
	}
	ret = igbvf_trap_hold(ivf, IGBVF_TRAP_LOGGING);
	if (ret)
		return ret;
	mutex_lock(&ivf->lock);
	ret = igbvf_dirty_error(ivf);
	mutex_unlock(&ivf->lock);
	if (ret)
		igbvf_trap_release(ivf, IGBVF_TRAP_LOGGING);
	return ret;
}

static int igbvf_load(void *handle, const void *data, size_t len)
{
	struct igbvf_dev *ivf = handle;
	const struct igbvf_state *st = data;
	int ret;

	if (len != sizeof(struct igbvf_state)) {
		igbvf_warn(ivf, "refusing device state: %zu bytes, expected %zu\n",
			   len, sizeof(struct igbvf_state));
		return -EINVAL;
	}
	ret = igbvf_check_state(ivf, st);
	if (ret)
		return ret;
	/*
	 * The PF side needs no access to the device: done now, so that a
	 * refusal fails the load itself.
	 */
	ret = igbvf_pf_config_put(ivf, &st->pf);
	if (ret == -EPERM) {
		igbvf_warn(ivf, "refusing device state: its VF configuration (MAC %pM, VLAN %u) differs from this VF's, and apply_pf_config is off\n",
			   st->pf.mac, le16_to_cpu(st->pf.vlan));
		return ret;
	}
	if (ret) {
		igbvf_warn(ivf, "cannot give the VF its configuration through the PF: %pe\n",
			   ERR_PTR(ret));
		return ret;
	}

	/* The rest when the device leaves STOPPED (igbvf_set_run_state()). */
	if (mutex_lock_killable(&ivf->lock))
		return -EINTR;
	memcpy(&ivf->loaded, data, sizeof(ivf->loaded));
	ivf->load_pending = true;
	mutex_unlock(&ivf->lock);
	return 0;
}

static const struct vfio_pci_mediate_migration_ops igbvf_migration_ops = {
	.max_state_size = sizeof(struct igbvf_state),
	.set_run_state = igbvf_set_run_state,
	.save_start = igbvf_save_start,
	.save = igbvf_save,
	.save_size = igbvf_save_size,
	.save_end = igbvf_save_end,
	.load = igbvf_load,
};

static const struct vfio_pci_mediate_ops igbvf_mediate_ops = {
	.owner = THIS_MODULE,
	.name = "igbvf-mediate",
	.open = igbvf_open,
	.release = igbvf_release,
	.rw = igbvf_trap_rw,
	.reset = igbvf_reset,
	.dirty_tracking = igbvf_dirty_tracking,
	.dirty_sync = igbvf_dirty_sync_op,
	.migration = &igbvf_migration_ops,
};

module_vfio_pci_mediate_ops(igbvf_mediate_ops);

MODULE_ALIAS_VFIO_PCI_MEDIATE(8086, 10CA);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample PF-centric mediator for Intel 82576 (igb) virtual functions: VF configuration and register state migration");
