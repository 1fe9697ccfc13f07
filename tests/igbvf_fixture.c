// SPDX-License-Identifier: GPL-2.0
/* The lab's igb VFs for tests that play the VF's driver: igbvf_fixture.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "igbvf_fixture.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

/* The first entry of directory @dir into @name; false if none. */
static bool first_entry(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		if (e->d_name[0] != '.' && strlen(e->d_name) < len) {
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
			found = true;
		}
	closedir(d);
	return found;
}

/* VF @bdf's PF netdev and index, from sysfs. */
static void vf_identify(struct vf *vf)
{
	char path[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/physfn/net",
		 vf->bdf);
	if (!first_entry(path, vf->pf_netdev, sizeof(vf->pf_netdev)))
		SKIP("the PF of %s has no netdev (is igb bound?)", vf->bdf);
	for (i = 0; i < 8; i++) {
		snprintf(link, sizeof(link),
			 "/sys/bus/pci/devices/%s/physfn/virtfn%d", vf->bdf, i);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strstr(target, vf->bdf)) {
			vf->index = i;
			return;
		}
	}
	FAIL("%s is not among its PF's virtfn links", vf->bdf);
}

void vf_find(struct vf *vfs, int n)
{
	char found[8][PCI_BDF_LEN];
	int have, i;

	lab_require();
	have = pci_find_devices(VENDOR_INTEL, DEVICE_82576_VF, found, 8);
	if (have < n)
		SKIP("needs %d igb VFs (%04x:%04x), found %d: boot the lab with LAB_MACHINE=igb",
		     n, VENDOR_INTEL, DEVICE_82576_VF, have);
	for (i = 0; i < n; i++) {
		memset(&vfs[i], 0, sizeof(vfs[i]));
		memcpy(vfs[i].bdf, found[i], PCI_BDF_LEN);
		vf_identify(&vfs[i]);
		mt_bind_mediate(vfs[i].bdf);
	}
	mt_sample_load_for_test(IGBVF_MODULE, "igbvf-mediate.ko", "");
}

uint32_t vf_rd(const struct vf *vf, uint32_t reg)
{
	uint64_t val = 0;

	MG_OK(vf->dev, vfmig_bar_read(vf->dev, 0, reg, 4, &val));
	return (uint32_t)val;
}

void vf_wr(const struct vf *vf, uint32_t reg, uint32_t val)
{
	MG_OK(vf->dev, vfmig_bar_write(vf->dev, 0, reg, 4, val));
}

bool vf_mbx_wait(const struct vf *vf, uint32_t bits, uint32_t *seen,
		 unsigned int ms)
{
	uint64_t deadline = mt_now_ms() + ms;

	while (!(*seen & bits)) {
		if (mt_now_ms() > deadline)
			return false;
		mt_sleep_ms(1);
		*seen |= vf_rd(vf, V2PMAILBOX);
	}
	return true;
}

/* Sends @n words to the PF and waits until it took them. */
static void vf_mbx_send(const struct vf *vf, const uint32_t *msg, int n,
			uint32_t *seen)
{
	vf_wr(vf, V2PMAILBOX, MBX_VFU);
	*seen |= vf_rd(vf, V2PMAILBOX);
	ASSERT_TRUE(*seen & MBX_VFU);
	*seen &= ~(MBX_PFACK | MBX_PFSTS);
	for (int i = 0; i < n; i++)
		vf_wr(vf, VMBMEM(i), msg[i]);
	vf_wr(vf, V2PMAILBOX, MBX_REQ);
	if (!vf_mbx_wait(vf, MBX_PFACK, seen, 2000))
		FAIL("%s: the PF did not take message %#x within 2 s (mailbox %#x)",
		     vf->bdf, msg[0], *seen);
}

/* Reads the PF's answer (@n words) and acknowledges it. */
static void vf_mbx_receive(const struct vf *vf, uint32_t *msg, int n)
{
	vf_wr(vf, V2PMAILBOX, MBX_VFU);
	for (int i = 0; i < n; i++)
		msg[i] = vf_rd(vf, VMBMEM(i));
	vf_wr(vf, V2PMAILBOX, MBX_ACK);
}

uint32_t vf_mbx_request(const struct vf *vf, const uint32_t *msg, int n)
{
	uint32_t seen = 0, reply;

	vf_mbx_send(vf, msg, n, &seen);
	if (!vf_mbx_wait(vf, MBX_PFSTS, &seen, 1500))
		return 0;
	vf_mbx_receive(vf, &reply, 1);
	return reply;
}

uint32_t vf_mbx_set_lpe(const struct vf *vf)
{
	const uint32_t msg[2] = { MSG_SET_LPE, 1522 };

	return vf_mbx_request(vf, msg, 2);
}

void vf_start(const struct vf *vf, uint8_t mac[6])
{
	const uint32_t msg = MSG_RESET;
	uint32_t seen = 0, reply[3] = { 0 };
	int i;

	vf_wr(vf, CTRL, vf_rd(vf, CTRL) | CTRL_RST);
	/* igb may post something else first (a ping): skip it. */
	vf_mbx_send(vf, &msg, 1, &seen);
	for (i = 0; i < 4 && (reply[0] & 0xffff) != MSG_RESET; i++) {
		if (!vf_mbx_wait(vf, MBX_PFSTS, &seen, 2000))
			FAIL("%s: the PF did not answer the reset within 2 s",
			     vf->bdf);
		seen &= ~MBX_PFSTS;
		vf_mbx_receive(vf, reply, 3);
	}
	if ((reply[0] & ~MSG_CTS) != (MSG_RESET | MSG_ACK))
		FAIL("%s: the PF answered the reset with %#x", vf->bdf,
		     reply[0]);
	memcpy(mac, &reply[1], 6);
}

/* Advanced receive descriptor: read format; write-back in the 2nd word. */
struct rx_desc {
	uint64_t pkt_addr;
	uint64_t hdr_addr;
};

#define WB_DD(q1) ((q1) & 1)
#define WB_LENGTH(q1) ((uint32_t)((q1) >> 32) & 0xffff)
#define PAGE_4K 4096u

static volatile struct rx_desc *rx_ring(struct vf_rx *rx)
{
	return (volatile struct rx_desc *)rx->mem;
}

/* xorshift64 */
static uint64_t rx_random(struct vf_rx *rx)
{
	rx->rng ^= rx->rng << 13;
	rx->rng ^= rx->rng >> 7;
	rx->rng ^= rx->rng << 17;
	return rx->rng;
}

/* Hands descriptors up to (not including) @to to the device. */
static void rx_hand_out(struct vf_rx *rx, uint32_t to)
{
	uint64_t halves = (uint64_t)(rx->pages - VF_RX_FIRST_BUF_PAGE) *
			  (PAGE_4K / VF_RX_BUF_LEN);

	for (uint32_t i = rx->tail; i != to; i = (i + 1) % VF_RX_DESC) {
		rx->buf[i] = rx->iova +
			     (uint64_t)VF_RX_FIRST_BUF_PAGE * PAGE_4K +
			     rx_random(rx) % halves * VF_RX_BUF_LEN;
		rx_ring(rx)[i].pkt_addr = rx->buf[i];
		rx_ring(rx)[i].hdr_addr = 0;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rx->tail = to;
	vf_wr(rx->vf, RDT, to);
}

void vf_rx_start(struct vf_rx *rx, const struct vf *vf, uint8_t *mem,
		 uint64_t iova, uint32_t pages, uint32_t early)
{
	ASSERT_GE(pages, 2 * VF_RX_FIRST_BUF_PAGE);
	memset(rx, 0, sizeof(*rx));
	rx->vf = vf;
	rx->mem = mem;
	rx->iova = iova;
	rx->pages = pages;
	rx->rng = 0x2545f4914f6cdd1dull;
	vf_wr(vf, RDBAL, (uint32_t)iova);
	vf_wr(vf, RDBAH, (uint32_t)(iova >> 32));
	vf_wr(vf, RDLEN, VF_RX_DESC * sizeof(struct rx_desc));
	vf_wr(vf, SRRCTL, SRRCTL_DESCTYPE_ONEBUF | VF_RX_BUF_LEN / 1024);
	vf_wr(vf, RDH, 0);
	vf_wr(vf, RDT, 0);
	vf_wr(vf, RXDCTL, QUEUE_ENABLE);
	rx_hand_out(rx, early);
}

unsigned int vf_rx_take_back(struct vf_rx *rx,
			     void (*each)(void *arg, uint64_t iova,
					  const uint8_t *frame, uint32_t len),
			     void *arg)
{
	unsigned int n = 0;
	uint32_t i = rx->next_clean;

	while (i != rx->tail) {
		uint64_t q1 = rx_ring(rx)[i].hdr_addr;
		uint32_t len;

		if (!WB_DD(q1))
			break;
		len = WB_LENGTH(q1);
		ASSERT_TRUE(len > 0 && len <= VF_RX_BUF_LEN);
		if (each)
			each(arg, rx->buf[i], rx->mem + (rx->buf[i] - rx->iova),
			     len);
		i = (i + 1) % VF_RX_DESC;
		n++;
	}
	rx->next_clean = i;
	rx->received += n;
	/* Keep one descriptor free: head == tail means empty. */
	rx_hand_out(rx, (i + VF_RX_DESC - 1) % VF_RX_DESC);
	return n;
}

void pf_tx_open(struct pf_tx *pf, const char *netdev)
{
	char path[128];
	unsigned int m[6];
	FILE *f;

	pf->ifindex = (int)if_nametoindex(netdev);
	ASSERT_TRUE(pf->ifindex > 0);
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", netdev);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
			 &m[4], &m[5]), 6);
	fclose(f);
	for (int i = 0; i < 6; i++)
		pf->mac[i] = (uint8_t)m[i];
	pf->sock = socket(AF_PACKET, SOCK_RAW, htons(PF_TX_ETHERTYPE));
	ASSERT_TRUE(pf->sock >= 0);
}

void pf_tx_close(struct pf_tx *pf)
{
	close(pf->sock);
}

void pf_tx_send(struct pf_tx *pf, const uint8_t dst[6], uint16_t vlan,
		size_t len, uint8_t fill)
{
	uint8_t frame[1518];
	size_t hdr = vlan ? 18 : 14;
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_ifindex = pf->ifindex,
		.sll_halen = 6,
	};

	ASSERT_TRUE(len >= 60 && len <= sizeof(frame) && len > hdr);
	memcpy(frame, dst, 6);
	memcpy(frame + 6, pf->mac, 6);
	if (vlan) {
		frame[12] = 0x81;
		frame[13] = 0x00;
		frame[14] = (uint8_t)(vlan >> 8);
		frame[15] = (uint8_t)vlan;
	}
	frame[hdr - 2] = PF_TX_ETHERTYPE >> 8;
	frame[hdr - 1] = PF_TX_ETHERTYPE & 0xff;
	memset(frame + hdr, fill, len - hdr);
	memcpy(to.sll_addr, dst, 6);
	if (sendto(pf->sock, frame, len, 0, (struct sockaddr *)&to,
		   sizeof(to)) != (ssize_t)len)
		FAIL("sending a frame on ifindex %d: %s", pf->ifindex,
		     strerror(errno));
}
