/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's edu device through libvfmig, for the tests that drive it served
 * by edu-mediate (kernel/samples/edu/): its registers, register
 * access that fails the test on error, waited-for DMA transfers, and
 * loading the built module for the length of a test.
 */
#ifndef TESTS_EDU_FIXTURE_H
#define TESTS_EDU_FIXTURE_H

#include <stdint.h>

#include <vfmig.h>

#include "mediate_fixture.h"
#include "../include/edu_regs.h"

#define EDU_MODULE "edu_mediate"
#define EDU_MEDIATOR "edu-mediate"

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
