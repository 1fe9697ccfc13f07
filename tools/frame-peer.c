// SPDX-License-Identifier: GPL-2.0-only
/*
 * frame-peer: the other end of the igbvf guest workload
 * (guest/igbvf_workload.c), on the netdev of the VF's PF.
 *
 *   frame-peer [--vf-mac MAC] [--period-ms N] [--duration S]
 *              [--report-ms N] [--start-now] [--skip-every N]
 *              [--corrupt-every N] [--as-guest] IFNAME
 *
 * It opens a raw AF_PACKET socket for the test EtherType on IFNAME,
 * prints "frame-peer: ready ..." and then:
 *  - checks every frame of the guest's stream (guest/frame.h): addressed
 *    to IFNAME's MAC (or broadcast, which the guest uses until it knows
 *    the peer), from the VF's MAC (--vf-mac, else the first guest frame's
 *    source), the right length, checksum and data, and a sequence number
 *    above every one seen; a gap counts as lost frames, anything else
 *    wrong is an error;
 *  - sends its own stream to the VF's MAC, a frame every --period-ms
 *    (default 10), starting once the guest's first frame arrived, so that
 *    nothing is sent before the guest can receive (--start-now sends from
 *    the start, to --vf-mac).  A frame the kernel refuses (a full queue)
 *    is sent again later: only frames that left count, and only those
 *    take a sequence number.
 *
 * With --as-guest it plays the guest's side instead (sends the guest's
 * stream, checks the peer's): in a real Linux guest on the VF's netdev,
 * against another frame-peer on the PF's (--vf-mac is then the PF's).
 *
 * To show that the guest's checks catch what they should, --skip-every N
 * leaves out every Nth frame of its stream (the guest must count each as
 * lost) and --corrupt-every N sends every Nth frame with one data byte
 * flipped (an error in the guest, and lost, since that sequence number
 * never comes right); a frame due for both is skipped.
 *
 * It prints "frame-peer: t=... sent=N received=N lost=N errors=N" every
 * --report-ms (default 1000), an ERROR line for each error and a "lost"
 * line for each gap, and at the end (after --duration seconds, or on
 * SIGINT or SIGTERM) "frame-peer: summary: sent=N received=N lost=N
 * errors=N".  Exit status: 0 without errors, 1 with errors, 2 when it
 * could not run.
 *
 * Frames from the PF to a VF never leave QEMU's igb: its VMDq switch
 * (DTXSWC loopback, which igb turns on with SR-IOV) hands them to the VF's
 * pool, and the VF's frames to the PF come back the same way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define MAX_BURST	4	/* frames per round when the pacing fell behind */
#define ERRORS_SHOWN	20	/* ERROR lines per report period */

static volatile sig_atomic_t stop;

struct peer {
	int fd;
	int ifindex;
	uint8_t own_mac[6];
	uint8_t vf_mac[6];
	bool vf_known;
	bool sending;
	unsigned int period_ms;
	uint32_t seq;		/* next frame of our stream */
	uint16_t own_stream, their_stream;	/* FRAME_STREAM_*: --as-guest swaps */
	uint64_t sent;
	uint64_t send_failures;	/* refused by the kernel, sent again later */
	uint64_t errors;
	unsigned int errors_shown;
	uint32_t skip_every, corrupt_every;
	uint64_t skipped, corrupted;
	struct frame_seq guest;
	double start;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void format_mac(const uint8_t *m, char *out)
{
	sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x",
		m[0], m[1], m[2], m[3], m[4], m[5]);
}

static bool parse_mac(const char *s, uint8_t *m)
{
	unsigned int b[6];
	char end;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return false;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return false;
		m[i] = (uint8_t)b[i];
	}
	return true;
}

static void report_error(struct peer *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report_error(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	if (p->errors_shown++ >= ERRORS_SHOWN)
		return;
	va_start(ap, fmt);
	printf("frame-peer: ERROR t=%.3fs: ", now_s() - p->start);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void print_counts(const char *what, struct peer *p)
{
	printf("frame-peer: %s sent=%" PRIu64 " received=%" PRIu32
	       " lost=%" PRIu32 " errors=%" PRIu64 "\n", what, p->sent,
	       p->guest.received, p->guest.lost, p->errors);
	fflush(stdout);
}

static int open_socket(struct peer *p, const char *ifname)
{
	struct sockaddr_ll sll = { 0 };
	struct ifreq ifr = { 0 };

	p->fd = socket(AF_PACKET, SOCK_RAW, htons(FRAME_ETHERTYPE));
	if (p->fd < 0) {
		fprintf(stderr, "frame-peer: socket(AF_PACKET): %s\n",
			strerror(errno));
		return -1;
	}
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "frame-peer: %s: name too long\n", ifname);
		return -1;
	}
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(p->fd, SIOCGIFINDEX, &ifr) < 0) {
		fprintf(stderr, "frame-peer: %s: %s\n", ifname,
			strerror(errno));
		return -1;
	}
	p->ifindex = ifr.ifr_ifindex;
	if (ioctl(p->fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "frame-peer: %s: no MAC: %s\n", ifname,
			strerror(errno));
		return -1;
	}
	memcpy(p->own_mac, ifr.ifr_hwaddr.sa_data, 6);

	/* Only our EtherType, only this netdev. */
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(FRAME_ETHERTYPE);
	sll.sll_ifindex = p->ifindex;
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "frame-peer: bind to %s: %s\n", ifname,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether frame @seq is every @every-th (0: none is). */
static bool every(uint32_t seq, uint32_t every)
{
	return every && seq % every == every - 1;
}

/* Sends the next frame; false if the kernel refused it (try again later). */
static bool send_one(struct peer *p)
{
	uint8_t f[FRAME_MAX_LEN];
	uint16_t len;
	ssize_t n;

	if (every(p->seq, p->skip_every)) {
		p->seq++;
		p->skipped++;
		return true;
	}
	len = frame_build(f, p->vf_mac, p->own_mac, p->own_stream, p->seq);
	if (every(p->seq, p->corrupt_every))
		f[len - 1] ^= 0x5a;
	n = send(p->fd, f, len, MSG_DONTWAIT);
	if (n == len) {
		p->corrupted += every(p->seq, p->corrupt_every);
		p->seq++;
		p->sent++;
		return true;
	}
	p->send_failures++;
	/* A full queue is back-pressure; the frame goes again next round. */
	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return false;
	report_error(p, "send of frame %" PRIu32 " (%u bytes): %s", p->seq,
		     len, n < 0 ? strerror(errno) : "short write");
	return false;
}

static void check_frame(struct peer *p, const uint8_t *f, size_t len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	enum frame_verdict v;
	char mac[18], want[18];
	uint32_t seq = 0, gap;

	v = frame_check(f, len, p->their_stream, &seq);
	if (v != FRAME_OK) {
		report_error(p, "%s: %zu bytes, length field %u, stream %u, seq %" PRIu32 ", checksum 0x%08" PRIx32 " (expected 0x%08" PRIx32 ")",
			     frame_verdict_name(v), len,
			     len >= FRAME_HDR_LEN ? frame_get16(f + FRAME_OFF_LEN) : 0,
			     len >= FRAME_HDR_LEN ? frame_get16(f + FRAME_OFF_STREAM) : 0,
			     len >= FRAME_HDR_LEN ? frame_get32(f + FRAME_OFF_SEQ) : 0,
			     len >= FRAME_HDR_LEN ? frame_get32(f + FRAME_OFF_CSUM) : 0,
			     len >= FRAME_HDR_LEN && len <= FRAME_MAX_LEN ?
				frame_checksum(f, len) : 0);
		return;
	}
	if (memcmp(f, p->own_mac, 6) && memcmp(f, bcast, 6)) {
		format_mac(f, mac);
		report_error(p, "guest frame %" PRIu32 " addressed to %s, not to this netdev",
			     seq, mac);
		return;
	}
	if (!p->vf_known) {
		memcpy(p->vf_mac, f + 6, 6);
		p->vf_known = true;
		format_mac(p->vf_mac, mac);
		printf("frame-peer: the VF is %s (learned from its first frame)\n",
		       mac);
	} else if (memcmp(f + 6, p->vf_mac, 6)) {
		format_mac(f + 6, mac);
		format_mac(p->vf_mac, want);
		report_error(p, "guest frame %" PRIu32 " from %s, expected from %s",
			     seq, mac, want);
		return;
	}
	if (frame_seq_account(&p->guest, seq, &gap) == FRAME_MISORDERED) {
		report_error(p, "guest frame %" PRIu32 " again or out of order (expected %" PRIu32 " or later)",
			     seq, p->guest.next);
		return;
	}
	if (gap)
		printf("frame-peer: lost %" PRIu32 " frames before guest frame %" PRIu32 "\n",
		       gap, seq);
	if (!p->sending) {
		printf("frame-peer: the guest's first frame came: sending\n");
		p->sending = true;
	}
}

static void receive_all(struct peer *p)
{
	uint8_t f[FRAME_MAX_LEN + 64];
	struct sockaddr_ll from;
	socklen_t fromlen;
	ssize_t n;

	for (;;) {
		fromlen = sizeof(from);
		n = recvfrom(p->fd, f, sizeof(f), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				report_error(p, "recvfrom: %s", strerror(errno));
			return;
		}
		/* A packet socket sees our own frames going out, too. */
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if ((size_t)n > sizeof(f)) {
			report_error(p, "a %zd-byte frame, longer than any of ours",
				     n);
			continue;
		}
		check_frame(p, f, (size_t)n);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: frame-peer [--vf-mac MAC] [--period-ms N] [--duration S]\n"
		"                  [--report-ms N] [--start-now] [--skip-every N]\n"
		"                  [--corrupt-every N] [--as-guest] IFNAME\n"
		"Exchanges checked frames (EtherType 0x%04x) with the igbvf guest workload\n"
		"through IFNAME, the netdev of the VF's PF; see tools/frame-peer.c.\n",
		FRAME_ETHERTYPE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vf-mac", required_argument, NULL, 'm' },
		{ "period-ms", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "report-ms", required_argument, NULL, 'r' },
		{ "start-now", no_argument, NULL, 's' },
		{ "skip-every", required_argument, NULL, 'k' },
		{ "corrupt-every", required_argument, NULL, 'c' },
		{ "as-guest", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct peer p = {
		.fd = -1, .period_ms = 10,
		.own_stream = FRAME_STREAM_PEER,
		.their_stream = FRAME_STREAM_GUEST,
	};
	double duration = 0, next_send, next_report, now, until;
	unsigned int report_ms = 1000;
	bool start_now = false;
	struct sigaction sa = { .sa_handler = on_signal };
	char mac[18];
	int c, n;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!parse_mac(optarg, p.vf_mac)) {
				fprintf(stderr, "frame-peer: --vf-mac %s: not a MAC\n",
					optarg);
				return 2;
			}
			p.vf_known = true;
			break;
		case 'p':
			p.period_ms = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'r':
			report_ms = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 's':
			start_now = true;
			break;
		case 'g':
			p.own_stream = FRAME_STREAM_GUEST;
			p.their_stream = FRAME_STREAM_PEER;
			break;
		case 'k':
			p.skip_every = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			p.corrupt_every = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !p.period_ms || !report_ms ||
	    (start_now && !p.vf_known)) {
		if (start_now && !p.vf_known)
			fprintf(stderr, "frame-peer: --start-now needs --vf-mac\n");
		usage(stderr);
		return 2;
	}
	if (open_socket(&p, argv[optind]) < 0)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	format_mac(p.own_mac, mac);
	printf("frame-peer: ready on %s (%s), EtherType 0x%04x, a frame every %u ms %s\n",
	       argv[optind], mac, FRAME_ETHERTYPE, p.period_ms,
	       start_now ? "from now" : "once the guest's first frame came");
	fflush(stdout);
	p.sending = start_now;
	p.start = now_s();
	next_send = next_report = p.start;
	next_report += report_ms / 1000.0;
	until = duration > 0 ? p.start + duration : 0;

	while (!stop) {
		struct pollfd pfd = { .fd = p.fd, .events = POLLIN };
		double wait;

		now = now_s();
		if (until && now >= until)
			break;
		if (p.sending) {
			for (n = 0; n < MAX_BURST && now >= next_send; n++) {
				if (!send_one(&p))
					break;	/* refused: try next round */
				next_send += p.period_ms / 1000.0;
			}
			/* Far behind (stopped, descheduled): no burst. */
			if (now >= next_send + MAX_BURST * p.period_ms / 1000.0)
				next_send = now + p.period_ms / 1000.0;
		} else {
			next_send = now;
		}
		if (now >= next_report) {
			char t[32];

			snprintf(t, sizeof(t), "t=%.1fs", now - p.start);
			print_counts(t, &p);
			p.errors_shown = 0;
			next_report += report_ms / 1000.0;
			if (next_report <= now)
				next_report = now + report_ms / 1000.0;
		}

		wait = next_report - now;
		if (p.sending && next_send - now < wait)
			wait = next_send - now;
		if (until && until - now < wait)
			wait = until - now;
		if (wait < 0)
			wait = 0;
		n = poll(&pfd, 1, (int)(wait * 1000) + 1);
		if (n < 0 && errno != EINTR) {
			report_error(&p, "poll: %s", strerror(errno));
			break;
		}
		if (n > 0)
			receive_all(&p);
	}
	receive_all(&p);
	if (p.send_failures)
		printf("frame-peer: the kernel refused %" PRIu64 " sends (sent again later)\n",
		       p.send_failures);
	if (p.skip_every || p.corrupt_every)
		printf("frame-peer: on purpose: skipped=%" PRIu64 " corrupted=%" PRIu64 " (next seq %" PRIu32 ")\n",
		       p.skipped, p.corrupted, p.seq);
	print_counts("summary:", &p);
	return p.errors ? 1 : 0;
}
