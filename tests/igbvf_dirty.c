// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty pages of an igb VF under igbvf-mediate (kernel/samples/
 * igbvf_dirty.c), on the lab's igb machine (LAB_MACHINE=igb).  The test
 * plays the VF's driver: the reset handshake with the PF, a receive ring
 * of 256 descriptors whose buffers (2 KiB) lie at random places in 16 MiB
 * of its memory; the PF's netdev sends it frames of random lengths from
 * a raw socket.  As the device fills buffers, the test takes them back
 * and hands out others at new random places, as a driver refills.
 *
 *  - type1_random_rx: tracking through a v2 save session (PRE_COPY) and
 *    type1's VFIO_IOMMU_DIRTY_PAGES, the path of QEMU with
 *    enable-migration=on and no DMA logging;
 *  - logging_random_rx: tracking through VFIO DMA logging (QEMU 8+).
 *
 * Part of the ring is handed to the device before tracking starts, so
 * the mediator's catch-up is exercised too.  Every page the device wrote
 * (the buffer bytes a write-back says it filled, the ring) must be in a
 * report taken after it: 0 misses.  False positives are printed; the
 * reports must stay far from "all memory".  Frames the device did not
 * take (dropped for want of descriptors) only lower the count, which
 * must stay above a floor so that the test checks something.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/vfio.h>

#include "dirty_fixture.h"
#include "harness.h"
#include "igbvf_fixture.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

#define RING_DESC 256u
#define RING_IOVA MEM_IOVA		/* the ring: the memory's first page */
#define BUF_LEN 2048u
#define FIRST_BUF_PAGE 16u		/* buffers: pages 16 .. MEM_PAGES-1 */
#define EARLY_DESC 64u			/* handed out before tracking */
#define FRAMES 600u
#define BURST 16u
#define REPORT_EVERY 4u			/* bursts */
#define MIN_RECEIVED (FRAMES / 2)
#define ETHERTYPE_TEST 0x88b5		/* IEEE local experimental */

/* Advanced receive descriptor: read format, and the write-back's status. */
struct rx_desc {
	uint64_t pkt_addr;
	uint64_t hdr_addr;
};
#define WB_LENGTH(q1) ((uint32_t)((q1) >> 32) & 0xffff)
#define WB_DD(q1) ((q1) & 1)

struct rx {
	struct vf vf;
	struct tracked t;
	uint8_t mac[6];
	uint64_t buf[RING_DESC];	/* IOVA of each descriptor's buffer */
	uint32_t next_clean;		/* first descriptor not taken back */
	uint32_t tail;
	uint64_t rng;
	unsigned int received;
	/* the PF's side */
	int sock, ifindex;
	uint8_t pf_mac[6];
};

static struct rx_desc *ring(struct rx *rx)
{
	return (struct rx_desc *)rx->t.mem;
}

/* A 2 KiB-aligned buffer at a random place among the buffer pages. */
static uint64_t random_buf(struct rx *rx)
{
	uint64_t half = next_random(&rx->rng) %
			((uint64_t)(MEM_PAGES - FIRST_BUF_PAGE) * 2);

	return MEM_IOVA + (uint64_t)FIRST_BUF_PAGE * PAGE + half * BUF_LEN;
}

static void arm(struct rx *rx, uint32_t i)
{
	rx->buf[i] = random_buf(rx);
	ring(rx)[i].pkt_addr = rx->buf[i];
	ring(rx)[i].hdr_addr = 0;
}

/* Hands descriptors up to (not including) @to to the device. */
static void hand_out(struct rx *rx, uint32_t to)
{
	for (uint32_t i = rx->tail; i != to; i = (i + 1) % RING_DESC)
		arm(rx, i);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rx->tail = to;
	vf_wr(&rx->vf, RDT, to);
}

static void pf_open(struct rx *rx)
{
	char path[128];
	unsigned int m[6];
	FILE *f;

	rx->ifindex = (int)if_nametoindex(rx->vf.pf_netdev);
	ASSERT_TRUE(rx->ifindex > 0);
	snprintf(path, sizeof(path), "/sys/class/net/%s/address",
		 rx->vf.pf_netdev);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
			 &m[4], &m[5]), 6);
	fclose(f);
	for (int i = 0; i < 6; i++)
		rx->pf_mac[i] = (uint8_t)m[i];
	rx->sock = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_TEST));
	ASSERT_TRUE(rx->sock >= 0);
}

/* One frame of a random length from the PF to the VF. */
static void pf_send(struct rx *rx, uint32_t seq)
{
	uint8_t frame[1514];
	size_t len = 60 + next_random(&rx->rng) % (sizeof(frame) - 60 + 1);
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_ifindex = rx->ifindex,
		.sll_halen = 6,
	};

	memcpy(frame, rx->mac, 6);
	memcpy(frame + 6, rx->pf_mac, 6);
	frame[12] = ETHERTYPE_TEST >> 8;
	frame[13] = ETHERTYPE_TEST & 0xff;
	memset(frame + 14, (int)(seq & 0xff), len - 14);
	memcpy(to.sll_addr, rx->mac, 6);
	if (sendto(rx->sock, frame, len, 0, (struct sockaddr *)&to,
		   sizeof(to)) != (ssize_t)len)
		FAIL("sending a frame on %s: %s", rx->vf.pf_netdev,
		     strerror(errno));
}

/*
 * Takes back what the device filled (descriptor done), noting the pages
 * it wrote, and hands out new buffers in their place.
 */
static unsigned int take_back(struct rx *rx)
{
	unsigned int n = 0;
	uint32_t i = rx->next_clean;

	while (i != rx->tail) {
		volatile struct rx_desc *d = &ring(rx)[i];
		uint64_t q1 = d->hdr_addr;
		uint32_t len;

		if (!WB_DD(q1))
			break;
		len = WB_LENGTH(q1);
		ASSERT_TRUE(len > 0 && len <= BUF_LEN);
		set_pages(rx->t.written, (rx->buf[i] - MEM_IOVA) / PAGE,
			  (rx->buf[i] + len - 1 - MEM_IOVA) / PAGE);
		set_pages(rx->t.written, (RING_IOVA - MEM_IOVA) / PAGE,
			  (RING_IOVA - MEM_IOVA) / PAGE);
		i = (i + 1) % RING_DESC;
		n++;
	}
	rx->next_clean = i;
	rx->received += n;
	/* Keep one descriptor free: head == tail means empty. */
	hand_out(rx, (i + RING_DESC - 1) % RING_DESC);
	return n;
}

/* The VF with a receive ring, EARLY_DESC descriptors handed out. */
static void rx_setup(struct rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->rng = 0x2545f4914f6cdd1dull;
	vf_find(&rx->vf, 1);
	mt_user_dma_access_for_test(true);
	open_tracked(rx->vf.bdf, IGBVF_MEDIATOR, &rx->t);
	rx->vf.dev = rx->t.dev;
	vf_start(&rx->vf, rx->mac);
	test_log("%s: MAC %02x:%02x:%02x:%02x:%02x:%02x from the PF",
		 rx->vf.bdf, rx->mac[0], rx->mac[1], rx->mac[2], rx->mac[3],
		 rx->mac[4], rx->mac[5]);
	pf_open(rx);

	vf_wr(&rx->vf, RDBAL, (uint32_t)RING_IOVA);
	vf_wr(&rx->vf, RDBAH, (uint32_t)(RING_IOVA >> 32));
	vf_wr(&rx->vf, RDLEN, RING_DESC * sizeof(struct rx_desc));
	vf_wr(&rx->vf, SRRCTL, SRRCTL_DESCTYPE_ONEBUF | BUF_LEN / 1024);
	vf_wr(&rx->vf, RDH, 0);
	vf_wr(&rx->vf, RDT, 0);
	vf_wr(&rx->vf, RXDCTL, QUEUE_ENABLE);
	hand_out(rx, EARLY_DESC);
}

/*
 * FRAMES frames from the PF in bursts, buffers taken back and handed out
 * after each, a report (@report_fn) every REPORT_EVERY bursts and at the
 * end; then the checks.
 */
static void random_rx(struct rx *rx,
		      void (*report_fn)(struct tracked *, uint64_t *))
{
	unsigned int fp, bursts = 0;
	uint64_t deadline;

	for (uint32_t seq = 0; seq < FRAMES; seq += BURST) {
		unsigned int want = rx->received + BURST;

		for (uint32_t k = 0; k < BURST; k++)
			pf_send(rx, seq + k);
		/* The model takes frames as they come: give it 1 s. */
		deadline = mt_now_ms() + 1000;
		while (take_back(rx), rx->received < want &&
		       mt_now_ms() < deadline)
			mt_sleep_ms(2);
		if (++bursts % REPORT_EVERY == 0)
			report_fn(&rx->t, rx->t.reported);
	}
	take_back(rx);
	report_fn(&rx->t, rx->t.reported);

	test_log("%u of %u frames received", rx->received, FRAMES);
	ASSERT_GE(rx->received, MIN_RECEIVED);
	fp = check_reports(&rx->t);
	ASSERT_LT(count_bits(rx->t.reported), MEM_PAGES / 2);
	ASSERT_LT(fp, MEM_PAGES / 4);
}

TEST_NAMED(type1_random_rx, "igbvf_dirty.type1_random_rx", 300)
{
	struct rx rx;

	rx_setup(&rx);
	/* A save session makes the mediator track; type1 then reports. */
	MG_OK(rx.t.dev, vfmig_mig_set_state(rx.t.dev, VFMIG_STATE_PRE_COPY));
	dirty_pages_ioctl(&rx.t, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	random_rx(&rx, type1_report);
	dirty_pages_ioctl(&rx.t, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	MG_OK(rx.t.dev, vfmig_mig_set_state(rx.t.dev, VFMIG_STATE_RUNNING));
	close(rx.sock);
}

TEST_NAMED(logging_random_rx, "igbvf_dirty.logging_random_rx", 300)
{
	struct rx rx;
	uint64_t first[BITMAP_WORDS] = { 0 };

	rx_setup(&rx);
	logging_start(&rx.t);
	/* The ring's page, and the buffers handed out early, in flight. */
	logging_report(&rx.t, first);
	test_log("first report: %u pages", count_bits(first));
	ASSERT_LE(count_bits(first), EARLY_DESC + 1);
	random_rx(&rx, logging_report);
	MG_OK(rx.t.dev, vfmig_dma_logging_stop(rx.t.dev));
	close(rx.sock);
}
