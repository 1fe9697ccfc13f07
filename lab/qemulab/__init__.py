# SPDX-License-Identifier: GPL-2.0-only
"""Stock QEMU inside the lab (QEMU 7.2, the lab's own, or QEMU 10.0 from
build/qemu10: a Client), driven over QMP, migrating a guest
workload (guest/) between two devices: by default the edu workload
(build/guest/edu-workload.elf) between the lab's edu devices; with
workload=IGBVF the igbvf workload (build/guest/igbvf-workload.elf)
between two VFs of the igb machine's PF (LAB_MACHINE=igb), which
exchanges frames with a FramePeer on the PF's netdev.

Used by tests/stock_qemu (the scenarios in make check), lab/demo
(make demo), bench/live-migration and tests/igbvf_traffic.  Everything
here runs inside the lab VM as root; nothing is built.  One Python process
drives all QEMUs of a run: starting Python over the lab's 9p root under
TCG costs seconds.

  lab = Lab("/tmp/work")                 # binds both edu, loads edu-mediate
  src = lab.start("src", lab.edus[0])    # boots the workload
  src.wait_progress(3)
  dst = lab.start("dst", lab.edus[1], incoming=True)
  result = lab.migrate(src, dst)        # query-migrate's final reply

Lab(..., client=QEMU10) makes QEMU 10.0 the QEMUs' client (start(...,
client=) for one QEMU).  Every migration migrate_guest() makes must show
its client's protocol (check_facts()).

Its modules, one job each; the package holds all their names:
  clients    the stock QEMUs (Client, QEMU72, QEMU10)
  workloads  the guest workloads (Workload, EDU, IGBVF)
  serial     a workload's serial output (SerialGuest)
  qmp        a QMP connection (Monitor)
  qemu       a QEMU process on a Device, and its trace lines
  lab        Lab: the devices, their QEMUs and the migrations
  facts      what a migration shows, and the checks on it
  figures    query-migrate's figures
  pci        sh, binding, the igb PF's VFs and their MACs
  kmsg       the kernel log since a mark
  peer       FramePeer, the igbvf workload's peer
  paths      the project's files
  errors     Failure
"""
from .clients import (CLIENTS, QEMU10, QEMU10_DIR, QEMU72, TRACE_EVENTS,
                      TRACE_EVENTS_10, Client, dirty_tracking_expected)
from .errors import Failure
from .facts import (cancel_ended_as_it_may, check_facts, client_protocol,
                    migration_protocol, protocol_summary, source_runs_on)
from .figures import figures, ram_sent
from .kmsg import dmesg_mark, dmesg_since, kernel_log
from .lab import (EXACT_BANDWIDTH, EXACT_DOWNTIME_MS, PAGE, USER_DMA_ACCESS,
                  Lab)
from .paths import (EDU_MEDIATE_KO, FRAME_PEER, GUEST, IGBVF_GUEST,
                    IGBVF_MEDIATE_KO, PROJECT)
from .pci import (IGB_PF_ID, bind, igb_vfs_online, netdev_mac, pci_devices,
                  pf_netdev, set_vf_mac, sh, vf_index, vf_mac)
from .peer import PEER_COUNTS, PEER_SUMMARY, FramePeer
from .qemu import NEW_STATE, SAVE_BUFFER, TRACE_LINE, Device, Qemu
from .qmp import Monitor, QmpError
from .serial import (FIELD, IGBVF_PROGRESS, PHASE_AT, PHASE_DMA, PHASE_FACT,
                     PROGRESS, SerialGuest, progress_lines, serial_lines)
from .workloads import (EDU, EDU_ID, IGBVF, IGBVF_ID, WORKLOADS, Workload,
                        workload_from_argv)

__all__ = [
    "CLIENTS", "QEMU10", "QEMU10_DIR", "QEMU72", "TRACE_EVENTS",
    "TRACE_EVENTS_10", "Client", "dirty_tracking_expected",
    "Failure",
    "cancel_ended_as_it_may", "check_facts", "client_protocol",
    "migration_protocol", "protocol_summary", "source_runs_on",
    "figures", "ram_sent",
    "dmesg_mark", "dmesg_since", "kernel_log",
    "EXACT_BANDWIDTH", "EXACT_DOWNTIME_MS", "PAGE", "USER_DMA_ACCESS", "Lab",
    "EDU_MEDIATE_KO", "FRAME_PEER", "GUEST", "IGBVF_GUEST",
    "IGBVF_MEDIATE_KO", "PROJECT",
    "IGB_PF_ID", "bind", "igb_vfs_online", "netdev_mac", "pci_devices",
    "pf_netdev", "set_vf_mac", "sh", "vf_index", "vf_mac",
    "PEER_COUNTS", "PEER_SUMMARY", "FramePeer",
    "NEW_STATE", "SAVE_BUFFER", "TRACE_LINE", "Device", "Qemu",
    "Monitor", "QmpError",
    "FIELD", "IGBVF_PROGRESS", "PHASE_AT", "PHASE_DMA", "PHASE_FACT",
    "PROGRESS", "SerialGuest", "progress_lines", "serial_lines",
    "EDU", "EDU_ID", "IGBVF", "IGBVF_ID", "WORKLOADS", "Workload",
    "workload_from_argv",
]
