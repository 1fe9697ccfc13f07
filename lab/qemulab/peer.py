# SPDX-License-Identifier: GPL-2.0-only
"""FramePeer: tools/frame-peer on the igb PF's netdev, the igbvf
workload's peer."""
import os
import re
import subprocess
import time

from .errors import Failure
from .paths import FRAME_PEER
from .serial import FIELD


PEER_COUNTS = re.compile(r"^frame-peer: (?:t=[0-9.]+s|summary:) (sent=\d+ .*)$")
PEER_SUMMARY = re.compile(r"^frame-peer: summary: (sent=\d+ .*)$")


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
