// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-mediate: resetting edu's registers, capturing the state of the
 * stopped device and applying a loaded one (@hw_sem held for write).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/string.h>

#include "edu.h"

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
int edu_settle_reset(struct edu_dev *edu)
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
const char *edu_err_hint(struct edu_dev *edu, int err)
{
	switch (err) {
	case -EIO:
		return " (memory decode is off (PCI_COMMAND_MEMORY) or the device is in low power)";
	case -ETIMEDOUT:
		return " (the device stays busy)";
	case -EFAULT:
		return " (no page the user's DMA went through is still mapped for the device)";
	case -EPERM:
		if (!vfio_pci_mediate_user_dma_access(edu->vpmdev))
			return " (reaching the user's DMA memory needs vfio-pci-mediate user_dma_access=1)";
		return " (the page is not mapped writable for the device)";
	default:
		return "";
	}
}

/* Reads the complete state of the stopped device into @st. */
int edu_capture(struct edu_dev *edu, struct edu_state *st)
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
int edu_apply(struct edu_dev *edu, struct edu_state *st)
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
