/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's edu device (hw/misc/edu.c, docs/specs/edu.txt): its PCI ids and
 * BAR0, for everything here that drives one: the guest workload, the
 * edu-mediate sample, the tests and the benchmarks.  Plain constants, so
 * that the freestanding 32-bit guest, the kernel and userspace can all
 * include it.
 */
#ifndef VFIO_MEDIATE_EDU_REGS_H
#define VFIO_MEDIATE_EDU_REGS_H

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_BAR0_SIZE		(1u << 20)

/* BAR0 registers.  Below 0x80 only 4-byte accesses work. */
#define EDU_REG_ID		0x00	/* RO, EDU_ID_VALUE */
#define  EDU_ID_VALUE		0x010000edu
#define EDU_REG_LIVENESS	0x04	/* reads back the inverse of what was written */
#define EDU_REG_FACT		0x08	/* write n: computes n! (u32); read: result */
#define EDU_REG_STATUS		0x20
#define  EDU_STATUS_COMPUTING	0x01u	/* RO: a factorial is being computed */
#define  EDU_STATUS_IRQFACT	0x80u	/* raise EDU_IRQ_FACT when one is done */
#define EDU_REG_IRQ_STATUS	0x24	/* RO */
#define EDU_REG_IRQ_RAISE	0x60	/* WO: sets bits, interrupts */
#define EDU_REG_IRQ_ACK		0x64	/* WO: clears bits */
#define  EDU_IRQ_FACT		0x00000001u
#define  EDU_IRQ_DMA		0x00000100u

/*
 * DMA registers, 64 bits wide; a 4-byte write zero-extends.  Writes are
 * ignored while RUN is set.
 */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define  EDU_DMA_RUN		0x1u	/* start; cleared when done */
#define  EDU_DMA_TO_RAM		0x2u	/* buffer -> RAM; else RAM -> buffer */
#define  EDU_DMA_IRQ		0x4u	/* raise EDU_IRQ_DMA when done */

/*
 * The device's 4 KiB DMA buffer, at bus address EDU_DMA_BUF.  A transfer
 * must stay strictly below its end (QEMU 7.2 aborts otherwise), so the
 * last byte is never reachable: one moves at most EDU_DMA_XFER_MAX bytes.
 */
#define EDU_DMA_BUF		0x40000u
#define EDU_DMA_BUF_SIZE	0x1000u
#define EDU_DMA_XFER_MAX	(EDU_DMA_BUF_SIZE - 1)

/* The RAM side of a DMA is masked with this by default (dma_mask). */
#define EDU_DMA_RAM_LIMIT	(1u << 28)

/* The DMA starts this long (QEMU virtual time) after RUN is written. */
#define EDU_DMA_DELAY_MS	100

#endif
