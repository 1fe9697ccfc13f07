// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-mediate: access to edu's registers, and what the other files
 * need to know about edu's factorial and DMA engine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>

#include "edu.h"

int edu_read(struct edu_dev *edu, u32 reg, u32 *val)
{
	return vfio_pci_mediate_bar_read32(edu->vpmdev, EDU_BAR, reg, val);
}

int edu_write(struct edu_dev *edu, u32 reg, u32 val)
{
	return vfio_pci_mediate_bar_write32(edu->vpmdev, EDU_BAR, reg, val);
}

/*
 * Polls @reg until none of @mask is set, for at most EDU_WAIT_MS, or until
 * the caller is killed (-EINTR).  Sets *@waited (if given) when it was set
 * at first.
 */
int edu_wait_clear(struct edu_dev *edu, u32 reg, u32 mask,
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
void edu_dirty_end_all(struct edu_dev *edu)
{
	unsigned int i;

	for (i = 0; i < edu->nr_dirty; i++)
		vfio_pci_mediate_dirty_end(edu->vpmdev, edu->dirty[i].iova,
					   edu->dirty[i].len);
	edu->nr_dirty = 0;
}

/*
 * Waits for a factorial and a DMA transfer in flight to finish.  Sets
 * *@fact_busy and *@dma_busy (each if given) when there was one.  With
 * the engine idle, the user's transfers into RAM are over.  @hw_sem held
 * for write.
 */
int edu_drain(struct edu_dev *edu, bool *fact_busy, bool *dma_busy)
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
u32 edu_dma_mask(void)
{
	return edu_param_dma_mask_bits >= 32 ? U32_MAX :
	       (u32)BIT(edu_param_dma_mask_bits) - 1;
}

/*
 * Whether a transfer of @cnt bytes at buffer-side address @buf passes the
 * model's range check (QEMU 7.2 hw_error()s otherwise): @buf inside the
 * buffer, @cnt > 0 and @buf + @cnt strictly below the buffer's end.
 */
bool edu_dma_range_ok(u64 buf, u64 cnt)
{
	return cnt && buf >= EDU_DMA_BUF &&
	       buf < EDU_DMA_BUF + EDU_DMA_BUF_SIZE &&
	       cnt < EDU_DMA_BUF + EDU_DMA_BUF_SIZE - buf;
}

/* The smallest n in 0..34 with n! mod 2^32 == @result. */
bool edu_fact_input(u32 result, u32 *input)
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
int edu_set_fact(struct edu_dev *edu, u32 result, bool *replayed)
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
int edu_read_dma_regs(struct edu_dev *edu, u32 *src, u32 *dst,
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

int edu_write_dma_regs(struct edu_dev *edu, u32 src, u32 dst, u32 cnt)
{
	int ret;

	ret = edu_write(edu, EDU_REG_DMA_SRC, src);
	if (!ret)
		ret = edu_write(edu, EDU_REG_DMA_DST, dst);
	if (!ret)
		ret = edu_write(edu, EDU_REG_DMA_CNT, cnt);
	return ret;
}
