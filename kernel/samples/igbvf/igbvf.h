/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * igbvf-mediate: what its files share.  See main.c.
 */
#ifndef IGBVF_MEDIATE_H
#define IGBVF_MEDIATE_H

#include <linux/build_bug.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/types.h>
#include <linux/vfio_pci_mediate.h>

#include "regs.h"

#define igbvf_warn(ivf, fmt, ...) \
	dev_warn_ratelimited(&(ivf)->vf->dev, fmt, ##__VA_ARGS__)

/* A field of struct igbvf_pf_config the PF driver did not report. */
#define IGBVF_CFG_UNKNOWN	0xff

/*
 * The VF's configuration that lives in the PF and is set by the host
 * (ip link set PF vf N ...): what struct ifla_vf_info reports of it.
 * Little-endian, part of the migrated state.
 */
struct igbvf_pf_config {
	u8 mac[ETH_ALEN];
	__le16 vlan;
	__le32 qos;
	__le32 max_tx_rate;	/* Mb/s, 0: no limit */
	u8 spoofchk;		/* 0, 1 or IGBVF_CFG_UNKNOWN */
	u8 trusted;		/* 0, 1 or IGBVF_CFG_UNKNOWN */
	u8 reserved[2];
};

static_assert(sizeof(struct igbvf_pf_config) == 20);

/* One receive and one transmit queue's registers, as the VF sees them. */
struct igbvf_queue_state {
	__le32 rdbal, rdbah, rdlen, srrctl, rdh, rdt, rxdctl, rxctl;
	__le32 tdbal, tdbah, tdlen, tdh, tdt, txdctl, txctl, tdwbal, tdwbah;
	__le32 reserved;
};

static_assert(sizeof(struct igbvf_queue_state) == 72);

/*
 * What the guest's driver asked the PF through the mailbox since its
 * last reset, and the PF acknowledged (requests.c): the last
 * request of each kind, and the VLANs it added.  Little-endian, part of
 * the migrated state.  A MAC the VF set itself is not here: the PF
 * reports it as the VF's configuration, which moves on its own.
 */
struct igbvf_requests {
	__le32 present;		/* IGBVF_REQ_* */
	__le32 lpe;		/* SET_LPE's largest frame */
	__le32 promisc;		/* SET_PROMISC's first word */
	__le32 multicast[IGBVF_MBX_WORDS];	/* SET_MULTICAST as sent */
	__le32 vlans[VLAN_N_VID / 32];		/* bitmap of VLANs added */
};

static_assert(sizeof(struct igbvf_requests) == 12 + 64 + 512);

#define IGBVF_REQ_LPE		BIT(1)
#define IGBVF_REQ_MULTICAST	BIT(2)
#define IGBVF_REQ_PROMISC	BIT(3)
#define IGBVF_REQ_ALL		(IGBVF_REQ_LPE | IGBVF_REQ_MULTICAST | \
				 IGBVF_REQ_PROMISC)

/* 2: the guest's mailbox requests (struct igbvf_requests) added. */
#define IGBVF_STATE_VERSION	2

/*
 * The migrated state of one VF.  RXDCTL and TXDCTL hold the values the
 * user programmed (queue enable included); the registers themselves were
 * held off while the device was stopped.  The interrupt mask is not in
 * it: see igbvf_release_hold().
 */
struct igbvf_state {
	__le32 version;
	__le32 flags;		/* none defined: 0 */
	struct igbvf_pf_config pf;
	struct igbvf_queue_state queue[IGBVF_NR_QUEUES];
	__le32 eiac, eiam;
	__le32 eitr[IGBVF_NR_VECTORS];
	__le32 ivar0, ivar_misc, psrtype;
	__le32 reserved[2];
	struct igbvf_requests requests;
};

static_assert(sizeof(struct igbvf_state) == 8 + 20 + 2 * 72 + 40 +
	      sizeof(struct igbvf_requests));

/* The largest receive ring whose buffers are tracked (igb's largest). */
#define IGBVF_TRACK_MAX_DESC	4096
/* Descriptors read from the user's memory at once (4 KiB). */
#define IGBVF_READ_DESC		256

/*
 * A receive queue's buffers announced to the framework (dirty.c):
 * those of descriptors [@head, @tail), in a ring of @count descriptors at
 * @ring (0: nothing announced, not even the ring).
 */
struct igbvf_rx_track {
	u64 ring;
	u32 count;
	u32 head, tail;
	u32 pkt_len, hdr_len;	/* buffer sizes; no header buffer: 0 */
	struct igbvf_rx_buf {
		u64 pkt, hdr;
	} *bufs;		/* @count entries */
};

/* A transmit queue's ring and head write-back word, as announced. */
struct igbvf_tx_track {
	u64 ring;
	u32 ring_len;		/* 0: not announced */
	bool wb_on;
	u64 wb;
};

/*
 * What the VF writes by DMA, announced while the queue pages are trapped
 * for a migration or DMA logging (dirty.c, trap.c).
 */
struct igbvf_track {
	bool possible;		/* the user's memory can be read: at open */
	bool on;
	int err;		/* first failure since @on: fails the save */
	__le64 desc[2 * IGBVF_READ_DESC];	/* read from the user's memory */
	struct igbvf_rx_track rx[IGBVF_NR_QUEUES];
	struct igbvf_tx_track tx[IGBVF_NR_QUEUES];
};

/**
 * struct igbvf_dev - one open of one VF
 * @vpmdev: the framework's handle for the open.
 * @vf: the VF.
 * @pf: its PF.  No reference is taken: a VF holds one on its PF.
 * @vf_id: the VF's index on the PF (ip link's "vf N").
 * @apply_pf_config: sampled at open: a loaded state's PF configuration is
 *	applied to the VF (else it must match what the host set).
 * @lock: serialises the mediator's accesses to the VF's registers with
 *	the fields below.  Migration callbacks are already serialised by
 *	the framework (its migration lock, taken before this one); this
 *	serialises them with the user's trapped writes (->rw) and
 *	->dirty_sync.  RTNL nests inside it.
 * @run_state: the state the framework last set.
 * @held: the queues and interrupts are held off by the mediator; @rxdctl
 *	and @txdctl hold what the user had programmed.
 * @rxdctl: RXDCTL of each queue as the user programmed it.
 * @txdctl: TXDCTL of each queue as the user programmed it.
 * @snap: the state being saved; valid while @snap_valid.
 * @snap_pos: bytes of @snap already handed out.
 * @loaded: a loaded state, applied when the device leaves STOPPED.
 * @load_pending: @loaded holds a state not applied yet.
 * @requests: what the user's driver asked the PF since its last reset,
 *	under @lock.
 * @pending: the request the user handed the PF last, noted once the
 *	user takes the PF's acknowledgement; valid while @pending_valid.
 * @saving: a save session runs (between ->save_start and ->save_end).
 * @track: what the VF writes, under @lock.
 * @trap_lock: serialises trapping and untrapping the queue pages with
 *	@trap_holds.  Taken before @lock, never inside it: trapping waits
 *	for the user, whose trapped writes take @lock.
 * @trap_holds: IGBVF_TRAP_* reasons the queue pages are trapped now.
 * @mbx_trap: the mailbox page's trappable range (always trapped).
 * @rxq_trap: the receive queue page's trappable range.
 * @txq_trap: the transmit queue page's trappable range.
 */
struct igbvf_dev {
	struct vfio_pci_mediate_device *vpmdev;
	struct pci_dev *vf;
	struct pci_dev *pf;
	unsigned int vf_id;
	bool apply_pf_config;

	struct mutex lock;
	enum vfio_pci_mediate_run_state run_state;
	bool held;
	u32 rxdctl[IGBVF_NR_QUEUES];
	u32 txdctl[IGBVF_NR_QUEUES];
	struct igbvf_state snap;
	bool snap_valid;
	size_t snap_pos;
	struct igbvf_state loaded;
	bool load_pending;
	struct igbvf_requests requests;
	u32 pending[IGBVF_MBX_WORDS];
	bool pending_valid;
	bool saving;
	struct igbvf_track track;

	struct mutex trap_lock;		/* see above */
	unsigned int trap_holds;
	unsigned int mbx_trap, rxq_trap, txq_trap;
};

/* Why the queue pages are trapped (struct igbvf_dev's @trap_holds). */
#define IGBVF_TRAP_MIGRATION	BIT(0)	/* a save session, or not RUNNING */
#define IGBVF_TRAP_LOGGING	BIT(1)	/* VFIO DMA logging runs */

int igbvf_rd(struct igbvf_dev *ivf, u32 reg, u32 *val);
int igbvf_wr(struct igbvf_dev *ivf, u32 reg, u32 val);
int igbvf_poll_pause(unsigned long deadline, unsigned int poll_us);
int igbvf_vf_reset(struct igbvf_dev *ivf);

/* dirty.c: what the VF writes by DMA. */
void igbvf_dirty_start(struct igbvf_dev *ivf);
void igbvf_dirty_stop(struct igbvf_dev *ivf);
void igbvf_dirty_refresh(struct igbvf_dev *ivf);
void igbvf_dirty_free(struct igbvf_dev *ivf);
int igbvf_dirty_rx_tail(struct igbvf_dev *ivf, unsigned int q, u32 rdt);
void igbvf_dirty_queue_changed(struct igbvf_dev *ivf, unsigned int q, bool rx);
void igbvf_dirty_queue_enabling(struct igbvf_dev *ivf, unsigned int q,
				bool rx);
int igbvf_dirty_sync(struct igbvf_dev *ivf);
int igbvf_dirty_error(struct igbvf_dev *ivf);

/* trap.c: the queue pages, trapped while migrating. */
int igbvf_trap_open(struct igbvf_dev *ivf);
int igbvf_trap_hold(struct igbvf_dev *ivf, unsigned int why);
void igbvf_trap_release(struct igbvf_dev *ivf, unsigned int why);
void igbvf_trap_migration_over(struct igbvf_dev *ivf);
ssize_t igbvf_trap_rw(void *handle, unsigned int index, char __user *buf,
		      size_t count, loff_t offset, bool iswrite, bool *pt);

/* pf.c: the PF side, through the PF netdev's VF interfaces. */
bool igbvf_pf_is_igb(struct pci_dev *pf);
int igbvf_pf_config_get(struct igbvf_dev *ivf, struct igbvf_pf_config *cfg);
int igbvf_pf_config_check(const struct igbvf_pf_config *cfg,
			  const char **why);
int igbvf_pf_config_put(struct igbvf_dev *ivf,
			const struct igbvf_pf_config *cfg);

/* mbx.c: the VF side of the PF/VF mailbox. */
int igbvf_mbx_request(struct igbvf_dev *ivf, u32 *msg, unsigned int words,
		      unsigned int answer_words);
int igbvf_mbx_reset(struct igbvf_dev *ivf, u8 mac[ETH_ALEN]);

/* requests.c: the user's requests to the PF, kept and replayed. */
void igbvf_requests_note(struct igbvf_dev *ivf, const u32 *msg);
void igbvf_requests_forget(struct igbvf_dev *ivf);
int igbvf_requests_check(const struct igbvf_requests *req,
			 const char **why);
int igbvf_requests_replay(struct igbvf_dev *ivf,
			  const struct igbvf_requests *req, bool port_vlan);

#endif /* IGBVF_MEDIATE_H */
