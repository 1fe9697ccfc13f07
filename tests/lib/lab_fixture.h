/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test fixtures for the lab VM: find the lab's devices (or SKIP when not in
 * the lab), bind them to drivers for the length of one test, and open them
 * through VFIO so that whatever a test leaves open or mapped is released
 * before its devices are put back on their original drivers.
 */
#ifndef TESTS_LIB_LAB_FIXTURE_H
#define TESTS_LIB_LAB_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio_dev.h"

/* SKIPs unless running as root inside the lab (LAB=1). */
void lab_require(void);

/* The project directory: $LAB_PROJECT, else the current directory. */
const char *lab_project_dir(void);

/* Whether the running kernel is Linux @major.@minor or later. */
bool lab_kernel_at_least(unsigned int major, unsigned int minor);

/*
 * Whether the running kernel's vfio core can return a DMA log to the user
 * (kernel/compat.h: before 6.7 always; since, only with
 * CONFIG_IOMMUFD_DRIVER, which Debian's 6.12 lacks), as read from its
 * /boot/config; fails the test when that cannot be read.  vfio-pci-mediate
 * offers DMA logging exactly where this is true.
 */
bool lab_kernel_reports_dma_log(void);

/* SKIPs, saying why, unless lab_kernel_reports_dma_log(). */
void lab_require_dma_log(void);

/* Find a lab device or SKIP. */
void lab_find_edu(char bdf[PCI_BDF_LEN]);
void lab_find_nvme_pf(char bdf[PCI_BDF_LEN]);
void lab_find_nvme_vf(char bdf[PCI_BDF_LEN]);

/* Puts bdf back on its current driver when the test ends, however. */
void lab_restore_binding_at_end(const char *bdf);

/*
 * Takes the NVMe PF from the nvme driver for this test: disables its VFs
 * first (unbinding a PF with VFs is unwise) and, when the test ends, binds
 * it back to nvme and brings the VFs online again (lab/nvme-vfs-online).
 */
void lab_take_nvme_pf(const char *pf_bdf);

/* Binds bdf to driver or fails the test. */
void lab_bind(const char *bdf, const char *driver);

/* Opens bdf through VFIO or fails the test; lab_close() is optional. */
struct vfio_dev *lab_open(const char *bdf);
void lab_close(struct vfio_dev *dev);

/* mmap of a VFIO device fd, tracked so a failing test still unmaps it. */
void *lab_mmap(struct vfio_dev *dev, uint64_t file_offset, size_t len,
	       int prot, int flags);
void lab_munmap(void *addr, size_t len);

/* Runs a program and waits; returns its exit status or -errno. */
int lab_run_program(char *const argv[]);

#endif
