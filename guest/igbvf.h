/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Intel 82576 virtual function (8086:10ca, QEMU's igbvf) as its
 * driver sees it: BAR0 registers, the mailbox to the PF, advanced
 * descriptors.  From the 82576 datasheet (8.28 VF registers, 7.8.2.9
 * mailbox, 7.1.5 / 7.2.3 advanced descriptors); Linux's igb PF speaks
 * the mailbox messages below.
 */
#ifndef GUEST_IGBVF_H
#define GUEST_IGBVF_H

#include <stdint.h>

#define IGBVF_VENDOR		0x8086
#define IGBVF_DEVICE		0x10ca

#define IGBVF_NR_VECTORS	3	/* MSI-X vectors of a VF */

/* BAR0 registers. */
#define IGBVF_CTRL		0x0000
#define  IGBVF_CTRL_RST		(1u << 26)	/* VF queue and interrupt reset */
#define IGBVF_STATUS		0x0008
#define  IGBVF_STATUS_LU	(1u << 1)	/* link up */
#define IGBVF_EIMS		0x1524
#define IGBVF_EIMC		0x1528
#define IGBVF_EIAC		0x152c
#define IGBVF_EIAM		0x1530
#define IGBVF_EITR(n)		(0x1680 + 4 * (n))
#define IGBVF_IVAR0		0x1700	/* RX0 vector in bits 7:0, TX0 in 15:8 */
#define IGBVF_IVAR_MISC		0x1740	/* mailbox vector in bits 7:0 */
#define  IGBVF_IVAR_VALID	0x80

/* Queue 0 (the VF has two; one pair is all this driver uses). */
#define IGBVF_RDBAL		0x2800
#define IGBVF_RDBAH		0x2804
#define IGBVF_RDLEN		0x2808
#define IGBVF_SRRCTL		0x280c
#define  IGBVF_SRRCTL_BSIZEPKT_1K_SHIFT 0	/* buffer size in KiB, 6:0 */
#define  IGBVF_SRRCTL_ADV_ONEBUF (1u << 25)	/* advanced, one buffer */
#define  IGBVF_SRRCTL_DROP_EN	(1u << 31)
#define IGBVF_RDH		0x2810
#define IGBVF_RDT		0x2818
#define IGBVF_RXDCTL		0x2828
#define IGBVF_TDBAL		0x3800
#define IGBVF_TDBAH		0x3804
#define IGBVF_TDLEN		0x3808
#define IGBVF_TDH		0x3810
#define IGBVF_TDT		0x3818
#define IGBVF_TXDCTL		0x3828
#define  IGBVF_QUEUE_ENABLE	(1u << 25)	/* RXDCTL, TXDCTL */
/* Prefetch, host and write-back thresholds, as igbvf uses them. */
#define  IGBVF_RXDCTL_THRESH	(16u | 8u << 8 | 4u << 16)
#define  IGBVF_TXDCTL_THRESH	(8u | 1u << 8 | 16u << 16)

/* Mailbox, VF side. */
#define IGBVF_V2PMAILBOX	0x0c40
#define  IGBVF_MBX_REQ		(1u << 0)	/* message for the PF */
#define  IGBVF_MBX_ACK		(1u << 1)	/* PF's message taken */
#define  IGBVF_MBX_VFU		(1u << 2)	/* VF owns the buffer */
#define  IGBVF_MBX_PFU		(1u << 3)	/* PF owns the buffer */
#define  IGBVF_MBX_PFSTS	(1u << 4)	/* PF wrote a message (clear on read) */
#define  IGBVF_MBX_PFACK	(1u << 5)	/* PF took ours (clear on read) */
#define  IGBVF_MBX_RSTI		(1u << 6)	/* PF resetting */
#define  IGBVF_MBX_RSTD		(1u << 7)	/* PF reset done (clear on read) */
#define IGBVF_VMBMEM(i)		(0x0800 + 4 * (i))
#define IGBVF_MBX_WORDS		16

/* Messages: first word. */
#define IGBVF_MSG_RESET		0x01
#define IGBVF_MSG_SET_LPE	0x05	/* word 1: longest frame accepted */
#define IGBVF_MSG_PF_CONTROL	0x0100	/* the PF's own notices */
#define IGBVF_MSG_TYPE_MASK	0xffffu
#define IGBVF_MSG_ACK		(1u << 31)
#define IGBVF_MSG_NACK		(1u << 30)
#define IGBVF_MSG_CTS		(1u << 29)

/* Rings: 16-byte descriptors, length a multiple of 128 bytes. */
#define IGBVF_DESC_SIZE		16
#define IGBVF_RING_ALIGN	128

/*
 * Advanced receive descriptor.  Read format: buffer address, header
 * address (0: no header split).  Write-back format: the device writes
 * status and length over the header address.
 */
struct igbvf_rx_desc {
	uint32_t addr_lo, addr_hi;	/* read: packet buffer */
	uint32_t status_error;		/* read: header buffer, low half */
	uint16_t length;		/* read: header buffer, high half */
	uint16_t vlan;
};
#define IGBVF_RXD_STAT_DD	(1u << 0)
#define IGBVF_RXD_STAT_EOP	(1u << 1)
/* CE, SE, SEQ, CXE, TCPE, IPE, RXE: no frame of ours has any. */
#define IGBVF_RXD_ERRORS	0xf7000000u

/*
 * Advanced transmit data descriptor.  The device sets DD in the last word
 * when it is done with a descriptor that asked for it (RS).
 */
struct igbvf_tx_desc {
	uint32_t addr_lo, addr_hi;
	uint32_t cmd_type_len;		/* length in 15:0 */
	uint32_t olinfo_status;		/* read: PAYLEN in 31:14; write-back: DD */
};
#define IGBVF_TXD_DTYP_DATA	(3u << 20)
#define IGBVF_TXD_CMD_EOP	(1u << 24)
#define IGBVF_TXD_CMD_IFCS	(1u << 25)	/* device appends the FCS */
#define IGBVF_TXD_CMD_RS	(1u << 27)	/* report status: write DD back */
#define IGBVF_TXD_CMD_DEXT	(1u << 29)	/* advanced descriptor */
#define IGBVF_TXD_PAYLEN_SHIFT	14
#define IGBVF_TXD_STAT_DD	(1u << 0)

#endif /* GUEST_IGBVF_H */
