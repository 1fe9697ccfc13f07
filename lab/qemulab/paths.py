# SPDX-License-Identifier: GPL-2.0-only
"""The project tree the lab runs from and the built files it uses."""
import os


PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GUEST = os.path.join(PROJECT, "build/guest/edu-workload.elf")
EDU_MEDIATE_KO = os.path.join(PROJECT, "kernel/samples/edu-mediate.ko")
IGBVF_GUEST = os.path.join(PROJECT, "build/guest/igbvf-workload.elf")
IGBVF_MEDIATE_KO = os.path.join(PROJECT, "kernel/samples/igbvf-mediate.ko")
FRAME_PEER = os.path.join(PROJECT, "build/tools/frame-peer")
