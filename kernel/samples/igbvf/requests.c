// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate, what the guest's VF driver asked the PF: igb keeps a
 * VF's multicast list, VLAN filters, promiscuous mode, long frame limit
 * and a MAC the VF chose itself, from requests the VF sends through the
 * mailbox after its reset handshake.  A destination's PF knows none of
 * them, and the guest's driver does not ask again, so the mediator keeps
 * them as they go by and replays them on the destination after its own
 * handshake.
 *
 * The mailbox's page of BAR0 is trapped for as long as the device is
 * open (trap.c), so every request reaches us: when the user sets
 * REQ in V2PMAILBOX, the message it wrote is read back from the mailbox
 * memory (which has no read side effects; V2PMAILBOX, which has, is never
 * read for this).  A reset of the VF (CTRL.RST, the reset request, a
 * reset through VFIO) forgets them, as igb does.
 *
 * A request is noted when the user takes the PF's answer and it is an
 * ACK of it (what the PF refused is not kept), as the user handed it
 * over when it set REQ; a user that rewrites the mailbox memory after
 * REQ only misleads its own migration.  Not kept: a MAC the VF set (it
 * is part of the VF's configuration in the PF, which moves on its own),
 * MAC filters (for extra unicast addresses), and a request still in
 * flight at the switch-over, whose answer the guest waits for in vain
 * until igbvf resets the VF.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/string.h>

#include "igbvf.h"

/* A VLAN's bit in @vlans, which is little-endian 32-bit words. */
static void igbvf_vlan_assign(__le32 *vlans, u32 vid, bool add)
{
	__le32 bit = cpu_to_le32(BIT(vid % 32));

	if (add)
		vlans[vid / 32] |= bit;
	else
		vlans[vid / 32] &= ~bit;
}

static bool igbvf_vlan_test(const __le32 *vlans, u32 vid)
{
	return le32_to_cpu(vlans[vid / 32]) & BIT(vid % 32);
}

static unsigned int igbvf_vlan_count(const __le32 *vlans)
{
	unsigned int i, n = 0;

	for (i = 0; i < VLAN_N_VID / 32; i++)
		n += hweight32(le32_to_cpu(vlans[i]));
	return n;
}

/**
 * igbvf_requests_forget() - the VF was reset: the PF forgot its requests
 * @ivf: the open VF
 *
 * Context: ivf->lock held.
 */
void igbvf_requests_forget(struct igbvf_dev *ivf)
{
	lockdep_assert_held(&ivf->lock);
	memset(&ivf->requests, 0, sizeof(ivf->requests));
	ivf->pending_valid = false;
}

/* Whether @msg is one igb applies and we can replay as it is. */
static bool igbvf_request_ok(const u32 *msg)
{
	u32 info = FIELD_GET(IGBVF_MSG_INFO, msg[0]);

	switch (msg[0] & IGBVF_MSG_TYPE) {
	case IGBVF_MSG_SET_MULTICAST:
		return info <= IGBVF_MC_HASHES;
	case IGBVF_MSG_SET_VLAN:
		return true;
	case IGBVF_MSG_SET_LPE:
		return msg[1] <= IGBVF_LPE_MAX;
	case IGBVF_MSG_SET_PROMISC:
		return !(info & ~IGBVF_PROMISC_MULTICAST);
	}
	return false;
}

/**
 * igbvf_requests_note() - the PF acknowledged the user's request
 * @ivf: the open VF
 * @msg: the request, IGBVF_MBX_WORDS words as the user handed it over
 *
 * Called when the user takes the PF's answer and it is an ACK of that
 * request: what the PF refused is not kept, nor what we could not
 * replay as it is.
 *
 * Context: ivf->lock held.
 */
void igbvf_requests_note(struct igbvf_dev *ivf, const u32 *msg)
{
	struct igbvf_requests *req = &ivf->requests;
	u32 info = FIELD_GET(IGBVF_MSG_INFO, msg[0]);
	u32 vid = msg[1] & IGBVF_VLAN_ID;
	unsigned int i;

	lockdep_assert_held(&ivf->lock);
	if (msg[0] == IGBVF_MSG_RESET) {
		igbvf_requests_forget(ivf);
		return;
	}
	/* igb takes a word with ACK or NACK for one it answered already. */
	if ((msg[0] & (IGBVF_MSG_ACK | IGBVF_MSG_NACK | IGBVF_MSG_CTS)) ||
	    !igbvf_request_ok(msg))
		return;
	switch (msg[0] & IGBVF_MSG_TYPE) {
	case IGBVF_MSG_SET_MULTICAST:
		for (i = 0; i < IGBVF_MBX_WORDS; i++)
			req->multicast[i] = cpu_to_le32(msg[i]);
		req->present |= cpu_to_le32(IGBVF_REQ_MULTICAST);
		break;
	case IGBVF_MSG_SET_VLAN:
		/* igb acknowledges no more than its filters hold. */
		if (!info || igbvf_vlan_count(req->vlans) < IGBVF_PF_VLANS)
			igbvf_vlan_assign(req->vlans, vid, info);
		break;
	case IGBVF_MSG_SET_LPE:
		req->lpe = cpu_to_le32(msg[1]);
		req->present |= cpu_to_le32(IGBVF_REQ_LPE);
		break;
	case IGBVF_MSG_SET_PROMISC:
		req->promisc = cpu_to_le32(msg[0]);
		req->present |= cpu_to_le32(IGBVF_REQ_PROMISC);
		break;
	}
}

/**
 * igbvf_requests_check() - whether loaded requests can be replayed
 * @req: from the migration stream (untrusted)
 * @why: set to the reason when not
 *
 * Return: 0 or -EINVAL.
 */
int igbvf_requests_check(const struct igbvf_requests *req, const char **why)
{
	u32 present = le32_to_cpu(req->present);
	u32 msg[2];

	*why = NULL;
	if (present & ~IGBVF_REQ_ALL)
		*why = "unknown mailbox requests";
	if (!*why && (present & IGBVF_REQ_MULTICAST)) {
		msg[0] = le32_to_cpu(req->multicast[0]);
		if ((msg[0] & IGBVF_MSG_TYPE) != IGBVF_MSG_SET_MULTICAST ||
		    !igbvf_request_ok(msg))
			*why = "bad multicast request";
	}
	if (!*why && (present & IGBVF_REQ_PROMISC)) {
		msg[0] = le32_to_cpu(req->promisc);
		if ((msg[0] & IGBVF_MSG_TYPE) != IGBVF_MSG_SET_PROMISC ||
		    (msg[0] & (IGBVF_MSG_ACK | IGBVF_MSG_NACK | IGBVF_MSG_CTS)) ||
		    !igbvf_request_ok(msg))
			*why = "bad promiscuous request";
	}
	if (!*why && le32_to_cpu(req->lpe) > IGBVF_LPE_MAX)
		*why = "frame limit beyond the PF's";
	if (!*why && igbvf_vlan_count(req->vlans) > IGBVF_PF_VLANS)
		*why = "more VLANs than the PF has filters";
	return *why ? -EINVAL : 0;
}

/* One request to the PF; a refusal is logged, not an error. */
static int igbvf_replay_one(struct igbvf_dev *ivf, u32 *msg,
			    unsigned int words)
{
	u32 sent = msg[0];
	int ret;

	ret = igbvf_mbx_request(ivf, msg, words, 1);
	if (ret) {
		igbvf_warn(ivf, "the PF did not answer replayed request %#x: %pe\n",
			   sent, ERR_PTR(ret));
		return ret;
	}
	if (msg[0] & IGBVF_MSG_NACK)
		igbvf_warn(ivf, "the PF refused replayed request %#x, as it may have on the source\n",
			   sent);
	return 0;
}

/**
 * igbvf_requests_replay() - ask the PF again what the source's driver had
 * @ivf: the open VF, after the reset handshake
 * @req: checked by igbvf_requests_check()
 * @port_vlan: the VF has a port VLAN (the PF refuses its own VLANs)
 *
 * The frame limit, the multicast list before the promiscuous mode (whose
 * clearing writes the list to the PF's filter), the VLANs last unless
 * the VF has a port VLAN (@port_vlan), under which igb refuses them.
 * What is replayed is kept as the device's own, for a later migration.
 *
 * Context: @lock held; the user's syscall (bounded waits on the PF).
 * Return: 0, or the error of a request the PF did not answer.
 */
int igbvf_requests_replay(struct igbvf_dev *ivf,
			  const struct igbvf_requests *req, bool port_vlan)
{
	u32 present = le32_to_cpu(req->present);
	u32 msg[IGBVF_MBX_WORDS];
	unsigned int i;
	u32 vid;
	int ret = 0;

	lockdep_assert_held(&ivf->lock);
	if (!ret && (present & IGBVF_REQ_LPE)) {
		msg[0] = IGBVF_MSG_SET_LPE;
		msg[1] = le32_to_cpu(req->lpe);
		ret = igbvf_replay_one(ivf, msg, 2);
	}
	if (!ret && (present & IGBVF_REQ_MULTICAST)) {
		for (i = 0; i < IGBVF_MBX_WORDS; i++)
			msg[i] = le32_to_cpu(req->multicast[i]);
		ret = igbvf_replay_one(ivf, msg, IGBVF_MBX_WORDS);
	}
	if (!ret && (present & IGBVF_REQ_PROMISC)) {
		msg[0] = le32_to_cpu(req->promisc);
		ret = igbvf_replay_one(ivf, msg, 1);
	}
	/* Under a port VLAN the PF refuses them all, and says so loudly. */
	for (vid = 0; !ret && !port_vlan && vid < VLAN_N_VID; vid++) {
		if (!igbvf_vlan_test(req->vlans, vid))
			continue;
		msg[0] = IGBVF_MSG_SET_VLAN | FIELD_PREP(IGBVF_MSG_INFO, 1);
		msg[1] = vid;
		ret = igbvf_replay_one(ivf, msg, 2);
	}
	if (!ret)
		ivf->requests = *req;
	return ret;
}
