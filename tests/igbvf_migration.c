// SPDX-License-Identifier: GPL-2.0
/*
 * igbvf-mediate (kernel/samples/igbvf/) seen from a VFIO client,
 * through libvfmig, on two VFs of the lab's igb PF (LAB_MACHINE=igb),
 * both bound to vfio-pci-mediate.  The test plays the VF's driver: it
 * programs the registers and talks to the PF through the VF's mailbox.
 *
 *  - the mediator takes the VFs of an igb PF, found by alias;
 *  - round trip, v2 and v1: VF A's queues, interrupt routing and
 *    throttling, programmed with distinctive values (rings that give the
 *    device nothing to do), come out on VF B, the queue enables only once
 *    B runs;
 *  - leaving RUNNING stops the queues; RUNNING gives them back;
 *  - after a load, the PF serves B's mailbox (the mediator did the VF's
 *    reset handshake); after a reset of B it no longer does;
 *  - with apply_pf_config, B comes out with A's configuration in the PF
 *    (MAC, VLAN and QoS, spoof check, trust); without it, a state whose
 *    configuration differs from B's is refused at load and B keeps its own;
 *  - a state with a ring that makes no sense (length, head) is refused,
 *    the same state with the field put right loads.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "harness.h"
#include "igbvf_fixture.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"
#include "sysfs_attr.h"
#include "vfio_dev.h"

/* Offset of queue 0's RDLEN in the mediator's state (struct igbvf_state). */
#define STATE_RDLEN0 (8 + 20 + 8)

/* The PF's configuration of a VF, as ip link shows it. */
struct vf_config {
	char mac[18];
	unsigned int vlan, qos;
	bool spoofchk, trust;
};

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		FAIL("'%s' failed (status %d)", cmd, status);
}

static void vf_config_get(const struct vf *vf, struct vf_config *c)
{
	char cmd[128], line[512], want[16];
	const char *p;
	bool found = false;
	FILE *out;

	snprintf(cmd, sizeof(cmd), "ip link show dev %s", vf->pf_netdev);
	out = popen(cmd, "r");
	ASSERT_TRUE(out != NULL);
	snprintf(want, sizeof(want), "vf %d ", vf->index);
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), out)) {
		p = line + strspn(line, " ");
		if (strncmp(p, want, strlen(want)))
			continue;
		found = true;
		p = strstr(line, "link/ether ");
		if (p)
			snprintf(c->mac, sizeof(c->mac), "%.17s", p + 11);
		p = strstr(line, ", vlan ");
		if (p)
			c->vlan = (unsigned int)strtoul(p + 7, NULL, 10);
		p = strstr(line, ", qos ");
		if (p)
			c->qos = (unsigned int)strtoul(p + 6, NULL, 10);
		c->spoofchk = strstr(line, "spoof checking on") != NULL;
		c->trust = strstr(line, "trust on") != NULL;
	}
	pclose(out);
	if (!found)
		FAIL("ip link show dev %s lists no vf %d", vf->pf_netdev,
		     vf->index);
}

/* The ip command that gives VF @vf the configuration @c. */
static void vf_config_cmd(const struct vf *vf, const struct vf_config *c,
			  char *cmd, size_t len)
{
	snprintf(cmd, len,
		 "ip link set dev %s vf %d mac %s vlan %u qos %u spoofchk %s trust %s",
		 vf->pf_netdev, vf->index, c->mac, c->vlan, c->qos,
		 c->spoofchk ? "on" : "off", c->trust ? "on" : "off");
}

static void vf_config_set(const struct vf *vf, const struct vf_config *c)
{
	char cmd[256];

	vf_config_cmd(vf, c, cmd, sizeof(cmd));
	run("%s", cmd);
}

static void expect_config(const char *what, const struct vf_config *got,
			  const struct vf_config *want)
{
	if (strcmp(got->mac, want->mac) || got->vlan != want->vlan ||
	    got->qos != want->qos || got->spoofchk != want->spoofchk ||
	    got->trust != want->trust)
		FAIL("%s: mac %s vlan %u qos %u spoofchk %d trust %d, expected mac %s vlan %u qos %u spoofchk %d trust %d",
		     what, got->mac, got->vlan, got->qos, got->spoofchk,
		     got->trust, want->mac, want->vlan, want->qos,
		     want->spoofchk, want->trust);
}

/* The lab's own configuration of a VF, put back at the end of a test. */
struct config_restore {
	struct vf vf;
	struct vf_config config;
};

static int restore_config(void *arg)
{
	struct config_restore *r = arg;
	char cmd[256];
	int bad;

	/* system(), not run(): a cleanup reports, it does not fail. */
	vf_config_cmd(&r->vf, &r->config, cmd, sizeof(cmd));
	bad = system(cmd) != 0;
	free(r);
	return bad ? -EIO : 0;
}

static void restore_config_at_end(const struct vf *vf)
{
	struct config_restore *r = calloc(1, sizeof(*r));

	ASSERT_TRUE(r != NULL);
	r->vf = *vf;
	vf_config_get(vf, &r->config);
	test_add_cleanup(restore_config, r, "restore the VF's configuration");
}

#define APPLY_PF_CONFIG "/sys/module/" IGBVF_MODULE "/parameters/apply_pf_config"

/* Sets the mediator's apply_pf_config, which it reads at each open. */
static void set_apply_pf_config(bool on)
{
	char got[8];

	ASSERT_OK(sysfs_write(APPLY_PF_CONFIG, on ? "1\n" : "0\n"));
	ASSERT_OK(sysfs_read(APPLY_PF_CONFIG, got, sizeof(got)));
	ASSERT_EQ(got[0], on ? 'Y' : 'N');
}

/*
 * Both VFs bound to vfio-pci-mediate and opened, the mediator loaded with
 * apply_pf_config as @apply; their configurations are put back at the end.
 */
static void setup_two(struct vf *a, struct vf *b, bool apply)
{
	struct vf vfs[2];

	vf_find(vfs, 2);
	*a = vfs[0];
	*b = vfs[1];
	restore_config_at_end(a);
	restore_config_at_end(b);
	set_apply_pf_config(apply);
	a->dev = mg_open(a->bdf);
	b->dev = mg_open(b->bdf);
	mt_expect_mediator(a->bdf, IGBVF_MEDIATOR);
	mt_expect_mediator(b->bdf, IGBVF_MEDIATOR);
}

/* What the test programs into a VF, and expects to read back. */
struct regs {
	uint32_t queue[2][14];
	uint32_t eitr[3], ivar0, ivar_misc, eiac, eiam;
};

/* Queue registers compared, in struct regs order. */
static const uint32_t queue_regs[14] = {
	RDBAL, RDBAH, RDLEN, SRRCTL, RDH, RDT, RXDCTL,
	TDBAL, TDBAH, TDLEN, TDH, TDT, TXDCTL, TDWBAL,
};

/*
 * Distinctive values from @seed.  Heads equal tails, so an enabled queue
 * gives the device nothing to do: no DMA into memory the test has not
 * mapped.
 */
static void make_regs(struct regs *r, uint32_t seed)
{
	int q;

	for (q = 0; q < 2; q++) {
		uint32_t *v = r->queue[q];
		uint32_t len = 128u * (1 + ((seed + q) % 8));
		uint32_t pos = (seed + 3 * q) % (len / 16);

		v[0] = 0x00100000u + 0x1000u * ((seed + q) % 16);	/* RDBAL */
		v[1] = 0;						/* RDBAH */
		v[2] = len;						/* RDLEN */
		v[3] = 0x02000002u;	/* SRRCTL: advanced one-buffer, 2 KiB */
		v[4] = pos;		/* RDH */
		v[5] = pos;		/* RDT */
		v[6] = QUEUE_ENABLE | 0x00010008u;			/* RXDCTL */
		v[7] = 0x00200000u + 0x1000u * ((seed + q) % 16);	/* TDBAL */
		v[8] = 0;						/* TDBAH */
		v[9] = len;						/* TDLEN */
		v[10] = pos / 2;	/* TDH */
		v[11] = pos / 2;	/* TDT */
		v[12] = QUEUE_ENABLE | 0x00010108u;			/* TXDCTL */
		v[13] = 0x00300000u + 0x100u * (seed % 16);		/* TDWBAL */
	}
	r->eitr[0] = 0x100u * (1 + seed % 7);
	r->eitr[1] = 0x100u * (2 + seed % 5);
	r->eitr[2] = 0x100u * (3 + seed % 3);
	r->ivar0 = 0x8180u | (seed & 1);	/* RX0 -> vector 0 or 1, TX0 -> 1 */
	r->ivar_misc = 0x82u;			/* mailbox -> vector 2 */
	r->eiac = 0x7;
	r->eiam = 0x7;
}

static void program(const struct vf *vf, const struct regs *r)
{
	int q, i;

	for (q = 0; q < 2; q++) {
		/* Disabled while the ring changes, as a driver does. */
		vf_wr(vf, RXQ(RXDCTL, q), 0);
		vf_wr(vf, RXQ(TXDCTL, q), 0);
		for (i = 0; i < 14; i++)
			if (queue_regs[i] != RXDCTL && queue_regs[i] != TXDCTL)
				vf_wr(vf, RXQ(queue_regs[i], q), r->queue[q][i]);
		vf_wr(vf, RXQ(RXDCTL, q), r->queue[q][6]);
		vf_wr(vf, RXQ(TXDCTL, q), r->queue[q][12]);
	}
	for (i = 0; i < 3; i++)
		vf_wr(vf, EITR(i), r->eitr[i]);
	vf_wr(vf, IVAR0, r->ivar0);
	vf_wr(vf, IVAR_MISC, r->ivar_misc);
	vf_wr(vf, EIAC, r->eiac);
	vf_wr(vf, EIAM, r->eiam);
}

static void read_regs(const struct vf *vf, struct regs *r)
{
	int q, i;

	for (q = 0; q < 2; q++)
		for (i = 0; i < 14; i++)
			r->queue[q][i] = vf_rd(vf, RXQ(queue_regs[i], q));
	for (i = 0; i < 3; i++)
		r->eitr[i] = vf_rd(vf, EITR(i));
	r->ivar0 = vf_rd(vf, IVAR0);
	r->ivar_misc = vf_rd(vf, IVAR_MISC);
	r->eiac = vf_rd(vf, EIAC);
	r->eiam = vf_rd(vf, EIAM);
}

static void expect_regs(const char *what, const struct regs *got,
			const struct regs *want)
{
	int q, i, bad = 0;

	for (q = 0; q < 2; q++)
		for (i = 0; i < 14; i++)
			if (got->queue[q][i] != want->queue[q][i]) {
				test_log("%s: queue %d register %#x is %#x, expected %#x",
					 what, q, queue_regs[i],
					 got->queue[q][i], want->queue[q][i]);
				bad++;
			}
	for (i = 0; i < 3; i++)
		if (got->eitr[i] != want->eitr[i]) {
			test_log("%s: EITR%d is %#x, expected %#x", what, i,
				 got->eitr[i], want->eitr[i]);
			bad++;
		}
	if (got->ivar0 != want->ivar0 || got->ivar_misc != want->ivar_misc ||
	    got->eiac != want->eiac || got->eiam != want->eiam) {
		test_log("%s: IVAR0 %#x IVAR_MISC %#x EIAC %#x EIAM %#x, expected %#x %#x %#x %#x",
			 what, got->ivar0, got->ivar_misc, got->eiac, got->eiam,
			 want->ivar0, want->ivar_misc, want->eiac, want->eiam);
		bad++;
	}
	if (bad)
		FAIL("%s: %d registers differ", what, bad);
}


enum proto { V2, V1 };

/* A whole migration of @a into @b, both left RUNNING. */
static void migrate(struct vf *a, struct vf *b, enum proto p, int *load_err)
{
	struct mg_buf st = { 0 };
	int ret;

	if (p == V2) {
		enum mg_load_step at;

		mg_save(a->dev, &st, false);
		ret = mg_load(b->dev, st.data, st.len, &at);
		if (load_err) {
			*load_err = ret;
			mg_buf_free(&st);
			return;
		}
		if (ret)
			FAIL("load failed at step %d: %s (%s)", at,
			     strerror(-ret), vfmig_strerror(b->dev));
		MG_OK(b->dev, vfmig_mig_set_state(b->dev,
						  VFMIG_STATE_RUNNING_P2P));
		/* The queues run only once B does. */
		for (int q = 0; q < 2; q++) {
			ASSERT_EQ(vf_rd(b, RXQ(RXDCTL, q)) & QUEUE_ENABLE, 0);
			ASSERT_EQ(vf_rd(b, RXQ(TXDCTL, q)) & QUEUE_ENABLE, 0);
		}
		MG_OK(b->dev, vfmig_mig_set_state(b->dev, VFMIG_STATE_RUNNING));
	} else {
		struct vfmig_v1_options opt = { 0 };
		uint64_t bytes = 0;
		int fd;

		mg_v1_save(a->dev, &opt, &st);
		fd = mg_memfd(st.data, st.len);
		ret = vfmig_v1_load(b->dev, fd, &opt, &bytes);
		close(fd);
		if (load_err) {
			*load_err = ret;
			mg_buf_free(&st);
			return;
		}
		MG_OK(b->dev, ret);
		MG_OK(b->dev, vfmig_v1_set_state(b->dev, ~VFMIG_V1_MASK,
						 VFMIG_V1_RUNNING));
	}
	test_log("%s -> %s: %zu bytes", a->bdf, b->bdf, st.len);
	mg_buf_free(&st);
}

static void round_trip(enum proto p)
{
	struct vf a, b;
	struct regs ra, rb, got;

	/* The lab gives each VF its own MAC: B takes A's. */
	setup_two(&a, &b, true);
	make_regs(&ra, 5);
	make_regs(&rb, 11);
	program(&a, &ra);
	program(&b, &rb);
	read_regs(&a, &got);
	expect_regs("A as programmed", &got, &ra);

	migrate(&a, &b, p, NULL);
	read_regs(&b, &got);
	expect_regs("B after the migration", &got, &ra);
	/* The PF serves B: its reset handshake was done. */
	ASSERT_EQ(vf_mbx_set_lpe(&b), MSG_SET_LPE | MSG_ACK | MSG_CTS);
}

TEST_NAMED(round_trip_v2, "igbvf.round_trip_v2", 120)
{
	round_trip(V2);
}

TEST_NAMED(round_trip_v1, "igbvf.round_trip_v1", 120)
{
	round_trip(V1);
}

TEST_NAMED(stop_holds_queues, "igbvf.stop_holds_queues", 120)
{
	struct vf a, b;
	struct regs ra, got;
	int q;

	setup_two(&a, &b, false);
	make_regs(&ra, 3);
	program(&a, &ra);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_RUNNING_P2P));
	for (q = 0; q < 2; q++) {
		ASSERT_EQ(vf_rd(&a, RXQ(RXDCTL, q)) & QUEUE_ENABLE, 0);
		ASSERT_EQ(vf_rd(&a, RXQ(TXDCTL, q)) & QUEUE_ENABLE, 0);
	}
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_STOP));
	ASSERT_EQ(vf_rd(&a, RXDCTL) & QUEUE_ENABLE, 0);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_RUNNING_P2P));
	ASSERT_EQ(vf_rd(&a, TXDCTL) & QUEUE_ENABLE, 0);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_RUNNING));
	read_regs(&a, &got);
	expect_regs("A back in RUNNING", &got, &ra);
}

/*
 * B served after a migration (its handshake done) is no longer after a
 * reset: the PF forgets the VF, as after an FLR.
 */
TEST_NAMED(reset_leaves_pf_unserved, "igbvf.reset_leaves_pf_unserved", 120)
{
	struct vf a, b;
	uint32_t reply;

	setup_two(&a, &b, true);
	migrate(&a, &b, V2, NULL);
	ASSERT_EQ(vf_mbx_set_lpe(&b), MSG_SET_LPE | MSG_ACK | MSG_CTS);
	MG_OK(b.dev, vfmig_reset(b.dev));
	/* The mediator's reset is the VF's: the PF forgets the VF. */
	ASSERT_EQ(vf_rd(&b, CTRL) & CTRL_RST, 0);
	reply = vf_mbx_set_lpe(&b);
	test_log("the PF answered %#x", reply);
	ASSERT_FALSE(reply & MSG_ACK);
}

static const struct vf_config config_a = {
	.mac = "02:00:00:00:aa:01", .vlan = 7, .qos = 3,
	.spoofchk = false, .trust = true,
};

static const struct vf_config config_b = {
	.mac = "02:00:00:00:bb:02", .vlan = 0, .qos = 0,
	.spoofchk = true, .trust = false,
};

TEST_NAMED(pf_config_applied, "igbvf.pf_config_applied", 120)
{
	struct vf a, b;
	struct vf_config got;

	setup_two(&a, &b, true);
	vf_config_set(&a, &config_a);
	vf_config_set(&b, &config_b);
	vf_config_get(&b, &got);
	expect_config("B before", &got, &config_b);

	migrate(&a, &b, V2, NULL);
	vf_config_get(&b, &got);
	expect_config("B after the migration", &got, &config_a);
	vf_config_get(&a, &got);
	expect_config("A after the migration", &got, &config_a);
}

TEST_NAMED(pf_config_differs_refused, "igbvf.pf_config_differs_refused", 120)
{
	struct vf a, b;
	struct vf_config got;
	int err = 0;

	setup_two(&a, &b, false);
	vf_config_set(&a, &config_a);
	vf_config_set(&b, &config_b);
	migrate(&a, &b, V2, &err);
	ASSERT_EQ(err, -EPERM);
	vf_config_get(&b, &got);
	expect_config("B after the refused load", &got, &config_b);
	/* Usable again after a reset. */
	MG_OK(b.dev, vfmig_reset(b.dev));
	mg_expect_state(b.dev, VFMIG_STATE_RUNNING);

	/* With the host's configuration made the same, it goes in. */
	vf_config_set(&b, &config_a);
	MG_OK(a.dev, vfmig_reset(a.dev));
	migrate(&a, &b, V2, NULL);
	vf_config_get(&b, &got);
	expect_config("B after the load", &got, &config_a);
}

TEST_NAMED(bad_ring_refused, "igbvf.bad_ring_refused", 120)
{
	struct vf a, b;
	struct mg_buf st = { 0 };
	struct mg_stream s;
	struct regs ra;
	uint8_t *rdlen;

	setup_two(&a, &b, false);
	make_regs(&ra, 1);
	program(&a, &ra);
	mg_save(a.dev, &st, false);
	mg_stream_parse(st.data, st.len, &s);
	ASSERT_GE(s.nr_data, 1);
	rdlen = st.data + s.data_off[0] +
		sizeof(struct vfio_pci_mediate_stream_record) + STATE_RDLEN0;
	ASSERT_EQ(mg_get_le(rdlen, 4), ra.queue[0][2]);
	mg_put_le(rdlen, 4, ra.queue[0][2] + 4);
	mg_stream_reseal(st.data, st.len);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), -EINVAL);
	MG_OK(b.dev, vfmig_reset(b.dev));

	/* A head one past the ring's last descriptor. */
	mg_put_le(rdlen, 4, ra.queue[0][2]);
	mg_put_le(rdlen + 8, 4, ra.queue[0][2] / 16);	/* RDH */
	mg_stream_reseal(st.data, st.len);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), -EINVAL);
	MG_OK(b.dev, vfmig_reset(b.dev));

	/* Put right again, it loads: only the field made it bad. */
	mg_put_le(rdlen + 8, 4, ra.queue[0][4]);
	mg_stream_reseal(st.data, st.len);
	set_apply_pf_config(true);
	mg_close(b.dev);
	b.dev = mg_open(b.bdf);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), 0);
	mg_buf_free(&st);
}

#define MEM_IOVA 0x1000000ull
#define MEM_PAGES 64u
#define MEM_LEN ((uint64_t)MEM_PAGES * 4096)

/* The fill bytes of the frames a VF received (each frame's last byte). */
struct fills {
	bool seen[256];
};

static void note_fill(void *arg, uint64_t iova, const uint8_t *frame,
		      uint32_t len)
{
	struct fills *f = arg;

	(void)iova;
	f->seen[frame[len - 1]] = true;
}

/* Takes back what @rx received until every fill of @want was seen (2 s). */
static void expect_fills(const char *what, struct vf_rx *rx,
			 const uint8_t *want, int n)
{
	struct fills f = { 0 };
	uint64_t deadline = mt_now_ms() + 2000;
	int i;

	for (;;) {
		vf_rx_take_back(rx, note_fill, &f);
		for (i = 0; i < n && f.seen[want[i]]; i++)
			;
		if (i == n)
			return;
		if (mt_now_ms() > deadline)
			break;
		mt_sleep_ms(5);
	}
	for (i = 0; i < n; i++)
		if (!f.seen[want[i]])
			test_log("%s: frame %#x not received", what, want[i]);
	FAIL("%s: frames missing", what);
}

/*
 * What the guest's driver asked the PF (a multicast address, a VLAN)
 * holds on the destination: the mediator replayed the requests.  A frame
 * to the multicast address, and one tagged with the VLAN, reach A before
 * and B after the migration; a plain one shows B receives at all.
 */
TEST_NAMED(requests_replayed, "igbvf.requests_replayed", 180)
{
	/* 01:00:5e:00:00:fb (mDNS), and its hash as igbvf computes it. */
	const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	const uint32_t hash = (mcast[4] >> 4 | (uint32_t)mcast[5] << 4) & 0xfff;
	const uint32_t set_mc[2] = { MSG_SET_MULTICAST | MSG_INFO(1), hash };
	const uint32_t set_vlan[2] = { MSG_SET_VLAN | MSG_INFO(1), 100 };
	const uint8_t before[2] = { 0xa1, 0xa2 }, after[3] = { 0xb1, 0xb2, 0xb3 };
	struct vf a, b;
	struct vf_rx rx_a, rx_b;
	struct pf_tx pf;
	struct mg_buf st = { 0 };
	uint8_t mac[6];
	void *mem_a, *mem_b;

	setup_two(&a, &b, true);
	MG_OK(a.dev, vfmig_dma_alloc(a.dev, MEM_IOVA, MEM_LEN, &mem_a));
	MG_OK(b.dev, vfmig_dma_alloc(b.dev, MEM_IOVA, MEM_LEN, &mem_b));
	MG_OK(a.dev, vfmig_enable_mem_and_dma(a.dev));
	MG_OK(b.dev, vfmig_enable_mem_and_dma(b.dev));
	vf_start(&a, mac);
	ASSERT_EQ(vf_mbx_request(&a, set_mc, 2) & ~MSG_CTS,
		  set_mc[0] | MSG_ACK);
	ASSERT_EQ(vf_mbx_request(&a, set_vlan, 2) & ~MSG_CTS,
		  set_vlan[0] | MSG_ACK);
	vf_rx_start(&rx_a, &a, mem_a, MEM_IOVA, MEM_PAGES, VF_RX_DESC - 1);
	pf_tx_open(&pf, a.pf_netdev);
	pf_tx_send(&pf, mcast, 0, 100, before[0]);
	pf_tx_send(&pf, mac, 100, 100, before[1]);
	expect_fills("A before the migration", &rx_a, before, 2);

	/* As a VMM does: device state, and the memory that goes with it. */
	mg_save(a.dev, &st, false);
	memcpy(mem_b, mem_a, MEM_LEN);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), 0);
	MG_OK(b.dev, vfmig_mig_set_state(b.dev, VFMIG_STATE_RUNNING));
	mg_buf_free(&st);
	/* A lets go of the address (restored at the end). */
	run("ip link set dev %s vf %d mac 02:00:00:00:00:99", a.pf_netdev,
	    a.index);

	rx_b = rx_a;
	rx_b.vf = &b;
	rx_b.mem = mem_b;
	pf_tx_send(&pf, mcast, 0, 100, after[0]);
	pf_tx_send(&pf, mac, 100, 100, after[1]);
	pf_tx_send(&pf, mac, 0, 100, after[2]);
	expect_fills("B after the migration", &rx_b, after, 3);
	pf_tx_close(&pf);
}
