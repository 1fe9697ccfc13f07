// SPDX-License-Identifier: GPL-2.0-only
/*
 * igbvf-mediate, the PF side: the VF's configuration that the host keeps
 * in the PF (MAC, port VLAN and QoS, transmit rate, spoof check, trust),
 * read and written through the PF netdev's VF operations, the ones
 * "ip link set PF vf N ..." uses, under RTNL as rtnetlink calls them.
 *
 * The PF netdev is looked up at each use, under RTNL, among the
 * registered netdevs of the initial network namespace (one moved to
 * another namespace is not found: -ENODEV), and no reference is kept on
 * it.  RTNL, not the PF's device lock: disabling SR-IOV (sriov_numvfs,
 * unbinding or unloading igb) holds the PF's device lock while it waits
 * for the VF's user to close the device, and that user may be in one of
 * our callbacks; on 6.1 igb does not hold RTNL around pci_disable_sriov().
 * RTNL is taken killably: the caller is the device user's syscall.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/string.h>

#include "igbvf.h"

/**
 * igbvf_pf_is_igb() - whether Linux's igb driver drives @pf
 * @pf: a PF
 */
bool igbvf_pf_is_igb(struct pci_dev *pf)
{
	struct pci_driver *drv = READ_ONCE(pf->driver);

	return drv && !strcmp(drv->name, "igb");
}

/*
 * The PF's netdev, registered; RTNL held, which keeps it so.  NULL if igb
 * does not drive the PF.  Found from the netdev side rather than the PF's
 * drvdata, which igb's remove leaves pointing at a freed netdev when it
 * could not disable SR-IOV (VFs assigned elsewhere).
 */
static struct net_device *igbvf_pf_netdev(struct igbvf_dev *ivf)
{
	struct net_device *netdev;

	ASSERT_RTNL();
	if (!igbvf_pf_is_igb(ivf->pf))
		return NULL;
	for_each_netdev(&init_net, netdev)
		if (netdev->dev.parent == &ivf->pf->dev &&
		    netdev->reg_state == NETREG_REGISTERED)
			return netdev;
	return NULL;
}

static void igbvf_pf_config_from(struct igbvf_pf_config *cfg,
				 const struct ifla_vf_info *ivi)
{
	memset(cfg, 0, sizeof(*cfg));
	ether_addr_copy(cfg->mac, ivi->mac);
	cfg->vlan = cpu_to_le16(ivi->vlan);
	cfg->qos = cpu_to_le32(ivi->qos);
	cfg->max_tx_rate = cpu_to_le32(ivi->max_tx_rate);
	cfg->spoofchk = ivi->spoofchk == -1 ? IGBVF_CFG_UNKNOWN : !!ivi->spoofchk;
	cfg->trusted = ivi->trusted == -1 ? IGBVF_CFG_UNKNOWN : !!ivi->trusted;
}

/* RTNL held. */
static int igbvf_pf_config_read(struct igbvf_dev *ivf,
				struct net_device *netdev,
				struct igbvf_pf_config *cfg)
{
	struct ifla_vf_info ivi;
	int ret;

	if (!netdev->netdev_ops->ndo_get_vf_config)
		return -EOPNOTSUPP;
	/* As rtnetlink asks: -1 for what the driver does not fill in. */
	memset(&ivi, 0, sizeof(ivi));
	ivi.spoofchk = -1;
	ivi.trusted = -1;
	ret = netdev->netdev_ops->ndo_get_vf_config(netdev, ivf->vf_id, &ivi);
	if (ret)
		return ret;
	igbvf_pf_config_from(cfg, &ivi);
	return 0;
}

/**
 * igbvf_pf_config_get() - read the VF's configuration from its PF
 * @ivf: the open VF
 * @cfg: filled in
 *
 * Return: 0, -ENODEV when the PF is no longer driven by igb or its netdev
 * is not in the initial network namespace, -EINTR when the caller was
 * killed, or the PF driver's error.
 */
int igbvf_pf_config_get(struct igbvf_dev *ivf, struct igbvf_pf_config *cfg)
{
	struct net_device *netdev;
	int ret = -ENODEV;

	if (rtnl_lock_killable())
		return -EINTR;
	netdev = igbvf_pf_netdev(ivf);
	if (netdev)
		ret = igbvf_pf_config_read(ivf, netdev, cfg);
	rtnl_unlock();
	return ret;
}

/**
 * igbvf_pf_config_check() - whether a configuration from a stream is one
 * a PF could have reported
 * @cfg: the configuration, untrusted
 * @why: set to the reason when it is not
 *
 * Return: 0 or -EINVAL.
 */
int igbvf_pf_config_check(const struct igbvf_pf_config *cfg,
			  const char **why)
{
	if (!is_zero_ether_addr(cfg->mac) && !is_valid_ether_addr(cfg->mac))
		*why = "VF MAC address neither zero nor a unicast address";
	else if (le16_to_cpu(cfg->vlan) > VLAN_VID_MASK)
		*why = "VF port VLAN beyond 4095";
	else if (le32_to_cpu(cfg->qos) > 7)
		*why = "VF QoS priority beyond 7";
	else if (le32_to_cpu(cfg->max_tx_rate) > INT_MAX)
		*why = "VF transmit rate beyond INT_MAX";
	else if (cfg->spoofchk > 1 && cfg->spoofchk != IGBVF_CFG_UNKNOWN)
		*why = "VF spoof check neither 0 nor 1";
	else if (cfg->trusted > 1 && cfg->trusted != IGBVF_CFG_UNKNOWN)
		*why = "VF trust neither 0 nor 1";
	else if (cfg->reserved[0] || cfg->reserved[1])
		*why = "reserved bytes of the VF configuration set";
	else
		return 0;
	return -EINVAL;
}

/*
 * Sets on the PF what differs between @now and @want, so that the PF
 * logs nothing for what stays.  RTNL held.
 */
static int igbvf_pf_config_write(struct igbvf_dev *ivf,
				 struct net_device *netdev,
				 const struct igbvf_pf_config *now,
				 const struct igbvf_pf_config *want)
{
	const struct net_device_ops *ops = netdev->netdev_ops;
	int vf = ivf->vf_id;
	int ret;

	if (!ether_addr_equal(now->mac, want->mac)) {
		if (!ops->ndo_set_vf_mac)
			return -EOPNOTSUPP;
		ret = ops->ndo_set_vf_mac(netdev, vf, (u8 *)want->mac);
		if (ret)
			return ret;
	}
	if (now->vlan != want->vlan || now->qos != want->qos) {
		if (!ops->ndo_set_vf_vlan)
			return -EOPNOTSUPP;
		ret = ops->ndo_set_vf_vlan(netdev, vf, le16_to_cpu(want->vlan),
					   le32_to_cpu(want->qos),
					   htons(ETH_P_8021Q));
		if (ret)
			return ret;
	}
	if (now->max_tx_rate != want->max_tx_rate) {
		if (!ops->ndo_set_vf_rate)
			return -EOPNOTSUPP;
		ret = ops->ndo_set_vf_rate(netdev, vf, 0,
					   le32_to_cpu(want->max_tx_rate));
		if (ret)
			return ret;
	}
	if (want->spoofchk != IGBVF_CFG_UNKNOWN &&
	    now->spoofchk != want->spoofchk) {
		if (!ops->ndo_set_vf_spoofchk)
			return -EOPNOTSUPP;
		ret = ops->ndo_set_vf_spoofchk(netdev, vf, want->spoofchk);
		if (ret)
			return ret;
	}
	if (want->trusted != IGBVF_CFG_UNKNOWN &&
	    now->trusted != want->trusted) {
		if (!ops->ndo_set_vf_trust)
			return -EOPNOTSUPP;
		ret = ops->ndo_set_vf_trust(netdev, vf, want->trusted);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * igbvf_pf_config_put() - give the VF the configuration it had on the source
 * @ivf: the open VF
 * @cfg: the configuration, checked with igbvf_pf_config_check()
 *
 * With @ivf->apply_pf_config, what differs is set on the PF and read back.
 * Without it the configuration is the host's to set: it must already be
 * what @cfg says, or the load is refused.
 *
 * What was set before an error stays set (see the top of main.c).
 *
 * Return: 0, -EPERM when it differs and may not be applied, -ENODEV as
 * for igbvf_pf_config_get(), -EINTR when the caller was killed, -EIO when
 * the PF did not take it, or the PF driver's error.
 */
int igbvf_pf_config_put(struct igbvf_dev *ivf,
			const struct igbvf_pf_config *cfg)
{
	struct igbvf_pf_config now, want = *cfg;
	struct net_device *netdev;
	int ret = -ENODEV;

	if (rtnl_lock_killable())
		return -EINTR;
	netdev = igbvf_pf_netdev(ivf);
	if (!netdev)
		goto out_unlock;
	ret = igbvf_pf_config_read(ivf, netdev, &now);
	if (ret)
		goto out_unlock;
	/* What the PF does not report cannot be compared or restored. */
	if (want.spoofchk == IGBVF_CFG_UNKNOWN)
		want.spoofchk = now.spoofchk;
	if (want.trusted == IGBVF_CFG_UNKNOWN)
		want.trusted = now.trusted;
	if (!memcmp(&now, &want, sizeof(now)))
		goto out_unlock;
	if (!ivf->apply_pf_config) {
		ret = -EPERM;
		goto out_unlock;
	}
	ret = igbvf_pf_config_write(ivf, netdev, &now, &want);
	if (ret)
		goto out_unlock;
	ret = igbvf_pf_config_read(ivf, netdev, &now);
	if (!ret && memcmp(&now, &want, sizeof(now)))
		ret = -EIO;
out_unlock:
	rtnl_unlock();
	return ret;
}
