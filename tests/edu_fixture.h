/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's edu device through libvfmig, for the tests that drive it served
 * by edu-mediate (kernel/samples/edu_mediate.c): its registers, register
 * access that fails the test on error, waited-for DMA transfers, and
 * loading the built module for the length of a test.
 */
#ifndef TESTS_EDU_FIXTURE_H
#define TESTS_EDU_FIXTURE_H

#include <stdint.h>

#include <vfmig.h>

#include "mediate_fixture.h"

#define EDU_MODULE "edu_mediate"
#define EDU_MEDIATOR "edu-mediate"

#define REG_ID 0x00
#define REG_LIVENESS 0x04
#define REG_FACT 0x08
#define REG_STATUS 0x20
#define REG_IRQ_STATUS 0x24
#define REG_IRQ_RAISE 0x60
#define REG_IRQ_ACK 0x64
#define REG_DMA_SRC 0x80
#define REG_DMA_DST 0x88
#define REG_DMA_CNT 0x90
#define REG_DMA_CMD 0x98

#define STATUS_COMPUTING 0x01u
#define STATUS_IRQFACT 0x80u
#define IRQ_FACT 0x01u
#define DMA_RUN 0x1u
#define DMA_TO_RAM 0x2u
#define DMA_IRQ 0x4u
#define IRQ_DMA 0x100u
#define BUF_START 0x40000u
#define BUF_XFER_MAX 0xfffu	/* edu moves at most 4095 bytes */

/* Bound on waiting for a transfer or a factorial (one takes 100 ms). */
#define EDU_WAIT_MS 5000

/* Loads the built edu-mediate for this test and unloads it at its end. */
void edu_module_load_for_test(void);

/*
 * Inside the lab: both edu devices bound to vfio-pci-mediate (restored at
 * the end), mediators allowed to reach the user's DMA memory (edu-mediate
 * moves edu's buffer through it; user_dma_access restored at the end) and
 * edu-mediate loaded.  Nothing is opened yet.
 */
void edu_setup_pair(char bdf_a[PCI_BDF_LEN], char bdf_b[PCI_BDF_LEN]);

uint32_t edu_rd(struct vfmig_device *dev, uint32_t reg);
void edu_wr(struct vfmig_device *dev, uint32_t reg, uint32_t val);
/* A write the mediator must refuse with err. */
void edu_wr_refused(struct vfmig_device *dev, uint32_t reg, uint32_t val,
		    int err);
/* Waits until none of mask is set in reg, at most EDU_WAIT_MS. */
void edu_wait_clear(struct vfmig_device *dev, uint32_t reg, uint32_t mask);
/* A DMA transfer, waited for; @cmd without RUN. */
void edu_dma(struct vfmig_device *dev, uint32_t src, uint32_t dst,
	     uint32_t cnt, uint32_t cmd);

#endif /* TESTS_EDU_FIXTURE_H */
