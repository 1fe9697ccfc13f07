/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * igbvf-mediate: what its files share.  See igbvf_main.c.
 */
#ifndef IGBVF_MEDIATE_H
#define IGBVF_MEDIATE_H

#include <linux/build_bug.h>
#include <linux/if_ether.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/types.h>
#include <linux/vfio_pci_mediate.h>

#include "igbvf_regs.h"

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

#define IGBVF_STATE_VERSION	1

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
};

static_assert(sizeof(struct igbvf_state) == 8 + 20 + 2 * 72 + 40);

/**
 * struct igbvf_dev - one open of one VF
 * @mdev: the framework's handle for the open.
 * @vf: the VF.
 * @pf: its PF.  No reference is taken: a VF holds one on its PF.
 * @vf_id: the VF's index on the PF (ip link's "vf N").
 * @apply_pf_config: sampled at open: a loaded state's PF configuration is
 *	applied to the VF (else it must match what the host set).
 * @lock: serialises the mediator's accesses to the VF's registers with
 *	the fields below.  Migration callbacks are already serialised by
 *	the framework (its migration lock, taken before this one); this is
 *	for the trap handlers to come.  RTNL nests inside it.
 * @run_state: the state the framework last set.
 * @held: the queues and interrupts are held off by the mediator; @rxdctl
 *	and @txdctl hold what the user had programmed.
 * @rxdctl: RXDCTL of each queue as the user programmed it.
 * @txdctl: TXDCTL of each queue as the user programmed it.
 * @snap: the state being saved; valid while @snap_valid.
 * @snap_pos: bytes of @snap already handed out.
 * @loaded: a loaded state, applied when the device leaves STOPPED.
 * @load_pending: @loaded holds a state not applied yet.
 */
struct igbvf_dev {
	struct vfio_pci_mediate_device *mdev;
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
};

int igbvf_rd(struct igbvf_dev *ivf, u32 reg, u32 *val);
int igbvf_wr(struct igbvf_dev *ivf, u32 reg, u32 val);
int igbvf_poll_pause(unsigned long deadline, unsigned int poll_us);
int igbvf_vf_reset(struct igbvf_dev *ivf);

/* igbvf_pf.c: the PF side, through the PF netdev's VF interfaces. */
bool igbvf_pf_is_igb(struct pci_dev *pf);
int igbvf_pf_config_get(struct igbvf_dev *ivf, struct igbvf_pf_config *cfg);
int igbvf_pf_config_check(const struct igbvf_pf_config *cfg,
			  const char **why);
int igbvf_pf_config_put(struct igbvf_dev *ivf,
			const struct igbvf_pf_config *cfg);

/* igbvf_mbx.c: the VF side of the PF/VF mailbox. */
int igbvf_mbx_reset(struct igbvf_dev *ivf, u8 mac[ETH_ALEN]);

#endif /* IGBVF_MEDIATE_H */
