# SPDX-License-Identifier: GPL-2.0-only
"""What the lab's Python tests print besides their TAP result lines."""


def comment(text):
    """Prints text as TAP comments, one "# " line per line, at once (the
    host shows a lab run's output as it comes)."""
    for line in str(text).splitlines():
        print("# " + line, flush=True)
