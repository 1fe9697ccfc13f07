# SPDX-License-Identifier: GPL-2.0-only
"""Lab: the two devices of a workload's kind bound to vfio-pci-mediate,
the QEMUs started on them and the migrations between them."""
import os
import subprocess
import time

from .clients import QEMU72
from .errors import Failure
from .facts import check_facts, migration_protocol
from .figures import ram_sent
from .pci import bind, pci_devices, sh
from .qemu import NEW_STATE, Device, Qemu
from .workloads import EDU


# edu-mediate moves edu's DMA buffer through the guest's memory, which
# vfio-pci-mediate lets mediators reach only when told to (its header
# kernel/user_dma.c says why); it is read at each open.
USER_DMA_ACCESS = "/sys/module/vfio_pci_mediate/parameters/user_dma_access"


# migrate_guest(exact=True): slow enough that what the guest and the device
# write during a pass must be sent again (several dirty syncs), with a
# short last pass.  The last pass must still hold what is dirty at every
# sync: the pages of the igbvf workload's 255 posted receive buffers (128
# pages, 512 KiB, which igbvf-mediate reports for as long as the VF owns
# them), its rings, and what it wrote meanwhile; 8 MiB/s for 150 ms is
# 1.2 MiB.
EXACT_BANDWIDTH = 8 << 20
EXACT_DOWNTIME_MS = 150
PAGE = 4096


class Lab:
    """The lab's first two devices of the workload's kind (edu by
    default) bound to vfio-pci-mediate and served by the workload's
    mediator (unless mediate=False), and the QEMUs started on them."""

    def __init__(self, work, mem="8M", guest=None, mediate=True,
                 workload=EDU, client=QEMU72, extra_args=()):
        self.work = work
        self.client = client
        self.extra_args = list(extra_args)	# for every QEMU (-initrd)
        self.mem = mem
        self.workload = workload
        guest = guest or workload.guest
        self.guest = guest
        self.qemus = []
        self.peers = []
        self.port = 4444
        # Where destinations listen: loopback, or this host's address
        # on the lab hosts' network (lab/hosts.py).
        self.listen_addr = "127.0.0.1"
        self.phase_addr = None	# the workload's phase word, in guest RAM
        os.makedirs(work, exist_ok=True)
        if not os.path.exists(guest):
            raise Failure("%s is missing: run make guest" % guest)
        self.trace_events_file(client)
        # Migration goes over loopback; the lab brings up no network.
        sh("ip", "link", "set", "lo", "up")
        bdfs = pci_devices(workload.pci_id)
        if len(bdfs) < 2:
            raise Failure("need two %s devices, found %d"
                          % (workload.pci_id, len(bdfs)))
        self.devices = [Device(b, workload.dev_id) for b in bdfs[:2]]
        self.edus = self.devices	# the edu scenarios' name for them
        self.old_drivers = {}
        self.old_user_dma_access = None
        if mediate:
            self.mediate()

    def mediate(self):
        w = self.workload
        if w.user_dma_access and self.old_user_dma_access is None:
            with open(USER_DMA_ACCESS) as f:
                self.old_user_dma_access = f.read().strip()
            with open(USER_DMA_ACCESS, "w") as f:
                f.write("1\n")
        if not os.path.isdir("/sys/module/" + w.mediator):
            sh("insmod", w.mediator_ko)
        self.bind_all("vfio-pci-mediate")

    def bind_all(self, driver):
        """Binds both devices to driver; close() puts back what they had."""
        for dev in self.devices:
            old = bind(dev.bdf, driver)
            self.old_drivers.setdefault(dev.bdf, old)

    def trace_events_file(self, client):
        """The -trace events= file of client's QEMUs (written once)."""
        if not client.available():
            raise Failure("%s is missing: run lab/qemu10" % client.cmd[0])
        path = os.path.join(self.work, "trace-events-" + client.key)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(client.trace_events)
        return path

    def start(self, name, device, incoming=False, append=None, mem=None,
              hold=False, client=None, caps=None, props="",
              more_devices=()):
        """Starts a QEMU on device; with incoming, it waits for a
        migration on the next port of listen_addr (Qemu.incoming), and with
        hold it stays paused after it until "cont".  mem: guest RAM,
        self.mem by default; client: self.client by default; caps, props,
        more_devices: see Qemu."""
        uri = None
        if incoming:
            self.port += 1
            uri = "tcp:%s:%d" % (self.listen_addr, self.port)
        q = Qemu(self, name, device, uri, append, mem or self.mem, hold,
                 client or self.client, caps, props, more_devices)
        self.qemus.append(q)
        return q

    def set_params(self, src, bandwidth=1 << 30, downtime_ms=5000):
        # A generous downtime-limit: with a mediator that does not report
        # its DMA, Linux 6.1's type1 reports all guest RAM dirty on every
        # sync, and all of it must then fit in the stop-and-copy pass.
        src.qmp.execute("migrate-set-parameters", **{
            "max-bandwidth": bandwidth, "downtime-limit": downtime_ms})

    def start_migration(self, src, dst):
        """Starts migrating src to dst, with src's capabilities on, and
        "events", for wait_migration(), which is not among them: it is no
        part of the migration."""
        src.set_caps()
        src.qmp.execute("migrate-set-capabilities", capabilities=[
            {"capability": "events", "state": True}])
        self.log_offset = src.log_size()
        src.qmp.execute("migrate", uri=dst.incoming)

    def wait_migration(self, src, timeout=300, until=None):
        """Waits until the migration ends (or until(reply) holds), reading
        query-migrate at each of src's MIGRATION events; returns the last
        reply with "device-bytes" added.  until may wait for what no event
        marks (a RAM count, a time): then the reply is also read every
        0.2 s."""
        deadline = time.monotonic() + timeout
        while True:
            m = src.qmp.execute("query-migrate")
            # QEMU sets the migration's end status a moment before its
            # migration_iteration_finish() sets the source's run state
            # (postmigrate, or running again after a failure) and, in
            # 7.2, computes the times: until then the source still reads
            # finish-migrate (7.2's times 0), and no further event comes.
            ended = m.get("status") in ("completed", "failed", "cancelled")
            settling = ended and (
                (m["status"] == "completed" and not m.get("total-time"))
                or src.status() == "finish-migrate")
            if ended and not settling:
                break
            if until and until(m):
                return m
            if not src.alive():
                raise Failure("source QEMU exited during migration")
            if time.monotonic() > deadline:
                src.qmp.execute("migrate_cancel")
                raise Failure("migration not done in %d s (status %s)"
                              % (timeout, m.get("status")))
            # Bounded: an exiting QEMU may send no event.
            src.qmp.next_event("MIGRATION", 0.05 if settling
                               else 0.2 if until else 1)
        # QEMU 10 counts them; 7.2 only traces each buffer.
        if "vfio" in m:
            m["device-bytes"] = m["vfio"]["transferred"]
        else:
            m["device-bytes"] = src.device_bytes_sent(self.log_offset)
        return m

    def migrate(self, src, dst, timeout=300):
        """One whole migration that must complete; returns query-migrate's
        final reply (plus "device-bytes")."""
        self.start_migration(src, dst)
        m = self.wait_migration(src, timeout)
        if m["status"] != "completed":
            raise Failure("migration %s: %s" % (m["status"],
                                                m.get("error-desc", "?")))
        return m

    def start_spread_pair(self, mem="32M"):
        """A source running the workload with "spread" (DMA into pages
        spread over its RAM), after its first check of those pages, and
        a destination waiting for it; returns (source, destination)."""
        src = self.start("src", self.edus[0], append="spread", mem=mem)
        src.wait_progress(lambda l: l and l[-1]["spread"] >= 1, 240,
                          "a first check of the spread pages")
        dst = self.start("dst", self.edus[1], incoming=True,
                         append="spread", mem=mem)
        return src, dst

    def start_paused_migration(self, src, dst, bandwidth, downtime_ms):
        """Starts a migration that pauses before the switch-over (status
        "pre-switchover"), for switch_over() to measure the last pass."""
        src.qmp.execute("migrate-set-capabilities", capabilities=[
            {"capability": "pause-before-switchover", "state": True}])
        self.set_params(src, bandwidth=bandwidth, downtime_ms=downtime_ms)
        self.start_migration(src, dst)

    def switch_over(self, src, paused):
        """Lets a migration paused before the switch-over (paused: its
        query-migrate reply then) complete; returns (the final reply, RAM
        bytes sent in the stop-and-copy pass, ram_sent()).  Fails unless it
        completed."""
        src.qmp.execute("migrate-continue", state="pre-switchover")
        m = self.wait_migration(src, timeout=120)
        if m["status"] != "completed":
            raise Failure("migration %s after the switch-over: %s"
                          % (m["status"], m.get("error-desc", "?")))
        return m, ram_sent(m) - ram_sent(paused)

    def ram_differences(self, src, dst):
        """Guest-physical addresses of the pages whose contents differ
        between src, stopped after migrating, and dst, held after taking
        the migration in (start(..., hold=True)): what the migration
        failed to carry, such as a device write nobody reported."""
        paths = [q.base + ".ram" for q in (src, dst)]
        try:
            for q, path in zip((src, dst), paths):
                q.qmp.execute("pmemsave", val=0, size=q.ram_bytes,
                              filename=path)
            with open(paths[0], "rb") as a, open(paths[1], "rb") as b:
                differ = []
                addr = 0
                while True:
                    pa, pb = a.read(PAGE), b.read(PAGE)
                    if not pa and not pb:
                        return differ
                    if pa != pb:
                        differ.append(addr)
                    addr += PAGE
        finally:
            for path in paths:
                if os.path.exists(path):
                    os.unlink(path)

    def migrate_guest(self, src, dst, min_more=None, exact=False):
        """Migrates the running workload src -> dst and checks that it goes
        on from the source's counters with errors=0 for min_more more
        iterations (default: as many again as the source had done).
        With exact, the migration is slowed down to several passes and dst
        (started with hold) must hold the source's guest RAM exactly
        before it runs: every page the device wrote was reported.
        Returns (query-migrate's reply, source's last progress line,
        destination's progress line that met the target); the reply has
        "guest-phase", the workload's phase word at the switch-over (None
        for a workload without one)."""
        if exact:
            self.set_params(src, bandwidth=EXACT_BANDWIDTH,
                            downtime_ms=EXACT_DOWNTIME_MS)
        else:
            self.set_params(src)
        m = self.migrate(src, dst)
        # Read while the source is stopped after the migration: the
        # client that drove it stays recorded until the device runs.
        protocol = migration_protocol(src.device.bdf)
        if exact:
            differ = self.ram_differences(src, dst)
            if differ:
                raise Failure("%d guest pages differ between source and "
                              "destination after the migration: %s"
                              % (len(differ), " ".join(
                                  "0x%x" % a for a in differ[:8])))
            dst.qmp.execute("cont")
        before = src.last()
        m["guest-phase"] = (src.phase() if self.workload.phase_word
                            else None)
        if src.status() != "postmigrate":
            raise Failure("source in state %s after migrating"
                          % src.status())
        key = self.workload.counter
        target = before[key] + (min_more or before[key])
        first = dst.wait_lines(1)
        if first[key] < before[key]:
            raise Failure("the destination's counters restarted: %s=%d "
                          "after the source's %d"
                          % (key, first[key], before[key]))
        after = dst.wait_count(key, target)
        # The destination has run: its side of the trace is complete.
        m["facts"] = self.migration_facts(src, dst, m, protocol)
        check_facts(src.client, m["facts"])
        return m, before, after

    def migration_facts(self, src, dst, m, protocol=None):
        """What the completed migration src -> dst (the last one
        start_migration started) shows of the VFIO protocol for src's
        device: a dict with "protocol" (vfio-pci-mediate's sysfs
        migration_protocol on the source, when read while it was stopped:
        "v1" or "v2"), "caps" (the source's migration capabilities),
        "device-bytes" (what QEMU says it sent of the device's state),
        "src-states" and "dst-states" (the v2 states QEMU 10 set, in
        order), "switchover-acked" (source and destination traced the
        ack), "dirty" ("device": QEMU started the device's DMA logging;
        "type1": it read the container's dirty bitmaps instead; "none")
        and "multifd" (the device's stop-copy data went through multifd
        channels, as both ends traced)."""
        src_log = src.log_text(self.log_offset)
        dst_log = dst.log_text()

        def states(text, bdf):
            return [st for name, st in NEW_STATE.findall(text)
                    if name in (bdf, src.device.dev_id)]

        if "vfio_device_dirty_tracking_start" in src_log:
            dirty = "device"
        elif "vfio_get_dirty_bitmap" in src_log:
            dirty = "type1"
        else:
            dirty = "none"
        return {
            "protocol": protocol,
            "caps": src.caps_on(),
            "device-bytes": m["device-bytes"],
            "src-states": states(src_log, src.device.bdf),
            "dst-states": states(dst_log, dst.device.bdf),
            "switchover-acked": (
                "source_return_path_thread_switchover_acked" in src_log and
                "loadvm_approve_switchover" in dst_log),
            "dirty": dirty,
            "multifd": (
                "vfio_save_complete_precopy_thread_start" in src_log and
                "vfio_load_bufs_thread_start" in dst_log),
        }

    def hop(self, cur, to_dev, min_more=3, append=None, exact=False,
            props=None):
        """Migrates the workload running in cur to a new QEMU on to_dev
        (migrate_guest, with exact), then quits cur.  The new QEMU is of
        cur's client, with cur's capabilities and vfio-pci properties
        unless props says otherwise.  Returns the new QEMU and what
        migrate_guest returned."""
        dst = self.start("dst" if cur.name == "src" else "src", to_dev,
                         incoming=True, append=append, mem=cur.mem,
                         hold=exact, client=cur.client, caps=cur.extra_caps,
                         props=cur.props if props is None else props)
        result = self.migrate_guest(cur, dst, min_more, exact)
        cur.stop()
        self.qemus.remove(cur)
        return dst, result

    def close(self):
        for q in self.qemus:
            if q.alive():
                q.kill()
        self.qemus = []
        for p in self.peers:
            p.kill()
        self.peers = []
        for bdf, old in self.old_drivers.items():
            try:
                bind(bdf, old)
            except subprocess.CalledProcessError:
                pass
        if self.old_user_dma_access is not None:
            with open(USER_DMA_ACCESS, "w") as f:
                f.write(self.old_user_dma_access + "\n")
            self.old_user_dma_access = None
