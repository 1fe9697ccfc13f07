# SPDX-License-Identifier: GPL-2.0-only
"""query-migrate's figures of a migration."""


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
