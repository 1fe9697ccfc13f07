// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-workload: a freestanding guest program that works QEMU's edu device
 * (1234:11e8) forever and checks every answer, so that a VM migrated with
 * the device can tell whether the device noticed.
 *
 * It is a 32-bit multiboot kernel (boot.S) for `qemu-system-x86_64
 * -kernel edu-workload.elf`; the firmware has already assigned BARs.  It
 * finds edu on PCI bus 0 (configuration mechanism #1), enables memory
 * decoding and bus mastering, points the device's MSI at the local APIC
 * and then loops, each iteration doing:
 *
 *   - a DMA from RAM into a random range of edu's 4 KiB buffer, and then a
 *     DMA of another random range back into RAM.  The program keeps a copy
 *     of what the buffer must hold (all of it is written once at start), so
 *     a readback checks both transfers and that the buffer kept its
 *     contents meanwhile, e.g. across a migration.  RAM around the target
 *     of a readback is poisoned and checked, to catch stray writes;
 *   - while each DMA is in flight (edu starts it 100 ms later), liveness
 *     checks (0x04 reads back the inverse of what was written, 0x00 the
 *     identification) and factorials of varying inputs, compared with a
 *     table computed here.
 *
 * Completions are awaited in two ways, alternately: by interrupt (status
 * bit 0x80 for factorials, cmd bit 0x4 for DMA; the handler reads
 * irq_status and acknowledges through 0x64) and by polling the device with
 * its interrupt off.  So the interrupt-enable bits, the MSI set-up and the
 * interrupt path are all exercised, and an interrupt that comes when none
 * was asked for is an error too.
 *
 * Every wait is bounded by the clock (the TSC, calibrated with the PIT):
 * a lost completion or interrupt is an error, never a hang.  While
 * waiting the CPU halts, woken by edu's MSI or the local APIC timer.
 * By default the work done while a DMA is in flight is paced (one round
 * per wake-up, about every 10 ms), to leave the host CPU to the VMM; with
 * "busy" on the command line (-append busy) it runs flat out, so that a
 * factorial is nearly always being computed.
 *
 * Output, on COM1 (115200 8N1):
 *   workload: t=12s iter=34 live=96 fact=96 dma=68 irq=82 spread=0 errors=0
 * once a second (counts since start: iterations, liveness checks,
 * factorials, DMA transfers, interrupts received as expected, checks of
 * all spread pages (see "spread" below), errors), and
 *   workload: ERROR t=<ms>ms iter=<n>: <what was expected, what was seen>
 * for every mismatch (at most ERRORS_PER_SECOND printed each second; all
 * are counted).  It never stops by itself.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "clock.h"
#include "console.h"
#include "edu_regs.h"
#include "io.h"
#include "irq.h"
#include "multiboot.h"
#include "pci.h"

#define PROGRESS_PERIOD_MS	1000
#define ERRORS_PER_SECOND	20
#define WAKEUP_PERIOD_MS	10
/* Generous: TCG inside TCG is slow, and a guest is not told about pauses. */
#define FACT_TIMEOUT_MS		5000
#define DMA_TIMEOUT_MS		(EDU_DMA_DELAY_MS + 5000)

/* Inputs 0..FACT_INPUTS-1; from 34 on, n! is 0 modulo 2^32. */
#define FACT_INPUTS		40

/* RAM-side DMA buffers: a transfer lands at a random offset in the slack. */
#define RAM_SLACK		64
#define RAM_BUF_SIZE		(EDU_DMA_BUF_SIZE + RAM_SLACK)

struct counters {
	uint32_t iter;
	uint32_t live;
	uint32_t fact;
	uint32_t dma;
	uint32_t irq;
	uint32_t errors;
};

static uint32_t bar0;
static bool use_irq;
static bool busy;	/* no pacing: see the comment at the top */
static struct counters count;
static uint32_t fact_table[FACT_INPUTS];

/* What edu's DMA buffer holds, as far as this program knows. */
static uint8_t edu_buf_copy[EDU_DMA_BUF_SIZE];
static bool edu_buf_known;

static uint8_t ram_src[RAM_BUF_SIZE] __attribute__((aligned(64)));
static uint8_t ram_dst[RAM_BUF_SIZE] __attribute__((aligned(64)));

/*
 * Shared with the interrupt handler.  The main program runs with
 * interrupts off and lets them in only in irq_wait()/let_interrupts_in(),
 * so it needs no other locking.
 */
static volatile uint32_t irq_expected;	/* bits we are waiting for */
static volatile uint32_t irq_seen;	/* expected bits delivered */
static volatile uint32_t irq_unexpected;	/* bits nobody asked for */

/*
 * Where the program is, for a VMM that stops it: the lab reads this word
 * from guest RAM (its address is printed at start) after a migration's
 * switch-over, to know whether a factorial or a DMA was under way.
 */
#define PHASE_FACT	0x1	/* input written, result not read yet */
#define PHASE_DMA	0x2	/* transfer started, completion not seen yet */
static volatile uint32_t phase;

/*
 * "spread" on the command line: every iteration also moves edu's buffer
 * into a random page of SPREAD_PAGES pages after the program, remembering
 * a checksum of what the page must now hold, and every SPREAD_VERIFY_EVERY
 * iterations all written pages are checked ("spread=" on the progress
 * line counts the passes).  The rest of RAM is filled with non-zero bytes
 * at start, so a VMM that re-sends all RAM every pass sends all of it.
 * For dirty page tracking: a page DMA wrote and the VMM did not re-send
 * comes back wrong after a migration.
 */
#define SPREAD_PAGES		512
#define SPREAD_VERIFY_EVERY	16
#define PAGE_SIZE		4096u
extern uint8_t _end[];		/* link.ld: end of the program's memory */
static bool spread;
static uint8_t *spread_area;
static uint32_t spread_sum[SPREAD_PAGES];	/* 0: not written yet */
static uint32_t spread_len[SPREAD_PAGES];
static uint32_t spread_passes;

static uint64_t next_progress_ms;
static uint32_t errors_printed, errors_quiet;

static uint32_t prng_state = 0x2545f491;

/* xorshift32: deterministic, so that a run can be repeated. */
static uint32_t prng(void)
{
	uint32_t x = prng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	prng_state = x;
	return x;
}

static uint32_t edu_read(uint32_t reg)
{
	return mmio_read32(bar0 + reg);
}

static void edu_write(uint32_t reg, uint32_t val)
{
	mmio_write32(bar0 + reg, val);
}

static void progress(void)
{
	uint64_t now = clock_ms();

	if (now < next_progress_ms)
		return;
	kprintf("workload: t=%us iter=%u live=%u fact=%u dma=%u irq=%u spread=%u errors=%u\n",
		(uint32_t)div_u64_u32(now, 1000), count.iter, count.live,
		count.fact, count.dma, count.irq, spread_passes, count.errors);
	if (errors_quiet)
		kprintf("workload: (%u more errors in the last second, not shown)\n",
			errors_quiet);
	errors_printed = errors_quiet = 0;
	next_progress_ms += PROGRESS_PERIOD_MS;
	if (next_progress_ms <= now)	/* stopped for a while: no burst */
		next_progress_ms = now + PROGRESS_PERIOD_MS;
}

/* Counts an error and, unless too many came this second, says what it is. */
#define report_error(fmt, ...)						\
	do {								\
		count.errors++;						\
		if (errors_printed++ < ERRORS_PER_SECOND)		\
			kprintf("workload: ERROR t=%ums iter=%u: " fmt "\n", \
				(uint32_t)clock_ms(), count.iter,	\
				##__VA_ARGS__);				\
		else							\
			errors_quiet++;					\
	} while (0)

/* Runs in interrupt context for each edu MSI. */
static void edu_interrupt(void)
{
	uint32_t bits = edu_read(EDU_REG_IRQ_STATUS);

	/*
	 * Zero bits is no error: two raises can share one delivery, and the
	 * second MSI then finds the bits already acknowledged.
	 */
	if (!bits)
		return;
	edu_write(EDU_REG_IRQ_ACK, bits);
	irq_seen |= bits & irq_expected;
	irq_unexpected |= bits & ~irq_expected;
}

/* sti; nop; cli: a pending interrupt gets in, without sleeping. */
static void let_interrupts_in(void)
{
	__asm__ volatile("sti; nop; cli" : : : "memory");
}

static void check_unexpected_irqs(void)
{
	uint32_t bits = irq_unexpected;

	if (!bits)
		return;
	irq_unexpected = 0;
	report_error("interrupt with irq_status bits 0x%x, expected only 0x%x",
		     bits, irq_expected);
}

/*
 * Interrupt bits that should have come but did not: report them with the
 * device's view, and acknowledge them if the device did raise them.
 */
static void report_missing_irq(const char *what, uint32_t bit, uint32_t waited)
{
	uint32_t status = edu_read(EDU_REG_IRQ_STATUS);

	report_error("%s: no interrupt within %u ms (irq_status=0x%x, expected bit 0x%x)",
		     what, waited, status, bit);
	if (status & bit)
		edu_write(EDU_REG_IRQ_ACK, bit);
}

static void liveness(void)
{
	uint32_t val = prng(), got, id;

	edu_write(EDU_REG_LIVENESS, val);
	got = edu_read(EDU_REG_LIVENESS);
	if (got != ~val)
		report_error("liveness: wrote 0x%08x to 0x04, expected 0x%08x, read 0x%08x",
			     val, ~val, got);
	id = edu_read(EDU_REG_ID);
	if (id != EDU_ID_VALUE)
		report_error("identification: expected 0x%08x, read 0x%08x",
			     EDU_ID_VALUE, id);
	count.live++;
}

static bool fact_done_polled(void)
{
	return !(edu_read(EDU_REG_STATUS) & EDU_STATUS_COMPUTING);
}

static bool fact_done_irq(void)
{
	return irq_seen & EDU_IRQ_FACT;
}

/* Waits for done() until @timeout_ms passes; halts in between if @sleep. */
static bool wait_for(bool (*done)(void), uint32_t timeout_ms, bool sleep)
{
	uint64_t deadline = clock_ms() + timeout_ms;

	for (;;) {
		if (done())
			return true;
		if (clock_ms() >= deadline)
			return done();
		progress();
		if (sleep)
			irq_wait();
		else
			let_interrupts_in();
	}
}

static void factorial(bool with_irq)
{
	uint32_t n = prng() % FACT_INPUTS, want_status, status, got;
	bool done;

	/* A factorial still running (a timeout before) would ignore ours. */
	if (!wait_for(fact_done_polled, FACT_TIMEOUT_MS, false)) {
		report_error("factorial: still computing after %u ms (status=0x%x)",
			     FACT_TIMEOUT_MS, edu_read(EDU_REG_STATUS));
		return;
	}

	want_status = with_irq ? EDU_STATUS_IRQFACT : 0;
	edu_write(EDU_REG_STATUS, want_status);
	status = edu_read(EDU_REG_STATUS);
	if (status != want_status)
		report_error("status: wrote 0x%x, expected 0x%x back, read 0x%x",
			     want_status, want_status, status);

	if (with_irq)
		irq_expected |= EDU_IRQ_FACT;
	phase |= PHASE_FACT;
	edu_write(EDU_REG_FACT, n);
	if (with_irq) {
		done = wait_for(fact_done_irq, FACT_TIMEOUT_MS, true);
		if (done)
			count.irq++;
		else
			report_missing_irq("factorial", EDU_IRQ_FACT,
					   FACT_TIMEOUT_MS);
		irq_expected &= ~EDU_IRQ_FACT;
		irq_seen &= ~EDU_IRQ_FACT;
	}
	/* With an interrupt, COMPUTING was cleared before it was raised. */
	done = wait_for(fact_done_polled, FACT_TIMEOUT_MS, false);
	got = edu_read(EDU_REG_FACT);
	phase &= ~PHASE_FACT;
	if (!done)
		report_error("factorial %u!: not done after %u ms (status=0x%x)",
			     n, FACT_TIMEOUT_MS, edu_read(EDU_REG_STATUS));
	else if (got != fact_table[n])
		report_error("factorial %u!: expected 0x%08x, read 0x%08x",
			     n, fact_table[n], got);
	check_unexpected_irqs();
	count.fact++;
}

/* What the device's DMA engine does between two edu_dma_*() calls. */
struct dma_job {
	bool to_ram;
	bool with_irq;
	uint32_t ram;		/* RAM address */
	uint32_t off;		/* offset in edu's buffer */
	uint32_t len;
};

static const char *dma_name(const struct dma_job *job)
{
	return job->to_ram ? "DMA buffer->RAM" : "DMA RAM->buffer";
}

static void edu_write_dma_reg(uint32_t reg, uint32_t val)
{
	uint32_t got;

	edu_write(reg, val);
	got = edu_read(reg);
	if (got != val)
		report_error("DMA register 0x%x: wrote 0x%08x, read 0x%08x",
			     reg, val, got);
}

static bool edu_dma_start(const struct dma_job *job)
{
	uint32_t cmd = edu_read(EDU_REG_DMA_CMD), buf = EDU_DMA_BUF + job->off;

	if (cmd & EDU_DMA_RUN) {
		report_error("%s: engine still busy before start (cmd=0x%x)",
			     dma_name(job), cmd);
		return false;
	}
	edu_write_dma_reg(EDU_REG_DMA_SRC, job->to_ram ? buf : job->ram);
	edu_write_dma_reg(EDU_REG_DMA_DST, job->to_ram ? job->ram : buf);
	edu_write_dma_reg(EDU_REG_DMA_CNT, job->len);

	if (job->with_irq)
		irq_expected |= EDU_IRQ_DMA;
	phase |= PHASE_DMA;
	edu_write(EDU_REG_DMA_CMD, EDU_DMA_RUN |
		  (job->to_ram ? EDU_DMA_TO_RAM : 0) |
		  (job->with_irq ? EDU_DMA_IRQ : 0));
	return true;
}

/*
 * Keeps the device busy with liveness checks and factorials until the DMA
 * is done, or the timeout.  False, with the error reported, if it is not.
 */
static bool edu_dma_finish(const struct dma_job *job)
{
	uint64_t deadline = clock_ms() + DMA_TIMEOUT_MS;
	bool done, irq_ok = true;
	uint32_t cmd;

	for (;;) {
		let_interrupts_in();
		if (job->with_irq)
			done = irq_seen & EDU_IRQ_DMA;
		else
			done = !(edu_read(EDU_REG_DMA_CMD) & EDU_DMA_RUN);
		if (done || clock_ms() >= deadline)
			break;
		liveness();
		factorial(use_irq && (prng() & 1));
		progress();
		if (!busy)
			irq_wait();
	}

	if (job->with_irq) {
		if (done) {
			count.irq++;
		} else {
			report_missing_irq(dma_name(job), EDU_IRQ_DMA,
					   DMA_TIMEOUT_MS);
			irq_ok = false;
		}
		irq_expected &= ~EDU_IRQ_DMA;
		irq_seen &= ~EDU_IRQ_DMA;
	}

	/* The device clears RUN before it raises the interrupt. */
	cmd = edu_read(EDU_REG_DMA_CMD);
	phase &= ~PHASE_DMA;
	if (cmd & EDU_DMA_RUN) {
		report_error("%s of 0x%x bytes at buffer offset 0x%x: not done after %u ms (cmd=0x%x)",
			     dma_name(job), job->len, job->off,
			     DMA_TIMEOUT_MS, cmd);
		return false;
	}
	check_unexpected_irqs();
	count.dma++;
	return irq_ok;
}

static bool edu_dma(const struct dma_job *job)
{
	return edu_dma_start(job) && edu_dma_finish(job);
}

static void fill_random(uint8_t *p, uint32_t len)
{
	while (len--)
		*p++ = (uint8_t)prng();
}

static void fill_byte(uint8_t *p, uint8_t val, uint32_t len)
{
	while (len--)
		*p++ = val;
}

/* Reports where @len bytes at @seen differ from @want; false if they do. */
static bool compare(const char *what, uint32_t base, const uint8_t *want,
		    const uint8_t *seen, uint32_t len)
{
	uint32_t i, first = 0, differ = 0;

	for (i = 0; i < len; i++) {
		if (want[i] != seen[i] && !differ++)
			first = i;
	}
	if (!differ)
		return true;
	report_error("%s: %u of %u bytes differ, first at 0x%x: expected 0x%02x, seen 0x%02x",
		     what, differ, len, base + first, want[first], seen[first]);
	return false;
}

/*
 * RAM -> device: @len bytes of a new pattern into the buffer at @off.
 * Only a transfer known to be complete updates the copy of the buffer;
 * after any other, what the buffer holds is unknown (false).
 */
static bool dma_to_device(uint32_t off, uint32_t len, bool with_irq)
{
	uint32_t slack = prng() % RAM_SLACK;
	struct dma_job job = {
		.to_ram = false,
		.with_irq = with_irq,
		.ram = (uint32_t)ram_src + slack,
		.off = off,
		.len = len,
	};
	uint32_t i;

	fill_random(ram_src + slack, len);
	if (!edu_dma(&job))
		return false;
	for (i = 0; i < len; i++)
		edu_buf_copy[off + i] = ram_src[slack + i];
	return true;
}

/*
 * Device -> RAM: @len bytes from @off into poisoned RAM, compared with the
 * copy of the buffer; the poison around them must be intact.
 */
static void dma_from_device(uint32_t off, uint32_t len, bool with_irq)
{
	uint32_t slack = prng() % RAM_SLACK;
	uint8_t poison = (uint8_t)prng();
	static uint8_t poison_ref[RAM_BUF_SIZE];
	struct dma_job job = {
		.to_ram = true,
		.with_irq = with_irq,
		.ram = (uint32_t)ram_dst + slack,
		.off = off,
		.len = len,
	};

	fill_byte(ram_dst, poison, RAM_BUF_SIZE);
	fill_byte(poison_ref, poison, RAM_BUF_SIZE);
	if (!edu_dma(&job))
		return;
	compare("DMA readback (offsets in edu's buffer)", off,
		edu_buf_copy + off, ram_dst + slack, len);
	compare("RAM before the readback's target (offsets in RAM buffer)", 0,
		poison_ref, ram_dst, slack);
	compare("RAM after the readback's target (offsets in RAM buffer)",
		slack + len, poison_ref, ram_dst + slack + len,
		RAM_BUF_SIZE - slack - len);
}

/* A random transfer that edu accepts: 0 < len, off + len < buffer size. */
static void random_range(uint32_t *off, uint32_t *len)
{
	*off = prng() % EDU_DMA_XFER_MAX;
	*len = 1 + prng() % (EDU_DMA_XFER_MAX - *off);
}

/* FNV-1a: what a spread page must hold, in 4 bytes. */
static uint32_t checksum(const uint8_t *p, uint32_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint8_t *spread_page(uint32_t page)
{
	return spread_area + page * PAGE_SIZE;
}

/* One transfer of edu's whole (known) buffer into a random spread page. */
static void spread_step(void)
{
	uint32_t page = prng() % SPREAD_PAGES;
	struct dma_job job = {
		.to_ram = true,
		.ram = (uint32_t)spread_page(page),
		.off = 0,
		.len = EDU_DMA_XFER_MAX,
	};

	if (!edu_buf_known)
		return;
	/* Unknown until the transfer is seen done. */
	spread_sum[page] = 0;
	if (!edu_dma(&job))
		return;
	spread_sum[page] = checksum(edu_buf_copy, job.len);
	spread_len[page] = job.len;
}

static void spread_verify(void)
{
	uint32_t page, got;

	for (page = 0; page < SPREAD_PAGES; page++) {
		if (!spread_sum[page])
			continue;
		got = checksum(spread_page(page), spread_len[page]);
		if (got != spread_sum[page])
			report_error("spread page %u at 0x%x: checksum 0x%08x, expected 0x%08x (what DMA last wrote there)",
				     page, (uint32_t)spread_page(page), got,
				     spread_sum[page]);
	}
	spread_passes++;
}

static void fatal(const char *why);

/*
 * The spread pages start at the first page after the program; all RAM
 * from there to 64 KiB below its top is filled with non-zero bytes.
 */
static void spread_init(const struct multiboot_info *mbi)
{
	uint32_t start = ((uint32_t)_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint32_t end = start + SPREAD_PAGES * PAGE_SIZE, top, *w;

	if (!mbi || !(mbi->flags & MULTIBOOT_INFO_MEMORY))
		fatal("spread: the loader gave no memory size");
	top = 0x100000 + mbi->mem_upper * 1024 - 0x10000;
	if (end > top || end > EDU_DMA_RAM_LIMIT)
		fatal("spread: not enough RAM below edu's DMA limit");
	spread_area = (uint8_t *)start;
	for (w = (uint32_t *)start; (uint32_t)w < top; w++)
		*w = 0xa5a5a5a5u ^ (uint32_t)w;
	kprintf("workload: spread: %u pages at 0x%08x, RAM filled up to 0x%08x\n",
		SPREAD_PAGES, start, top);
}

static void iteration(void)
{
	uint32_t off, len;
	bool odd = count.iter & 1;

	count.iter++;
	/* At start, and after a failed transfer: rewrite all of it. */
	if (!edu_buf_known) {
		edu_buf_known = dma_to_device(0, EDU_DMA_XFER_MAX, false);
		if (!edu_buf_known)
			return;
	}
	random_range(&off, &len);
	edu_buf_known = dma_to_device(off, len, odd && use_irq);
	if (!edu_buf_known)
		return;
	random_range(&off, &len);
	dma_from_device(off, len, !odd && use_irq);
	if (spread) {
		spread_step();
		if (count.iter % SPREAD_VERIFY_EVERY == 0)
			spread_verify();
	}
	progress();
}

static void fatal(const char *why)
{
	kprintf("workload: FATAL %s\n", why);
	halt_forever();
}

static bool dma_idle(void)
{
	return !(edu_read(EDU_REG_DMA_CMD) & EDU_DMA_RUN);
}

/* Leaves the device idle with nothing pending, whatever it was doing. */
static void edu_quiesce(void)
{
	uint32_t pending;

	edu_write(EDU_REG_STATUS, 0);
	if (!wait_for(fact_done_polled, FACT_TIMEOUT_MS, false))
		report_error("at start: factorial still computing (status=0x%x)",
			     edu_read(EDU_REG_STATUS));
	if (!wait_for(dma_idle, DMA_TIMEOUT_MS, true))
		report_error("at start: DMA still running (cmd=0x%x)",
			     edu_read(EDU_REG_DMA_CMD));
	pending = edu_read(EDU_REG_IRQ_STATUS);
	if (pending)
		edu_write(EDU_REG_IRQ_ACK, pending);
}

static void setup_device(void)
{
	struct pci_func f;
	uint32_t bar;
	uint16_t cmd;

	if (!pci_find(EDU_VENDOR, EDU_DEVICE, &f))
		fatal("no edu device (1234:11e8) on PCI bus 0");
	bar = pci_read32(f, PCI_BAR0);
	if ((bar & PCI_BAR_IO) || (bar & PCI_BAR_MEM_TYPE_MASK))
		fatal("edu BAR0 is not a 32-bit memory BAR");
	bar0 = bar & PCI_BAR_MEM_ADDR_MASK;
	if (!bar0)
		fatal("edu BAR0 has no address (the firmware did not assign it)");

	use_irq = irq_enable_msi(f);
	cmd = pci_read16(f, PCI_COMMAND);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (use_irq)
		cmd |= PCI_COMMAND_INTX_DISABLE;
	pci_write16(f, PCI_COMMAND, cmd);

	kprintf("workload: edu at 00:%02x.%u, BAR0 0x%08x, %s\n",
		f.dev, f.fn, bar0,
		use_irq ? "MSI" : "no MSI capability: polling only");
}

void workload_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct multiboot_info *mbi = NULL;
	uint32_t i, khz;
	bool ticking;

	console_init();
	kprintf("\nworkload: edu guest workload starting\n");
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC)
		mbi = (const struct multiboot_info *)mbi_addr;
	else
		kprintf("workload: note: not started by a multiboot loader (eax=0x%08x)\n",
			magic);
	busy = cmdline_has(mbi, "busy");
	spread = cmdline_has(mbi, "spread");
	if ((uint32_t)ram_dst + RAM_BUF_SIZE > EDU_DMA_RAM_LIMIT ||
	    (uint32_t)ram_src + RAM_BUF_SIZE > EDU_DMA_RAM_LIMIT)
		fatal("DMA buffers above edu's 28-bit DMA mask");

	khz = clock_init();
	irq_init();
	irq_set_handler(0, edu_interrupt);
	ticking = irq_start_wakeup_timer(WAKEUP_PERIOD_MS);
	kprintf("workload: TSC %u kHz, APIC timer %s, %s\n", khz,
		ticking ? "ticking" : "silent: polling instead of halting",
		busy ? "busy (no pacing)" : "paced");
	kprintf("workload: phase word at 0x%08x (0x%x: factorial pending, 0x%x: DMA in flight)\n",
		(uint32_t)&phase, PHASE_FACT, PHASE_DMA);

	if (spread)
		spread_init(mbi);

	fact_table[0] = 1;
	for (i = 1; i < FACT_INPUTS; i++)
		fact_table[i] = fact_table[i - 1] * i;	/* mod 2^32, like edu */

	setup_device();
	edu_quiesce();
	next_progress_ms = clock_ms() + PROGRESS_PERIOD_MS;
	for (;;)
		iteration();
}
