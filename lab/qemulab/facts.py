# SPDX-License-Identifier: GPL-2.0-only
"""What a migration shows of the VFIO protocol its client spoke, and the
checks on it: check_facts() for one that completed, source_runs_on() and
cancel_ended_as_it_may() for one that did not."""
from .clients import dirty_tracking_expected
from .errors import Failure


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
