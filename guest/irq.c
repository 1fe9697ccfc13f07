// SPDX-License-Identifier: GPL-2.0-only
/*
 * IDT, PIC, local APIC and MSI set-up, and the C side of interrupt entry.
 * Paging is off, so the local APIC's registers are reached at their
 * physical address.
 */
#include "boot.h"
#include "clock.h"
#include "console.h"
#include "io.h"
#include "irq.h"

#define PIC1_CMD		0x20
#define PIC1_DATA		0x21
#define PIC2_CMD		0xa0
#define PIC2_DATA		0xa1

#define MSR_APIC_BASE		0x1b
#define  APIC_BASE_ENABLE	(1u << 11)
#define  APIC_BASE_ADDR_MASK	0xfffff000u
#define APIC_ID			0x020
#define APIC_TPR		0x080
#define APIC_EOI		0x0b0
#define APIC_SVR		0x0f0
#define  APIC_SVR_ENABLE	0x100
#define APIC_LVT_TIMER		0x320
#define  APIC_TIMER_PERIODIC	(1u << 17)
#define  APIC_LVT_MASKED	(1u << 16)
#define APIC_TIMER_INIT		0x380
#define APIC_TIMER_DIVIDE	0x3e0
#define  APIC_DIVIDE_BY_16	0x3

/* An MSI to the local APIC: address 0xFEE<dest id>000, data = vector. */
#define MSI_ADDR_BASE		0xfee00000u
#define MSI_ADDR_DEST_SHIFT	12

struct idt_entry {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type;		/* 0x8e: present, ring 0, 32-bit interrupt gate */
	uint16_t offset_hi;
} __attribute__((packed));

static struct idt_entry idt[256];
static uint32_t apic_base;
static irq_handler_t dev_handler[NR_DEV_VECTORS];
static volatile uint32_t timer_ticks;
static bool timer_ok;

static uint32_t apic_read(uint32_t reg)
{
	return mmio_read32(apic_base + reg);
}

static void apic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(apic_base + reg, val);
}

static void idt_set(uint8_t vector, uint32_t handler)
{
	idt[vector] = (struct idt_entry){
		.offset_lo = handler & 0xffff,
		.selector = KERNEL_CS,
		.type = 0x8e,
		.offset_hi = handler >> 16,
	};
}

/*
 * Moves the PICs' vectors off the exception range (the BIOS leaves the
 * master at 0x08) and masks every line: all our interrupts go through the
 * local APIC.
 */
static void pic_remap_and_mask(void)
{
	outb(PIC1_CMD, 0x11);			/* ICW1: init, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, VEC_PIC_BASE_NUM);	/* ICW2: vector base */
	outb(PIC2_DATA, VEC_PIC_BASE_NUM + 8);
	outb(PIC1_DATA, 0x04);			/* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01);			/* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

void irq_init(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };
	int i;

	for (i = 0; i < 32; i++)
		idt_set(i, isr_exception_stubs[i]);
	idt_set(VEC_TIMER_NUM, (uint32_t)isr_stub_0x30);
	idt_set(VEC_DEV0_NUM, (uint32_t)isr_stub_0x40);
	idt_set(VEC_DEV1_NUM, (uint32_t)isr_stub_0x41);
	idt_set(VEC_DEV2_NUM, (uint32_t)isr_stub_0x42);
	idt_set(VEC_SPURIOUS_NUM, (uint32_t)isr_stub_0xff);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	pic_remap_and_mask();

	apic_base = (uint32_t)rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS_NUM);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
}

void irq_set_handler(unsigned int n, irq_handler_t handler)
{
	if (n < NR_DEV_VECTORS)
		dev_handler[n] = handler;
}

bool irq_start_wakeup_timer(uint32_t period_ms)
{
	uint32_t start;
	uint64_t deadline;

	/*
	 * The period is only nominal: QEMU's APIC timer counts at 1 GHz
	 * before the divider.  Nothing measures time with it; it only bounds
	 * how long a hlt can last.
	 */
	apic_write(APIC_TIMER_DIVIDE, APIC_DIVIDE_BY_16);
	apic_write(APIC_LVT_TIMER, APIC_TIMER_PERIODIC | VEC_TIMER_NUM);
	apic_write(APIC_TIMER_INIT, period_ms * (1000000000u / 16 / 1000));

	/* Ticking?  Otherwise irq_wait() must not hlt. */
	start = timer_ticks;
	deadline = clock_ms() + 50 * period_ms + 100;
	sti();
	while (timer_ticks - start < 2 && clock_ms() < deadline)
		;
	cli();
	timer_ok = timer_ticks - start >= 2;
	if (!timer_ok)
		apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	return timer_ok;
}

bool irq_enable_msi(struct pci_func f)
{
	uint8_t cap = pci_find_cap(f, PCI_CAP_ID_MSI);
	uint32_t dest = apic_read(APIC_ID) >> 24;
	uint16_t flags;

	if (!cap)
		return false;
	flags = pci_read16(f, cap + PCI_MSI_FLAGS);
	pci_write32(f, cap + PCI_MSI_ADDR_LO,
		    MSI_ADDR_BASE | dest << MSI_ADDR_DEST_SHIFT);
	if (flags & PCI_MSI_FLAGS_64BIT) {
		pci_write32(f, cap + PCI_MSI_ADDR_HI, 0);
		pci_write16(f, cap + PCI_MSI_DATA_64, VEC_DEV0_NUM);
	} else {
		pci_write16(f, cap + PCI_MSI_DATA_32, VEC_DEV0_NUM);
	}
	/* One vector (QSIZE 0), edge, fixed delivery. */
	flags &= ~PCI_MSI_FLAGS_QSIZE;
	pci_write16(f, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
	return true;
}

bool irq_enable_msix(struct pci_func f, unsigned int nvec, const char **why)
{
	uint8_t cap = pci_find_cap(f, PCI_CAP_ID_MSIX);
	uint32_t dest = apic_read(APIC_ID) >> 24, table, base, entry;
	uint16_t flags;
	unsigned int i;

	if (!cap) {
		*why = "no MSI-X capability";
		return false;
	}
	if (nvec > NR_DEV_VECTORS) {
		*why = "more vectors asked for than this program has";
		return false;
	}
	flags = pci_read16(f, cap + PCI_MSIX_FLAGS);
	if ((flags & PCI_MSIX_FLAGS_QSIZE) + 1u < nvec) {
		*why = "an MSI-X table smaller than the vectors asked for";
		return false;
	}
	table = pci_read32(f, cap + PCI_MSIX_TABLE);
	if (!pci_bar_addr(f, table & PCI_MSIX_TABLE_BIR, &base, why))
		return false;
	table = base + (table & ~(uint32_t)PCI_MSIX_TABLE_BIR);

	/*
	 * Enabled with the function masked while the entries change, so
	 * that no half-written entry can fire; entries are unmasked last.
	 */
	pci_write16(f, cap + PCI_MSIX_FLAGS,
		    flags | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (i = 0; i < nvec; i++) {
		entry = table + i * PCI_MSIX_ENTRY_SIZE;
		mmio_write32(entry + PCI_MSIX_ENTRY_CTRL, PCI_MSIX_ENTRY_MASKED);
		mmio_write32(entry + PCI_MSIX_ENTRY_ADDR_LO,
			     MSI_ADDR_BASE | dest << MSI_ADDR_DEST_SHIFT);
		mmio_write32(entry + PCI_MSIX_ENTRY_ADDR_HI, 0);
		mmio_write32(entry + PCI_MSIX_ENTRY_DATA, VEC_DEV0_NUM + i);
		mmio_write32(entry + PCI_MSIX_ENTRY_CTRL, 0);
	}
	pci_write16(f, cap + PCI_MSIX_FLAGS,
		    (flags & ~PCI_MSIX_FLAGS_MASKALL) | PCI_MSIX_FLAGS_ENABLE);
	return true;
}

void irq_wait(void)
{
	if (timer_ok) {
		sti_hlt();
		cli();
	} else {
		/* Let a pending interrupt in, then poll on. */
		sti();
		__asm__ volatile("pause" : : : "memory");
		cli();
	}
}

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range", "invalid opcode", "device not available",
	"double fault", "coprocessor overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check",
	"machine check", "SIMD error", "virtualization", "control protection",
};

void isr_dispatch(struct isr_frame *frame)
{
	switch (frame->vector) {
	case VEC_TIMER_NUM:
		timer_ticks++;
		apic_write(APIC_EOI, 0);
		return;
	case VEC_DEV0_NUM:
	case VEC_DEV1_NUM:
	case VEC_DEV2_NUM:
		if (dev_handler[frame->vector - VEC_DEV0_NUM])
			dev_handler[frame->vector - VEC_DEV0_NUM]();
		apic_write(APIC_EOI, 0);
		return;
	case VEC_SPURIOUS_NUM:
		return;		/* no EOI for the spurious vector */
	}
	/* An exception is a bug in this program: say where, and stop. */
	kprintf("workload: FATAL exception %u (%s) error=0x%x eip=0x%08x eflags=0x%x\n",
		frame->vector,
		frame->vector < 32 && exception_names[frame->vector] ?
			exception_names[frame->vector] : "reserved",
		frame->error, frame->eip, frame->eflags);
	halt_forever();
}
