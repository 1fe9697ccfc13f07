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

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "edu.h"

unsigned int edu_param_dma_mask_bits = 28;

/* A value edu cannot have fails the module's load with -EINVAL. */
static int dma_mask_bits_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 64);
}

static const struct kernel_param_ops dma_mask_bits_ops = {
	.set = dma_mask_bits_set,
	.get = param_get_uint,
};

module_param_cb(dma_mask_bits, &dma_mask_bits_ops, &edu_param_dma_mask_bits,
		0444);
__MODULE_PARM_TYPE(dma_mask_bits, "uint");
MODULE_PARM_DESC(dma_mask_bits,
		 "Low bits of a DMA address that edu keeps, n for QEMU's dma_mask=2^n-1 (1-64, default 28); only 32 can be written through 4-byte registers");

/*
 * Off, nothing is pinned and Linux 6.1's type1 reports all guest RAM
 * dirty on every sync, as it does for devices nobody mediates: the
 * baseline of bench/dirty.  Read-only: a group that pinned once must pin
 * for every transfer from then on.
 */
bool edu_param_dirty_tracking = true;
module_param_named(dirty_tracking, edu_param_dirty_tracking, bool, 0444);
MODULE_PARM_DESC(dirty_tracking,
		 "Pin the RAM pages edu's transfers write, for type1's dirty tracking (default: on)");

/*
 * Off, the register page stays trapped for every client, as it is for a
 * client that does not follow traps (QEMU up to 7.2 at least).
 */
bool edu_param_mmap_registers = true;
module_param_named(mmap_registers, edu_param_mmap_registers, bool, 0444);
MODULE_PARM_DESC(mmap_registers,
		 "Let clients that follow dynamic traps mmap the register page while no migration or DMA logging needs it trapped (default: on)");

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

/*
 * How often STOP found a DMA transfer or a factorial in flight and waited
 * for it, in debugfs (no ABI promise; tests/stock_qemu reads drained_dma
 * to know what it covered).  The debug lines of edu_set_run_state() say
 * the same for people.  This setup is why edu-mediate does not use
 * module_vfio_pci_mediate_ops().
 */
atomic_t edu_drained_dma = ATOMIC_INIT(0);
atomic_t edu_drained_factorial = ATOMIC_INIT(0);
static struct dentry *edu_debugfs;

static int __init edu_mediate_init(void)
{
	int ret;

	/* debugfs may be missing: that fails nothing but the counters. */
	edu_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_atomic_t("drained_dma", 0444, edu_debugfs,
				&edu_drained_dma);
	debugfs_create_atomic_t("drained_factorial", 0444, edu_debugfs,
				&edu_drained_factorial);
	ret = vfio_pci_register_mediate_ops(&edu_mediate_ops);
	if (ret)
		debugfs_remove_recursive(edu_debugfs);
	return ret;
}

static void __exit edu_mediate_exit(void)
{
	vfio_pci_unregister_mediate_ops(&edu_mediate_ops);
	debugfs_remove_recursive(edu_debugfs);
}

module_init(edu_mediate_init);
module_exit(edu_mediate_exit);

MODULE_ALIAS_VFIO_PCI_MEDIATE(1234, 11E8);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample mediator for QEMU's edu device: trapped registers, complete state migration, reset");
