# SPDX-License-Identifier: GPL-2.0-only
"""The two lab hosts of lab/run-hosts, seen from inside one of them: which
one this is, its address and its peer's on the private network (lab/lan-
online sets them up), and a way for the two to wait for each other.

A host tells the other a fact with tell(what, value): a JSON file
/run/lab-pair/<host>.<scope>.<what>, which both hosts share (a writable
9p directory of the machine that runs them; scope: the test program
run's, used once a boot).
The other waits for it with wait(what).  A host that gives up says why
with give_up(reason); the peer's wait() then fails at once rather than at
its timeout, as it does once lab/run-hosts saw the peer's VM end.

  pair = Pair("two_hosts")               # LAB_HOST a or b
  if pair.me == "b":
      pair.tell("ready", "tcp:%s:4445" % pair.addr)
  else:
      uri = pair.wait("ready")

run_step() runs one host's part of a test and exchanges both hosts'
verdicts on it; within it, say() and hear() are tell() and wait() for
that step's facts, and hear() fails at once if the peer's part of the
step ended without saying it.  run_test() does that for a TAP test,
and lab-a prints its line.
"""
import glob
import json
import os
import time
import traceback

from tap import comment

PAIR_DIR = "/run/lab-pair"


def _lan_plan():
    """Each host's address on the private network (lab/lan-plan)."""
    addrs = {}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "lan-plan")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                host, addr = line.split()[:2]
                addrs[host] = addr
    return addrs


ADDRS = _lan_plan()
LAN = "lan"	# the interface name lab/lan-online gives both hosts


class PairError(Exception):
    """The peer gave up, or did not say what we waited for in time."""


class Pair:
    def __init__(self, scope, pair_dir=PAIR_DIR):
        self.me = os.environ.get("LAB_HOST", "")
        if self.me not in ADDRS:
            raise PairError("LAB_HOST is '%s', not a or b: run under "
                            "lab/run-hosts" % self.me)
        self.peer = "b" if self.me == "a" else "a"
        self.addr = ADDRS[self.me]
        self.peer_addr = ADDRS[self.peer]
        self.dir = pair_dir
        # One test program's facts, apart from the next one's in the same
        # boot of the two hosts: a run must not read what an earlier run
        # of the same scope said, so a scope is used once a boot (a test
        # program that takes arguments puts them in it).  No dot: the
        # files' names are <host>.<scope>.<what>.
        if not scope or "." in scope:
            raise PairError("scope '%s': give a name without a dot" % scope)
        self.scope = scope
        if glob.glob(self._path(self.me, "*")):
            raise PairError("scope %s was used before in this boot of the "
                            "lab hosts: give this run a scope of its own"
                            % scope)
        # The step run_step() runs, whose facts say() and hear() exchange.
        self.step = None

    def _path(self, host, what):
        return os.path.join(self.dir, "%s.%s.%s" % (host, self.scope, what))

    def tell(self, what, value=None):
        """Tells the peer what (with a JSON-able value)."""
        path = self._path(self.me, what)
        # Written aside and renamed: the peer never reads half of it.
        with open(path + ".tmp", "w") as f:
            json.dump(value, f)
        os.rename(path + ".tmp", path)

    def wait(self, what, timeout=300, unless=None):
        """Waits until the peer told what; returns its value.  Fails at
        once if the peer gave up, or told unless instead (its verdict on
        a step it ended early, say)."""
        path = self._path(self.peer, what)
        # The peer gave up, or its lab VM is gone (lab/run-hosts says so).
        stops = [self._path(self.peer, "gone"),
                 os.path.join(self.dir, "%s.gone" % self.peer)]
        if unless:
            stops.append(self._path(self.peer, unless))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(path) as f:
                    return json.load(f)
            except FileNotFoundError:
                pass
            for stop in stops:
                if not os.path.exists(stop):
                    continue
                # The peer may have said what just before it stopped.
                try:
                    with open(path) as f:
                        return json.load(f)
                except FileNotFoundError:
                    pass
                with open(stop) as f:
                    why = json.load(f)
                raise PairError("lab-%s stopped before saying %s: %s"
                                % (self.peer, what, why or
                                   "its part ended without it"))
            if time.monotonic() > deadline:
                raise PairError("lab-%s did not say %s in %d s"
                                % (self.peer, what, timeout))
            time.sleep(0.2)

    def give_up(self, reason):
        """Tells the peer we stop: its waits fail at once."""
        self.tell("gone", reason)

    def run_step(self, name, fn, expected=(), timeout=900):
        """Runs this host's part of step name, fn(), then tells the peer
        how it went and waits for the peer's word on its own part.
        Returns (mine, theirs): None for a part that passed, else why it
        failed (the message of an exception in expected, or a traceback)."""
        mine = None
        self.step = name
        try:
            fn()
        except (PairError,) + tuple(expected) as e:
            mine = str(e)
        except Exception:  # this host's part failed; the trace says where
            mine = traceback.format_exc()
        finally:
            self.step = None
        self.tell(name + ".verdict", mine)
        try:
            theirs = self.wait(name + ".verdict", timeout)
        except PairError as e:
            theirs = str(e)
        return mine, theirs

    def _in_step(self, what):
        if self.step is None:
            raise PairError("%s: say() and hear() belong in run_step()"
                            % what)
        return "%s.%s" % (self.step, what)

    def say(self, what, value=None):
        """Tells the peer what, a fact of the step run_step() runs."""
        self.tell(self._in_step(what), value)

    def hear(self, what, timeout=300):
        """Waits for the peer's what in the step run_step() runs; fails at
        once if the peer's part of the step ended without saying it."""
        return self.wait(self._in_step(what), timeout,
                         unless=self.step + ".verdict")

    def run_test(self, results, step, tap_name, fn, expected=(),
                 on_failure=None):
        """One TAP test that runs on both hosts: this host's part of step,
        fn(), with on_failure() called to show more when it raises, then
        both verdicts exchanged (run_step()).  The test passes when both
        parts did: its verdict goes into results, and lab-a prints the TAP
        line "ok N tap_name" (N: len(results)) with the reasons of a
        failure before it."""

        def part():
            try:
                fn()
            except Exception:
                if on_failure:
                    on_failure()
                raise

        mine, theirs = self.run_step(step, part, expected)
        if mine:
            comment("lab-%s: %s" % (self.me, mine))
        ok = mine is None and theirs is None
        results.append(ok)
        if self.me == "a":
            if theirs:
                comment("lab-%s: %s" % (self.peer, theirs))
            print("%s %d %s" % ("ok" if ok else "not ok", len(results),
                                tap_name), flush=True)
        return ok
