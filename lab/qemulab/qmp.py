# SPDX-License-Identifier: GPL-2.0-only
"""One QMP connection to a QEMU (Monitor) and its errors (QmpError)."""
import collections
import json
import socket
import time

from .errors import Failure


class QmpError(Failure):
    def __init__(self, command, error):
        self.error_class = error.get("class")
        self.desc = error.get("desc")
        super().__init__("%s: %s: %s" % (command, self.error_class,
                                         self.desc))


class Monitor:
    """One QMP connection.  Asynchronous events are kept, in the order
    they came, for next_event() (the last 256: a QEMU nobody waits on
    must not grow the queue for ever)."""

    def __init__(self, path, timeout=60):
        self.timeout = timeout
        self.events = collections.deque(maxlen=256)
        self.pending = b""	# what was read past the last line
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        if "QMP" not in self._receive():
            raise Failure("%s: no QMP greeting" % path)
        self.execute("qmp_capabilities")

    def _receive(self):
        # Lines are read off the socket itself: a socket file object that
        # once timed out (next_event()) refuses to be read again.
        while b"\n" not in self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise Failure("QMP: the monitor closed the connection")
            self.pending += data
        line, _, self.pending = self.pending.partition(b"\n")
        return json.loads(line)

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall((json.dumps(request) + "\n").encode())
        while True:
            reply = self._receive()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QmpError(command, reply["error"])
            else:
                return reply.get("return")

    def next_event(self, name, timeout):
        """The oldest event called name not taken yet (others are
        dropped), waiting up to timeout seconds for it; None if none
        came."""
        deadline = time.monotonic() + timeout
        while True:
            while self.events:
                event = self.events.popleft()
                if event["event"] == name:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                reply = self._receive()
            except socket.timeout:
                return None
            finally:
                self.sock.settimeout(self.timeout)
            if "event" in reply:
                self.events.append(reply)

    def close(self):
        self.sock.close()
