# SPDX-License-Identifier: GPL-2.0-only
"""A guest workload as its serial output shows it: the lines the
workloads (guest/) print and SerialGuest, which waits on them."""
import re
import time

from .errors import Failure


PROGRESS = re.compile(r"^workload: t=\d+s (.* errors=\d+)$")
IGBVF_PROGRESS = re.compile(r"^igbvf-workload: t=\d+s (.* errors=\d+)$")
FIELD = re.compile(r"(\w+)=(\d+)")
PHASE_AT = re.compile(r"^workload: phase word at (0x[0-9a-f]+)")
PHASE_FACT, PHASE_DMA = 0x1, 0x2	# guest/workload.c


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
