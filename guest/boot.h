/* SPDX-License-Identifier: GPL-2.0-only */
/* What boot.S and the C side share: segments, vectors, the interrupt frame. */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10

/*
 * Vectors.  Numbers only (no casts or parentheses) because boot.S pastes
 * them into symbol names.  0x20-0x2f is where the 8259 PICs are moved to,
 * masked, so that a stray PIC interrupt cannot look like an exception.
 */
#define VEC_PIC_BASE_NUM	0x20
#define VEC_TIMER_NUM		0x30	/* local APIC timer: wakes hlt */
/* Device interrupts (MSI, MSI-X vectors 0, 1, 2): see irq_set_handler(). */
#define VEC_DEV0_NUM		0x40
#define VEC_DEV1_NUM		0x41
#define VEC_DEV2_NUM		0x42
#define NR_DEV_VECTORS		3
#define VEC_SPURIOUS_NUM	0xff	/* local APIC spurious vector */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The stack as isr_common leaves it: pushal, then the stub, then the CPU. */
struct isr_frame {
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

extern const uint32_t isr_exception_stubs[32];
void isr_stub_0x30(void);
void isr_stub_0x40(void);
void isr_stub_0x41(void);
void isr_stub_0x42(void);
void isr_stub_0xff(void);

void isr_dispatch(struct isr_frame *frame);
void workload_main(uint32_t magic, uint32_t mbi);
#endif

#endif /* GUEST_BOOT_H */
