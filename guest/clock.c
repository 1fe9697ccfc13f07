// SPDX-License-Identifier: GPL-2.0-only
/*
 * The clock is the TSC, whose rate is measured once against the PIT
 * (1.193182 MHz).  Only the TSC is read afterwards: unlike counting timer
 * interrupts, it does not lose time when the vCPU is descheduled (TCG
 * inside TCG is slow), and, like QEMU's virtual clock, it stands still
 * while the VM is stopped (e.g. during a migration's downtime).
 */

#include "clock.h"
#include "console.h"
#include "io.h"

#define PIT_HZ			1193182u
#define PIT_CH2_DATA		0x42
#define PIT_MODE		0x43
#define  PIT_CH2_MODE0_LOHI	0xb0	/* channel 2, lo/hi byte, mode 0 */
#define PORT_B			0x61
#define  PORT_B_GATE2		0x01
#define  PORT_B_SPEAKER		0x02
#define  PORT_B_OUT2		0x20

#define CALIBRATE_MS		50

static uint32_t tsc_per_ms;
/* clock_ms() = ms_base + (TSC - tsc_base) / tsc_per_ms */
static uint64_t tsc_base, ms_base, tsc_last;

/*
 * PIT channel 2 in mode 0 counts down from the reload value and raises
 * OUT2 (readable in port 0x61) at zero; the TSC ticks in that time are
 * its rate.  The speaker stays off.
 */
uint32_t clock_init(void)
{
	uint32_t count = PIT_HZ / 1000 * CALIBRATE_MS;
	uint64_t t0, t1;
	uint32_t guard = 0;

	outb(PORT_B, (inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2);
	outb(PIT_MODE, PIT_CH2_MODE0_LOHI);
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	t0 = rdtsc();
	/* The guard only matters if the PIT is missing: then guess 1 GHz. */
	while (!(inb(PORT_B) & PORT_B_OUT2) && ++guard < 100000000)
		;
	t1 = rdtsc();
	tsc_per_ms = (uint32_t)div_u64_u32(t1 - t0, CALIBRATE_MS);
	if (!(inb(PORT_B) & PORT_B_OUT2) || tsc_per_ms == 0)
		tsc_per_ms = 1000000;
	tsc_base = tsc_last = rdtsc();
	return tsc_per_ms;
}

/*
 * Never goes backwards: should the TSC ever do so (a VMM that does not
 * carry it across a migration), the clock carries on from where it was,
 * with a note, instead of making every pending deadline look expired.
 */
uint64_t clock_ms(void)
{
	uint64_t now = rdtsc();

	if (now < tsc_last) {
		kprintf("workload: note: TSC went back from 0x%llx to 0x%llx\n",
			tsc_last, now);
		ms_base += div_u64_u32(tsc_last - tsc_base, tsc_per_ms);
		tsc_base = now;
	}
	tsc_last = now;
	return ms_base + div_u64_u32(now - tsc_base, tsc_per_ms);
}
