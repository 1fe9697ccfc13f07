// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-workload: a freestanding guest program that drives an Intel 82576
 * virtual function (8086:10ca, QEMU's igbvf) the way a VF driver does and
 * exchanges checked frames with a peer on the PF's netdev
 * (tools/frame-peer), so that a VM migrated with the VF can tell whether
 * the device, or the mediator that migrated it, lost or mangled anything.
 *
 * It is a 32-bit multiboot kernel like edu-workload (boot.S, and the same
 * console, clock, PCI and interrupt code), for `qemu-system-x86_64 -kernel
 * igbvf-workload.elf`.  At start it:
 *
 *   - finds the VF on PCI bus 0, turns on memory decoding and bus
 *     mastering, and points its three MSI-X vectors at the local APIC;
 *   - resets the VF and does the handshake Linux's igbvf does with the PF
 *     over the mailbox: CTRL.RST, the PF's reset-done bit, the RESET
 *     message, whose answer carries the VF's MAC (until that answer the PF
 *     keeps the VF's receive and transmit off); then it asks for 1522-byte
 *     frames (SET_LPE) as igbvf does;
 *   - routes receive queue 0 to vector 0, transmit queue 0 to vector 1 and
 *     the mailbox to vector 2 (IVAR), with a short throttling interval
 *     (EITR), auto-clear (EIAC) and all three unmasked (EIMS);
 *   - sets up one receive ring (advanced one-buffer descriptors, 2 KiB
 *     buffers, all but one given to the device) and one transmit ring.
 *
 * Then, forever: every PERIOD ms (period=MS on the command line, default
 * DEFAULT_PERIOD_MS) it sends the next frame of its stream (guest/frame.h:
 * sequence-numbered, 60 to 1514 bytes, checksummed) to the peer's MAC,
 * from peer=MAC on the command line or, until a peer frame taught it,
 * to the broadcast address; it takes back transmit descriptors the device
 * has written back, and checks every frame received: the peer's stream,
 * addressed to this VF, with the right length, checksum and data, its
 * sequence number above every one seen so far.  A gap in the peer's
 * sequence numbers counts as lost frames (frames dropped while nobody
 * could receive them, e.g. during a migration's switch-over); anything
 * else wrong is an error.  Frames of other EtherTypes, and our own
 * broadcasts coming back, are counted ("other") and ignored.
 *
 * Interrupts: the CPU halts between rounds and is woken by any MSI-X
 * vector or the local APIC timer (every WAKEUP_PERIOD_MS, for the pacing);
 * each round looks at both rings whatever woke it, because QEMU's igb
 * model can deliver a queue's interrupt on another of the VF's vectors
 * (it ORs every IVAR value ever written into the PF's IVAR).  That the
 * interrupts come at all is checked: descriptors completing for
 * IRQ_QUIET_SECONDS seconds in a row with no queue interrupt is an error.
 * The mailbox vector makes the program read the PF's messages.
 *
 * Every wait is bounded by the clock: a mailbox answer that does not come
 * is a failed handshake (retried, then fatal), a transmit descriptor not
 * written back within TX_TIMEOUT_MS is an error.
 *
 * Output, on COM1 (115200 8N1), once a second:
 *   igbvf-workload: t=12s tx=1180 txdone=1180 rx=1175 lost=0 other=0
 *     irq0=1175 irq1=1180 irq2=0 mbx=0 errors=0
 * (one line: frames handed to the device, written back by it, peer frames
 * received in order, peer frames lost, other frames, interrupts per
 * vector, PF messages, errors; counts since start), and
 *   igbvf-workload: ERROR t=<ms>ms: <what was expected, what was seen>
 * for every error (at most ERRORS_PER_SECOND printed each second; all are
 * counted), and
 *   igbvf-workload: lost <n> frames before peer frame <seq>
 * for every gap, and
 *   igbvf-workload: note t=<ms>ms: <n> ms since the last round ...
 * when it did not get to poll its rings for over SLOW_ROUND_MS.  It never
 * stops by itself.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "clock.h"
#include "console.h"
#include "frame.h"
#include "igbvf.h"
#include "io.h"
#include "irq.h"
#include "multiboot.h"
#include "pci.h"

#define PROGRESS_PERIOD_MS	1000
#define ERRORS_PER_SECOND	20
#define LOST_LINES_PER_SECOND	20
#define WAKEUP_PERIOD_MS	5
#define DEFAULT_PERIOD_MS	10
#define MAX_PERIOD_MS		10000
/* At most this many frames in one round when the pacing fell behind. */
#define SEND_BURST		4

/*
 * Descriptors per ring.  The receive ring is as deep as Linux's igbvf
 * makes it by default: under TCG inside TCG this program's vCPU now and
 * then does not run for about a second, and a 64-descriptor ring then
 * overflowed (the device drops the frames: lost).
 */
#define RX_RING_SIZE		256
#define TX_RING_SIZE		64
#define BUF_SIZE		2048	/* one buffer per descriptor */

/*
 * A round (from one poll of the rings to the next) longer than this is
 * reported: the receive ring holds RX_RING_SIZE - 1 frames (one
 * descriptor stays ours, see rx_poll()), which a peer sending every
 * PERIOD ms fills in (RX_RING_SIZE - 1) * PERIOD ms while nobody polls.
 */
#define SLOW_ROUND_MS		250

/* Generous: TCG inside TCG is slow, and a guest is not told about pauses. */
#define RSTD_TIMEOUT_MS		200
#define MBX_LOCK_TRIES		10
#define MBX_TIMEOUT_MS		2000
#define RESET_TRIES		3
#define LINK_TIMEOUT_MS		5000
#define TX_TIMEOUT_MS		5000
#define IRQ_QUIET_SECONDS	3

/* About 50 us between two interrupts of a vector: throttled, not slow. */
#define EITR_INTERVAL		0xc4

/* MSI-X entries (device vectors) of the VF's three causes. */
enum { VEC_RX, VEC_TX, VEC_MBX };

struct counters {
	uint32_t tx;		/* frames handed to the device */
	uint32_t txdone;	/* ... and written back by it */
	uint32_t other;		/* frames of another EtherType */
	uint32_t mbx;		/* messages from the PF */
	uint32_t errors;
};

static uint32_t bar0;
static uint8_t mac[6];
static uint8_t peer_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static bool peer_known;
static uint32_t period_ms = DEFAULT_PERIOD_MS;
static struct counters count;
static struct frame_seq peer_seq;

static struct igbvf_rx_desc rx_ring[RX_RING_SIZE] __attribute__((aligned(4096)));
static struct igbvf_tx_desc tx_ring[TX_RING_SIZE] __attribute__((aligned(4096)));
static uint8_t rx_buf[RX_RING_SIZE][BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t tx_buf[TX_RING_SIZE][BUF_SIZE] __attribute__((aligned(4096)));

static uint32_t rx_next;	/* the descriptor the device fills next */
static uint32_t tx_tail;	/* the descriptor this program fills next */
static uint32_t tx_clean;	/* the oldest one not written back yet */
static uint32_t tx_seq;		/* the next frame of our stream */
static uint64_t tx_sent_ms[TX_RING_SIZE];
static bool tx_stuck;		/* reported once per stuck descriptor */

/* Written by the interrupt handlers, read with interrupts off. */
static volatile uint32_t irq_count[NR_DEV_VECTORS];
static volatile bool mbx_pending;

/* The PF's clear-on-read mailbox bits, as far as not consumed yet. */
static uint32_t mbx_bits;

static uint64_t next_progress_ms, next_tx_ms;
static uint64_t round_ms;	/* when the current round started */
static uint32_t errors_printed, errors_quiet, lost_printed;
static uint32_t quiet_seconds, rx_last, txdone_last, irq_last;

static uint32_t rd(uint32_t reg)
{
	return mmio_read32(bar0 + reg);
}

static void wr(uint32_t reg, uint32_t val)
{
	mmio_write32(bar0 + reg, val);
}

static void fatal(const char *why)
{
	kprintf("igbvf-workload: FATAL %s\n", why);
	halt_forever();
}

/* Counts an error and, unless too many came this second, says what it is. */
#define report_error(fmt, ...)						\
	do {								\
		count.errors++;						\
		if (errors_printed++ < ERRORS_PER_SECOND)		\
			kprintf("igbvf-workload: ERROR t=%ums: " fmt "\n", \
				(uint32_t)clock_ms(), ##__VA_ARGS__);	\
		else							\
			errors_quiet++;					\
	} while (0)

static void print_mac(const char *what, const uint8_t *m)
{
	kprintf("igbvf-workload: %s %02x:%02x:%02x:%02x:%02x:%02x\n", what,
		m[0], m[1], m[2], m[3], m[4], m[5]);
}

static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
	int i;

	for (i = 0; i < 6; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* sti; nop; cli: a pending interrupt gets in, without sleeping. */
static void let_interrupts_in(void)
{
	__asm__ volatile("sti; nop; cli" : : : "memory");
}

static void wait_ms(uint32_t ms)
{
	uint64_t deadline = clock_ms() + ms;

	while (clock_ms() < deadline)
		let_interrupts_in();
}

/* --- interrupts ------------------------------------------------------- */

static void rx_interrupt(void)
{
	irq_count[VEC_RX]++;
}

static void tx_interrupt(void)
{
	irq_count[VEC_TX]++;
}

static void mbx_interrupt(void)
{
	irq_count[VEC_MBX]++;
	mbx_pending = true;
}

/*
 * Queue interrupts must come: frames moving for IRQ_QUIET_SECONDS
 * progress periods in a row with no interrupt on any queue vector is an
 * error (any vector, see the top of the file).  Called once a period.
 */
static void check_interrupts(void)
{
	uint32_t irqs = irq_count[VEC_RX] + irq_count[VEC_TX];
	bool moving = peer_seq.received != rx_last ||
		      count.txdone != txdone_last;

	if (moving && irqs == irq_last) {
		if (++quiet_seconds == IRQ_QUIET_SECONDS) {
			report_error("%u frames received and %u sent in %u s, but no queue interrupt (irq0=%u irq1=%u)",
				     peer_seq.received - rx_last,
				     count.txdone - txdone_last,
				     IRQ_QUIET_SECONDS, irq_count[VEC_RX],
				     irq_count[VEC_TX]);
			quiet_seconds = 0;
		} else {
			return;	/* keep the window's start */
		}
	} else {
		quiet_seconds = 0;
	}
	rx_last = peer_seq.received;
	txdone_last = count.txdone;
	irq_last = irqs;
}

static void progress(void)
{
	uint64_t now = clock_ms();

	if (now < next_progress_ms)
		return;
	check_interrupts();
	kprintf("igbvf-workload: t=%us tx=%u txdone=%u rx=%u lost=%u other=%u irq0=%u irq1=%u irq2=%u mbx=%u errors=%u\n",
		(uint32_t)div_u64_u32(now, 1000), count.tx, count.txdone,
		peer_seq.received, peer_seq.lost, count.other,
		irq_count[VEC_RX], irq_count[VEC_TX], irq_count[VEC_MBX],
		count.mbx, count.errors);
	if (errors_quiet)
		kprintf("igbvf-workload: (%u more errors in the last second, not shown)\n",
			errors_quiet);
	errors_printed = errors_quiet = lost_printed = 0;
	next_progress_ms += PROGRESS_PERIOD_MS;
	if (next_progress_ms <= now)	/* stopped for a while: no burst */
		next_progress_ms = now + PROGRESS_PERIOD_MS;
}

/* --- mailbox ---------------------------------------------------------- */

/* Reads the mailbox register, keeping the bits a read clears. */
static uint32_t mbx_read(void)
{
	uint32_t v = rd(IGBVF_V2PMAILBOX);

	mbx_bits |= v & (IGBVF_MBX_PFSTS | IGBVF_MBX_PFACK | IGBVF_MBX_RSTD);
	return v;
}

/* Waits up to @ms for any of @bits (kept, see mbx_read()); consumes them. */
static bool mbx_wait(uint32_t bits, uint32_t ms)
{
	uint64_t deadline = clock_ms() + ms;
	uint32_t v;

	for (;;) {
		v = mbx_read();
		if ((mbx_bits | v) & bits) {
			mbx_bits &= ~bits;
			return true;
		}
		if (clock_ms() >= deadline)
			return false;
		let_interrupts_in();
	}
}

/* Takes the buffer for the VF (VFU), which the PF may hold a moment. */
static bool mbx_lock(void)
{
	int i;

	for (i = 0; i < MBX_LOCK_TRIES; i++) {
		wr(IGBVF_V2PMAILBOX, IGBVF_MBX_VFU);
		if (mbx_read() & IGBVF_MBX_VFU)
			return true;
		wait_ms(1);
	}
	return false;
}

/* Sends @n words to the PF and waits until it took them. */
static bool mbx_send(const uint32_t *msg, unsigned int n)
{
	unsigned int i;

	if (!mbx_lock()) {
		kprintf("igbvf-workload: mailbox: the PF holds the buffer\n");
		return false;
	}
	/* Stale acknowledgements must not pass for the one awaited. */
	mbx_bits &= ~IGBVF_MBX_PFACK;
	for (i = 0; i < n; i++)
		wr(IGBVF_VMBMEM(i), msg[i]);
	/* REQ without VFU: the message is the PF's now. */
	wr(IGBVF_V2PMAILBOX, IGBVF_MBX_REQ);
	if (!mbx_wait(IGBVF_MBX_PFACK, MBX_TIMEOUT_MS)) {
		kprintf("igbvf-workload: mailbox: the PF did not take message 0x%x within %u ms\n",
			msg[0], MBX_TIMEOUT_MS);
		return false;
	}
	return true;
}

/* Reads the PF's message (@n words) once it wrote one, and acknowledges it. */
static bool mbx_receive(uint32_t *msg, unsigned int n, uint32_t ms)
{
	unsigned int i;

	if (!mbx_wait(IGBVF_MBX_PFSTS, ms))
		return false;
	if (!mbx_lock()) {
		kprintf("igbvf-workload: mailbox: the PF holds the buffer\n");
		return false;
	}
	for (i = 0; i < n; i++)
		msg[i] = rd(IGBVF_VMBMEM(i));
	/* ACK without VFU: taken, and the buffer is free again. */
	wr(IGBVF_V2PMAILBOX, IGBVF_MBX_ACK);
	return true;
}

/* A request and the PF's answer to it, @n words each way at most. */
static bool mbx_request(uint32_t *msg, unsigned int n_out, unsigned int n_in)
{
	uint32_t type = msg[0] & IGBVF_MSG_TYPE_MASK;

	if (!mbx_send(msg, n_out))
		return false;
	if (!mbx_receive(msg, n_in, MBX_TIMEOUT_MS)) {
		kprintf("igbvf-workload: mailbox: no answer to message 0x%x within %u ms\n",
			type, MBX_TIMEOUT_MS);
		return false;
	}
	if ((msg[0] & IGBVF_MSG_TYPE_MASK) != type) {
		kprintf("igbvf-workload: mailbox: answer 0x%08x to message 0x%x\n",
			msg[0], type);
		return false;
	}
	return true;
}

/*
 * The reset a VF driver starts with: the VF's queues and interrupts are
 * reset, the PF is told, and it answers with the MAC; until then it keeps
 * the VF's receive and transmit off.
 */
static bool vf_reset(void)
{
	uint32_t msg[3] = { IGBVF_MSG_RESET };

	wr(IGBVF_CTRL, rd(IGBVF_CTRL) | IGBVF_CTRL_RST);
	/*
	 * igbvf waits for the PF's reset-done (or in-reset) bit.  It is
	 * cleared when read, and set again only when the PF itself resets,
	 * so a client before us (another VM, a mediator) may have taken it:
	 * not seeing it is no reason to stop.
	 */
	if (!mbx_wait(IGBVF_MBX_RSTD | IGBVF_MBX_RSTI, RSTD_TIMEOUT_MS))
		kprintf("igbvf-workload: note: no reset-done from the PF within %u ms, going on\n",
			RSTD_TIMEOUT_MS);
	if (!mbx_request(msg, 1, 3))
		return false;
	if (msg[0] == (IGBVF_MSG_RESET | IGBVF_MSG_NACK)) {
		kprintf("igbvf-workload: the PF has no MAC for this VF (reset answered with NACK)\n");
		return false;
	}
	if (msg[0] != (IGBVF_MSG_RESET | IGBVF_MSG_ACK)) {
		kprintf("igbvf-workload: reset answered with 0x%08x\n", msg[0]);
		return false;
	}
	/* The MAC's bytes in memory order, from the second word on. */
	mac[0] = (uint8_t)msg[1];
	mac[1] = (uint8_t)(msg[1] >> 8);
	mac[2] = (uint8_t)(msg[1] >> 16);
	mac[3] = (uint8_t)(msg[1] >> 24);
	mac[4] = (uint8_t)msg[2];
	mac[5] = (uint8_t)(msg[2] >> 8);
	return true;
}

/* Asks for frames up to 1522 bytes (with a VLAN tag), as igbvf does. */
static void set_lpe(void)
{
	uint32_t msg[2] = { IGBVF_MSG_SET_LPE, FRAME_MAX_LEN + 4 + 4 };

	if (!mbx_request(msg, 2, 1))
		report_error("SET_LPE: no answer from the PF");
	else if (msg[0] != (IGBVF_MSG_SET_LPE | IGBVF_MSG_ACK | IGBVF_MSG_CTS))
		report_error("SET_LPE: the PF answered 0x%08x, expected 0x%08x",
			     msg[0], IGBVF_MSG_SET_LPE | IGBVF_MSG_ACK |
			     IGBVF_MSG_CTS);
}

/*
 * A message the PF sent on its own (a mailbox interrupt, or the periodic
 * look): igb sends PF_CONTROL when its link or its reset state changes.
 * Printed and acknowledged; a PF reset (RSTI/RSTD) is printed, since this
 * program does not redo its set-up after one.
 */
static void mbx_service(void)
{
	uint32_t msg[1];

	mbx_read();
	if (mbx_bits & (IGBVF_MBX_RSTD | IGBVF_MBX_RSTI)) {
		kprintf("igbvf-workload: note: the PF says it reset (mailbox 0x%x)\n",
			mbx_bits);
		mbx_bits &= ~IGBVF_MBX_RSTD;
	}
	if (!(mbx_bits & IGBVF_MBX_PFSTS))
		return;
	if (mbx_receive(msg, 1, 0)) {
		count.mbx++;
		kprintf("igbvf-workload: the PF says 0x%08x\n", msg[0]);
	}
}

/* --- transmit --------------------------------------------------------- */

/* Takes back what the device is done with; reports a stuck descriptor. */
static void tx_reclaim(void)
{
	while (tx_clean != tx_tail) {
		volatile struct igbvf_tx_desc *d = &tx_ring[tx_clean];

		if (!(d->olinfo_status & IGBVF_TXD_STAT_DD))
			break;
		count.txdone++;
		tx_clean = (tx_clean + 1) % TX_RING_SIZE;
		tx_stuck = false;
	}
	if (tx_clean != tx_tail && !tx_stuck &&
	    clock_ms() - tx_sent_ms[tx_clean] > TX_TIMEOUT_MS) {
		report_error("TX descriptor %u not written back after %u ms (TDH=%u TDT=%u TXDCTL=0x%x)",
			     tx_clean, TX_TIMEOUT_MS, rd(IGBVF_TDH),
			     rd(IGBVF_TDT), rd(IGBVF_TXDCTL));
		tx_stuck = true;
	}
}

/* Hands the next frame of our stream to the device; false if the ring is full. */
static bool tx_send(void)
{
	volatile struct igbvf_tx_desc *d = &tx_ring[tx_tail];
	uint32_t next = (tx_tail + 1) % TX_RING_SIZE;
	uint16_t len;

	/* A full ring delays the frame; its sequence number is not spent. */
	if (next == tx_clean)
		return false;
	len = frame_build(tx_buf[tx_tail], peer_mac, mac, FRAME_STREAM_GUEST,
			  tx_seq);
	d->addr_lo = (uint32_t)tx_buf[tx_tail];
	d->addr_hi = 0;
	d->cmd_type_len = len | IGBVF_TXD_DTYP_DATA | IGBVF_TXD_CMD_EOP |
			  IGBVF_TXD_CMD_IFCS | IGBVF_TXD_CMD_RS |
			  IGBVF_TXD_CMD_DEXT;
	d->olinfo_status = (uint32_t)len << IGBVF_TXD_PAYLEN_SHIFT;
	tx_sent_ms[tx_tail] = clock_ms();
	tx_tail = next;
	/* The tail write is ordered after the descriptor (a "memory" clobber). */
	wr(IGBVF_TDT, tx_tail);
	tx_seq++;
	count.tx++;
	return true;
}

/* Sends what the pacing asks for, without bursting after a stall. */
static void tx_pace(void)
{
	uint64_t now = clock_ms();
	int n;

	for (n = 0; n < SEND_BURST && now >= next_tx_ms; n++) {
		if (!tx_send())
			return;
		next_tx_ms += period_ms;
	}
	if (now >= next_tx_ms + (uint64_t)SEND_BURST * period_ms)
		next_tx_ms = now + period_ms;
}

/* --- receive ---------------------------------------------------------- */

/* Gives descriptor @i's buffer to the device again (read format). */
static void rx_post(uint32_t i)
{
	volatile struct igbvf_rx_desc *d = &rx_ring[i];

	d->addr_lo = (uint32_t)rx_buf[i];
	d->addr_hi = 0;
	/* No header buffer; this also clears the old write-back's DD. */
	d->status_error = 0;
	d->length = 0;
	d->vlan = 0;
}

static void rx_frame(const uint8_t *f, uint32_t len, uint32_t status)
{
	enum frame_verdict v;
	uint32_t seq = 0, gap;

	if (status & IGBVF_RXD_ERRORS) {
		report_error("RX: descriptor error bits 0x%08x (length %u)",
			     status & IGBVF_RXD_ERRORS, len);
		return;
	}
	if (!(status & IGBVF_RXD_STAT_EOP)) {
		/* Buffers hold 2 KiB: no frame of ours spans two. */
		report_error("RX: a %u-byte frame without end-of-packet", len);
		return;
	}
	/*
	 * QEMU's igb switches a VF's broadcast to every pool that takes
	 * broadcasts, the sender's own too: our frames sent before we knew
	 * the peer come back.  Not the peer's stream, and not an error.
	 */
	if (len >= FRAME_ETH_HLEN && mac_equal(f + 6, mac)) {
		count.other++;
		return;
	}
	v = frame_check(f, len, FRAME_STREAM_PEER, &seq);
	if (v == FRAME_FOREIGN) {
		count.other++;
		return;
	}
	if (v != FRAME_OK) {
		report_error("RX: %s: %u bytes, length field %u, stream %u, seq %u, checksum 0x%08x (expected 0x%08x)",
			     frame_verdict_name(v), len,
			     frame_get16(f + FRAME_OFF_LEN),
			     frame_get16(f + FRAME_OFF_STREAM),
			     frame_get32(f + FRAME_OFF_SEQ),
			     frame_get32(f + FRAME_OFF_CSUM),
			     len >= FRAME_HDR_LEN && len <= FRAME_MAX_LEN ?
				frame_checksum(f, len) : 0);
		return;
	}
	if (!mac_equal(f, mac)) {
		report_error("RX: peer frame %u addressed to %02x:%02x:%02x:%02x:%02x:%02x, not to this VF",
			     seq, f[0], f[1], f[2], f[3], f[4], f[5]);
		return;
	}
	if (!peer_known) {
		int i;

		for (i = 0; i < 6; i++)
			peer_mac[i] = f[6 + i];
		peer_known = true;
		print_mac("peer learned from its first frame:", peer_mac);
	} else if (!mac_equal(f + 6, peer_mac)) {
		report_error("RX: peer frame %u from %02x:%02x:%02x:%02x:%02x:%02x, not from the peer",
			     seq, f[6], f[7], f[8], f[9], f[10], f[11]);
		return;
	}
	if (frame_seq_account(&peer_seq, seq, &gap) == FRAME_MISORDERED) {
		report_error("RX: peer frame %u again or out of order (expected %u or later)",
			     seq, peer_seq.next);
		return;
	}
	if (gap && lost_printed++ < LOST_LINES_PER_SECOND)
		kprintf("igbvf-workload: lost %u frames before peer frame %u\n",
			gap, seq);
}

/* Checks every frame the device wrote back, and gives the buffers back. */
static void rx_poll(void)
{
	uint32_t n, last = RX_RING_SIZE;

	for (n = 0; n < RX_RING_SIZE; n++) {
		volatile struct igbvf_rx_desc *d = &rx_ring[rx_next];
		uint32_t status = d->status_error;

		if (!(status & IGBVF_RXD_STAT_DD))
			break;
		rx_frame(rx_buf[rx_next], d->length, status);
		rx_post(rx_next);
		last = rx_next;
		rx_next = (rx_next + 1) % RX_RING_SIZE;
	}
	/*
	 * One tail write for the batch.  The tail is the first descriptor
	 * the device must not use: the one just given back is held until
	 * the next, so that a full ring never looks empty (head == tail).
	 */
	if (last != RX_RING_SIZE)
		wr(IGBVF_RDT, last);
}

/*
 * Says when this program did not get to poll its rings for a while
 * (its vCPU was not run, or an interrupt did not wake it): frames the
 * device dropped then, for want of buffers, show up as lost.
 */
static void note_slow_round(void)
{
	uint64_t now = clock_ms();

	if (now - round_ms > SLOW_ROUND_MS)
		kprintf("igbvf-workload: note t=%ums: %u ms since the last round (the receive ring holds %u ms of frames at one every %u ms)\n",
			(uint32_t)now, (uint32_t)(now - round_ms),
			(RX_RING_SIZE - 1) * period_ms, period_ms);
	round_ms = now;
}

/* --- set-up ----------------------------------------------------------- */

static struct pci_func setup_pci(void)
{
	struct pci_func f;
	const char *why;
	uint16_t cmd;

	if (!pci_find(IGBVF_VENDOR, IGBVF_DEVICE, &f))
		fatal("no 82576 VF (8086:10ca) on PCI bus 0");
	if (!pci_bar_addr(f, 0, &bar0, &why)) {
		kprintf("igbvf-workload: BAR0 is %s\n", why);
		fatal("the VF's registers cannot be reached");
	}
	cmd = pci_read16(f, PCI_COMMAND);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	       PCI_COMMAND_INTX_DISABLE;
	pci_write16(f, PCI_COMMAND, cmd);
	if (!irq_enable_msix(f, IGBVF_NR_VECTORS, &why)) {
		kprintf("igbvf-workload: MSI-X: %s\n", why);
		fatal("the VF's interrupts cannot be set up");
	}
	kprintf("igbvf-workload: VF at 00:%02x.%u, BAR0 0x%08x, MSI-X vectors %u\n",
		f.dev, f.fn, bar0, IGBVF_NR_VECTORS);
	return f;
}

static void setup_interrupts(void)
{
	int i;

	irq_set_handler(VEC_RX, rx_interrupt);
	irq_set_handler(VEC_TX, tx_interrupt);
	irq_set_handler(VEC_MBX, mbx_interrupt);
	wr(IGBVF_EIMC, 0x7);
	wr(IGBVF_IVAR0, (IGBVF_IVAR_VALID | VEC_RX) |
	   (IGBVF_IVAR_VALID | VEC_TX) << 8);
	wr(IGBVF_IVAR_MISC, IGBVF_IVAR_VALID | VEC_MBX);
	for (i = 0; i < IGBVF_NR_VECTORS; i++)
		wr(IGBVF_EITR(i), EITR_INTERVAL);
	/* Auto-clear: each MSI-X message re-arms its cause. */
	wr(IGBVF_EIAC, 0x7);
	wr(IGBVF_EIAM, 0x7);
	wr(IGBVF_EIMS, 0x7);
}

static void setup_rings(void)
{
	uint32_t i;

	/* Queues off while their rings change, as igbvf does. */
	wr(IGBVF_TXDCTL, 0);
	wr(IGBVF_RXDCTL, 0);

	wr(IGBVF_TDBAL, (uint32_t)tx_ring);
	wr(IGBVF_TDBAH, 0);
	wr(IGBVF_TDLEN, sizeof(tx_ring));
	wr(IGBVF_TDH, 0);
	wr(IGBVF_TDT, 0);
	wr(IGBVF_TXDCTL, IGBVF_QUEUE_ENABLE | IGBVF_TXDCTL_THRESH);

	for (i = 0; i < RX_RING_SIZE; i++)
		rx_post(i);
	wr(IGBVF_RDBAL, (uint32_t)rx_ring);
	wr(IGBVF_RDBAH, 0);
	wr(IGBVF_RDLEN, sizeof(rx_ring));
	wr(IGBVF_SRRCTL, IGBVF_SRRCTL_DROP_EN | IGBVF_SRRCTL_ADV_ONEBUF |
	   (BUF_SIZE / 1024) << IGBVF_SRRCTL_BSIZEPKT_1K_SHIFT);
	wr(IGBVF_RDH, 0);
	wr(IGBVF_RDT, 0);
	wr(IGBVF_RXDCTL, IGBVF_QUEUE_ENABLE | IGBVF_RXDCTL_THRESH);
	/* All but one descriptor to the device (see rx_poll()). */
	wr(IGBVF_RDT, RX_RING_SIZE - 1);
}

static void setup_device(void)
{
	uint64_t deadline;
	int tries;

	setup_pci();
	for (tries = 1; !vf_reset(); tries++) {
		if (tries == RESET_TRIES)
			fatal("the PF did not complete the VF's reset");
		kprintf("igbvf-workload: reset handshake failed, again (%d of %d)\n",
			tries + 1, RESET_TRIES);
	}
	print_mac("reset done, the PF gave MAC", mac);
	set_lpe();

	deadline = clock_ms() + LINK_TIMEOUT_MS;
	while (!(rd(IGBVF_STATUS) & IGBVF_STATUS_LU) && clock_ms() < deadline)
		wait_ms(10);
	if (!(rd(IGBVF_STATUS) & IGBVF_STATUS_LU))
		report_error("link still down %u ms after the reset (STATUS=0x%x)",
			     LINK_TIMEOUT_MS, rd(IGBVF_STATUS));

	setup_interrupts();
	setup_rings();
}

/* --- command line ----------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "xx:xx:xx:xx:xx:xx" into @m; false if it is not that. */
static bool parse_mac(const char *s, uint8_t *m)
{
	int i, hi, lo;

	for (i = 0; i < 6; i++) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return false;
		m[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return false;
	}
	return *s == ' ' || !*s;
}

/* A decimal number ending at a space or the end; false if it is not that. */
static bool parse_u32(const char *s, uint32_t *v)
{
	if (*s < '0' || *s > '9')
		return false;
	for (*v = 0; *s >= '0' && *s <= '9'; s++)
		*v = *v * 10 + (uint32_t)(*s - '0');
	return *s == ' ' || !*s;
}

static void parse_options(const struct multiboot_info *mbi)
{
	const char *v;

	v = cmdline_value(mbi, "peer");
	if (v) {
		if (!parse_mac(v, peer_mac))
			fatal("peer=: expected a MAC, xx:xx:xx:xx:xx:xx");
		peer_known = true;
	}
	v = cmdline_value(mbi, "period");
	if (v && (!parse_u32(v, &period_ms) || !period_ms ||
		  period_ms > MAX_PERIOD_MS))
		fatal("period=: expected milliseconds, 1 to 10000");
}

void workload_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct multiboot_info *mbi = NULL;
	uint32_t khz;
	bool ticking;

	console_init();
	kprintf("\nigbvf-workload: 82576 VF guest workload starting\n");
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC)
		mbi = (const struct multiboot_info *)mbi_addr;
	else
		kprintf("igbvf-workload: note: not started by a multiboot loader (eax=0x%08x)\n",
			magic);
	parse_options(mbi);

	khz = clock_init();
	irq_init();
	ticking = irq_start_wakeup_timer(WAKEUP_PERIOD_MS);
	kprintf("igbvf-workload: TSC %u kHz, APIC timer %s\n", khz,
		ticking ? "ticking" : "silent: polling instead of halting");

	setup_device();
	if (peer_known)
		print_mac("sending to the peer at", peer_mac);
	else
		kprintf("igbvf-workload: sending to broadcast until the peer's first frame\n");
	kprintf("igbvf-workload: a frame every %u ms, %u to %u bytes, EtherType 0x%04x\n",
		period_ms, FRAME_MIN_LEN, FRAME_MAX_LEN, FRAME_ETHERTYPE);

	next_progress_ms = clock_ms() + PROGRESS_PERIOD_MS;
	next_tx_ms = clock_ms();
	round_ms = clock_ms();
	for (;;) {
		note_slow_round();
		rx_poll();
		tx_reclaim();
		tx_pace();
		if (mbx_pending) {
			mbx_pending = false;
			mbx_service();
		}
		if (clock_ms() >= next_progress_ms)
			mbx_service();	/* a lost mailbox interrupt, too */
		progress();
		irq_wait();
	}
}
