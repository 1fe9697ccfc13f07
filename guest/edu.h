/* SPDX-License-Identifier: GPL-2.0-only */
/* QEMU's edu device (hw/misc/edu.c, docs/specs/edu.txt): PCI ids and BAR0. */
#ifndef GUEST_EDU_H
#define GUEST_EDU_H

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

/* BAR0 registers.  Below 0x80 only 4-byte accesses work. */
#define EDU_ID			0x00	/* RO, EDU_ID_VALUE */
#define  EDU_ID_VALUE		0x010000edu
#define EDU_LIVENESS		0x04	/* reads back the inverse of what was written */
#define EDU_FACT		0x08	/* write n: computes n! (u32); read: result */
#define EDU_STATUS		0x20
#define  EDU_STATUS_COMPUTING	0x01	/* RO: a factorial is being computed */
#define  EDU_STATUS_IRQFACT	0x80	/* raise EDU_IRQ_FACT when one is done */
#define EDU_IRQ_STATUS		0x24	/* RO */
#define EDU_IRQ_RAISE		0x60	/* WO: sets bits, interrupts */
#define EDU_IRQ_ACK		0x64	/* WO: clears bits */
#define  EDU_IRQ_FACT		0x00000001
#define  EDU_IRQ_DMA		0x00000100

/*
 * DMA registers, 64 bits wide; a 4-byte write zero-extends, which is all a
 * 32-bit guest below 4 GiB needs.  Writes are ignored while RUN is set.
 */
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define  EDU_DMA_RUN		0x1	/* start; cleared when done */
#define  EDU_DMA_TO_RAM		0x2	/* else RAM -> device buffer */
#define  EDU_DMA_IRQ		0x4	/* raise EDU_IRQ_DMA when done */

/*
 * The device's 4 KiB DMA buffer, at bus address EDU_DMA_BUF.  A transfer
 * must stay strictly below its end (QEMU 7.2 aborts otherwise), so the
 * last byte is never reachable: usable offsets are 0..EDU_DMA_USABLE-1.
 */
#define EDU_DMA_BUF		0x40000u
#define EDU_DMA_BUF_SIZE	0x1000u
#define EDU_DMA_USABLE		(EDU_DMA_BUF_SIZE - 1)

/* The RAM side of a DMA is masked with this by default (dma_mask). */
#define EDU_DMA_RAM_LIMIT	(1u << 28)

/* The DMA starts this long (QEMU virtual time) after RUN is written. */
#define EDU_DMA_DELAY_MS	100

#endif /* GUEST_EDU_H */
