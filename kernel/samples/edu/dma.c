// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-mediate: the mediator's own transfers (saving and restoring
 * edu's buffer through a page it borrows from the user's IOVA space),
 * and ending the dirty ranges of the user's transfers into RAM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "edu.h"

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
		ret = edu_param_dirty_tracking ?
		      vfio_pci_mediate_dirty_begin(edu->vpmdev, ram, cnt) : 0;
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
	if (to_ram && edu_param_dirty_tracking)
		vfio_pci_mediate_dirty_end(edu->vpmdev, ram, cnt);
	return ret;
}

/*
 * Ends them if the engine is idle: every command it took has finished,
 * and those it ignored never ran.
 */
int edu_dirty_settle(struct edu_dev *edu)
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
bool edu_settle_transfers(struct edu_dev *edu)
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
void edu_settle_work(struct work_struct *work)
{
	struct edu_dev *edu = container_of(to_delayed_work(work),
					   struct edu_dev, settle_work);

	if (edu_settle_transfers(edu) &&
	    time_before(jiffies, READ_ONCE(edu->work_at) +
				 msecs_to_jiffies(EDU_WAIT_MS)))
		schedule_delayed_work(&edu->settle_work,
				      msecs_to_jiffies(EDU_SETTLE_POLL_MS));
}

void edu_settle_later(struct edu_dev *edu)
{
	if (vfio_pci_mediate_user_dma_access(edu->vpmdev))
		mod_delayed_work(system_wq, &edu->settle_work,
				 msecs_to_jiffies(EDU_SETTLE_POLL_MS));
}

int edu_iova_rw(struct edu_dev *edu, u64 iova, void *buf, size_t len,
		bool write)
{
	return vfio_pci_mediate_dma_rw(edu->vpmdev, iova, buf, len, write);
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
void edu_note_iova(struct edu_dev *edu, u32 ram)
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
	if (!vfio_pci_mediate_user_dma_access(edu->vpmdev))
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
int edu_capture_buffer(struct edu_dev *edu, struct edu_state *st)
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
int edu_restore_buffer(struct edu_dev *edu, struct edu_state *st)
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
