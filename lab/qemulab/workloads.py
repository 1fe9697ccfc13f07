# SPDX-License-Identifier: GPL-2.0-only
"""The guest workloads a Lab migrates (Workload): edu's and igbvf's, by
name too."""
import sys

from .paths import EDU_MEDIATE_KO, GUEST, IGBVF_GUEST, IGBVF_MEDIATE_KO
from .serial import IGBVF_PROGRESS, PROGRESS


EDU_ID = "1234:11e8"
IGBVF_ID = "8086:10ca"


class Workload:
    """What a Lab runs: the guest program; the devices it drives (PCI
    vendor:device) and the id QEMU gives the one passed through; the
    mediator that serves them (its .ko and module name, and whether it
    needs vfio-pci-mediate's user_dma_access); the guest's progress line
    and the counter in it that only grows while the guest works; whether
    the guest prints a phase word (Qemu.phase())."""

    def __init__(self, guest, pci_id, dev_id, mediator_ko, mediator,
                 user_dma_access, progress, counter, phase_word):
        self.guest = guest
        self.pci_id = pci_id
        self.dev_id = dev_id
        self.mediator_ko = mediator_ko
        self.mediator = mediator
        self.user_dma_access = user_dma_access
        self.progress = progress
        self.counter = counter
        self.phase_word = phase_word


EDU = Workload(GUEST, EDU_ID, "edu0", EDU_MEDIATE_KO, "edu_mediate", True,
               PROGRESS, "iter", True)
# igbvf-mediate reads the descriptors the guest hands the VF, to report
# the pages the VF writes.
IGBVF = Workload(IGBVF_GUEST, IGBVF_ID, "vf0", IGBVF_MEDIATE_KO,
                 "igbvf_mediate", True, IGBVF_PROGRESS, "tx", False)

# The workloads by the name a test program that runs either takes as its
# first argument (tests/two_hosts, tests/libvirt_migration).
WORKLOADS = {"edu": EDU, "igbvf": IGBVF}


def workload_from_argv(program):
    """The workload sys.argv[1] names (edu if none), as (name, Workload);
    exits with program's usage line for a name it does not know."""
    name = sys.argv[1] if sys.argv[1:] else "edu"
    if name not in WORKLOADS:
        sys.exit("usage: %s [%s]" % (program, "|".join(WORKLOADS)))
    return name, WORKLOADS[name]
