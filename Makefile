# SPDX-License-Identifier: GPL-2.0-only
#
# make            build the kernel modules, tests and benchmarks
# make check      install what is missing, build, run every test in the lab
# make demo       the lab: stock QEMU live-migrates a guest between mediated devices
# make lab        an interactive shell in the lab VM
# make sparse     build the modules under sparse (C=2)
# make install    install modules, headers, libvfmig, vfmig (DESTDIR, PREFIX)
# make uninstall  remove what make install installed
#
# KDIR defaults to the headers of the lab kernel (Debian's linux-image-amd64);
# on a real host use KDIR=/lib/modules/$(uname -r)/build.

LAB_KREL := $(shell lab/kernel-release 2>/dev/null)
KDIR ?= /usr/src/linux-headers-$(LAB_KREL)
BUILD := $(CURDIR)/build

# The modules build as one Kbuild tree (./Kbuild: kernel/, its samples
# and the test mediators in tests/kernel/), so that modpost resolves the
# samples' and tests' imports of kernel/'s exports in the same run.
# MODULE_ROOT: where that tree is built, this one by default; the lab
# builds a copy per kernel (lab/build-modules).
MODULE_ROOT ?= $(CURDIR)
kbuild = $(MAKE) -C $(KDIR) M=$(MODULE_ROOT) W=1

.PHONY: all modules modules-clean lib tools tests unit bench guest check lab demo demo-edu demo-hosts sparse \
	clean deps install uninstall modules-for-install

all: modules lib tools tests bench guest

modules:
	@test -d "$(KDIR)" || { echo "KDIR=$(KDIR) does not exist: run lab/setup (as root) or set KDIR" >&2; exit 1; }
	$(kbuild) modules

sparse:
	$(kbuild) C=2 modules

# libvfmig (lib/, header include/vfmig.h) and the vfmig CLI (tools/).
lib:
	$(MAKE) -C lib O=$(BUILD)/lib

tools: lib
	$(MAKE) -C tools O=$(BUILD)/tools LIBDIR=$(BUILD)/lib

tests: lib
	$(MAKE) -C tests O=$(BUILD)/tests LIBDIR=$(BUILD)/lib

# Host unit tests (tests/unit): seconds, no lab; make check runs them too.
unit: lib
	$(MAKE) -s -C tests/unit O=$(BUILD)/unit LIBDIR=$(BUILD)/lib run

bench: lib
	$(MAKE) -C bench O=$(BUILD)/bench LIBDIR=$(BUILD)/lib

# The migration guest workload (multiboot ELF for QEMU's -kernel).
guest:
	$(MAKE) -C guest O=$(BUILD)/guest

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

# Stock QEMU 7.2 (v1) and QEMU 10.0 (v2) in the lab's igb machine each
# live-migrate the igbvf guest workload five times between two mediated
# VFs under traffic, saying which protocol each used (lab/demo).
demo: deps
	$(MAKE) -s KDIR=/usr/src/linux-headers-$$(lab/kernel-release) all
	@echo "== booting the lab: Debian's Linux 6.1 under QEMU 10 with an igb SR-IOV PF and two VFs behind an IOMMU =="
	LAB_MACHINE=igb lab/run --timeout 900 lab/demo

# The first demo: the same with QEMU's edu device, QEMU 7.2 only.
demo-edu: deps
	$(MAKE) -s KDIR=/usr/src/linux-headers-$$(lab/kernel-release) all
	@echo "== booting the lab: Debian's Linux 6.1 under QEMU with two edu devices behind an IOMMU =="
	lab/run --timeout 600 lab/demo-edu

# Two lab hosts, lab-a and lab-b, joined by their own network: stock QEMU
# 7.2 and 10.0 each live-migrate a running guest from one host's edu to
# the other's, back, and once more after a cut of the network mid-way
# (tests/two_hosts); then libvirt on each host migrates it with virsh
# migrate --live, libvirt 9.0 driving QEMU 7.2 and libvirt 11.3 driving QEMU
# 10.0 (tests/libvirt_migration).  Also part of make check.
demo-hosts: deps
	$(MAKE) -s KDIR=/usr/src/linux-headers-$$(lab/kernel-release) all
	lab/qemu10
	lab/libvirt11
	@echo "== booting two labs, lab-a 10.10.0.1 and lab-b 10.10.0.2, each with two edu devices, joined by a private network =="
	lab/run-hosts --timeout 1500 tests/run-lab-suite two_hosts libvirt_migration

# Install: the modules users load (not the test mediators: the tree is
# built again without them, VFIO_MEDIATE_TESTS=) with Kbuild's
# modules_install into /lib/modules/<release>/extra/vfio-mediate/, which
# compresses and signs them as the kernel is configured to.  That folder
# is ours: it is emptied first, so that no module of an older install
# (0.1.0 put them flat in it) stays beside the new ones for depmod to
# choose.
# <release> is the one the modules were built for (their vermagic):
# Debian's headers report another kernelrelease than uname -r.  They
# carry no signing key either: signing is left out where the kernel's key
# is not in KDIR (DKMS signs with the machine's MOK).  Kbuild's depmod
# needs System.map, which headers lack ("Skipping depmod"): depmod runs
# here instead.  Also installed: the in-kernel API and uAPI headers and
# Module.symvers under $(PREFIX)/src/vfio-mediate/<release>/, for
# building mediators out of tree; the uAPI header for userspace under
# $(PREFIX)/include/vfio-mediate/ (not include/linux/, which is the
# kernel's); libvfmig and vfmig.  LEGACY_PATHS: where the SDK and the
# uAPI header went before; install and uninstall remove them.
PREFIX ?= /usr/local
module_release = $(firstword $(shell /sbin/modinfo -F vermagic kernel/vfio-pci-mediate.ko))
MODULE_DEST = $(DESTDIR)/lib/modules/$(module_release)/extra/vfio-mediate
SDK_DEST = $(DESTDIR)$(PREFIX)/src/vfio-mediate/$(module_release)
UAPI_DEST = $(DESTDIR)$(PREFIX)/include/vfio-mediate/linux
LIB_VARS = O=$(BUILD)/lib PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
LEGACY_PATHS = $(DESTDIR)$(PREFIX)/src/vfio-mediate/Module.symvers \
	$(DESTDIR)$(PREFIX)/src/vfio-mediate/include \
	$(DESTDIR)$(PREFIX)/include/linux/vfio_pci_mediate.h
sig_key = $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' \
	$(KDIR)/include/config/auto.conf 2>/dev/null)
no_signing = $(if $(wildcard $(KDIR)/$(sig_key) $(sig_key)),,CONFIG_MODULE_SIG_ALL=)

modules-for-install:
	@test -d "$(KDIR)" || { echo "KDIR=$(KDIR) does not exist: run lab/setup (as root) or set KDIR" >&2; exit 1; }
	$(kbuild) VFIO_MEDIATE_TESTS= modules

install: modules-for-install lib tools
	rm -rf $(MODULE_DEST) $(LEGACY_PATHS)
	$(MAKE) -C $(KDIR) M=$(CURDIR) VFIO_MEDIATE_TESTS= \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra/vfio-mediate \
		KERNELRELEASE=$(module_release) $(no_signing) modules_install
	install -D -m 644 include/linux/vfio_pci_mediate.h $(SDK_DEST)/include/linux/vfio_pci_mediate.h
	install -D -m 644 include/uapi/linux/vfio_pci_mediate.h $(SDK_DEST)/include/uapi/linux/vfio_pci_mediate.h
	install -D -m 644 Module.symvers $(SDK_DEST)/Module.symvers
	install -D -m 644 include/uapi/linux/vfio_pci_mediate.h $(UAPI_DEST)/vfio_pci_mediate.h
	$(MAKE) -C lib $(LIB_VARS) install
	$(MAKE) -C tools O=$(BUILD)/tools LIBDIR=$(BUILD)/lib PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) install
	$(if $(DESTDIR),,depmod -a $(module_release) && ldconfig)

uninstall:
	@test -n "$(module_release)" || { echo "make uninstall: kernel/vfio-pci-mediate.ko, whose release says what to remove, is not built (make modules KDIR=...)" >&2; exit 1; }
	rm -rf $(MODULE_DEST) $(SDK_DEST) $(UAPI_DEST) $(LEGACY_PATHS)
	-rmdir $(dir $(SDK_DEST)) $(dir $(UAPI_DEST))
	$(MAKE) -C lib $(LIB_VARS) uninstall
	$(MAKE) -C tools PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) uninstall
	$(if $(DESTDIR),,depmod -a $(module_release) && ldconfig)

# Objects built for one kernel must not be linked into another's modules.
modules-clean:
	$(MAKE) -C $(KDIR) M=$(MODULE_ROOT) clean

clean: modules-clean
	rm -rf $(BUILD)
