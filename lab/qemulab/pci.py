# SPDX-License-Identifier: GPL-2.0-only
"""PCI devices in the lab: running a command (sh), binding a device to a
driver (lab/bind), and the igb PF's VFs: their index, MAC and the PF's
netdev."""
import json
import os
import subprocess

from .errors import Failure
from .paths import PROJECT


# The igb machine's SR-IOV PF (LAB_MACHINE=igb).
IGB_PF_ID = "8086:10c9"


def igb_vfs_online():
    """Brings the igb PF and its VFs (back) to where lab/igb-vfs-online
    puts them: the VFs unbound, VF N with its fixed MAC."""
    subprocess.run([os.path.join(PROJECT, "lab/igb-vfs-online")],
                   check=True)


def sh(*cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def bind(bdf, driver):
    """Binds bdf to driver (lab/bind); returns the driver it had."""
    return sh(os.path.join(PROJECT, "lab/bind"), bdf, driver)


def pci_devices(vendor_device):
    out = sh("lspci", "-D", "-n", "-d", vendor_device)
    return [line.split()[0] for line in out.splitlines()]


def pf_netdev(vf_bdf):
    """The netdev of the PF of VF vf_bdf."""
    path = "/sys/bus/pci/devices/%s/physfn/net" % vf_bdf
    try:
        names = sorted(os.listdir(path))
    except FileNotFoundError:
        names = []
    if not names:
        raise Failure("the PF of %s has no netdev (is igb bound?)" % vf_bdf)
    return names[0]


def vf_index(vf_bdf):
    """N in "ip link set <PF> vf N" for VF vf_bdf."""
    physfn = "/sys/bus/pci/devices/%s/physfn" % vf_bdf
    for name in os.listdir(physfn):
        if (name.startswith("virtfn") and
                os.path.basename(os.readlink(os.path.join(physfn, name)))
                == vf_bdf):
            return int(name[len("virtfn"):])
    raise Failure("%s is not among its PF's virtfn links" % vf_bdf)


def vf_mac(vf_bdf):
    """The MAC the PF gives VF vf_bdf (ip link's vf N ... link/ether)."""
    netdev, index = pf_netdev(vf_bdf), vf_index(vf_bdf)
    info = json.loads(sh("ip", "-j", "link", "show", "dev", netdev))
    for vf in info[0].get("vfinfo_list", []):
        if vf.get("vf") == index:
            return vf["address"]
    raise Failure("ip link show dev %s lists no vf %d" % (netdev, index))


def set_vf_mac(vf_bdf, mac):
    """Gives VF vf_bdf the MAC mac, through its PF."""
    sh("ip", "link", "set", "dev", pf_netdev(vf_bdf), "vf",
       str(vf_index(vf_bdf)), "mac", mac)


def netdev_mac(netdev):
    with open("/sys/class/net/%s/address" % netdev) as f:
        return f.read().strip()
