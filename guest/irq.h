/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interrupts: the IDT, the 8259 PICs (remapped and masked), the local
 * APIC (enabled, with a periodic timer that only wakes hlt), MSI and
 * MSI-X.
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

typedef void (*irq_handler_t)(void);

/* Loads the IDT, masks the PICs and enables the local APIC. */
void irq_init(void);

/*
 * Runs @handler (with interrupts off) for each interrupt on device vector
 * @n (0 to NR_DEV_VECTORS - 1: MSI is 0, MSI-X entry i is i); sends the
 * EOI.
 */
void irq_set_handler(unsigned int n, irq_handler_t handler);

/* Starts the APIC timer, about every @period_ms; true if it then ticks. */
bool irq_start_wakeup_timer(uint32_t period_ms);

/* Points function @f's MSI at this CPU's local APIC, device vector 0, and enables it. */
bool irq_enable_msi(struct pci_func f);

/*
 * Points the first @nvec entries of function @f's MSI-X table at this
 * CPU's local APIC, entry i at device vector i, unmasked, and enables
 * MSI-X.  The function's memory decoding must be on (the table is in a
 * BAR).  False, with *@why set, if it cannot.
 */
bool irq_enable_msix(struct pci_func f, unsigned int nvec, const char **why);

/*
 * Waits for some interrupt (or, with no working timer, just a moment).
 * Called with interrupts off; returns with them off.
 */
void irq_wait(void);

#endif /* GUEST_IRQ_H */
