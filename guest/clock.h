/* SPDX-License-Identifier: GPL-2.0-only */
/* Milliseconds since boot, from the TSC calibrated against the PIT. */
#ifndef GUEST_CLOCK_H
#define GUEST_CLOCK_H

#include <stdint.h>

/* Measures the TSC rate; returns it in kHz. */
uint32_t clock_init(void);

uint64_t clock_ms(void);

#endif /* GUEST_CLOCK_H */
