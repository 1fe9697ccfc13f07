# SPDX-License-Identifier: GPL-2.0-only
"""Failure, the exception every check of the lab raises."""


class Failure(Exception):
    """A check failed; the message says what was expected and seen."""
