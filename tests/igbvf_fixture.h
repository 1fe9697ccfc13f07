/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lab's igb VFs (LAB_MACHINE=igb) seen from a test that plays the
 * VF's driver through libvfmig: their registers, the VF side of the
 * mailbox, and how to find and start them.
 */
#ifndef IGBVF_FIXTURE_H
#define IGBVF_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "vfio_dev.h"
#include "vfmig.h"

#define IGBVF_MODULE "igbvf_mediate"
#define IGBVF_MEDIATOR "igbvf-mediate"
#define VENDOR_INTEL 0x8086
#define DEVICE_82576_VF 0x10ca

/* VF registers (82576 datasheet 8.28), as kernel/samples/igbvf/regs.h. */
#define CTRL 0x0000
#define CTRL_RST (1u << 26)
#define EIAC 0x152c
#define EIAM 0x1530
#define EITR(n) (0x1680 + 4 * (n))
#define IVAR0 0x1700
#define IVAR_MISC 0x1740
#define V2PMAILBOX 0x0c40
#define MBX_REQ (1u << 0)
#define MBX_ACK (1u << 1)
#define MBX_VFU (1u << 2)
#define MBX_PFSTS (1u << 4)
#define MBX_PFACK (1u << 5)
#define VMBMEM(i) (0x0800 + 4 * (i))
#define MSG_RESET 0x01u
#define MSG_SET_MULTICAST 0x03u
#define MSG_SET_VLAN 0x04u
#define MSG_SET_LPE 0x05u
#define MSG_INFO(n) ((uint32_t)(n) << 16)
#define MSG_ACK (1u << 31)
#define MSG_NACK (1u << 30)
#define MSG_CTS (1u << 29)
#define QUEUE_ENABLE (1u << 25)

#define RXQ(reg, q) ((reg) + 0x100 * (q))
#define RDBAL 0x2800
#define RDBAH 0x2804
#define RDLEN 0x2808
#define SRRCTL 0x280c
#define SRRCTL_DESCTYPE_ONEBUF (1u << 25)
#define RDH 0x2810
#define RDT 0x2818
#define RXDCTL 0x2828
#define TDBAL 0x3800
#define TDBAH 0x3804
#define TDLEN 0x3808
#define TDH 0x3810
#define TDT 0x3818
#define TXDCTL 0x3828
#define TDWBAL 0x3838
#define TDWBAH 0x383c

struct vf {
	char bdf[PCI_BDF_LEN];
	char pf_netdev[64];
	int index;		/* "vf N" on the PF */
	struct vfmig_device *dev;
};

/*
 * The first @n igb VFs of the lab, bound to vfio-pci-mediate, with their
 * PF netdev and index filled in (not opened), igbvf-mediate loaded for
 * the test; SKIPs if the lab has fewer.
 */
void vf_find(struct vf *vfs, int n);

uint32_t vf_rd(const struct vf *vf, uint32_t reg);
void vf_wr(const struct vf *vf, uint32_t reg, uint32_t val);

/*
 * Waits up to @ms for any of @bits in the mailbox register, folding in
 * every read (the PF's bits clear when read).
 */
bool vf_mbx_wait(const struct vf *vf, uint32_t bits, uint32_t *seen,
		 unsigned int ms);

/*
 * Sends the PF the @n words of @msg.  Returns the first word of its
 * answer, or 0 if none came within 1.5 s.
 */
uint32_t vf_mbx_request(const struct vf *vf, const uint32_t *msg, int n);

/*
 * Sends the PF a "set long frame limit" request as igbvf does.  Returns
 * the first word of the PF's answer, or 0 if none came within 1.5 s
 * (igb does not answer a VF it has not served for 2 s after a reset).
 */
uint32_t vf_mbx_set_lpe(const struct vf *vf);

/*
 * What igbvf does when it starts: the VF's reset, then the reset
 * handshake with the PF, which enables the VF's receive and transmit and
 * answers with the VF's MAC (into @mac).
 */
void vf_start(const struct vf *vf, uint8_t mac[6]);

/* Receive queue 0 driven by the test, ring and buffers in its memory. */
#define VF_RX_DESC 256u
#define VF_RX_BUF_LEN 2048u
#define VF_RX_FIRST_BUF_PAGE 16u	/* the ring takes the first page */

struct vf_rx {
	const struct vf *vf;
	uint8_t *mem;			/* mapped for the device at @iova */
	uint64_t iova;
	uint32_t pages;			/* of 4 KiB, at least 32 */
	uint64_t buf[VF_RX_DESC];	/* IOVA of each descriptor's buffer */
	uint32_t next_clean;		/* first descriptor not taken back */
	uint32_t tail;
	uint64_t rng;			/* where the next buffers go */
	unsigned int received;
};

/*
 * Programs @vf's receive queue 0: a ring of VF_RX_DESC descriptors at the
 * memory's first page, 2 KiB buffers at random places after
 * VF_RX_FIRST_BUF_PAGE, @early of them handed to the device.
 */
void vf_rx_start(struct vf_rx *rx, const struct vf *vf, uint8_t *mem,
		 uint64_t iova, uint32_t pages, uint32_t early);

/*
 * Takes back the buffers the device filled, calling @each (if set) with
 * each one's IOVA, bytes and content, and hands out new ones in their
 * place.  Returns how many it took.
 */
unsigned int vf_rx_take_back(struct vf_rx *rx,
			     void (*each)(void *arg, uint64_t iova,
					  const uint8_t *frame, uint32_t len),
			     void *arg);

/* Sending frames on the PF's netdev (AF_PACKET). */
#define PF_TX_ETHERTYPE 0x88b5		/* IEEE local experimental */

struct pf_tx {
	int sock, ifindex;
	uint8_t mac[6];
};

void pf_tx_open(struct pf_tx *pf, const char *netdev);
void pf_tx_close(struct pf_tx *pf);
/*
 * One frame of @len bytes (60..1518) to @dst, tagged with VLAN @vlan
 * unless 0, ethertype PF_TX_ETHERTYPE, payload bytes @fill.
 */
void pf_tx_send(struct pf_tx *pf, const uint8_t dst[6], uint16_t vlan,
		size_t len, uint8_t fill);

#endif /* IGBVF_FIXTURE_H */
