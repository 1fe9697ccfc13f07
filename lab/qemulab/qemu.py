# SPDX-License-Identifier: GPL-2.0-only
"""One stock QEMU process (Qemu) with its Device, and the trace lines
of its log."""
import os
import re
import signal
import subprocess
import time

from .errors import Failure
from .qmp import Monitor
from .serial import PHASE_AT, SerialGuest, serial_lines


SAVE_BUFFER = re.compile(r"vfio_save_buffer .* size 0x([0-9a-f]+)")
# A trace line (the log backend's, with or without -msg timestamp=on).
TRACE_LINE = re.compile(r"^(?:\d+@[\d.]+:)?(?:vfio_|source_return_path|"
                        r"loadvm_)")
# "vfio_migration_set_state  (0000:00:01.0) new state PRE_COPY, recover
# state RUNNING" (QEMU 10; 7.2 prints the v1 device_state bits instead).
NEW_STATE = re.compile(r"vfio_migration_set_state\s+\((\S+)\) "
                       r"new state (\w+)")


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
