# SPDX-License-Identifier: GPL-2.0-only
"""The kernel log, read from /dev/kmsg: a mark and the lines since."""
import os


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
