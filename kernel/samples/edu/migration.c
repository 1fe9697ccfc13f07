// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-mediate: the migration ops: run states, save and load of
 * struct edu_state, DMA logging.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "edu.h"

int edu_set_run_state(void *handle,
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
		/* The lab's tests count these to know what they covered. */
		if (fact_busy) {
			atomic_inc(&edu_drained_factorial);
			pci_dbg(edu->pdev, "stop: drained a factorial in flight\n");
		}
		if (dma_busy) {
			atomic_inc(&edu_drained_dma);
			pci_dbg(edu->pdev, "stop: drained a DMA transfer in flight\n");
		}
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
int edu_save_start(void *handle, bool live)
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

ssize_t edu_save(void *handle, void *buf, size_t len)
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

void edu_save_size(void *handle, u64 *live_bytes, u64 *stop_bytes)
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

void edu_save_end(void *handle)
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
int edu_dirty_sync(void *handle)
{
	edu_settle_transfers(handle);
	return 0;
}

/* DMA logging needs every command seen, as type1's tracking does. */
int edu_dirty_tracking(void *handle, bool on)
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

int edu_load(void *handle, const void *data, size_t len)
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
