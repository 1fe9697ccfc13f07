// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty pages of an igb VF under igbvf-mediate (kernel/samples/
 * igbvf/dirty.c), on the lab's igb machine (LAB_MACHINE=igb).  The test
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
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/vfio.h>

#include "dirty_fixture.h"
#include "harness.h"
#include "igbvf_fixture.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

#define EARLY_DESC 64u			/* handed out before tracking */
#define FRAMES 600u
#define BURST 16u
#define REPORT_EVERY 4u			/* bursts */
#define MIN_RECEIVED (FRAMES / 2)

struct rx_test {
	struct vf vf;
	struct tracked t;
	struct vf_rx rx;
	struct pf_tx pf;
	uint8_t mac[6];
	uint64_t rng;
};

/* The pages the device wrote for a frame: its buffer's, and the ring. */
static void note_written(void *arg, uint64_t iova, const uint8_t *frame,
			 uint32_t len)
{
	struct rx_test *r = arg;

	(void)frame;
	set_pages(r->t.written, (iova - MEM_IOVA) / PAGE,
		  (iova + len - 1 - MEM_IOVA) / PAGE);
	set_pages(r->t.written, 0, 0);
}

/* The VF with a receive ring, EARLY_DESC descriptors handed out. */
static void rx_setup(struct rx_test *r)
{
	memset(r, 0, sizeof(*r));
	r->rng = 0x9e3779b97f4a7c15ull;
	vf_find(&r->vf, 1);
	mt_user_dma_access_for_test(true);
	open_tracked(r->vf.bdf, IGBVF_MEDIATOR, &r->t);
	r->vf.dev = r->t.dev;
	vf_start(&r->vf, r->mac);
	test_log("%s: MAC %02x:%02x:%02x:%02x:%02x:%02x from the PF",
		 r->vf.bdf, r->mac[0], r->mac[1], r->mac[2], r->mac[3],
		 r->mac[4], r->mac[5]);
	pf_tx_open(&r->pf, r->vf.pf_netdev);
	vf_rx_start(&r->rx, &r->vf, r->t.mem, MEM_IOVA, MEM_PAGES, EARLY_DESC);
}

/*
 * FRAMES frames of random lengths from the PF in bursts, buffers taken
 * back and handed out after each, a report (@report_fn) every
 * REPORT_EVERY bursts and at the end; then the checks.
 */
static void random_rx(struct rx_test *r,
		      void (*report_fn)(struct tracked *, uint64_t *))
{
	unsigned int fp, bursts = 0;
	uint64_t deadline;

	for (uint32_t seq = 0; seq < FRAMES; seq += BURST) {
		unsigned int want = r->rx.received + BURST;

		for (uint32_t k = 0; k < BURST; k++)
			pf_tx_send(&r->pf, r->mac, 0,
				   60 + next_random(&r->rng) % (1514 - 60 + 1),
				   (uint8_t)(seq + k));
		/* The model takes frames as they come: give it 1 s. */
		deadline = mt_now_ms() + 1000;
		while (vf_rx_take_back(&r->rx, note_written, r),
		       r->rx.received < want && mt_now_ms() < deadline)
			mt_sleep_ms(2);
		if (++bursts % REPORT_EVERY == 0)
			report_fn(&r->t, r->t.reported);
	}
	vf_rx_take_back(&r->rx, note_written, r);
	report_fn(&r->t, r->t.reported);

	test_log("%u of %u frames received", r->rx.received, FRAMES);
	ASSERT_GE(r->rx.received, MIN_RECEIVED);
	fp = check_reports(&r->t);
	ASSERT_LT(count_bits(r->t.reported), MEM_PAGES / 2);
	ASSERT_LT(fp, MEM_PAGES / 4);
}

TEST_NAMED(type1_random_rx, "igbvf_dirty.type1_random_rx", 300)
{
	struct rx_test r;

	rx_setup(&r);
	/* A save session makes the mediator track; type1 then reports. */
	MG_OK(r.t.dev, vfmig_mig_set_state(r.t.dev, VFMIG_STATE_PRE_COPY));
	dirty_pages_ioctl(&r.t, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	random_rx(&r, type1_report);
	dirty_pages_ioctl(&r.t, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	MG_OK(r.t.dev, vfmig_mig_set_state(r.t.dev, VFMIG_STATE_RUNNING));
	pf_tx_close(&r.pf);
}

TEST_NAMED(logging_random_rx, "igbvf_dirty.logging_random_rx", 300)
{
	struct rx_test r;
	uint64_t first[BITMAP_WORDS] = { 0 };

	rx_setup(&r);
	logging_start(&r.t);
	/* The ring's page, and the buffers handed out early, in flight. */
	logging_report(&r.t, first);
	test_log("first report: %u pages", count_bits(first));
	ASSERT_LE(count_bits(first), EARLY_DESC + 1);
	random_rx(&r, logging_report);
	MG_OK(r.t.dev, vfmig_dma_logging_stop(r.t.dev));
	pf_tx_close(&r.pf);
}

/*
 * What the mediator cannot track fails what relies on it: a receive ring
 * changed on a running queue, larger than it tracks, makes the next DMA
 * logging report fail (an incomplete report would lose pages).  And a write of
 * half a queue register, which it could not follow, is refused.
 */
TEST_NAMED(untrackable_fails_report, "igbvf_dirty.untrackable_fails_report",
	   120)
{
	uint64_t bits[BITMAP_WORDS] = { 0 };
	struct rx_test r;
	int ret;

	rx_setup(&r);
	logging_start(&r.t);
	logging_report(&r.t, bits);

	ASSERT_LT(vfmig_bar_write(r.t.dev, 0, RDT, 2, 1), 0);
	/* 8192 descriptors, more than igb's 4096, on the running queue. */
	vf_wr(&r.vf, RDLEN, 8192 * 16);
	ret = vfmig_dma_logging_report(r.t.dev, MEM_IOVA, MEM_LEN, PAGE, bits);
	test_log("report after an untrackable ring: %d (%s)", ret,
		 vfmig_strerror(r.t.dev));
	ASSERT_LT(ret, 0);
	MG_OK(r.t.dev, vfmig_dma_logging_stop(r.t.dev));
	pf_tx_close(&r.pf);
}
