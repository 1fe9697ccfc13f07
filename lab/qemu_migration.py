# SPDX-License-Identifier: GPL-2.0-only
"""Stock QEMU inside the lab (QEMU 7.2, the lab's own, or QEMU 10.0 from
build/qemu10: a Client), driven over QMP, migrating a guest
workload (guest/) between two devices: by default the edu workload
(build/guest/edu-workload.elf) between the lab's edu devices; with
workload=IGBVF the igbvf workload (build/guest/igbvf-workload.elf)
between two VFs of the igb machine's PF (LAB_MACHINE=igb), which
exchanges frames with a FramePeer on the PF's netdev.

Used by tests/qemu_migration (the scenarios in make check), lab/demo
(make demo), bench/qemu-migration and tests/igbvf_traffic.  Everything
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
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(PROJECT, "build/guest/edu-workload.elf")
EDU_MEDIATE_KO = os.path.join(PROJECT, "kernel/samples/edu-mediate.ko")
EDU_ID = "1234:11e8"
IGBVF_GUEST = os.path.join(PROJECT, "build/guest/igbvf-workload.elf")
IGBVF_MEDIATE_KO = os.path.join(PROJECT, "kernel/samples/igbvf-mediate.ko")
IGBVF_ID = "8086:10ca"
FRAME_PEER = os.path.join(PROJECT, "build/tools/frame-peer")
# edu-mediate moves edu's DMA buffer through the guest's memory, which
# vfio-pci-mediate lets mediators reach only when told to (its header
# kernel/user_dma.c says why); it is read at each open.
USER_DMA_ACCESS = "/sys/module/vfio_pci_mediate/parameters/user_dma_access"

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

PROGRESS = re.compile(r"^workload: t=\d+s (.* errors=\d+)$")
IGBVF_PROGRESS = re.compile(r"^igbvf-workload: t=\d+s (.* errors=\d+)$")
FIELD = re.compile(r"(\w+)=(\d+)")
PHASE_AT = re.compile(r"^workload: phase word at (0x[0-9a-f]+)")
PHASE_FACT, PHASE_DMA = 0x1, 0x2	# guest/workload.c
SAVE_BUFFER = re.compile(r"vfio_save_buffer .* size 0x([0-9a-f]+)")
# A trace line (the log backend's, with or without -msg timestamp=on).
TRACE_LINE = re.compile(r"^(?:\d+@[\d.]+:)?(?:vfio_|source_return_path|"
                        r"loadvm_)")
# "vfio_migration_set_state  (0000:00:01.0) new state PRE_COPY, recover
# state RUNNING" (QEMU 10; 7.2 prints the v1 device_state bits instead).
NEW_STATE = re.compile(r"vfio_migration_set_state\s+\((\S+)\) "
                       r"new state (\w+)")
PEER_COUNTS = re.compile(r"^frame-peer: (?:t=[0-9.]+s|summary:) (sent=\d+ .*)$")
PEER_SUMMARY = re.compile(r"^frame-peer: summary: (sent=\d+ .*)$")


class Failure(Exception):
    """A check failed; the message says what was expected and seen."""


def serial_lines(path):
    """The complete, non-empty lines of a guest's serial output file (the
    last line may still be being written)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("ascii", "replace")
    except FileNotFoundError:
        return []
    return [l for l in text.replace("\r", "").split("\n")[:-1] if l]


def progress_lines(lines, pattern=PROGRESS):
    """A workload's progress lines (pattern: its Workload.progress) as
    dicts (iter, errors, ...)."""
    out = []
    for line in lines:
        m = pattern.match(line)
        if m:
            out.append({k: int(v) for k, v in FIELD.findall(m.group(1))})
    return out


class Workload:
    """What a Lab runs: the guest program; the devices it drives (PCI
    vendor:device) and the id QEMU gives the one passed through; the
    mediator that serves them (its .ko and module name, and whether it
    needs vfio-pci-mediate's user_dma_access); the guest's progress line
    and the counter in it that only grows while the guest works; whether
    the guest prints a phase word (Qemu.phase())."""

    def __init__(self, guest, pci_id, dev_id, mediator_ko, mediator,
                 user_dma_access, progress, counter, phase_word):
        self.guest = guest
        self.pci_id = pci_id
        self.dev_id = dev_id
        self.mediator_ko = mediator_ko
        self.mediator = mediator
        self.user_dma_access = user_dma_access
        self.progress = progress
        self.counter = counter
        self.phase_word = phase_word


EDU = Workload(GUEST, EDU_ID, "edu0", EDU_MEDIATE_KO, "edu_mediate", True,
               PROGRESS, "iter", True)
# igbvf-mediate reads the descriptors the guest hands the VF, to report
# the pages the VF writes.
IGBVF = Workload(IGBVF_GUEST, IGBVF_ID, "vf0", IGBVF_MEDIATE_KO,
                 "igbvf_mediate", True, IGBVF_PROGRESS, "tx", False)

# The workloads by the name a test program that runs either takes as its
# first argument (tests/two_hosts, tests/libvirt_migration).
WORKLOADS = {"edu": EDU, "igbvf": IGBVF}
# The igb machine's SR-IOV PF (LAB_MACHINE=igb).
IGB_PF_ID = "8086:10c9"


def workload_from_argv(program):
    """The workload sys.argv[1] names (edu if none), as (name, Workload);
    exits with program's usage line for a name it does not know."""
    name = sys.argv[1] if sys.argv[1:] else "edu"
    if name not in WORKLOADS:
        sys.exit("usage: %s [%s]" % (program, "|".join(WORKLOADS)))
    return name, WORKLOADS[name]


def igb_vfs_online():
    """Brings the igb PF and its VFs (back) to where lab/igb-vfs-online
    puts them: the VFs unbound, VF N with its fixed MAC."""
    subprocess.run([os.path.join(PROJECT, "lab/igb-vfs-online")],
                   check=True)


class QmpError(Failure):
    def __init__(self, command, error):
        self.error_class = error.get("class")
        self.desc = error.get("desc")
        super().__init__("%s: %s: %s" % (command, self.error_class,
                                         self.desc))


class Monitor:
    """One QMP connection.  Asynchronous events are skipped."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.reader = self.sock.makefile("r", encoding="utf-8")
        if "QMP" not in self._receive():
            raise Failure("%s: no QMP greeting" % path)
        self.execute("qmp_capabilities")

    def _receive(self):
        line = self.reader.readline()
        if not line:
            raise Failure("QMP: the monitor closed the connection")
        return json.loads(line)

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall((json.dumps(request) + "\n").encode())
        while True:
            reply = self._receive()
            if "event" in reply:
                continue
            if "error" in reply:
                raise QmpError(command, reply["error"])
            else:
                return reply.get("return")

    def close(self):
        self.reader.close()
        self.sock.close()


class SerialGuest:
    """A guest workload as its serial output file shows it: its progress
    lines and errors, and waits on them.  A subclass says where the file
    is (serial_lines()), which progress pattern the workload prints
    (progress_pattern), its name in messages (name), whether the guest
    still runs (alive()) and why not (gone()).
    """
    progress_pattern = PROGRESS

    def progress(self):
        """The workload's progress lines as dicts (iter, errors, ...)."""
        return progress_lines(self.serial_lines(), self.progress_pattern)

    def error_lines(self):
        return [l for l in self.serial_lines() if "ERROR" in l]

    def last(self):
        p = self.progress()
        return p[-1] if p else None

    def check_no_errors(self):
        errs = self.error_lines()
        last = self.last()
        if errs or (last and last.get("errors")):
            raise Failure("%s: the workload reports errors: %s"
                          % (self.name, "; ".join(errs[:5]) or last))

    def wait_progress(self, predicate, timeout, what):
        """Waits until predicate(progress lines) holds; fails on errors."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.progress()
            self.check_no_errors()
            if predicate(lines):
                return lines[-1]
            if not self.alive():
                raise Failure("%s: %s, waiting for %s"
                              % (self.name, self.gone(), what))
            if time.monotonic() > deadline:
                last = lines[-1] if lines else "no progress line"
                raise Failure("%s: no %s in %d s (last: %s)"
                              % (self.name, what, timeout, last))
            time.sleep(0.25)

    def wait_lines(self, count, timeout=240):
        return self.wait_progress(lambda l: len(l) >= count, timeout,
                                  "%d progress lines" % count)

    def wait_count(self, key, target, timeout=240):
        """Waits until the progress line's key reaches target."""
        return self.wait_progress(lambda l: l and l[-1][key] >= target,
                                  timeout, "%s>=%d" % (key, target))

    def wait_iter(self, target, timeout=240):
        return self.wait_count("iter", target, timeout)


class Qemu(SerialGuest):
    """One QEMU process: its QMP monitor, its serial port and its log.
    client: the stock QEMU it is; caps: migration capabilities turned on
    (True) or off (False) over its client's, for its migrations at either
    end ({"multifd": True}); props: more properties of its vfio-pci device
    ("x-migration-multifd-transfer=on"); more_devices: further Devices it
    gets."""

    def __init__(self, lab, name, device, incoming, append, mem, hold,
                 client, caps=None, props="", more_devices=()):
        self.lab = lab
        self.name = name
        self.device = device
        self.client = client
        self.extra_caps = dict(caps or {})
        self.caps = dict.fromkeys(client.caps, True)
        self.caps.update(self.extra_caps)
        self.props = props
        self.more_devices = list(more_devices)
        self.mem = mem
        self.ram_bytes = client.ram_kib(mem) << 10
        self.base = os.path.join(lab.work, name)
        self.serial = self.base + ".serial"
        self.log = self.base + ".log"
        self.incoming = incoming
        qmp_path = self.base + ".qmp"
        for path in (self.serial, self.log, qmp_path):
            if os.path.exists(path):
                os.unlink(path)
        cmd = client.cmd + [
               "-M", "pc", "-accel", "tcg",
               "-m", "%dK" % (self.ram_bytes >> 10), "-smp", "1",
               "-nodefaults", "-display", "none", "-no-reboot",
               "-no-user-config",
               "-device", device.qemu_arg(client, props)]
        for more in self.more_devices:
            cmd += ["-device", more.qemu_arg(client)]
        cmd += ["-serial", "file:" + self.serial,
                "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                "-trace", "events=" + lab.trace_events_file(client),
                "-kernel", lab.guest] + lab.extra_args
        if append:
            cmd += ["-append", append]
        if incoming:
            # Capabilities must be on before the destination listens:
            # "defer", then migrate-incoming once they are set.
            cmd += ["-incoming", "defer" if self.caps else incoming]
        if hold:
            cmd += ["-S"]	# stays paused after an incoming migration
        self.cmd = cmd
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        # The socket may exist a moment before QEMU listens on it.
        deadline = time.monotonic() + 60
        while True:
            try:
                self.qmp = Monitor(qmp_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            except (OSError, Failure) as e:
                # The monitor went away under us: QEMU is exiting (a
                # device failed to realize, say).
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    raise Failure("%s: QMP monitor: %s" % (name, e))
            if self.proc.poll() is not None:
                raise Failure("%s: QEMU exited at start (status %d): %s"
                              % (name, self.proc.returncode,
                                 self.log_tail(5)))
            if time.monotonic() > deadline:
                raise Failure("%s: no QMP monitor in 60 s" % name)
            time.sleep(0.1)
        if incoming and self.caps:
            self.set_caps()
            self.qmp.execute("migrate-incoming", uri=incoming)

    def set_caps(self):
        """Sets this QEMU's migration capabilities (self.caps)."""
        if self.caps:
            self.qmp.execute("migrate-set-capabilities", capabilities=[
                {"capability": c, "state": on}
                for c, on in self.caps.items()])

    def caps_on(self):
        """The migration capabilities it turns on."""
        return [c for c, on in self.caps.items() if on]

    def alive(self):
        return self.proc.poll() is None

    def gone(self):
        return "QEMU exited (status %s)" % self.proc.returncode

    @property
    def progress_pattern(self):
        return self.lab.workload.progress

    def status(self):
        return self.qmp.execute("query-status")["status"]

    def serial_lines(self):
        return serial_lines(self.serial)

    def phase(self):
        """The workload's phase word (PHASE_*), read from guest RAM."""
        # Only the QEMU that booted the guest saw it print the address.
        for line in self.serial_lines():
            m = PHASE_AT.match(line)
            if m:
                self.lab.phase_addr = m.group(1)
        addr = self.lab.phase_addr
        if addr is None:
            raise Failure("%s: the workload did not print its phase word's "
                          "address" % self.name)
        out = self.qmp.execute("human-monitor-command",
                               **{"command-line": "xp /1wx " + addr})
        return int(out.split(":")[1].split()[0], 16)

    def device_bytes_sent(self, log_offset=0):
        """Device state bytes in the trace's vfio_save_buffer lines."""
        return sum(int(h, 16)
                   for h in SAVE_BUFFER.findall(self.log_text(log_offset)))

    def log_size(self):
        return os.path.getsize(self.log)

    def log_text(self, offset=0):
        """QEMU's output and trace lines from byte offset on."""
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode("ascii", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n):
        """The last n lines QEMU printed itself (trace lines left out)."""
        lines = self.log_text().splitlines()
        return " | ".join([l for l in lines if not TRACE_LINE.match(l)][-n:])

    def stop(self):
        """Quits QEMU (QMP quit, then SIGKILL after 30 s)."""
        if self.alive():
            try:
                self.qmp.execute("quit")
            except (Failure, OSError):
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()
        try:
            self.qmp.close()
        except OSError:
            pass

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.qmp.close()


class Device:
    """What a QEMU gets as its device: a host device through vfio-pci with
    migration on, QEMU id @dev_id at PCI slot @slot, or QEMU's own
    emulated edu (bench's baseline)."""

    def __init__(self, bdf=None, dev_id="edu0", slot=5):
        self.bdf = bdf
        self.dev_id = dev_id
        self.slot = slot

    def qemu_arg(self, client, props=""):
        """Its -device argument under client, with more properties props
        (one of which may replace the client's migration property)."""
        if not self.bdf:
            return "edu,id=edu0,addr=%#x" % self.slot
        mig = client.migration_prop
        if mig.split("=")[0] + "=" in props:
            mig = None
        return ",".join(["vfio-pci", "host=" + self.bdf] +
                        ([mig] if mig else []) +
                        ["id=" + self.dev_id, "addr=%#x" % self.slot] +
                        ([props] if props else []))


def sh(*cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def bind(bdf, driver):
    """Binds bdf to driver (lab/bind); returns the driver it had."""
    return sh(os.path.join(PROJECT, "lab/bind"), bdf, driver)


def pci_devices(vendor_device):
    out = sh("lspci", "-D", "-n", "-d", vendor_device)
    return [line.split()[0] for line in out.splitlines()]


def kernel_log():
    """The kernel log's records as (sequence number, first line).  Read
    from /dev/kmsg: its sequence numbers survive the ring buffer wrapping,
    which a long lab run does (dmesg's line count would not)."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    records = []
    try:
        while True:
            try:
                rec = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:	# records overwritten under us
                continue
            head, _, text = rec.decode("utf-8", "replace").partition(";")
            records.append((int(head.split(",")[1]), text.split("\n")[0]))
    finally:
        os.close(fd)
    return records


def dmesg_mark():
    """A mark for dmesg_since(): the last kernel log record's number."""
    records = kernel_log()
    return records[-1][0] if records else -1


def dmesg_since(mark):
    """Kernel log lines logged after mark (from dmesg_mark())."""
    return [text for seq, text in kernel_log() if seq > mark]


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
        """Starts migrating src to dst, with src's capabilities on."""
        src.set_caps()
        self.log_offset = src.log_size()
        src.qmp.execute("migrate", uri=dst.incoming)

    def wait_migration(self, src, timeout=300, until=None):
        """Polls query-migrate until the migration ends (or until(reply)
        holds); returns the last reply with "device-bytes" added."""
        deadline = time.monotonic() + timeout
        while True:
            m = src.qmp.execute("query-migrate")
            # QEMU 7.2 says "completed" a moment before it computes the
            # times (migration_iteration_finish()): until then they read 0.
            if m.get("status") == "completed" and not m.get("total-time"):
                pass
            elif m.get("status") in ("completed", "failed", "cancelled"):
                break
            if until and until(m):
                return m
            if not src.alive():
                raise Failure("source QEMU exited during migration")
            if time.monotonic() > deadline:
                src.qmp.execute("migrate_cancel")
                raise Failure("migration not done in %d s (status %s)"
                              % (timeout, m.get("status")))
            time.sleep(0.2)
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


def migration_protocol(bdf):
    """vfio-pci-mediate's sysfs migration_protocol of bdf: the client
    driving its migration ("v1", "v2"), or "none"."""
    with open("/sys/bus/pci/devices/%s/migration_protocol" % bdf) as f:
        return f.read().strip()


def cancel_ended_as_it_may(m, return_path):
    """Whether a migration that migrate_cancel stopped ended as it may
    (m: its last query-migrate reply; return_path: that capability was
    on).  "cancelled"; or, with the return path (QEMU 10's caps),
    "failed" on its own channel: QEMU 10.0's migrate_cancel shuts the
    migration's socket down before it marks the migration CANCELLING, so
    the migration thread may meet the broken socket first ("Unable to
    write to socket: Broken pipe", or "Channel error" on the main
    channel; upstream QEMU later moved that shutdown after the state
    change).  Either way the migration stopped; a failure of anything
    else is not a cancel."""
    error = m.get("error-desc", "").lower()
    return m["status"] == "cancelled" or (
        return_path and m["status"] == "failed"
        and ("socket" in error or "channel error" in error))


def source_runs_on(src, what, more=3, key="iter"):
    """Fails unless, after what (a migration that did not complete), the
    source QEMU src runs, its device is back with no client driving a
    migration, and its guest's progress counter key (its workload's)
    grows by more.  Returns the count it was at and its last progress
    line."""
    if src.status() != "running":
        raise Failure("source in state %s after %s" % (src.status(), what))
    protocol = migration_protocol(src.device.bdf)
    if protocol != "none":
        raise Failure("the source's device after %s: migration_protocol "
                      "%s, expected none" % (what, protocol))
    at = src.last()[key]
    return at, src.wait_count(key, at + more, timeout=120)


def check_facts(client, facts):
    """Fails unless a completed migration's facts (Lab.migration_facts())
    show the protocol client speaks: QEMU 7.2 the v1 region with type1's
    dirty pages; QEMU 10 the v2 uAPI through RUNNING_P2P and PRE_COPY,
    switched over once the destination acknowledged the device's initial
    data, with the dirty tracking the device offers on this kernel
    (dirty_tracking_expected())."""
    want = []
    if facts["protocol"] not in (None, client.protocol):
        want.append("sysfs migration_protocol %s, not %s"
                    % (client.protocol, facts["protocol"]))
    if facts["device-bytes"] <= 0:
        want.append("device state sent (%s: %d bytes)"
                    % ("query-migrate's vfio transferred"
                       if client.protocol == "v2" else "vfio_save_buffer",
                       facts["device-bytes"]))
    dirty = "type1" if client.protocol == "v1" else dirty_tracking_expected()
    if facts["dirty"] != dirty:
        want.append("%s dirty tracking, not %s" % (dirty, facts["dirty"]))
    if client.protocol == "v2":
        if "PRE_COPY" not in facts["src-states"]:
            want.append("the source through PRE_COPY (it went %s)"
                        % " ".join(facts["src-states"]))
        if "RUNNING_P2P" not in facts["dst-states"]:
            want.append("the destination through RUNNING_P2P (it went %s)"
                        % " ".join(facts["dst-states"]))
        if ("switchover-ack" in facts["caps"] and
                not facts["switchover-acked"]):
            want.append("the switch-over acknowledged by the destination")
    if want:
        raise Failure("%s migration: expected %s"
                      % (client.name, "; ".join(want)))


def client_protocol(client):
    """What client speaks with a mediated device on this kernel, in
    words (what check_facts() expects of its migrations)."""
    if client.protocol == "v1":
        return "v1 migration region, dirty pages through type1"
    return ("v2 uAPI, PRE_COPY%s, dirty pages through %s"
            % (" with switchover-ack" if "switchover-ack" in client.caps
               else "",
               "the device's DMA logging"
               if dirty_tracking_expected() == "device" else "type1"))


def protocol_summary(facts):
    """One line of what a migration's facts (Lab.migration_facts()) show."""
    parts = ["the kernel saw %s" % facts["protocol"]]
    if facts["src-states"]:
        parts.append("source %s" % ">".join(facts["src-states"]))
        parts.append("destination %s" % ">".join(facts["dst-states"]))
    if facts["switchover-acked"]:
        parts.append("switch-over acked")
    parts.append({"device": "the device's DMA logging",
                  "type1": "type1's dirty bitmap",
                  "none": "no dirty tracking"}[facts["dirty"]])
    if facts["multifd"]:
        parts.append("device state over multifd")
    parts.append("device state %d B" % facts["device-bytes"])
    return ", ".join(parts)


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


class FramePeer:
    """tools/frame-peer on a PF's netdev, the igbvf workload's peer: it
    sends its stream to vf_mac once the guest's first frame came and
    checks the guest's.  Its output goes to <work>/<name>.log; extra:
    more arguments (--skip-every, --corrupt-every)."""

    def __init__(self, lab, name, netdev, vf_mac, period_ms=10, extra=()):
        self.name = name
        self.log = os.path.join(lab.work, name + ".log")
        if not os.path.exists(FRAME_PEER):
            raise Failure("%s is missing: run make tools" % FRAME_PEER)
        self.cmd = [FRAME_PEER, "--vf-mac", vf_mac, "--period-ms",
                    str(period_ms)] + list(extra) + [netdev]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        lab.peers.append(self)
        deadline = time.monotonic() + 30
        while not any(l.startswith("frame-peer: ready") for l in self.lines()):
            if self.proc.poll() is not None:
                raise Failure("%s: frame-peer exited at start (status %d): "
                              "%s" % (name, self.proc.returncode,
                                      " | ".join(self.lines()[-3:])))
            if time.monotonic() > deadline:
                raise Failure("%s: frame-peer not ready in 30 s" % name)
            time.sleep(0.1)

    def lines(self):
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("ascii", "replace")
        except FileNotFoundError:
            return []
        return [l for l in text.split("\n")[:-1] if l]

    def counts(self):
        """Its count lines (and summary) as dicts: sent, received, lost,
        errors."""
        return [{k: int(v) for k, v in FIELD.findall(m.group(1))}
                for m in map(PEER_COUNTS.match, self.lines()) if m]

    def last(self):
        c = self.counts()
        return c[-1] if c else None

    def error_lines(self):
        return [l for l in self.lines() if "ERROR" in l]

    def lost_lines(self):
        return [l for l in self.lines() if l.startswith("frame-peer: lost")]

    def wait(self, predicate, timeout, what):
        """Waits until predicate(last counts) holds; fails on errors."""
        deadline = time.monotonic() + timeout
        while True:
            last = self.last()
            errs = self.error_lines()
            if errs or (last and last["errors"]):
                raise Failure("%s: frame-peer reports errors: %s"
                              % (self.name, "; ".join(errs[:5]) or last))
            if last and predicate(last):
                return last
            if self.proc.poll() is not None:
                raise Failure("%s: frame-peer exited (status %d) waiting "
                              "for %s" % (self.name, self.proc.returncode,
                                          what))
            if time.monotonic() > deadline:
                raise Failure("%s: no %s in %d s (last: %s)"
                              % (self.name, what, timeout, last))
            time.sleep(0.25)

    def stop(self):
        """Stops it (SIGTERM); returns its summary, with "status", its
        exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for line in reversed(self.lines()):
            m = PEER_SUMMARY.match(line)
            if m:
                summary = {k: int(v) for k, v in FIELD.findall(m.group(1))}
                summary["status"] = self.proc.returncode
                return summary
        raise Failure("%s: frame-peer printed no summary (status %s)"
                      % (self.name, self.proc.returncode))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def ram_sent(m):
    """RAM bytes a query-migrate reply says were sent.  QEMU 10's "ram"
    "transferred" counts the whole stream, device state included (its
    "vfio" "transferred"); QEMU 7.2's counts only RAM."""
    return (m.get("ram", {}).get("transferred", 0) -
            m.get("vfio", {}).get("transferred", 0))


def figures(m):
    """query-migrate's figures of one migration, on one line."""
    ram = m.get("ram", {})
    return ("total %s ms, downtime %s ms, setup %s ms, RAM %d KiB "
            "(%d dirty syncs), device %d B"
            % (m.get("total-time", "?"), m.get("downtime", "?"),
               m.get("setup-time", "?"), ram_sent(m) // 1024,
               ram.get("dirty-sync-count", 0), m.get("device-bytes", 0)))
