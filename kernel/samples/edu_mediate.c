// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-mediate: a sample mediator for QEMU's "edu" PCI device (1234:11e8).
 *
 * It never binds the device: vfio-pci-mediate binds it, and offers each
 * open to this module, which claims edu devices by its PCI id table and is
 * loaded by alias on the first open.  For each open it
 *
 *  - declares BAR0's register page (the first page) trappable and passes
 *    the rest of BAR0 through.  A client that does not follow dynamic
 *    traps (QEMU 7.2) never gets the page mmapped and reaches it through
 *    ->rw.  One that follows them may mmap it while nothing needs it
 *    trapped: the page is trapped, and in force before the device leaves
 *    RUNNING, when a save session starts (pre-copy: dirty pages count) and
 *    while VFIO DMA logging runs; it is offered again once migration is
 *    back in RUNNING with no session (cancelled or failed) and logging
 *    stopped.  When the trap comes in force, a transfer into RAM that the
 *    user started through the mapping and that still runs is tracked (see
 *    dirty pages below).  While the page is mmapped, none of the checks
 *    below apply: a DMA command with a range that makes QEMU's model
 *    abort then takes the emulating QEMU down, as a faulty device would;
 *    mmap_registers=0 keeps the page trapped for every client.  Because
 *    the mediator has ->rw, the framework refuses VFIO_DEVICE_IOEVENTFD
 *    for the device, so every write that reaches ->rw is checked;
 *  - refuses with -EINVAL a DMA command whose range on edu's buffer side
 *    would make QEMU's model abort (hw_error), and with -EBUSY the writes
 *    that would start device work (a factorial input to 0x08, 0x60, a
 *    command with RUN to 0x98) while the device is not RUNNING (QUIESCED
 *    or STOPPED for migration).  Other writes are done in any state: they
 *    change only what the user asks, and a later save includes them;
 *  - migrates the complete device state (struct edu_state), and resets the
 *    registers to their power-on values (edu has no reset of its own), on
 *    VFIO_DEVICE_RESET and after any other reset of the function;
 *  - tells the framework which RAM pages the device writes: before a
 *    transfer into RAM starts (the user's or its own) it announces them
 *    (vfio_pci_mediate_dirty_begin()), and it ends them once the engine is
 *    seen idle: before each DMA logging report (->dirty_sync), at the next
 *    DMA command of either direction, at a drain, and, where their pages
 *    are pinned for type1, by polling the engine after each command.  So
 *    VFIO DMA logging, which this open offers, reports each written page
 *    once; and where vfio-pci-mediate may pin the user's memory
 *    (user_dma_access), Linux 6.1's type1 reports only those pages and the
 *    ones the CPU wrote, instead of all guest RAM.  A DMA command that
 *    cannot be tracked (pinning failed, or EDU_NR_DIRTY transfers into RAM
 *    unfinished) is refused.
 *
 * Register accesses reach the device exactly as vfio-pci would carry them
 * on Linux 6.1: split into naturally aligned pieces of at most 4 bytes.  So
 * an 8-byte access to a DMA register reaches only its low half, and edu
 * (which wants 4 bytes below 0x80, 4 or 8 above) ignores 1- and 2-byte
 * pieces (reads give what the model gives for them).  Only 4-byte pieces
 * can change edu, and each of those is checked.  For the same reason edu
 * only ever sees 32-bit DMA addresses (the high halves stay 0), whatever
 * its dma_mask.
 *
 * edu's state and how it moves (see QEMU's hw/misc/edu.c):
 *  - liveness (0x04): read, restored by writing its inverse;
 *  - factorial (0x08): after the drain on STOP it holds a result, n! mod
 *    2^32 for the last input n (0 at power-on).  Every such result is also
 *    n! mod 2^32 for some n in 0..34 (for n >= 34 it is 0), so the state
 *    carries the result and the destination replays the smallest such n
 *    with the IRQ-on-factorial bit clear.  The input itself is not tracked:
 *    once the computation is done it is not observable, and replaying a
 *    large input would take the model seconds;
 *  - status bit 7 (IRQ on factorial), irq_status (0x24), DMA source,
 *    destination and count (0x80, 0x88, 0x90; low halves, all a 4-byte
 *    client can set) are read and written back.  irq_status is cleared
 *    when the state is applied and raised again through 0x60 only when the
 *    destination enters RUNNING, so nothing fires before the VM runs;
 *  - the DMA command register (0x98) keeps the direction and IRQ bits of
 *    the last transfer.  The direction is restored (by the direction of
 *    the mediator's last transfer); the IRQ bit is not (setting it needs a
 *    transfer that raises an interrupt);
 *  - the 4 KiB DMA buffer is invisible through MMIO.  It is saved by a
 *    device transfer buffer->RAM into a scratch page of the user's own
 *    IOVA space and restored by a transfer RAM->buffer from it.  The
 *    scratch page is one the user's own DMA commands used in this open
 *    (checked to be mapped for read and write with the core's dma_rw before
 *    each use); its content is read first and written back afterwards, so
 *    guest memory keeps no trace.  The destination uses the IOVA carried in
 *    the state (the destination VM has the same memory layout) and fails
 *    the load if that IOVA is not mapped there.  This is done only while
 *    the device is stopped, when the VMM has stopped the VM.  edu transfers
 *    at most 4095 bytes (start + count must stay below the buffer's end),
 *    so the buffer's last byte can be neither saved nor restored.  If the
 *    user never issued a DMA command in this open there is no scratch
 *    page: the buffer is then not captured (the state says so) and the
 *    destination's buffer is left alone.  If the user did, but none of the
 *    pages remembered is still mapped for read and write, the save fails
 *    (-EFAULT) rather than drop the buffer.  Reading and writing the
 *    scratch page needs vfio-pci-mediate's user_dma_access (see
 *    kernel/user_dma.c): without it, a save or load that has a buffer to
 *    move fails with -EPERM.
 *
 * What a save does to the source: when the buffer is captured, the
 * mediator's transfers leave 0x98's IRQ bit clear (a transfer with it set
 * would raise an interrupt), so the source reads it back clear even if the
 * user's last command had it; the direction bit and the DMA registers are
 * written back as they were, unless the capture fails part-way (the save
 * then fails too).  Every other register reads back unchanged.
 *
 * The drain on STOP waits for a factorial and a DMA transfer in flight; the
 * model computes factorials in a thread and starts a transfer 100 ms (its
 * virtual clock) after the command.  With memory decode off (a VMM that
 * resets the device, or QEMU 7.2's v1 destination) the device cannot be
 * read: STOP then waits until the last work the user started in this open
 * is 250 ms old, which covers a transfer but not a factorial of a large
 * input (seconds); the save later drains again and warns if it found work
 * still in flight.
 *
 * If one of the mediator's own transfers does not finish within its bound
 * (the model's clock stopped, say), bus mastering is turned off and left
 * off before the scratch page is given back, so that the transfer, when it
 * runs, cannot write guest memory; the user has to reset the device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_mediate.h>
#include <linux/version.h>
#include <linux/workqueue.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "edu_regs.h"

/*
 * What edu-mediate logs is the device user's doing (a refused state, a
 * save that cannot work): ratelimited, so that a user's loop cannot flood
 * the kernel log.
 */
#define edu_warn(edu, fmt, ...) \
	dev_warn_ratelimited(&(edu)->pdev->dev, fmt, ##__VA_ARGS__)

#define EDU_BAR			0
#define EDU_REG_PAGE		SZ_4K	/* trapped part of BAR0 */
/* Where BAR0 may be mmapped: the first page boundary past the registers. */
#define EDU_MMAP_START		ALIGN(EDU_REG_PAGE, PAGE_SIZE)
/* Bytes of a user access bounced through the stack at a time. */
#define EDU_RW_CHUNK		64

/* The IOMMU's page: a scratch IOVA is the start of one. */
#define EDU_IOVA_PAGE		SZ_4K

/* The smallest n whose n! has 32 factors of 2, so n! mod 2^32 == 0. */
#define EDU_FACT_ZERO_INPUT	34

/*
 * Bound on the drain and on the mediator's own transfers.  A transfer
 * takes 100 ms of the model's virtual clock; a factorial of a 32-bit input
 * above about 2^31 takes the model's thread seconds and may exceed it
 * (STOP then fails with -ETIMEDOUT).
 */
#define EDU_WAIT_MS		5000
#define EDU_POLL_MS		2
/*
 * How old the user's last work must be before STOP with memory decode off
 * reports the device stopped: the model's 100 ms transfer delay, and room
 * for its timer to run late.
 */
#define EDU_BLIND_WAIT_MS	250
/*
 * After a replayed factorial, the model's thread clears COMPUTING and only
 * then looks at the IRQ-on-factorial bit (under the BQL): the time it is
 * given to get past that before the bit is set again.
 */
#define EDU_FACT_SETTLE_MS	20

/* Pages of the user's DMA commands remembered as scratch candidates. */
#define EDU_NR_SCRATCH		4
/*
 * Transfers into RAM whose pages stay pinned for dirty tracking until the
 * engine is seen idle: the one running and commands issued meanwhile
 * (which the model ignores).  More than that are refused.
 */
#define EDU_NR_DIRTY		4

static unsigned int dma_mask_bits = 28;
module_param(dma_mask_bits, uint, 0444);
MODULE_PARM_DESC(dma_mask_bits,
		 "Low bits of a DMA address that edu keeps, n for QEMU's dma_mask=2^n-1 (1-64, default 28); only 32 can be written through 4-byte registers");

/*
 * Off, nothing is pinned and Linux 6.1's type1 reports all guest RAM
 * dirty on every sync, as it does for devices nobody mediates: the
 * baseline of bench/dirty.  Read-only: a group that pinned once must pin
 * for every transfer from then on.
 */
static bool dirty_tracking = true;
module_param(dirty_tracking, bool, 0444);
MODULE_PARM_DESC(dirty_tracking,
		 "Pin the RAM pages edu's transfers write, for type1's dirty tracking (default: on)");

/*
 * Off, the register page stays trapped for every client, as it is for a
 * client that does not follow traps (QEMU up to 7.2 at least).
 */
static bool mmap_registers = true;
module_param(mmap_registers, bool, 0444);
MODULE_PARM_DESC(mmap_registers,
		 "Let clients that follow dynamic traps mmap the register page while no migration or DMA logging needs it trapped (default: on)");

/* Why the register page is trapped (struct edu_dev's @trap_holds). */
#define EDU_TRAP_MIGRATION	BIT(0)	/* a save session, or not RUNNING */
#define EDU_TRAP_LOGGING	BIT(1)	/* VFIO DMA logging runs */

#define EDU_STATE_VERSION	1
#define EDU_STATE_BUF_VALID	BIT(0)	/* @dma_buf and @scratch_iova hold */

/**
 * struct edu_state - edu's migrated state, little endian (it crosses hosts)
 * @version: EDU_STATE_VERSION
 * @flags: EDU_STATE_BUF_VALID or 0
 * @liveness: register 0x04 as read
 * @fact: register 0x08, a factorial result
 * @status: register 0x20, only EDU_STATUS_IRQFACT
 * @irq_status: register 0x24, including interrupts still to be raised
 * @dma_src: register 0x80
 * @dma_dst: register 0x88
 * @dma_cnt: register 0x90
 * @dma_cmd: register 0x98, never EDU_DMA_RUN
 * @scratch_iova: the page used to move @dma_buf; the destination uses the
 *	same one
 * @dma_buf: edu's DMA buffer; the last byte is always 0 (not reachable)
 */
struct edu_state {
	__le32 version;
	__le32 flags;
	__le32 liveness;
	__le32 fact;
	__le32 status;
	__le32 irq_status;
	__le32 dma_src;
	__le32 dma_dst;
	__le32 dma_cnt;
	__le32 dma_cmd;
	__le64 scratch_iova;
	u8 dma_buf[EDU_DMA_BUF_SIZE];
} __packed;

static_assert(sizeof(struct edu_state) == 48 + EDU_DMA_BUF_SIZE);

/**
 * struct edu_dev - one open of an edu device
 * @mdev: the framework's handle for the helpers
 * @pdev: the PCI device
 * @hw_sem: user accesses to the register page take it for read (they may
 *	run concurrently); the mediator's own sequences on the device (drain,
 *	capture, applying a state, reset, run state changes) take it for
 *	write, so that no user access interleaves with them.  Protects
 *	@run_state, @reset_pending, @stop_blind, @irq_to_raise,
 *	@load_pending and @loaded; read by rw under it for read.  User
 *	buffers are copied outside it, so a faulting user page cannot hold
 *	up STOP or a reset.
 * @dma_lock: serialises user writes to the DMA registers (0x80-0x98), so
 *	that the range check of a DMA command sees the values the device
 *	will use.  Taken with @hw_sem held for read.
 * @scratch: page IOVAs the user's DMA commands used, newest first; added
 *	under @dma_lock with @hw_sem held for read, read and cleared under
 *	@hw_sem held for write
 * @nr_scratch: valid entries of @scratch, same locking
 * @work_at: jiffies when the user last started device work (a factorial
 *	or a DMA command), or when this open began; written with @hw_sem
 *	held for read (WRITE_ONCE: concurrent writers store about the same
 *	time), read with it held for write
 * @run_state: what the framework last set
 * @reset_pending: a reset found memory decode off, or failed; its register
 *	part is done on the next access with decode on.  Written with
 *	@hw_sem held for write (WRITE_ONCE); rw checks it without the lock
 *	first, and only settles it under the lock.  A reset racing with
 *	that check is the user's own race: the access lands either before
 *	or after the register reset
 * @stop_blind: STOPPED was reported with memory decode off, without a
 *	drain; the next save drains and says if it had to wait
 * @irq_to_raise: irq_status of an applied state, raised on RUNNING
 * @load_pending: @loaded is to be applied when the device leaves STOPPED
 * @loaded: a validated state from ->load()
 * @snap_valid: @snap holds the state captured for the save session
 * @snap_pos: bytes of @snap handed out by ->save()
 * @snap: the captured state
 * @page_orig: a scratch page's content while the mediator borrows it
 * @dirty: RAM ranges of the user's transfers into RAM, given to
 *	vfio_pci_mediate_dirty_begin() and not ended yet; changed under
 *	@dma_lock with @hw_sem held for read, or with @hw_sem held for write
 * @nr_dirty: valid entries of @dirty, same locking
 * @trap_lock: serialises trapping and untrapping the register page; never
 *	taken with @hw_sem held (trapping waits for the user, whose
 *	accesses take @hw_sem)
 * @trap_id: the register page's trappable range
 * @trap_holds: EDU_TRAP_* reasons it is trapped now, under @trap_lock
 * @saving: a save session is on; only touched by the migration callbacks
 *	and ->reset, which the framework serialises
 * @settle_work: ends the user's transfers into RAM once the engine is
 *	idle, where their pages are pinned (edu_settle_work())
 *
 * The migration callbacks are serialised by the framework; @snap_valid,
 * @snap_pos and @snap are used only by them (and by ->reset under
 * @hw_sem held for write).
 */
struct edu_dev {
	struct vfio_pci_mediate_device *mdev;
	struct pci_dev *pdev;
	struct rw_semaphore hw_sem;	/* see above */
	struct mutex dma_lock;		/* see above */
	u32 scratch[EDU_NR_SCRATCH];
	unsigned int nr_scratch;
	unsigned long work_at;
	enum vfio_pci_mediate_run_state run_state;
	bool reset_pending;
	bool stop_blind;
	u32 irq_to_raise;
	bool load_pending;
	struct edu_state loaded;
	bool snap_valid;
	size_t snap_pos;
	struct edu_state snap;
	u8 page_orig[EDU_DMA_XFER_MAX];
	struct edu_dirty_range {
		u32 iova;
		u32 len;
	} dirty[EDU_NR_DIRTY];
	unsigned int nr_dirty;
	struct mutex trap_lock;		/* see above */
	unsigned int trap_id;
	unsigned int trap_holds;
	bool saving;
	struct delayed_work settle_work;
};

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{ }
};

/* --- device access ------------------------------------------------------ */

static int edu_read(struct edu_dev *edu, u32 reg, u32 *val)
{
	__le32 v;
	int ret;

	ret = vfio_pci_mediate_bar_read(edu->mdev, EDU_BAR, reg, &v, sizeof(v));
	if (!ret)
		*val = le32_to_cpu(v);
	return ret;
}

static int edu_write(struct edu_dev *edu, u32 reg, u32 val)
{
	__le32 v = cpu_to_le32(val);

	return vfio_pci_mediate_bar_write(edu->mdev, EDU_BAR, reg, &v,
					  sizeof(v));
}

/*
 * Polls @reg until none of @mask is set, for at most EDU_WAIT_MS, or until
 * the caller is killed (-EINTR).  Sets *@waited (if given) when it was set
 * at first.
 */
static int edu_wait_clear(struct edu_dev *edu, u32 reg, u32 mask,
			  bool *waited)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(EDU_WAIT_MS);
	u32 val;
	int ret;

	for (;;) {
		ret = edu_read(edu, reg, &val);
		if (ret)
			return ret;
		if (!(val & mask))
			return 0;
		if (waited)
			*waited = true;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		if (fatal_signal_pending(current))
			return -EINTR;
		msleep(EDU_POLL_MS);
	}
}

/* Ends the dirty ranges of the user's transfers into RAM. */
static void edu_dirty_end_all(struct edu_dev *edu)
{
	unsigned int i;

	for (i = 0; i < edu->nr_dirty; i++)
		vfio_pci_mediate_dirty_end(edu->mdev, edu->dirty[i].iova,
					   edu->dirty[i].len);
	edu->nr_dirty = 0;
}

/*
 * Waits for a factorial and a DMA transfer in flight to finish.  Sets
 * *@fact_busy and *@dma_busy (each if given) when there was one.  With
 * the engine idle, the user's transfers into RAM are over.  @hw_sem held
 * for write.
 */
static int edu_drain(struct edu_dev *edu, bool *fact_busy, bool *dma_busy)
{
	int ret;

	ret = edu_wait_clear(edu, EDU_REG_STATUS, EDU_STATUS_COMPUTING,
			     fact_busy);
	if (!ret)
		ret = edu_wait_clear(edu, EDU_REG_DMA_CMD, EDU_DMA_RUN,
				     dma_busy);
	if (!ret)
		edu_dirty_end_all(edu);
	return ret;
}

/*
 * The RAM-side addresses edu can reach: its dma_mask, cut to the 32 bits
 * a 4-byte register write can set (the high halves always read 0).
 */
static u32 edu_dma_mask(void)
{
	return dma_mask_bits >= 32 ? U32_MAX : (u32)BIT(dma_mask_bits) - 1;
}

/*
 * Whether a transfer of @cnt bytes at buffer-side address @buf passes the
 * model's range check (QEMU 7.2 hw_error()s otherwise): @buf inside the
 * buffer, @cnt > 0 and @buf + @cnt strictly below the buffer's end.
 */
static bool edu_dma_range_ok(u64 buf, u64 cnt)
{
	return cnt && buf >= EDU_DMA_BUF &&
	       buf < EDU_DMA_BUF + EDU_DMA_BUF_SIZE &&
	       cnt < EDU_DMA_BUF + EDU_DMA_BUF_SIZE - buf;
}

/* The smallest n in 0..34 with n! mod 2^32 == @result. */
static bool edu_fact_input(u32 result, u32 *input)
{
	u32 n, f = 1;

	for (n = 0; n <= EDU_FACT_ZERO_INPUT; n++) {
		if (n)
			f *= n;
		if (f == result) {
			*input = n;
			return true;
		}
	}
	return false;
}

/*
 * Makes the factorial register hold @result: replays the matching input
 * with the IRQ-on-factorial bit clear, and sets *@replayed if it did.  A
 * caller that sets the bit again afterwards must first give the model's
 * thread EDU_FACT_SETTLE_MS (or a transfer's 100 ms) to look at the clear
 * bit, or the replay may raise a factorial interrupt.  Nothing is
 * computing (drained).
 */
static int edu_set_fact(struct edu_dev *edu, u32 result, bool *replayed)
{
	u32 input, cur;
	int ret;

	if (!edu_fact_input(result, &input))
		return -EINVAL;
	ret = edu_read(edu, EDU_REG_FACT, &cur);
	if (ret || cur == result)
		return ret;
	*replayed = true;
	ret = edu_write(edu, EDU_REG_STATUS, 0);
	if (!ret)
		ret = edu_write(edu, EDU_REG_FACT, input);
	if (!ret)
		ret = edu_wait_clear(edu, EDU_REG_STATUS, EDU_STATUS_COMPUTING,
				     NULL);
	return ret;
}

/* The low halves of the DMA source, destination and count registers. */
static int edu_read_dma_regs(struct edu_dev *edu, u32 *src, u32 *dst,
			     u32 *cnt)
{
	int ret;

	ret = edu_read(edu, EDU_REG_DMA_SRC, src);
	if (!ret)
		ret = edu_read(edu, EDU_REG_DMA_DST, dst);
	if (!ret)
		ret = edu_read(edu, EDU_REG_DMA_CNT, cnt);
	return ret;
}

static int edu_write_dma_regs(struct edu_dev *edu, u32 src, u32 dst, u32 cnt)
{
	int ret;

	ret = edu_write(edu, EDU_REG_DMA_SRC, src);
	if (!ret)
		ret = edu_write(edu, EDU_REG_DMA_DST, dst);
	if (!ret)
		ret = edu_write(edu, EDU_REG_DMA_CNT, cnt);
	return ret;
}

/* --- the mediator's own transfers ---------------------------------------- */

/*
 * Enables bus mastering if it is off (edu drops DMA without it); *@was_on
 * says whether to leave it on afterwards.
 */
static int edu_master_on(struct edu_dev *edu, bool *was_on)
{
	u16 cmd;
	int ret;

	ret = pci_read_config_word(edu->pdev, PCI_COMMAND, &cmd);
	if (ret)
		return pcibios_err_to_errno(ret);
	*was_on = cmd & PCI_COMMAND_MASTER;
	if (*was_on)
		return 0;
	ret = pci_write_config_word(edu->pdev, PCI_COMMAND,
				    cmd | PCI_COMMAND_MASTER);
	return pcibios_err_to_errno(ret);
}

static void edu_master_restore(struct edu_dev *edu, bool was_on)
{
	u16 cmd;

	if (was_on || pci_read_config_word(edu->pdev, PCI_COMMAND, &cmd))
		return;
	pci_write_config_word(edu->pdev, PCI_COMMAND,
			      cmd & ~PCI_COMMAND_MASTER);
}

/*
 * Turns bus mastering off for good after a transfer of the mediator's
 * that was not seen to finish (@err: it took too long, or the caller was
 * killed while waiting): when the model runs it, it must not reach the
 * scratch page, which goes back to the user now.
 */
static void edu_master_kill(struct edu_dev *edu, int err)
{
	u16 cmd;

	if (!pci_read_config_word(edu->pdev, PCI_COMMAND, &cmd))
		pci_write_config_word(edu->pdev, PCI_COMMAND,
				      cmd & ~PCI_COMMAND_MASTER);
	edu_warn(edu,
		 "the mediator's DMA transfer was not seen to finish (%pe): bus mastering turned off so that it cannot write guest memory later; reset the device\n",
		 ERR_PTR(err));
}

/*
 * One transfer of @cnt bytes between the start of edu's buffer and the
 * IOVA @ram, without interrupt, waited for.  @to_ram: buffer -> RAM.
 */
static int edu_dma(struct edu_dev *edu, u32 ram, u32 cnt, bool to_ram)
{
	u32 cmd = EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0);
	int ret;

	if (to_ram) {
		ret = dirty_tracking ?
		      vfio_pci_mediate_dirty_begin(edu->mdev, ram, cnt) : 0;
		if (ret)
			return ret;
		ret = edu_write_dma_regs(edu, EDU_DMA_BUF, ram, cnt);
	} else {
		ret = edu_write_dma_regs(edu, ram, EDU_DMA_BUF, cnt);
	}
	if (!ret)
		ret = edu_write(edu, EDU_REG_DMA_CMD, cmd);
	if (!ret)
		ret = edu_wait_clear(edu, EDU_REG_DMA_CMD, EDU_DMA_RUN, NULL);
	if (ret == -ETIMEDOUT || ret == -EINTR)
		edu_master_kill(edu, ret);
	/* Done, never started, or bus mastering is off for good. */
	if (to_ram && dirty_tracking)
		vfio_pci_mediate_dirty_end(edu->mdev, ram, cnt);
	return ret;
}

/*
 * Ends them if the engine is idle: every command it took has finished,
 * and those it ignored never ran.
 */
static int edu_dirty_settle(struct edu_dev *edu)
{
	u32 cmd;
	int ret;

	if (!edu->nr_dirty)
		return 0;
	ret = edu_read(edu, EDU_REG_DMA_CMD, &cmd);
	if (!ret && !(cmd & EDU_DMA_RUN))
		edu_dirty_end_all(edu);
	return ret;
}

/*
 * edu_dirty_settle() from outside the user's accesses.  Returns whether
 * transfers into RAM are still tracked.
 */
static bool edu_settle_transfers(struct edu_dev *edu)
{
	bool left;

	down_read(&edu->hw_sem);
	mutex_lock(&edu->dma_lock);
	edu_dirty_settle(edu);
	left = edu->nr_dirty;
	mutex_unlock(&edu->dma_lock);
	up_read(&edu->hw_sem);
	return left;
}

/* How often edu_settle_work() looks at the engine. */
#define EDU_SETTLE_POLL_MS	20

/*
 * Where the pages of the user's transfers into RAM are pinned (the user's
 * memory may be pinned: user_dma_access), type1 reports them at every
 * sync until they are unpinned, so they are ended once the engine is idle
 * rather than at the next command.  The mediator does not see edu's
 * interrupts, so it polls, for at most EDU_WAIT_MS after the user's last
 * command; a later command, report or drain ends them otherwise.
 */
static void edu_settle_work(struct work_struct *work)
{
	struct edu_dev *edu = container_of(to_delayed_work(work),
					   struct edu_dev, settle_work);

	if (edu_settle_transfers(edu) &&
	    time_before(jiffies, READ_ONCE(edu->work_at) +
				 msecs_to_jiffies(EDU_WAIT_MS)))
		schedule_delayed_work(&edu->settle_work,
				      msecs_to_jiffies(EDU_SETTLE_POLL_MS));
}

static void edu_settle_later(struct edu_dev *edu)
{
	if (vfio_pci_mediate_user_dma_access(edu->mdev))
		mod_delayed_work(system_wq, &edu->settle_work,
				 msecs_to_jiffies(EDU_SETTLE_POLL_MS));
}

static int edu_iova_rw(struct edu_dev *edu, u64 iova, void *buf, size_t len,
		       bool write)
{
	return vfio_pci_mediate_dma_rw(edu->mdev, iova, buf, len, write);
}

/*
 * Starts borrowing the page at @iova: saves its first EDU_DMA_XFER_MAX
 * bytes in edu->page_orig and writes them back unchanged, which proves the
 * page is mapped for the device both ways.
 */
static int edu_borrow(struct edu_dev *edu, u64 iova)
{
	int ret;

	ret = edu_iova_rw(edu, iova, edu->page_orig, EDU_DMA_XFER_MAX, false);
	if (!ret)
		ret = edu_iova_rw(edu, iova, edu->page_orig, EDU_DMA_XFER_MAX,
				  true);
	return ret;
}

static int edu_unborrow(struct edu_dev *edu, u64 iova)
{
	return edu_iova_rw(edu, iova, edu->page_orig, EDU_DMA_XFER_MAX, true);
}

/* Remembers the page of a RAM-side IOVA of the user's DMA command. */
static void edu_note_iova(struct edu_dev *edu, u32 ram)
{
	u32 page = ALIGN_DOWN(ram & edu_dma_mask(), EDU_IOVA_PAGE);
	unsigned int i;

	for (i = 0; i < edu->nr_scratch; i++)
		if (edu->scratch[i] == page)
			break;
	if (i == EDU_NR_SCRATCH)
		i--;
	else if (i == edu->nr_scratch)
		edu->nr_scratch++;
	memmove(&edu->scratch[1], &edu->scratch[0], i * sizeof(edu->scratch[0]));
	edu->scratch[0] = page;
}

/*
 * Borrows the newest usable scratch page.  -EFAULT if none of those
 * remembered is mapped for read and write any more.
 */
static int edu_find_scratch(struct edu_dev *edu, u32 *iova)
{
	int err[EDU_NR_SCRATCH];
	unsigned int i;

	/* No page can be borrowed at all in this open. */
	if (!vfio_pci_mediate_user_dma_access(edu->mdev))
		return -EPERM;
	for (i = 0; i < edu->nr_scratch; i++) {
		err[i] = edu_borrow(edu, edu->scratch[i]);
		if (!err[i]) {
			*iova = edu->scratch[i];
			return 0;
		}
	}
	for (i = 0; i < edu->nr_scratch; i++)
		edu_warn(edu,
			 "cannot save the DMA buffer through IOVA %#x, used by DMA in this open: %pe (not mapped for read and write any more?)\n",
			 edu->scratch[i], ERR_PTR(err[i]));
	return -EFAULT;
}

/*
 * Copies edu's buffer into @st by a transfer buffer->RAM through a
 * borrowed page; restores the DMA registers and the command's direction
 * bit from @st afterwards.  If the user did no DMA in this open the buffer
 * is not captured.
 */
static int edu_capture_buffer(struct edu_dev *edu, struct edu_state *st)
{
	bool master;
	u32 iova;
	int ret, ret2;

	if (!edu->nr_scratch) {
		pci_dbg(edu->pdev,
			"no DMA command in this open: DMA buffer not saved\n");
		return 0;
	}
	ret = edu_find_scratch(edu, &iova);
	if (ret)
		return ret;
	ret = edu_master_on(edu, &master);
	if (ret)
		goto out_unborrow;

	ret = edu_dma(edu, iova, EDU_DMA_XFER_MAX, true);
	if (!ret)
		ret = edu_iova_rw(edu, iova, st->dma_buf, EDU_DMA_XFER_MAX,
				  false);
	/* Leave the direction bit as the user's last command left it. */
	if (!ret && !(le32_to_cpu(st->dma_cmd) & EDU_DMA_TO_RAM))
		ret = edu_dma(edu, iova, 1, false);

	edu_master_restore(edu, master);
	ret2 = edu_write_dma_regs(edu, le32_to_cpu(st->dma_src),
				  le32_to_cpu(st->dma_dst),
				  le32_to_cpu(st->dma_cnt));
	if (!ret)
		ret = ret2;
out_unborrow:
	ret2 = edu_unborrow(edu, iova);
	if (!ret)
		ret = ret2;
	if (ret)
		return ret;
	st->scratch_iova = cpu_to_le64(iova);
	st->flags |= cpu_to_le32(EDU_STATE_BUF_VALID);
	return 0;
}

/*
 * Writes @st's buffer into edu by a transfer RAM->buffer through the
 * borrowed scratch page of @st, and leaves the command's direction bit as
 * @st has it.  The DMA registers are the caller's to restore.  @st is not
 * changed (not const only because the core's dma_rw takes one buffer for
 * both directions).
 */
static int edu_restore_buffer(struct edu_dev *edu, struct edu_state *st)
{
	/* edu_check_state() kept it inside edu_dma_mask(). */
	u32 iova = le64_to_cpu(st->scratch_iova);
	bool master;
	int ret, ret2;

	ret = edu_borrow(edu, iova);
	if (ret) {
		edu_warn(edu,
			 "cannot restore the DMA buffer: IOVA %#x of the migration stream is not mapped for this device (%pe)\n",
			 iova, ERR_PTR(ret));
		return ret;
	}
	ret = edu_master_on(edu, &master);
	if (ret)
		goto out_unborrow;

	ret = edu_iova_rw(edu, iova, st->dma_buf, EDU_DMA_XFER_MAX, true);
	if (!ret)
		ret = edu_dma(edu, iova, EDU_DMA_XFER_MAX, false);
	if (!ret && (le32_to_cpu(st->dma_cmd) & EDU_DMA_TO_RAM))
		ret = edu_dma(edu, iova, 1, true);

	edu_master_restore(edu, master);
out_unborrow:
	ret2 = edu_unborrow(edu, iova);
	if (!ret)
		ret = ret2;
	if (!ret)
		edu_note_iova(edu, iova);
	return ret;
}

/* --- reset, capture, apply (hw_sem held for write) ----------------------- */

/*
 * The register part of a reset: every register to its power-on value
 * (liveness 0, factorial 0, status 0, DMA registers 0, irq_status 0).
 * edu's buffer and the command register's direction and IRQ bits can only
 * change through a transfer, which would write guest memory while the VM
 * may be running; they keep their values.
 */
static int edu_reset_regs(struct edu_dev *edu)
{
	bool replayed = false;
	int ret;

	/* The IRQ-on-factorial bit stays clear: the replay raises nothing. */
	ret = edu_drain(edu, NULL, NULL);
	if (!ret)
		ret = edu_write(edu, EDU_REG_STATUS, 0);
	if (!ret)
		ret = edu_set_fact(edu, 0, &replayed);
	if (!ret)
		ret = edu_write(edu, EDU_REG_LIVENESS, ~0u);
	if (!ret)
		ret = edu_write_dma_regs(edu, 0, 0, 0);
	if (!ret)
		ret = edu_write(edu, EDU_REG_IRQ_ACK, ~0u);
	return ret;
}

/*
 * Does a reset that found memory decode off (or failed), now that the
 * device is used again.  Any error leaves it pending, to be tried again.
 */
static int edu_settle_reset(struct edu_dev *edu)
{
	int ret;

	if (!edu->reset_pending)
		return 0;
	ret = edu_reset_regs(edu);
	if (!ret)
		WRITE_ONCE(edu->reset_pending, false);
	return ret;
}

/* What an errno from the device paths most likely means, for the log. */
static const char *edu_err_hint(struct edu_dev *edu, int err)
{
	switch (err) {
	case -EIO:
		return " (memory decode is off (PCI_COMMAND_MEMORY) or the device is in low power)";
	case -ETIMEDOUT:
		return " (the device stays busy)";
	case -EFAULT:
		return " (no page the user's DMA went through is still mapped for the device)";
	case -EPERM:
		if (!vfio_pci_mediate_user_dma_access(edu->mdev))
			return " (reaching the user's DMA memory needs vfio-pci-mediate user_dma_access=1)";
		return " (the page is not mapped writable for the device)";
	default:
		return "";
	}
}

/* Reads the complete state of the stopped device into @st. */
static int edu_capture(struct edu_dev *edu, struct edu_state *st)
{
	u32 regs[8];
	static const u32 offs[8] = {
		EDU_REG_LIVENESS, EDU_REG_FACT, EDU_REG_STATUS,
		EDU_REG_IRQ_STATUS, EDU_REG_DMA_SRC, EDU_REG_DMA_DST,
		EDU_REG_DMA_CNT, EDU_REG_DMA_CMD,
	};
	bool waited = false;
	unsigned int i;
	u32 input;
	int ret;

	ret = edu_settle_reset(edu);
	if (!ret)
		ret = edu_drain(edu, &waited, &waited);
	for (i = 0; !ret && i < ARRAY_SIZE(offs); i++)
		ret = edu_read(edu, offs[i], &regs[i]);
	if (ret) {
		edu_warn(edu, "cannot save the device state: %pe%s\n",
			 ERR_PTR(ret), edu_err_hint(edu, ret));
		return ret;
	}
	if (waited && edu->stop_blind)
		edu_warn(edu,
			 "work started before a stop with memory decode off was still running %u ms later: the device changed while stopped\n",
			 EDU_BLIND_WAIT_MS);
	if (!edu_fact_input(regs[1], &input)) {
		edu_warn(edu,
			 "cannot save the device state: factorial register %#x is no factorial\n",
			 regs[1]);
		return -EIO;
	}

	memset(st, 0, sizeof(*st));
	st->version = cpu_to_le32(EDU_STATE_VERSION);
	st->liveness = cpu_to_le32(regs[0]);
	st->fact = cpu_to_le32(regs[1]);
	st->status = cpu_to_le32(regs[2] & EDU_STATUS_IRQFACT);
	st->irq_status = cpu_to_le32(regs[3] | edu->irq_to_raise);
	st->dma_src = cpu_to_le32(regs[4]);
	st->dma_dst = cpu_to_le32(regs[5]);
	st->dma_cnt = cpu_to_le32(regs[6]);
	st->dma_cmd = cpu_to_le32(regs[7] & (EDU_DMA_TO_RAM | EDU_DMA_IRQ));

	ret = edu_capture_buffer(edu, st);
	if (ret)
		edu_warn(edu, "cannot save the DMA buffer: %pe%s\n",
			 ERR_PTR(ret), edu_err_hint(edu, ret));
	return ret;
}

/*
 * Makes the device hold @st, except irq_status, which is cleared and kept
 * in edu->irq_to_raise for RUNNING.  The buffer goes first: its transfer
 * clobbers the DMA registers.  The factorial replay goes before it, so
 * that the transfer's 100 ms lie between the replay and setting the
 * IRQ-on-factorial bit.
 */
static int edu_apply(struct edu_dev *edu, struct edu_state *st)
{
	bool replayed = false;
	int ret;

	ret = edu_settle_reset(edu);
	if (!ret)
		ret = edu_drain(edu, NULL, NULL);
	if (!ret)
		ret = edu_set_fact(edu, le32_to_cpu(st->fact), &replayed);
	if (!ret && (le32_to_cpu(st->flags) & EDU_STATE_BUF_VALID))
		ret = edu_restore_buffer(edu, st);
	else if (!ret && replayed)
		msleep(EDU_FACT_SETTLE_MS);
	if (!ret)
		ret = edu_write_dma_regs(edu, le32_to_cpu(st->dma_src),
					 le32_to_cpu(st->dma_dst),
					 le32_to_cpu(st->dma_cnt));
	if (!ret)
		ret = edu_write(edu, EDU_REG_LIVENESS,
				~le32_to_cpu(st->liveness));
	if (!ret)
		ret = edu_write(edu, EDU_REG_STATUS, le32_to_cpu(st->status));
	/* After the IRQ bit: drop anything the replay may have raised. */
	if (!ret)
		ret = edu_write(edu, EDU_REG_IRQ_ACK, ~0u);
	if (ret) {
		edu_warn(edu, "cannot restore the device state: %pe%s\n",
			 ERR_PTR(ret), edu_err_hint(edu, ret));
		return ret;
	}
	edu->irq_to_raise = le32_to_cpu(st->irq_status);
	return 0;
}

/* --- mediate ops ---------------------------------------------------------- */

static int edu_open(struct vfio_pci_mediate_device *mdev, struct pci_dev *pdev,
		    void **handle)
{
	struct edu_dev *edu;
	int ret;

	if (!pci_match_id(edu_ids, pdev) ||
	    !(pci_resource_flags(pdev, EDU_BAR) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, EDU_BAR) <= EDU_MMAP_START)
		return -ENODEV;

	edu = kvzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->mdev = mdev;
	edu->pdev = pdev;
	init_rwsem(&edu->hw_sem);
	INIT_DELAYED_WORK(&edu->settle_work, edu_settle_work);
	mutex_init(&edu->dma_lock);
	mutex_init(&edu->trap_lock);
	edu->run_state = VFIO_PCI_MEDIATE_RUNNING;
	/* A previous open may have left work in flight. */
	edu->work_at = jiffies;

	/* Trapped from the start; offered to clients that follow traps. */
	ret = vfio_pci_mediate_add_trappable(mdev, EDU_BAR, 0, EDU_MMAP_START);
	if (ret < 0) {
		mutex_destroy(&edu->trap_lock);
		mutex_destroy(&edu->dma_lock);
		kvfree(edu);
		return ret;
	}
	edu->trap_id = ret;
	if (mmap_registers)
		vfio_pci_mediate_untrap(mdev, edu->trap_id);

	if (dirty_tracking)
		vfio_pci_mediate_dirty_enable_logging(mdev);
	*handle = edu;
	return 0;
}

static void edu_release(void *handle)
{
	struct edu_dev *edu = handle;

	cancel_delayed_work_sync(&edu->settle_work);
	mutex_destroy(&edu->trap_lock);
	mutex_destroy(&edu->dma_lock);
	kvfree(edu);
}

/*
 * Pins the RAM range a transfer into RAM is about to write (the model
 * starts at the destination register masked with its dma_mask), for
 * dirty tracking, and remembers it until the engine is seen idle (at the
 * next DMA command of either direction, or a drain).  @dma_lock held.
 */
static int edu_dirty_track(struct edu_dev *edu, u32 ram, u32 cnt)
{
	int ret;

	if (edu->nr_dirty == EDU_NR_DIRTY) {
		pci_info_ratelimited(edu->pdev,
				     "DMA command refused: %u transfers into RAM not finished yet\n",
				     EDU_NR_DIRTY);
		return -EBUSY;
	}
	ret = vfio_pci_mediate_dirty_begin(edu->mdev, ram, cnt);
	if (ret) {
		pci_info_ratelimited(edu->pdev,
				     "DMA command refused: cannot track RAM %#x+%#x for dirty pages: %pe\n",
				     ram, cnt, ERR_PTR(ret));
		return ret;
	}
	edu->dirty[edu->nr_dirty].iova = ram;
	edu->dirty[edu->nr_dirty].len = cnt;
	edu->nr_dirty++;
	return 0;
}

/*
 * The register page just became trapped: every command from now on comes
 * through ->rw(), but the user may have started a transfer through its
 * mapping before.  Track a transfer into RAM still running, and remember
 * the RAM page of the last transfer for the capture.
 */
static int edu_trap_catch_up(struct edu_dev *edu)
{
	u32 cmd, src, dst, cnt;
	int ret;

	down_read(&edu->hw_sem);
	mutex_lock(&edu->dma_lock);
	ret = edu_read(edu, EDU_REG_DMA_CMD, &cmd);
	if (!ret)
		ret = edu_read_dma_regs(edu, &src, &dst, &cnt);
	if (ret)
		goto out_unlock;
	if (cnt)
		edu_note_iova(edu, cmd & EDU_DMA_TO_RAM ? dst : src);
	if ((cmd & EDU_DMA_RUN) && (cmd & EDU_DMA_TO_RAM) && dirty_tracking) {
		ret = edu_dirty_track(edu, dst & edu_dma_mask(), cnt);
		if (!ret)
			edu_settle_later(edu);
	}
out_unlock:
	mutex_unlock(&edu->dma_lock);
	up_read(&edu->hw_sem);
	/* With decode off nothing runs, and nothing can be read. */
	return ret == -EIO ? 0 : ret;
}

/*
 * Traps the register page for @why (EDU_TRAP_*) and returns once the trap
 * is in force.  @hw_sem not held.
 */
static int edu_trap_hold(struct edu_dev *edu, unsigned int why)
{
	unsigned int was;
	int ret;

	/* Another holder may be waiting out the user's acknowledgement. */
	if (mutex_lock_killable(&edu->trap_lock))
		return -EINTR;
	ret = 0;
	was = edu->trap_holds;
	edu->trap_holds |= why;
	if (was || !mmap_registers)
		goto out_unlock;
	ret = vfio_pci_mediate_trap(edu->mdev, edu->trap_id);
	/* Only a client that had the page mapped can have gone around us. */
	if (ret > 0)
		ret = edu_trap_catch_up(edu);
	if (ret) {
		edu->trap_holds = was;
		vfio_pci_mediate_untrap(edu->mdev, edu->trap_id);
	}
out_unlock:
	mutex_unlock(&edu->trap_lock);
	return ret;
}

/* Drops reason @why; the last one gone offers the page again. */
static void edu_trap_release(struct edu_dev *edu, unsigned int why)
{
	mutex_lock(&edu->trap_lock);
	if (edu->trap_holds & why) {
		edu->trap_holds &= ~why;
		if (!edu->trap_holds && mmap_registers)
			vfio_pci_mediate_untrap(edu->mdev, edu->trap_id);
	}
	mutex_unlock(&edu->trap_lock);
}

/* Migration no longer needs the trap once RUNNING without a session. */
static void edu_trap_migration_over(struct edu_dev *edu)
{
	if (READ_ONCE(edu->run_state) == VFIO_PCI_MEDIATE_RUNNING &&
	    !edu->saving)
		edu_trap_release(edu, EDU_TRAP_MIGRATION);
}

/*
 * A DMA command (@val has RUN).  Refused while the device may not start
 * work, and when the buffer-side range is one the model would abort on.
 * The source, destination and count registers are read back (and written
 * back, which zero-extends them, so their unreadable high halves are 0 as
 * the check assumes).  A command the model ignores because a transfer
 * runs is checked all the same.
 */
static int edu_user_dma_cmd(struct edu_dev *edu, u32 val)
{
	u32 src, dst, cnt;
	bool to_ram = val & EDU_DMA_TO_RAM;
	int ret;

	if (edu->run_state != VFIO_PCI_MEDIATE_RUNNING)
		return -EBUSY;

	mutex_lock(&edu->dma_lock);
	ret = edu_dirty_settle(edu);
	if (!ret)
		ret = edu_read_dma_regs(edu, &src, &dst, &cnt);
	if (!ret)
		ret = edu_write_dma_regs(edu, src, dst, cnt);
	if (ret)
		goto out_unlock;
	if (!edu_dma_range_ok(to_ram ? src : dst, cnt)) {
		pci_info_ratelimited(edu->pdev,
				     "DMA command %#x refused: buffer range %#x+%#x is outside [%#x, %#x)\n",
				     val, to_ram ? src : dst, cnt, EDU_DMA_BUF,
				     EDU_DMA_BUF + EDU_DMA_XFER_MAX);
		ret = -EINVAL;
		goto out_unlock;
	}
	if (to_ram && dirty_tracking) {
		ret = edu_dirty_track(edu, dst & edu_dma_mask(), cnt);
		if (ret)
			goto out_unlock;
	}
	ret = edu_write(edu, EDU_REG_DMA_CMD, val);
	if (!ret) {
		WRITE_ONCE(edu->work_at, jiffies);
		edu_note_iova(edu, to_ram ? dst : src);
		if (to_ram && dirty_tracking)
			edu_settle_later(edu);
	} else if (to_ram && dirty_tracking) {
		/* No command, no transfer. */
		edu->nr_dirty--;
		vfio_pci_mediate_dirty_end(edu->mdev, dst & edu_dma_mask(),
					   cnt);
	}
out_unlock:
	mutex_unlock(&edu->dma_lock);
	return ret;
}

/* One piece of a user write, as vfio-pci would hand it to the device. */
static int edu_user_write(struct edu_dev *edu, u32 reg, const u8 *data,
			  size_t len)
{
	u32 val;
	int ret;

	/* The model ignores writes of other sizes. */
	if (len != sizeof(u32))
		return vfio_pci_mediate_bar_write(edu->mdev, EDU_BAR, reg, data,
						  len);
	val = get_unaligned_le32(data);

	switch (reg) {
	case EDU_REG_FACT:
		/* Starts a computation. */
		if (edu->run_state != VFIO_PCI_MEDIATE_RUNNING)
			return -EBUSY;
		WRITE_ONCE(edu->work_at, jiffies);
		break;
	case EDU_REG_IRQ_RAISE:
		/* Raises an interrupt. */
		if (edu->run_state != VFIO_PCI_MEDIATE_RUNNING)
			return -EBUSY;
		break;
	case EDU_REG_DMA_SRC:
	case EDU_REG_DMA_DST:
	case EDU_REG_DMA_CNT:
		mutex_lock(&edu->dma_lock);
		ret = edu_write(edu, reg, val);
		mutex_unlock(&edu->dma_lock);
		return ret;
	case EDU_REG_DMA_CMD:
		/* Without RUN the model ignores it. */
		if (val & EDU_DMA_RUN)
			return edu_user_dma_cmd(edu, val);
		break;
	}
	return edu_write(edu, reg, val);
}

/*
 * Part of a user access inside the register page, with the user's bytes
 * in @data: the bytes done (fewer than @len only after an error) or an
 * errno.  @hw_sem held for read.
 */
static ssize_t edu_reg_chunk(struct edu_dev *edu, u8 *data, size_t len,
			     u32 offset, bool iswrite)
{
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		size_t piece = vfio_pci_mediate_rw_piece(offset + done,
							 len - done);
		u32 reg = offset + done;

		if (iswrite)
			ret = edu_user_write(edu, reg, data + done, piece);
		else
			ret = vfio_pci_mediate_bar_read(edu->mdev, EDU_BAR, reg,
							data + done, piece);
		if (ret)
			break;
		done += piece;
	}
	return done ? done : ret;
}

/*
 * A user access inside the register page: bytes done or an errno.  The
 * user's buffer is only touched outside @hw_sem, in chunks that end on
 * 4-byte boundaries, so the pieces are those of one unbroken access.
 */
static ssize_t edu_reg_rw(struct edu_dev *edu, char __user *buf, size_t count,
			  loff_t offset, bool iswrite)
{
	u8 data[EDU_RW_CHUNK];
	size_t done = 0;
	ssize_t ret = 0;

	/* Unlocked peek; settled under the lock (see struct edu_dev). */
	if (READ_ONCE(edu->reset_pending)) {
		down_write(&edu->hw_sem);
		ret = edu_settle_reset(edu);
		up_write(&edu->hw_sem);
		if (ret)
			return ret;
	}

	while (done < count) {
		u32 pos = offset + done;
		size_t len = min_t(size_t, count - done,
				   sizeof(data) - (pos & 3));

		if (iswrite && copy_from_user(data, buf + done, len)) {
			ret = -EFAULT;
			break;
		}
		down_read(&edu->hw_sem);
		ret = edu_reg_chunk(edu, data, len, pos, iswrite);
		up_read(&edu->hw_sem);
		if (ret > 0 && !iswrite && copy_to_user(buf + done, data, ret))
			ret = -EFAULT;
		if (ret <= 0)
			break;
		done += ret;
		if ((size_t)ret < len)
			break;
	}
	return done ? done : ret;
}

static ssize_t edu_rw(void *handle, unsigned int index, char __user *buf,
		      size_t count, loff_t offset, bool iswrite, bool *pt)
{
	struct edu_dev *edu = handle;
	size_t head;
	ssize_t ret, tail;

	if (index != VFIO_PCI_BAR0_REGION_INDEX || offset >= EDU_REG_PAGE) {
		*pt = true;
		return 0;
	}
	head = min_t(size_t, count, EDU_REG_PAGE - offset);
	ret = edu_reg_rw(edu, buf, head, offset, iswrite);
	if (ret < 0 || (size_t)ret < head || head == count)
		return ret;

	/* The part beyond the register page is plain passthrough. */
	tail = vfio_pci_mediate_passthrough_rw(edu->mdev, index, buf + head,
					       count - head, EDU_REG_PAGE,
					       iswrite);
	return tail < 0 ? head : head + tail;
}

/*
 * VFIO_DEVICE_RESET, and any other reset of the function (the framework
 * calls this after a hot reset or an FLR through config space, before its
 * next migration call).  If memory decode is off (QEMU turns it off before
 * it resets a device), the registers cannot be reached now: the reset is
 * then done on the next access to the register page, or before the next
 * save or restore, once decode is on.  DMA addresses seen so far and a
 * loaded state not applied yet are forgotten.
 */
static int edu_reset(void *handle)
{
	struct edu_dev *edu = handle;
	int ret;

	down_write(&edu->hw_sem);
	edu->run_state = VFIO_PCI_MEDIATE_RUNNING;
	edu->load_pending = false;
	edu->irq_to_raise = 0;
	edu->snap_valid = false;
	edu->nr_scratch = 0;
	edu->stop_blind = false;
	WRITE_ONCE(edu->reset_pending, true);
	ret = edu_settle_reset(edu);
	if (ret == -EIO) {
		pci_dbg(edu->pdev,
			"memory decode off: register reset done on next use\n");
		ret = 0;
	}
	up_write(&edu->hw_sem);
	/* A save session still on ends right after (->save_end()). */
	edu_trap_migration_over(edu);
	return ret;
}

/* --- migration ops --------------------------------------------------------- */

static int edu_set_run_state(void *handle,
			     enum vfio_pci_mediate_run_state state)
{
	struct edu_dev *edu = handle;
	int ret = 0;

	/* From here on the user cannot start work behind ->rw(). */
	if (state != VFIO_PCI_MEDIATE_RUNNING) {
		ret = edu_trap_hold(edu, EDU_TRAP_MIGRATION);
		if (ret)
			return ret;
	}

	down_write(&edu->hw_sem);
	if (state == VFIO_PCI_MEDIATE_STOPPED) {
		bool fact_busy = false, dma_busy = false;

		ret = edu_settle_reset(edu);
		if (!ret)
			ret = edu_drain(edu, &fact_busy, &dma_busy);
		/* The lab's tests look for these to know what they covered. */
		if (fact_busy)
			pci_dbg(edu->pdev, "stop: drained a factorial in flight\n");
		if (dma_busy)
			pci_dbg(edu->pdev, "stop: drained a DMA transfer in flight\n");
		/*
		 * With decode off nothing can be checked, nor can the user
		 * start work: wait until a transfer the user started would
		 * have run (a long factorial may still be computing; the save
		 * will tell).  The save fails unless decode comes back.
		 */
		if (ret == -EIO) {
			long left = edu->work_at - jiffies +
				    msecs_to_jiffies(EDU_BLIND_WAIT_MS);

			if (left > 0 && schedule_timeout_killable(left) &&
			    fatal_signal_pending(current)) {
				ret = -EINTR;
			} else {
				pci_dbg(edu->pdev,
					"stopped with memory decode off: waited out work in flight instead of a drain\n");
				edu->stop_blind = true;
				ret = 0;
			}
		}
		if (ret == -ETIMEDOUT)
			edu_warn(edu,
				 "cannot stop: work in flight did not finish in %u ms\n",
				 EDU_WAIT_MS);
	} else if (edu->run_state == VFIO_PCI_MEDIATE_STOPPED &&
		   edu->load_pending) {
		/*
		 * Leaving STOPPED after a load: QEMU restores the command
		 * register after the device data, so only now can the
		 * device be reached.  The VM does not run yet.
		 */
		ret = edu_apply(edu, &edu->loaded);
		edu->load_pending = false;
	}
	if (!ret && state == VFIO_PCI_MEDIATE_RUNNING && edu->irq_to_raise) {
		ret = edu_write(edu, EDU_REG_IRQ_RAISE, edu->irq_to_raise);
		if (ret)
			edu_warn(edu,
				 "cannot raise the pending interrupt status %#x: %pe%s\n",
				 edu->irq_to_raise, ERR_PTR(ret),
				 edu_err_hint(edu, ret));
		else
			edu->irq_to_raise = 0;
	}
	if (!ret) {
		if (state != VFIO_PCI_MEDIATE_STOPPED)
			edu->stop_blind = false;
		edu->run_state = state;
	}
	up_write(&edu->hw_sem);
	if (!ret && state == VFIO_PCI_MEDIATE_RUNNING)
		edu_trap_migration_over(edu);
	return ret;
}

/*
 * Everything is saved once the device is stopped: nothing while live.  A
 * live session traps the registers: pre-copy is when dirty pages count.
 */
static int edu_save_start(void *handle, bool live)
{
	struct edu_dev *edu = handle;
	int ret;

	edu->saving = true;
	ret = edu_trap_hold(edu, EDU_TRAP_MIGRATION);
	if (ret) {
		edu->saving = false;
		return ret;
	}
	down_write(&edu->hw_sem);
	edu->snap_valid = false;
	edu->snap_pos = 0;
	up_write(&edu->hw_sem);
	return 0;
}

static ssize_t edu_save(void *handle, void *buf, size_t len)
{
	struct edu_dev *edu = handle;
	ssize_t ret = 0;

	down_write(&edu->hw_sem);
	if (!edu->snap_valid) {
		if (edu->run_state != VFIO_PCI_MEDIATE_STOPPED)
			goto out_unlock;
		ret = edu_capture(edu, &edu->snap);
		if (ret)
			goto out_unlock;
		edu->snap_valid = true;
		edu->snap_pos = 0;
	}
	ret = min(len, sizeof(edu->snap) - edu->snap_pos);
	memcpy(buf, (u8 *)&edu->snap + edu->snap_pos, ret);
	edu->snap_pos += ret;
out_unlock:
	up_write(&edu->hw_sem);
	return ret;
}

static void edu_save_size(void *handle, u64 *live_bytes, u64 *stop_bytes)
{
	struct edu_dev *edu = handle;
	u64 left = sizeof(edu->snap);

	down_read(&edu->hw_sem);
	if (edu->snap_valid)
		left -= edu->snap_pos;
	*live_bytes = edu->snap_valid ? left : 0;
	*stop_bytes = left;
	up_read(&edu->hw_sem);
}

static void edu_save_end(void *handle)
{
	struct edu_dev *edu = handle;

	down_write(&edu->hw_sem);
	edu->snap_valid = false;
	up_write(&edu->hw_sem);
	edu->saving = false;
	edu_trap_migration_over(edu);
}

/*
 * Before a DMA logging report: the transfers that have finished are over,
 * so that their pages are reported this once.
 */
static int edu_dirty_sync(void *handle)
{
	edu_settle_transfers(handle);
	return 0;
}

/* DMA logging needs every command seen, as type1's tracking does. */
static int edu_dirty_tracking(void *handle, bool on)
{
	struct edu_dev *edu = handle;

	if (!on) {
		edu_trap_release(edu, EDU_TRAP_LOGGING);
		return 0;
	}
	return edu_trap_hold(edu, EDU_TRAP_LOGGING);
}

/* Whether @st is a state this version can restore; logs why not. */
static int edu_check_state(struct edu_dev *edu, const struct edu_state *st)
{
	u32 flags = le32_to_cpu(st->flags), input;
	u64 iova = le64_to_cpu(st->scratch_iova);
	const char *why = NULL;

	if (le32_to_cpu(st->version) != EDU_STATE_VERSION)
		why = "unknown state version";
	else if (flags & ~EDU_STATE_BUF_VALID)
		why = "unknown flags";
	else if (le32_to_cpu(st->status) & ~EDU_STATUS_IRQFACT)
		why = "invalid status";
	else if (le32_to_cpu(st->dma_cmd) & ~(EDU_DMA_TO_RAM | EDU_DMA_IRQ))
		why = "invalid DMA command";
	else if (!edu_fact_input(le32_to_cpu(st->fact), &input))
		why = "factorial register holds no factorial";
	else if (st->dma_buf[EDU_DMA_XFER_MAX])
		why = "DMA buffer's last byte set";
	else if ((flags & EDU_STATE_BUF_VALID) &&
		 (!IS_ALIGNED(iova, EDU_IOVA_PAGE) || iova > edu_dma_mask()))
		why = "scratch IOVA not page aligned or beyond edu's DMA mask (at most 32 bits)";
	if (!why)
		return 0;
	edu_warn(edu, "refusing device state: %s\n", why);
	return -EINVAL;
}

static int edu_load(void *handle, const void *data, size_t len)
{
	struct edu_dev *edu = handle;
	const struct edu_state *st = data;
	u64 iova = le64_to_cpu(st->scratch_iova);
	int ret;

	if (len != sizeof(*st)) {
		edu_warn(edu,
			 "refusing device state: %zu bytes, expected %zu\n",
			 len, sizeof(*st));
		return -EINVAL;
	}
	ret = edu_check_state(edu, st);
	if (ret)
		return ret;

	down_write(&edu->hw_sem);
	if (le32_to_cpu(st->flags) & EDU_STATE_BUF_VALID) {
		/*
		 * Fail now if the buffer cannot be restored later.  Only a
		 * read: the VMM may still be loading guest memory.
		 */
		ret = edu_iova_rw(edu, iova, edu->page_orig, EDU_DMA_XFER_MAX,
				  false);
		if (ret) {
			edu_warn(edu,
				 "refusing device state: its DMA buffer goes through IOVA %#llx, which cannot be read for this device: %pe%s\n",
				 iova, ERR_PTR(ret), edu_err_hint(edu, ret));
			goto out_unlock;
		}
	}
	/* Applied when the device leaves STOPPED (see edu_set_run_state). */
	memcpy(&edu->loaded, st, sizeof(*st));
	edu->load_pending = true;
out_unlock:
	up_write(&edu->hw_sem);
	return ret;
}

static const struct vfio_pci_mediate_migration_ops edu_migration_ops = {
	.max_state_size = sizeof(struct edu_state),
	.set_run_state = edu_set_run_state,
	.save_start = edu_save_start,
	.save = edu_save,
	.save_size = edu_save_size,
	.save_end = edu_save_end,
	.load = edu_load,
};

static const struct vfio_pci_mediate_ops edu_mediate_ops = {
	.owner = THIS_MODULE,
	.name = "edu-mediate",
	.open = edu_open,
	.release = edu_release,
	.rw = edu_rw,
	.reset = edu_reset,
	.dirty_tracking = edu_dirty_tracking,
	.dirty_sync = edu_dirty_sync,
	.migration = &edu_migration_ops,
};

static int __init edu_mediate_init(void)
{
	if (!dma_mask_bits || dma_mask_bits > 64)
		return -EINVAL;
	return vfio_pci_register_mediate_ops(&edu_mediate_ops);
}

static void __exit edu_mediate_exit(void)
{
	vfio_pci_unregister_mediate_ops(&edu_mediate_ops);
}

module_init(edu_mediate_init);
module_exit(edu_mediate_exit);

MODULE_ALIAS_VFIO_PCI_MEDIATE(1234, 11E8);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample mediator for QEMU's edu device: trapped registers, complete state migration, reset");
