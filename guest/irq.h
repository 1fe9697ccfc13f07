/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interrupts: the IDT, the 8259 PICs (remapped and masked), the local
 * APIC (enabled, with a periodic timer that only wakes hlt) and MSI.
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

typedef void (*irq_handler_t)(void);

/* Loads the IDT, masks the PICs and enables the local APIC. */
void irq_init(void);

/* Runs @handler (with interrupts off) for each edu MSI; sends the EOI. */
void irq_set_edu_handler(irq_handler_t handler);

/* Starts the APIC timer, about every @period_ms; true if it then ticks. */
bool irq_start_wakeup_timer(uint32_t period_ms);

/* Points function @f's MSI at this CPU's local APIC, VEC_EDU, and enables it. */
bool irq_enable_msi(struct pci_func f);

/*
 * Waits for some interrupt (or, with no working timer, just a moment).
 * Called with interrupts off; returns with them off.
 */
void irq_wait(void);

#endif /* GUEST_IRQ_H */
