# SPDX-License-Identifier: GPL-2.0-only
"""The stock QEMUs that migrate a guest in the lab (Client): Debian's
QEMU 7.2 and QEMU 10.0 from build/qemu10, the trace events kept of each,
and the dirty tracking QEMU 10 gets on the running kernel."""
import os

from .paths import PROJECT


# QEMU 7.2's vfio trace events worth keeping: state changes, the device
# data each side moved (query-migrate has no device figures in 7.2), and
# type1's dirty bitmaps (7.2 has no other dirty tracking).
TRACE_EVENTS = """vfio_migration_set_state
vfio_vmstate_change
vfio_migration_state_notifier
vfio_save_setup
vfio_save_buffer
vfio_save_complete_precopy
vfio_save_cleanup
vfio_load_state
vfio_load_state_device_data
vfio_load_cleanup
vfio_get_dirty_bitmap
"""

# QEMU 10.0's: state changes; dirty tracking, the device's
# (vfio_device_dirty_tracking_start) or type1's bitmaps (vfio_get_dirty_bitmap
# without the former); the device's pre-copy estimates and what each pass
# sent; switchover-ack at both ends; multifd device state at both ends;
# what was loaded (query-migrate reports the device bytes sent itself).
TRACE_EVENTS_10 = """vfio_migration_set_state
vfio_migration_set_device_state
vfio_migration_state_notifier
vfio_device_dirty_tracking_start
vfio_get_dirty_bitmap
vfio_save_setup
vfio_state_pending_estimate
vfio_state_pending_exact
vfio_save_iterate
vfio_save_complete_precopy
vfio_save_complete_precopy_thread_start
vfio_save_cleanup
source_return_path_thread_switchover_acked
loadvm_approve_switchover
vfio_load_state
vfio_load_state_device_data
vfio_load_bufs_thread_start
vfio_load_bufs_thread_end
vfio_load_cleanup
"""


class Client:
    """A stock QEMU that migrates a guest: its name and short key
    ("qemu72", for test names and command lines), its command, how its
    vfio-pci device turns migration on, the trace events kept, the VFIO
    migration protocol it speaks (what vfio-pci-mediate's sysfs
    migration_protocol then says, "v1" or "v2"), and the migration
    capabilities turned on at both ends of each of its migrations."""

    def __init__(self, name, key, cmd, migration_prop, trace_events,
                 protocol, caps=(), ram_pad_kib=0):
        self.name = name
        self.key = key
        self.cmd = cmd
        self.migration_prop = migration_prop
        self.trace_events = trace_events
        self.protocol = protocol
        self.caps = tuple(caps)
        self.ram_pad_kib = ram_pad_kib

    def ram_kib(self, mem):
        """The guest RAM this client is given for mem ("8M", "256M")."""
        units = {"K": 1, "M": 1 << 10, "G": 1 << 20}
        return int(mem[:-1]) * units[mem[-1].upper()] + self.ram_pad_kib

    def available(self):
        """Whether its binary is there (QEMU 10 needs lab/qemu10)."""
        return "/" not in self.cmd[0] or os.path.exists(self.cmd[0])


# Debian's QEMU 7.2 (the lab's own, v1 migration region, type1 dirty
# pages) and Debian's QEMU 10.0 from bookworm-backports, unpacked by
# lab/qemu10 into build/qemu10 (v2 uAPI, PRE_COPY, DMA logging).
#
# QEMU 7.2 under TCG, as the lab runs it, loses guest writes in a
# migration: syncing the dirty bitmap of a RAM block whose size is a
# multiple of 64 pages clears the bits word by word without making the
# vCPU's TLB trap the next write, so a page written again before the next
# TLB flush is never sent again (fixed upstream in QEMU 9.0 by commit
# 03bfc2188f, "physmem: Fix migration dirty bitmap coherency with TCG
# memory access"; Debian's 7.2 has no backport).  With every page
# reported dirty (no tracking) the last pass hides it; with exact device
# tracking the destination ran with stale guest pages.  8 KiB more RAM
# makes 7.2 sync page by page, which resets the TLB.  KVM is not affected.
QEMU72 = Client("QEMU 7.2", "qemu72", ["qemu-system-x86_64"],
                "x-enable-migration=on", TRACE_EVENTS, "v1", ram_pad_kib=8)
QEMU10_DIR = os.path.join(PROJECT, "build/qemu10")
# QEMU 10 migrates with switchover-ack, as libvirt turns it on whenever
# both ends have it: the source does not switch over before the
# destination has loaded the device's initial (pre-copy) data.  It needs
# the return path.
QEMU10 = Client("QEMU 10.0", "qemu10",
                [os.path.join(QEMU10_DIR, "usr/bin/qemu-system-x86_64"),
                 "-L", os.path.join(QEMU10_DIR, "usr/share/qemu")],
                "enable-migration=on", TRACE_EVENTS_10, "v2",
                caps=("return-path", "switchover-ack"))
CLIENTS = {c.key: c for c in (QEMU72, QEMU10)}


def dirty_tracking_expected():
    """How QEMU 10 learns the pages a mediated device wrote on the running
    kernel: "device" (VFIO DMA logging, which vfio-pci-mediate offers) or
    "type1" (VFIO_IOMMU_DIRTY_PAGES of the container).  vfio-pci-mediate
    offers DMA logging only where the vfio core can report it: Linux 6.1,
    whose vfio module carries iova_bitmap.  Debian's 6.12 is built with
    CONFIG_IOMMUFD off, so iova_bitmap is stubs and the core fails every
    DMA_LOGGING_REPORT before a driver runs: the module does not offer it
    there, and QEMU 10 with enable-migration=on falls back to type1 (with
    a warning).  Probing the device itself (VFIO_DEVICE_FEATURE with
    PROBE | DMA_LOGGING_START) would need the device open, which the
    QEMUs hold; this kernel rule is the one place that decides."""
    return "device" if os.uname().release.startswith("6.1.") else "type1"
