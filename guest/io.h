/* SPDX-License-Identifier: GPL-2.0-only */
/* Port I/O, MMIO and CPU instructions the workload needs (i386, ring 0). */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t val)
{
	__asm__ volatile("outw %0, %1" : : "a"(val), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t val;

	__asm__ volatile("inw %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t val;

	__asm__ volatile("inl %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/*
 * Paging is off, so physical addresses are used as pointers.  The
 * "memory" clobber keeps the compiler from moving RAM accesses (DMA
 * buffers) across device accesses.
 */
static inline uint32_t mmio_read32(uint32_t addr)
{
	uint32_t val;

	__asm__ volatile("movl (%1), %0" : "=r"(val) : "r"(addr) : "memory");
	return val;
}

static inline void mmio_write32(uint32_t addr, uint32_t val)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(val), "r"(addr) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint64_t val;

	__asm__ volatile("rdtsc" : "=A"(val));
	return val;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint64_t val;

	__asm__ volatile("rdmsr" : "=A"(val) : "c"(msr));
	return val;
}

static inline void cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/*
 * sti takes effect after the next instruction, so an interrupt that
 * became pending before sti still ends the hlt: no lost wakeup.
 */
static inline void sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

static inline void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

/* n / d for a 64-bit n without libgcc (there is no 32-bit libgcc here). */
static inline uint64_t div_u64_u32(uint64_t n, uint32_t d)
{
	uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n;
	uint32_t q_hi = hi / d, rem = hi % d, q_lo;

	/* rem < d, so the 64/32 divl cannot overflow. */
	__asm__("divl %4" : "=a"(q_lo), "=d"(rem) : "a"(lo), "d"(rem), "rm"(d));
	return ((uint64_t)q_hi << 32) | q_lo;
}

#endif /* GUEST_IO_H */
