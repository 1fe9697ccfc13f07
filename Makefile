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

# Module folders, each with its Kbuild; later ones use earlier ones' symbols.
MODULE_DIRS := kernel tests/kernel
KBUILD_SYMBOLS := $(CURDIR)/kernel/Module.symvers

.PHONY: all modules tests bench check lab demo sparse clean deps

all: modules tests bench

modules:
	@test -d "$(KDIR)" || { echo "KDIR=$(KDIR) does not exist: run lab/setup (as root) or set KDIR" >&2; exit 1; }
	set -e; for dir in $(MODULE_DIRS); do \
		$(MAKE) -C $(KDIR) M=$(CURDIR)/$$dir KBUILD_EXTRA_SYMBOLS=$(KBUILD_SYMBOLS) W=1 modules; \
	done

sparse:
	set -e; for dir in $(MODULE_DIRS); do \
		$(MAKE) -C $(KDIR) M=$(CURDIR)/$$dir KBUILD_EXTRA_SYMBOLS=$(KBUILD_SYMBOLS) W=1 C=2 modules; \
	done

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
	for dir in $(MODULE_DIRS); do $(MAKE) -C $(KDIR) M=$(CURDIR)/$$dir clean; done
	rm -rf $(BUILD)
