// SPDX-License-Identifier: GPL-2.0
/* See edu_fixture.h. */
#include <string.h>

#include "edu_fixture.h"
#include "harness.h"
#include "lab_fixture.h"
#include "migration_fixture.h"

void edu_module_load_for_test(void)
{
	mt_sample_load_for_test(EDU_MODULE, "edu-mediate.ko", "");
}

void edu_setup_pair(char bdf_a[PCI_BDF_LEN], char bdf_b[PCI_BDF_LEN])
{
	lab_require();
	mt_find_two_edu(bdf_a, bdf_b);
	mt_bind_mediate(bdf_a);
	mt_bind_mediate(bdf_b);
	/* edu's DMA buffer moves through the user's memory. */
	mt_user_dma_access_for_test(true);
	edu_module_load_for_test();
}

uint32_t edu_rd(struct vfmig_device *dev, uint32_t reg)
{
	uint64_t val = 0;

	MG_OK(dev, vfmig_bar_read(dev, 0, reg, 4, &val));
	return (uint32_t)val;
}

void edu_wr(struct vfmig_device *dev, uint32_t reg, uint32_t val)
{
	MG_OK(dev, vfmig_bar_write(dev, 0, reg, 4, val));
}

void edu_wr_refused(struct vfmig_device *dev, uint32_t reg, uint32_t val,
		    int err)
{
	int ret = vfmig_bar_write(dev, 0, reg, 4, val);

	if (ret != -err)
		FAIL("write of %#x to %#x gave %d (%s), expected -%s", val, reg,
		     ret, strerror(-ret), strerror(err));
}

void edu_wait_clear(struct vfmig_device *dev, uint32_t reg, uint32_t mask)
{
	uint64_t deadline = mt_now_ms() + EDU_WAIT_MS;

	while (edu_rd(dev, reg) & mask) {
		if (mt_now_ms() > deadline)
			FAIL("%s: register %#x keeps %#x set", vfmig_bdf(dev),
			     reg, mask);
		mt_sleep_ms(2);
	}
}

void edu_dma(struct vfmig_device *dev, uint32_t src, uint32_t dst,
	     uint32_t cnt, uint32_t cmd)
{
	edu_wr(dev, EDU_REG_DMA_SRC, src);
	edu_wr(dev, EDU_REG_DMA_DST, dst);
	edu_wr(dev, EDU_REG_DMA_CNT, cnt);
	edu_wr(dev, EDU_REG_DMA_CMD, cmd | EDU_DMA_RUN);
	edu_wait_clear(dev, EDU_REG_DMA_CMD, EDU_DMA_RUN);
}
