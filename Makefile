# SPDX-License-Identifier: GPL-2.0-only
#
# make            build the kernel modules, tests and benchmarks
# make check      install what is missing, build, run every test in the lab
# make lab        an interactive shell in the lab VM
# make sparse     build the modules under sparse (C=2)
#
# KDIR defaults to the headers of the lab kernel (Debian's linux-image-amd64);
# on a real host use KDIR=/lib/modules/$(uname -r)/build.

LAB_KREL := $(shell lab/kernel-release 2>/dev/null)
KDIR ?= /usr/src/linux-headers-$(LAB_KREL)
BUILD := $(CURDIR)/build

.PHONY: all modules tests bench check lab demo sparse clean deps

all: modules tests bench

modules:
	@test -d "$(KDIR)" || { echo "KDIR=$(KDIR) does not exist: run lab/setup (as root) or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kernel W=1 modules

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kernel W=1 C=2 modules

tests:
	$(MAKE) -C tests O=$(BUILD)/tests

bench:
	$(MAKE) -C bench O=$(BUILD)/bench

deps:
	lab/setup

# The lab always boots Debian's kernel, so check and lab build against its
# headers whatever KDIR says.
check: deps
	$(MAKE) KDIR=/usr/src/linux-headers-$$(lab/kernel-release) all
	tests/check

lab: deps
	$(MAKE) KDIR=/usr/src/linux-headers-$$(lab/kernel-release) all
	lab/run --interactive

demo:
	@echo "make demo (stock QEMU 7.2 live-migrating a guest between two mediated edu devices) arrives with migration support; see the README." >&2
	@exit 2

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kernel clean
	rm -rf $(BUILD)
