/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The registers of an Intel 82576 virtual function (8086:10ca) as the VF
 * sees them in its BAR0, and the PF/VF mailbox protocol, as far as
 * igbvf-mediate uses them.  Offsets and bits are the 82576 datasheet's
 * (section 8.28, "Virtual Function Registers"; 7.8.2.9, the mailbox).
 */
#ifndef IGBVF_REGS_H
#define IGBVF_REGS_H

#include <linux/bits.h>

#define IGBVF_BAR			0
#define IGBVF_BAR_SIZE			0x4000
#define IGBVF_NR_QUEUES			2
#define IGBVF_NR_VECTORS		3	/* MSI-X vectors of a VF */

#define IGBVF_CTRL			0x0000
#define  IGBVF_CTRL_RST			BIT(26)	/* VF queue and interrupt reset */
#define IGBVF_STATUS			0x0008

#define IGBVF_EICS			0x1520
#define IGBVF_EIMS			0x1524
#define IGBVF_EIMC			0x1528
#define IGBVF_EIAC			0x152c
#define IGBVF_EIAM			0x1530
#define IGBVF_EITR(n)			(0x1680 + 4 * (n))
#define IGBVF_IVAR0			0x1700
#define IGBVF_IVAR_MISC			0x1740
#define IGBVF_PSRTYPE			0x0f0c
#define  IGBVF_EIMS_ALL			GENMASK(IGBVF_NR_VECTORS - 1, 0)

/* Receive queue n (0 or 1). */
#define IGBVF_RDBAL(n)			(0x2800 + 0x100 * (n))
#define IGBVF_RDBAH(n)			(0x2804 + 0x100 * (n))
#define IGBVF_RDLEN(n)			(0x2808 + 0x100 * (n))
#define IGBVF_SRRCTL(n)			(0x280c + 0x100 * (n))
#define  IGBVF_SRRCTL_BSIZEPKT		GENMASK(6, 0)	/* KiB; 0: the PF's */
#define  IGBVF_SRRCTL_BSIZEHDR		GENMASK(11, 8)	/* 64-byte units */
#define  IGBVF_SRRCTL_DESCTYPE		GENMASK(27, 25)
#define   IGBVF_SRRCTL_DESCTYPE_LEGACY	0
#define   IGBVF_SRRCTL_DESCTYPE_ONEBUF	1	/* advanced, one buffer */
#define IGBVF_RDH(n)			(0x2810 + 0x100 * (n))
#define IGBVF_RXCTL(n)			(0x2814 + 0x100 * (n))
#define IGBVF_RDT(n)			(0x2818 + 0x100 * (n))
#define IGBVF_RXDCTL(n)			(0x2828 + 0x100 * (n))

/* Transmit queue n (0 or 1). */
#define IGBVF_TDBAL(n)			(0x3800 + 0x100 * (n))
#define IGBVF_TDBAH(n)			(0x3804 + 0x100 * (n))
#define IGBVF_TDLEN(n)			(0x3808 + 0x100 * (n))
#define IGBVF_TDH(n)			(0x3810 + 0x100 * (n))
#define IGBVF_TXCTL(n)			(0x3814 + 0x100 * (n))
#define IGBVF_TDT(n)			(0x3818 + 0x100 * (n))
#define IGBVF_TXDCTL(n)			(0x3828 + 0x100 * (n))
#define IGBVF_TDWBAL(n)			(0x3838 + 0x100 * (n))
#define  IGBVF_TDWBAL_ENABLE		BIT(0)	/* head write-back on */
#define  IGBVF_TDWBAL_ALIGN		4
#define IGBVF_TDWBAH(n)			(0x383c + 0x100 * (n))
#define  IGBVF_QUEUE_ENABLE		BIT(25)	/* in RXDCTL and TXDCTL */

/* The pages of BAR0 that hold the queue registers, receive then transmit. */
#define IGBVF_RXQ_PAGE			0x2000
#define IGBVF_TXQ_PAGE			0x3000
#define IGBVF_QUEUE_PAGE_SIZE		0x1000
#define IGBVF_QUEUE_STRIDE		0x100

/* Descriptor rings: 16-byte descriptors, length a multiple of 128 bytes. */
#define IGBVF_DESC_SIZE			16
#define IGBVF_RING_ALIGN		128
#define IGBVF_RING_LEN_MAX		0xfff80	/* RDLEN/TDLEN bits 19:7 */
#define IGBVF_RING_LEN_DEV		GENMASK(19, 4)	/* what QEMU's model keeps */
#define IGBVF_RING_POS			GENMASK(15, 0)	/* of a head or tail */

/* VF side of the mailbox. */
#define IGBVF_V2PMAILBOX		0x0c40
#define  IGBVF_MBX_REQ			BIT(0)	/* request for the PF */
#define  IGBVF_MBX_ACK			BIT(1)	/* ack of the PF's message */
#define  IGBVF_MBX_VFU			BIT(2)	/* VF owns the buffer */
#define  IGBVF_MBX_PFU			BIT(3)	/* PF owns the buffer */
#define  IGBVF_MBX_PFSTS		BIT(4)	/* PF wrote a message (clear on read) */
#define  IGBVF_MBX_PFACK		BIT(5)	/* PF took ours (clear on read) */
#define  IGBVF_MBX_RSTI			BIT(6)	/* PF is resetting */
#define  IGBVF_MBX_RSTD			BIT(7)	/* PF reset done (clear on read) */
#define IGBVF_MBX_PAGE			0x0000	/* CTRL and the mailbox */
#define IGBVF_VMBMEM(i)			(0x0800 + 4 * (i))
#define IGBVF_MBX_WORDS			16

/* Mailbox messages (first word), igb's PF protocol. */
#define IGBVF_MSG_RESET			0x01
#define IGBVF_MSG_SET_MAC		0x02
#define IGBVF_MSG_SET_MULTICAST		0x03
#define IGBVF_MSG_SET_VLAN		0x04
#define IGBVF_MSG_SET_LPE		0x05
#define IGBVF_MSG_SET_PROMISC		0x06
#define IGBVF_MSG_TYPE			GENMASK(15, 0)
#define IGBVF_MSG_INFO			GENMASK(23, 16)
#define  IGBVF_PROMISC_MULTICAST	0x02	/* SET_PROMISC's info */
#define IGBVF_VLAN_ID			GENMASK(11, 0)	/* SET_VLAN's word 1 */
#define IGBVF_PF_VLANS			32	/* the PF's VLAN filters (VLVF) */
#define IGBVF_MC_HASHES			30	/* igb keeps at most these */
#define IGBVF_LPE_MAX			0x3fff	/* RLPML's field */
#define IGBVF_MSG_ACK			BIT(31)
#define IGBVF_MSG_NACK			BIT(30)
#define IGBVF_MSG_CTS			BIT(29)

#endif /* IGBVF_REGS_H */
