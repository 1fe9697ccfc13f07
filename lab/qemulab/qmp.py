# SPDX-License-Identifier: GPL-2.0-only
"""One QMP connection to a QEMU (Monitor) and its errors (QmpError)."""
import json
import socket

from .errors import Failure


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
