// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-mediate: the mediate ops: open and release, the register page's
 * accesses and their checks, its trap, dirty tracking of the user's
 * transfers into RAM, reset.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "edu.h"

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{ }
};

int edu_open(struct vfio_pci_mediate_device *vpmdev, struct pci_dev *pdev,
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
	edu->vpmdev = vpmdev;
	edu->pdev = pdev;
	init_rwsem(&edu->hw_sem);
	INIT_DELAYED_WORK(&edu->settle_work, edu_settle_work);
	mutex_init(&edu->dma_lock);
	mutex_init(&edu->trap_lock);
	edu->run_state = VFIO_PCI_MEDIATE_RUNNING;
	/* A previous open may have left work in flight. */
	edu->work_at = jiffies;

	/* Trapped from the start; offered to clients that follow traps. */
	ret = vfio_pci_mediate_add_trappable(vpmdev, EDU_BAR, 0,
					     EDU_MMAP_START);
	if (ret < 0) {
		mutex_destroy(&edu->trap_lock);
		mutex_destroy(&edu->dma_lock);
		kvfree(edu);
		return ret;
	}
	edu->trap_id = ret;
	if (edu_param_mmap_registers)
		vfio_pci_mediate_untrap(vpmdev, edu->trap_id);

	if (edu_param_dirty_tracking)
		vfio_pci_mediate_dirty_enable_logging(vpmdev);
	*handle = edu;
	return 0;
}

void edu_release(void *handle)
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
	ret = vfio_pci_mediate_dirty_begin(edu->vpmdev, ram, cnt);
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
	if ((cmd & EDU_DMA_RUN) && (cmd & EDU_DMA_TO_RAM) &&
	    edu_param_dirty_tracking) {
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
int edu_trap_hold(struct edu_dev *edu, unsigned int why)
{
	unsigned int was;
	int ret;

	/* Another holder may be waiting out the user's acknowledgement. */
	if (mutex_lock_killable(&edu->trap_lock))
		return -EINTR;
	ret = 0;
	was = edu->trap_holds;
	edu->trap_holds |= why;
	if (was || !edu_param_mmap_registers)
		goto out_unlock;
	ret = vfio_pci_mediate_trap(edu->vpmdev, edu->trap_id);
	/* Only a client that had the page mapped can have gone around us. */
	if (ret > 0)
		ret = edu_trap_catch_up(edu);
	if (ret) {
		edu->trap_holds = was;
		vfio_pci_mediate_untrap(edu->vpmdev, edu->trap_id);
	}
out_unlock:
	mutex_unlock(&edu->trap_lock);
	return ret;
}

/* Drops reason @why; the last one gone offers the page again. */
void edu_trap_release(struct edu_dev *edu, unsigned int why)
{
	mutex_lock(&edu->trap_lock);
	if (edu->trap_holds & why) {
		edu->trap_holds &= ~why;
		if (!edu->trap_holds && edu_param_mmap_registers)
			vfio_pci_mediate_untrap(edu->vpmdev, edu->trap_id);
	}
	mutex_unlock(&edu->trap_lock);
}

/* Migration no longer needs the trap once RUNNING without a session. */
void edu_trap_migration_over(struct edu_dev *edu)
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
	if (to_ram && edu_param_dirty_tracking) {
		ret = edu_dirty_track(edu, dst & edu_dma_mask(), cnt);
		if (ret)
			goto out_unlock;
	}
	ret = edu_write(edu, EDU_REG_DMA_CMD, val);
	if (!ret) {
		WRITE_ONCE(edu->work_at, jiffies);
		edu_note_iova(edu, to_ram ? dst : src);
		if (to_ram && edu_param_dirty_tracking)
			edu_settle_later(edu);
	} else if (to_ram && edu_param_dirty_tracking) {
		/* No command, no transfer. */
		edu->nr_dirty--;
		vfio_pci_mediate_dirty_end(edu->vpmdev, dst & edu_dma_mask(),
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
		return vfio_pci_mediate_bar_write(edu->vpmdev, EDU_BAR, reg,
						  data, len);
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
			ret = vfio_pci_mediate_bar_read(edu->vpmdev, EDU_BAR,
							reg, data + done,
							piece);
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

ssize_t edu_rw(void *handle, unsigned int index, char __user *buf,
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
	tail = vfio_pci_mediate_passthrough_rw(edu->vpmdev, index, buf + head,
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
int edu_reset(void *handle)
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
