// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate, the VF side of the PF/VF mailbox: the reset handshake a
 * VF driver does when it starts, done by the mediator on a destination VF
 * before the source's state goes in.  The PF driver (igb) only serves a
 * VF's requests, and only enables its receive and transmit, after that
 * handshake; a guest driver that migrated has done it on the source, not
 * here, and would otherwise see its requests refused.
 *
 * The mailbox register's PFSTS, PFACK and RSTD bits clear when read, so
 * every read is folded into what was seen so far.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/jiffies.h>

#include "igbvf.h"

/* igbvf's own bounds: 1 s for the PF to answer, polled every 500 us. */
#define IGBVF_MBX_WAIT_MS	1000
#define IGBVF_MBX_POLL_US	500
/* Messages of the PF not answering ours that a handshake skips. */
#define IGBVF_MBX_MAX_SKIP	4

/*
 * Waits until the mailbox register shows any of @set (or just anything,
 * for 0) and none of @clear, folding each read into *@seen, which callers clear of the bits
 * they consumed; with @take, asks for the buffer (VFU) before each read.
 * At most IGBVF_MBX_WAIT_MS.
 */
static int igbvf_mbx_wait(struct igbvf_dev *ivf, u32 set, u32 clear,
			  bool take, u32 *seen)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(IGBVF_MBX_WAIT_MS);
	u32 val;
	int ret;

	do {
		ret = take ? igbvf_wr(ivf, IGBVF_V2PMAILBOX, IGBVF_MBX_VFU) : 0;
		if (!ret)
			ret = igbvf_rd(ivf, IGBVF_V2PMAILBOX, &val);
		if (ret)
			return ret;
		*seen |= val;
		/* VFU is the VF's own bit: only this read tells. */
		if ((!set || ((take ? val : *seen) & set)) && !(val & clear))
			return 0;
	} while (!(ret = igbvf_poll_pause(deadline, IGBVF_MBX_POLL_US)));
	return ret;
}

/* Takes the buffer for the VF; the PF may hold it for a while. */
static int igbvf_mbx_lock(struct igbvf_dev *ivf, u32 *seen)
{
	return igbvf_mbx_wait(ivf, IGBVF_MBX_VFU, 0, true, seen);
}

/* Sends @msg and waits for the PF to take it. */
static int igbvf_mbx_send(struct igbvf_dev *ivf, const u32 *msg,
			  unsigned int words, u32 *seen)
{
	unsigned int i;
	int ret;

	ret = igbvf_mbx_lock(ivf, seen);
	/*
	 * As igbvf: whatever the PF posted before (a ping on a link change)
	 * is not the answer to this; forget it.
	 */
	*seen &= ~(IGBVF_MBX_PFACK | IGBVF_MBX_PFSTS);
	for (i = 0; !ret && i < words; i++)
		ret = igbvf_wr(ivf, IGBVF_VMBMEM(i), msg[i]);
	/* REQ without VFU: the request, and the buffer handed back. */
	if (!ret)
		ret = igbvf_wr(ivf, IGBVF_V2PMAILBOX, IGBVF_MBX_REQ);
	if (ret)
		return ret;
	ret = igbvf_mbx_wait(ivf, IGBVF_MBX_PFACK, 0, false, seen);
	*seen &= ~IGBVF_MBX_PFACK;
	return ret;
}

/* Waits for the PF's message and takes it. */
static int igbvf_mbx_receive(struct igbvf_dev *ivf, u32 *msg,
			     unsigned int words, u32 *seen)
{
	unsigned int i;
	int ret;

	ret = igbvf_mbx_wait(ivf, IGBVF_MBX_PFSTS, 0, false, seen);
	if (ret)
		return ret;
	*seen &= ~IGBVF_MBX_PFSTS;
	ret = igbvf_mbx_lock(ivf, seen);
	for (i = 0; !ret && i < words; i++)
		ret = igbvf_rd(ivf, IGBVF_VMBMEM(i), &msg[i]);
	/* ACK without VFU: the message taken, the buffer handed back. */
	if (!ret)
		ret = igbvf_wr(ivf, IGBVF_V2PMAILBOX, IGBVF_MBX_ACK);
	return ret;
}

/**
 * igbvf_mbx_request() - send the PF a request and take its answer
 * @ivf: the open VF
 * @msg: the request's words; its first word is replaced by the answer's
 * @words: how many, at most IGBVF_MBX_WORDS
 * @answer_words: words of the answer to read into @msg
 *
 * The PF may post something else first (a ping): what does not answer
 * the request's type is skipped, each message taking its own turn of
 * the bounded wait.
 *
 * Return: 0, -ETIMEDOUT if the PF did not answer within a second, -EPROTO
 * if it answered only other things, -EINTR if the caller was killed, or
 * the error of a register access.
 */
int igbvf_mbx_request(struct igbvf_dev *ivf, u32 *msg, unsigned int words,
		      unsigned int answer_words)
{
	u32 type = msg[0] & IGBVF_MSG_TYPE, seen = 0;
	unsigned int i;
	int ret;

	ret = igbvf_mbx_send(ivf, msg, words, &seen);
	for (i = 0; !ret && i < IGBVF_MBX_MAX_SKIP; i++) {
		ret = igbvf_mbx_receive(ivf, msg, answer_words, &seen);
		if (!ret && (msg[0] & IGBVF_MSG_TYPE) == type)
			return 0;
	}
	return ret ?: -EPROTO;
}

/**
 * igbvf_mbx_reset() - reset the VF's queues and interrupts and do the VF
 * driver's reset handshake with the PF
 * @ivf: the open VF
 * @mac: set to the MAC address the PF gave the VF (zero if none)
 *
 * Afterwards the PF serves the VF's mailbox requests and has enabled its
 * receive and transmit; the VF's queues are disabled.
 *
 * Return: 0, or what igbvf_mbx_request() returns; -EPROTO also for an
 * answer that is neither ACK nor NACK.
 */
int igbvf_mbx_reset(struct igbvf_dev *ivf, u8 mac[ETH_ALEN])
{
	u32 msg[3] = { IGBVF_MSG_RESET };
	u32 seen = 0;
	int ret;

	ret = igbvf_vf_reset(ivf);
	if (ret)
		return ret;
	/* A PF in reset (RSTI) answers nothing: wait until it is out. */
	ret = igbvf_mbx_wait(ivf, 0, IGBVF_MBX_RSTI, false, &seen);
	if (!ret)
		ret = igbvf_mbx_request(ivf, msg, 1, ARRAY_SIZE(msg));
	if (ret)
		return ret;
	if (msg[0] == (IGBVF_MSG_RESET | IGBVF_MSG_ACK | IGBVF_MSG_CTS) ||
	    msg[0] == (IGBVF_MSG_RESET | IGBVF_MSG_ACK)) {
		/* The address's bytes in mailbox order, from word 1 on. */
		__le32 addr[2] = { cpu_to_le32(msg[1]), cpu_to_le32(msg[2]) };

		memcpy(mac, addr, ETH_ALEN);
		return 0;
	}
	if (msg[0] == (IGBVF_MSG_RESET | IGBVF_MSG_NACK) ||
	    msg[0] == (IGBVF_MSG_RESET | IGBVF_MSG_NACK | IGBVF_MSG_CTS)) {
		eth_zero_addr(mac);
		return 0;
	}
	return -EPROTO;
}
