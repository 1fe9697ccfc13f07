// SPDX-License-Identifier: GPL-2.0
/*
 * edu-mediate (kernel/samples/edu/) seen from a VFIO client,
 * through libvfmig: both lab edu devices bound to vfio-pci-mediate and
 * served by edu-mediate, each in its own container with the same IOVA
 * layout of bounce memory.
 *
 *  - round trip, once per protocol (v2 data fd, also with PRE_COPY; v1
 *    region as QEMU 7.2 drives it, with and without mmap): edu#1 gets a distinctive state (liveness, a factorial with
 *    IRQ-on-factorial set and its completion pending in irq_status, another
 *    irq_status bit, a pattern in the DMA buffer put there by DMA, the DMA
 *    registers, a last command buffer->RAM), edu#2 another one; edu#1 is
 *    saved and loaded into edu#2, which must then read back edu#1's state
 *    (the buffer by DMA into user memory), raise its pending interrupt only
 *    when it enters RUNNING, and no bounce memory of either side may have
 *    changed;
 *  - a DMA command whose buffer range would make QEMU's edu abort gets
 *    EINVAL, and the device (and QEMU) lives on;
 *  - the register page cannot be mmapped, the rest of BAR0 can;
 *  - VFIO_DEVICE_IOEVENTFD on BAR0 is refused (EOPNOTSUPP): its writes
 *    would bypass the checks; QEMU lives on;
 *  - the mediator's reset: FLAG_RESET, registers back to power-on values,
 *    migration RUNNING, also from STOP (with a loaded state pending, which
 *    is dropped) and from ERROR;
 *  - STOP while a DMA is in flight waits for it: the transfer's source
 *    page is unmapped right after STOP, and the saved buffer (captured
 *    through another page) still holds the transfer's data;
 *  - writes that start work are refused while the device is stopped;
 *  - a device that did no DMA in its open migrates its registers and the
 *    destination's buffer is left alone;
 *  - the source reads back its registers after a save, its last command
 *    RAM->buffer included, except 0x98's IRQ bit, which the save clears
 *    (as the mediator documents);
 *  - the save fails (EFAULT) rather than drop the buffer when no page the
 *    device's DMA went through is still mapped for read and write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"
#include "edu_fixture.h"

#define PAGE 4096u
/* Bounce memory, the same IOVA layout for both devices. */
#define BOUNCE_IOVA 0x200000ull
#define BOUNCE_PAGES 16u
#define BOUNCE_LEN (BOUNCE_PAGES * PAGE)
#define PG_SOURCE 0	/* pattern DMA'd into the buffer */
#define PG_CHECK 1	/* edu#1's sanity readback */
#define PG_READBACK 14	/* edu#2's buffer after the migration */
/* Pages mapped one by one, after the bounce memory. */
#define EXTRA_IOVA 0x400000ull

/* --- registers ------------------------------------------------------------ */

static void factorial(struct vfmig_device *dev, uint32_t n)
{
	edu_wr(dev, EDU_REG_FACT, n);
	edu_wait_clear(dev, EDU_REG_STATUS, EDU_STATUS_COMPUTING);
}

struct edu_regs {
	uint32_t liveness, fact, status, irq_status, src, dst, cnt, cmd;
};

static void read_regs(struct vfmig_device *dev, struct edu_regs *r)
{
	r->liveness = edu_rd(dev, EDU_REG_LIVENESS);
	r->fact = edu_rd(dev, EDU_REG_FACT);
	r->status = edu_rd(dev, EDU_REG_STATUS);
	r->irq_status = edu_rd(dev, EDU_REG_IRQ_STATUS);
	r->src = edu_rd(dev, EDU_REG_DMA_SRC);
	r->dst = edu_rd(dev, EDU_REG_DMA_DST);
	r->cnt = edu_rd(dev, EDU_REG_DMA_CNT);
	r->cmd = edu_rd(dev, EDU_REG_DMA_CMD);
}

static void expect_regs(const char *what, const struct edu_regs *got,
			const struct edu_regs *want)
{
	if (!memcmp(got, want, sizeof(*got)))
		return;
	test_log("%s: register   got        want", what);
#define SHOW(f) test_log("  %-10s %#010x %#010x%s", #f, got->f, want->f, \
			 got->f == want->f ? "" : "  <--")
	SHOW(liveness);
	SHOW(fact);
	SHOW(status);
	SHOW(irq_status);
	SHOW(src);
	SHOW(dst);
	SHOW(cnt);
	SHOW(cmd);
#undef SHOW
	FAIL("%s: registers differ", what);
}

/* --- setup --------------------------------------------------------------- */

struct side {
	struct vfmig_device *dev;
	uint8_t *mem;		/* BOUNCE_LEN bytes at BOUNCE_IOVA */
};

static uint64_t iova_of(unsigned int page)
{
	return BOUNCE_IOVA + (uint64_t)page * PAGE;
}

static uint8_t *page_of(const struct side *s, unsigned int page)
{
	return s->mem + (size_t)page * PAGE;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void open_side(const char *bdf, struct side *s, uint32_t seed)
{
	void *mem;

	s->dev = mg_open(bdf);
	MG_OK(s->dev, vfmig_dma_alloc(s->dev, BOUNCE_IOVA, BOUNCE_LEN, &mem));
	s->mem = mem;
	fill(s->mem, BOUNCE_LEN, seed);
	MG_OK(s->dev, vfmig_enable_mem_and_dma(s->dev));
	mt_expect_mediator(bdf, EDU_MEDIATOR);
}

/* Both edu devices on vfio-pci-mediate, edu-mediate loaded, opened. */
static void setup_two(struct side *a, struct side *b)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];

	edu_setup_pair(bdf_a, bdf_b);
	open_side(bdf_a, a, 0x1234);
	open_side(bdf_b, b, 0xabcd);
}

/*
 * Puts a recognisable pattern into the device's buffer by DMA
 * RAM->buffer from the source page; @pattern receives the 4095 bytes.
 */
static void load_buffer(const struct side *s, uint32_t seed,
			uint8_t pattern[EDU_DMA_XFER_MAX])
{
	fill(page_of(s, PG_SOURCE), EDU_DMA_XFER_MAX, seed);
	memcpy(pattern, page_of(s, PG_SOURCE), EDU_DMA_XFER_MAX);
	edu_dma(s->dev, iova_of(PG_SOURCE), EDU_DMA_BUF, EDU_DMA_XFER_MAX, 0);
}

/* Reads the device's buffer by DMA buffer->RAM into a page of memory. */
static void read_buffer(const struct side *s, unsigned int page,
			uint8_t out[EDU_DMA_XFER_MAX])
{
	memset(page_of(s, page), 0xee, PAGE);
	edu_dma(s->dev, EDU_DMA_BUF, iova_of(page), EDU_DMA_XFER_MAX, EDU_DMA_TO_RAM);
	memcpy(out, page_of(s, page), EDU_DMA_XFER_MAX);
}

struct look {
	uint32_t liveness;	/* written; reads back inverted */
	uint32_t fact_input;
	bool irq_on_fact;
	uint32_t raise;		/* written to 0x60 */
	uint32_t src, dst, cnt;	/* left in the DMA registers */
	bool last_to_ram;	/* the last transfer went buffer->RAM */
	uint32_t seed;		/* of the buffer pattern */
};

/* Gives the device the state @lk describes; @pattern gets its buffer. */
static void give_state(const struct side *s, const struct look *lk,
		       uint8_t pattern[EDU_DMA_XFER_MAX])
{
	struct vfmig_device *dev = s->dev;

	/* edu keeps its registers across opens: start from a known place. */
	edu_wr(dev, EDU_REG_IRQ_ACK, ~0u);
	load_buffer(s, lk->seed, pattern);
	if (lk->last_to_ram) {
		/* Also proves the DMA path works both ways. */
		edu_dma(dev, EDU_DMA_BUF, iova_of(PG_CHECK), 0x100, EDU_DMA_TO_RAM);
		ASSERT_MEM_EQ(page_of(s, PG_CHECK), pattern, 0x100);
	}
	edu_wr(dev, EDU_REG_LIVENESS, lk->liveness);
	edu_wr(dev, EDU_REG_STATUS, lk->irq_on_fact ? EDU_STATUS_IRQFACT : 0);
	factorial(dev, lk->fact_input);
	if (lk->raise)
		edu_wr(dev, EDU_REG_IRQ_RAISE, lk->raise);
	edu_wr(dev, EDU_REG_DMA_SRC, lk->src);
	edu_wr(dev, EDU_REG_DMA_DST, lk->dst);
	edu_wr(dev, EDU_REG_DMA_CNT, lk->cnt);
}

static uint32_t fact_u32(uint32_t n)
{
	uint32_t r = 1;

	while (n)
		r *= n--;
	return r;
}

static void expected_regs(const struct look *lk, struct edu_regs *r)
{
	r->liveness = ~lk->liveness;
	r->fact = fact_u32(lk->fact_input);
	r->status = lk->irq_on_fact ? EDU_STATUS_IRQFACT : 0;
	r->irq_status = (lk->irq_on_fact ? EDU_IRQ_FACT : 0) | lk->raise;
	r->src = lk->src;
	r->dst = lk->dst;
	r->cnt = lk->cnt;
	r->cmd = lk->last_to_ram ? EDU_DMA_TO_RAM : 0;
}

/* A page of its own, mapped for the device at @iova (@flags VFMIG_DMA_*). */
static uint8_t *map_page(struct vfmig_device *dev, uint64_t iova,
			 unsigned int flags)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	MG_OK(dev, vfmig_dma_map(dev, p, iova, PAGE, flags));
	return p;
}

/* --- interrupts ------------------------------------------------------------ */

/* An eventfd for edu's INTx; its pending count is read with irq_count(). */
static int intx_eventfd(struct vfmig_device *dev)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	ASSERT_OK(fd);
	MG_OK(dev, vfmig_irq_set_eventfds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
					  &fd));
	return fd;
}

static uint64_t irq_count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) < 0) {
		ASSERT_EQ(errno, EAGAIN);
		return 0;
	}
	return n;
}

/* --- the round trip -------------------------------------------------------- */

/*
 * v2: RUNNING -> STOP_COPY; v2 with PRE_COPY first; v1 as QEMU 7.2 with
 * the data section mmapped; v1 with x-no-mmap (8-byte preads) and two
 * pre-copy rounds in RUNNING|SAVING.
 */
enum proto { PROTO_V2, PROTO_V2_PRECOPY, PROTO_V1, PROTO_V1_PREAD };

static bool is_v2(enum proto p)
{
	return p == PROTO_V2 || p == PROTO_V2_PRECOPY;
}

static struct vfmig_v1_options v1_options(enum proto p)
{
	struct vfmig_v1_options opt = { .access = VFMIG_V1_AUTO };

	if (p == PROTO_V1_PREAD) {
		opt.access = VFMIG_V1_PREAD;
		opt.precopy_rounds = 2;
	}
	return opt;
}

static const struct look look_a = {
	.liveness = 0x5a5a1234,
	.fact_input = 10,
	.irq_on_fact = true,
	.raise = 0x00010000,
	.src = 0x12340,
	.dst = 0x40abc,
	.cnt = 0x123,
	.last_to_ram = true,
	.seed = 0xfeed,
};

static const struct look look_b = {
	.liveness = 0x0badf00d,
	.fact_input = 5,
	.irq_on_fact = false,
	.raise = 0x00000200,
	.src = 0x777,
	.dst = 0x40001,
	.cnt = 0x10,
	.last_to_ram = false,
	.seed = 0xbeef,
};

static void save(const struct side *s, enum proto p, struct mg_buf *out)
{
	if (is_v2(p)) {
		mg_save(s->dev, out, p == PROTO_V2_PRECOPY);
	} else {
		struct vfmig_v1_options opt = v1_options(p);

		mg_v1_save(s->dev, &opt, out);
	}
	test_log("saved %zu bytes from %s", out->len, vfmig_bdf(s->dev));
}

static void set_command(struct vfmig_device *dev, bool on)
{
	uint32_t cmd = 0;
	const uint32_t bits = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;

	MG_OK(dev, vfmig_config_read(dev, PCI_COMMAND, 2, &cmd));
	MG_OK(dev, vfmig_config_write(dev, PCI_COMMAND, 2,
				      on ? cmd | bits : cmd & ~bits));
}

/*
 * Loads @st and takes the device to the state just before RUNNING: v2
 * RESUMING -> STOP -> RUNNING_P2P; v1 as QEMU 7.2's destination:
 * command register cleared (QEMU's reset), RESUMING, data, command
 * register restored (QEMU loads config space after device data).
 */
static void load_until_running(const struct side *s, enum proto p,
			       const struct mg_buf *st)
{
	struct vfmig_device *dev = s->dev;

	if (is_v2(p)) {
		enum mg_load_step at;
		int ret = mg_load(dev, st->data, st->len, &at);

		if (ret)
			FAIL("load failed at step %d: %s (%s)", at,
			     strerror(-ret), vfmig_strerror(dev));
		MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING_P2P));
	} else {
		struct vfmig_v1_options opt = v1_options(p);
		uint64_t bytes = 0;
		int fd = mg_memfd(st->data, st->len);

		set_command(dev, false);
		MG_OK(dev, vfmig_v1_load(dev, fd, &opt, &bytes));
		close(fd);
		ASSERT_EQ(bytes, st->len);
		set_command(dev, true);
	}
}

static void enter_running(const struct side *s, enum proto p)
{
	if (is_v2(p))
		MG_OK(s->dev, vfmig_mig_set_state(s->dev, VFMIG_STATE_RUNNING));
	else
		/* QEMU 7.2 on VM start: mask ~7, RUNNING. */
		MG_OK(s->dev, vfmig_v1_set_state(s->dev, ~VFMIG_V1_MASK,
						 VFMIG_V1_RUNNING));
}

static void round_trip(enum proto p)
{
	struct side a, b;
	struct edu_regs want, got;
	struct mg_buf st = { 0 };
	uint8_t pattern_a[EDU_DMA_XFER_MAX], pattern_b[EDU_DMA_XFER_MAX];
	uint8_t buf[EDU_DMA_XFER_MAX];
	uint8_t *mem_a, *mem_b;
	int efd;

	setup_two(&a, &b);
	give_state(&a, &look_a, pattern_a);
	give_state(&b, &look_b, pattern_b);
	expected_regs(&look_a, &want);
	read_regs(a.dev, &got);
	expect_regs("edu#1 before the save", &got, &want);

	/* edu#2's interrupts: none pending now, watched from here on. */
	edu_wr(b.dev, EDU_REG_IRQ_ACK, ~0u);
	efd = intx_eventfd(b.dev);
	mt_sleep_ms(50);
	ASSERT_EQ(irq_count(efd), 0);

	mem_a = malloc(BOUNCE_LEN);
	mem_b = malloc(BOUNCE_LEN);
	ASSERT_TRUE(mem_a && mem_b);
	memcpy(mem_a, a.mem, BOUNCE_LEN);
	memcpy(mem_b, b.mem, BOUNCE_LEN);

	save(&a, p, &st);
	/* The save left edu#1 as it was (and its memory). */
	read_regs(a.dev, &got);
	expect_regs("edu#1 after the save", &got, &want);
	ASSERT_MEM_EQ(a.mem, mem_a, BOUNCE_LEN);

	load_until_running(&b, p, &st);
	if (is_v2(p)) {
		/* RUNNING_P2P: everything but the interrupt status. */
		struct edu_regs quiet = want;

		quiet.irq_status = 0;
		read_regs(b.dev, &got);
		expect_regs("edu#2 in RUNNING_P2P", &got, &quiet);
	}
	mt_sleep_ms(50);
	ASSERT_EQ(irq_count(efd), 0);

	enter_running(&b, p);
	mt_sleep_ms(50);
	ASSERT_GE(irq_count(efd), 1);
	read_regs(b.dev, &got);
	expect_regs("edu#2 after the load", &got, &want);

	/* No trace of the mediator's transfers in either side's memory. */
	ASSERT_MEM_EQ(a.mem, mem_a, BOUNCE_LEN);
	ASSERT_MEM_EQ(b.mem, mem_b, BOUNCE_LEN);

	read_buffer(&b, PG_READBACK, buf);
	ASSERT_MEM_EQ(buf, pattern_a, EDU_DMA_XFER_MAX);

	/* edu#1 can go on running with its own state. */
	enter_running(&a, p);
	read_regs(a.dev, &got);
	expect_regs("edu#1 running again", &got, &want);
	read_buffer(&a, PG_READBACK, buf);
	ASSERT_MEM_EQ(buf, pattern_a, EDU_DMA_XFER_MAX);

	MG_OK(b.dev, vfmig_irq_disable(b.dev, VFIO_PCI_INTX_IRQ_INDEX));
	close(efd);
	free(mem_a);
	free(mem_b);
	mg_buf_free(&st);
}

TEST_NAMED(round_trip_v2, "edu.round_trip_v2", 300)
{
	round_trip(PROTO_V2);
}

TEST_NAMED(round_trip_v2_precopy, "edu.round_trip_v2_precopy", 300)
{
	round_trip(PROTO_V2_PRECOPY);
}

TEST_NAMED(round_trip_v1, "edu.round_trip_v1", 300)
{
	round_trip(PROTO_V1);
}

TEST_NAMED(round_trip_v1_pread, "edu.round_trip_v1_pread", 300)
{
	round_trip(PROTO_V1_PREAD);
}

/* --- the rest ---------------------------------------------------------------- */

TEST_NAMED(bad_dma_range, "edu.bad_dma_range", 120)
{
	static const struct {
		uint32_t src, dst, cnt, cmd;
	} bad[] = {
		{ 0x200000, 0x41000, 1, 0 },		/* past the buffer */
		{ 0x200000, 0x40000, 0x1000, 0 },	/* ends at its end */
		{ 0x200000, 0x40800, 0x800, 0 },
		{ 0x200000, 0x3ffff, 2, 0 },		/* before it */
		{ 0x200000, 0x40000, 0, 0 },		/* nothing */
		{ 0x200000, 0, 0x10, 0 },
		{ 0x40000, 0x200000, 0x1000, EDU_DMA_TO_RAM },
		{ 0x3f000, 0x200000, 0x10, EDU_DMA_TO_RAM },
		{ 0x41000, 0x200000, 0x10, EDU_DMA_TO_RAM },
		{ 0xffffffff, 0x200000, 0x10, EDU_DMA_TO_RAM },
		/* A buffer-side destination is valid only RAM->buffer. */
		{ 0x200000, 0x40000, 0x10, EDU_DMA_TO_RAM },
	};
	struct side a, b;
	uint8_t pattern[EDU_DMA_XFER_MAX], buf[EDU_DMA_XFER_MAX];

	setup_two(&a, &b);
	load_buffer(&a, 0x5eed, pattern);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		edu_wr(a.dev, EDU_REG_DMA_SRC, bad[i].src);
		edu_wr(a.dev, EDU_REG_DMA_DST, bad[i].dst);
		edu_wr(a.dev, EDU_REG_DMA_CNT, bad[i].cnt);
		edu_wr_refused(a.dev, EDU_REG_DMA_CMD, bad[i].cmd | EDU_DMA_RUN, EINVAL);
		ASSERT_EQ(edu_rd(a.dev, EDU_REG_DMA_CMD) & EDU_DMA_RUN, 0);
	}
	/* Still alive, and so is the lab's QEMU; edges still work. */
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_ID), EDU_ID_VALUE);
	edu_dma(a.dev, iova_of(PG_SOURCE) + 0xfff, EDU_DMA_BUF + 0xfff - 1, 1, 0);
	edu_dma(a.dev, EDU_DMA_BUF + 0xffe, iova_of(PG_CHECK), 1, EDU_DMA_TO_RAM);
	ASSERT_EQ(page_of(&a, PG_CHECK)[0], page_of(&a, PG_SOURCE)[0xfff]);
	pattern[0xffe] = page_of(&a, PG_SOURCE)[0xfff];
	read_buffer(&a, PG_READBACK, buf);
	ASSERT_MEM_EQ(buf, pattern, EDU_DMA_XFER_MAX);
	/* An 8-byte write reaches the low half only, as with vfio-pci. */
	MG_OK(a.dev, vfmig_bar_write(a.dev, 0, EDU_REG_DMA_DST, 8,
				     0x100000000ull | 0x41000));
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_DMA_DST), 0x41000);
	edu_wr(a.dev, EDU_REG_DMA_CNT, 1);
	edu_wr_refused(a.dev, EDU_REG_DMA_CMD, EDU_DMA_RUN, EINVAL);
}

TEST_NAMED(register_page_mmap, "edu.register_page_mmap", 120)
{
	struct vfmig_region_info info;
	struct side a, b;
	void *map = MAP_FAILED;
	uint64_t off;
	int fd;

	setup_two(&a, &b);
	MG_OK(a.dev, vfmig_region_info(a.dev, 0, &info));
	ASSERT_TRUE(info.flags & VFMIG_REGION_MMAP);
	ASSERT_TRUE(info.has_sparse);
	ASSERT_EQ(info.nr_areas, 1);
	ASSERT_EQ(info.areas[0].offset, PAGE);
	ASSERT_EQ(info.areas[0].size, EDU_BAR0_SIZE - PAGE);

	fd = vfmig_device_fd(a.dev);
	off = info.offset;
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)off);
	ASSERT_TRUE(map == MAP_FAILED);
	ASSERT_EQ(errno, EACCES);
	map = mmap(NULL, EDU_BAR0_SIZE, PROT_READ, MAP_SHARED, fd, (off_t)off);
	ASSERT_TRUE(map == MAP_FAILED);

	map = mmap(NULL, EDU_BAR0_SIZE - PAGE, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, (off_t)(off + PAGE));
	ASSERT_TRUE(map != MAP_FAILED);
	/* edu decodes nothing past its registers: all ones. */
	ASSERT_EQ(*(volatile uint32_t *)map, 0xffffffffu);
	ASSERT_OK(munmap(map, EDU_BAR0_SIZE - PAGE));

	/* The library's own BAR access uses pread for the register page. */
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_ID), EDU_ID_VALUE);
}

/* The registers at power-on; 0x98's direction only a transfer can change. */
static void expect_power_on(struct vfmig_device *dev, const char *what)
{
	static const struct edu_regs power_on = { 0 };
	struct edu_regs got;

	read_regs(dev, &got);
	got.cmd &= ~EDU_DMA_TO_RAM;
	expect_regs(what, &got, &power_on);
}

TEST_NAMED(reset, "edu.reset", 300)
{
	struct vfmig_device_info info;
	struct mg_buf st = { 0 };
	struct side a, b;
	uint8_t pattern[EDU_DMA_XFER_MAX];
	int ret;

	setup_two(&a, &b);
	MG_OK(a.dev, vfmig_device_info(a.dev, &info));
	ASSERT_TRUE(info.flags & VFIO_DEVICE_FLAGS_RESET);
	ASSERT_TRUE(vfmig_reset_supported(a.dev));

	give_state(&a, &look_a, pattern);
	edu_wr(a.dev, EDU_REG_DMA_CMD, 0);	/* ignored by edu: no RUN */
	MG_OK(a.dev, vfmig_reset(a.dev));
	expect_power_on(a.dev, "after reset");
	mg_expect_state(a.dev, VFMIG_STATE_RUNNING);

	/*
	 * With memory decode off (as QEMU resets a device) the registers
	 * are reset on the next access.
	 */
	give_state(&a, &look_b, pattern);
	set_command(a.dev, false);
	MG_OK(a.dev, vfmig_reset(a.dev));
	set_command(a.dev, true);
	expect_power_on(a.dev, "after reset with decode off");

	/* From STOP (after a save): RUNNING again, registers reset. */
	give_state(&a, &look_a, pattern);
	mg_save(a.dev, &st, false);
	MG_OK(a.dev, vfmig_reset(a.dev));
	mg_expect_state(a.dev, VFMIG_STATE_RUNNING);
	expect_power_on(a.dev, "after reset from STOP");

	/* From STOP with a loaded state still to apply: it is dropped. */
	give_state(&b, &look_b, pattern);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), 0);
	mg_expect_state(b.dev, VFMIG_STATE_STOP);
	MG_OK(b.dev, vfmig_reset(b.dev));
	mg_expect_state(b.dev, VFMIG_STATE_RUNNING);
	expect_power_on(b.dev, "after reset from STOP with a state loaded");

	/* From ERROR (a stream cut short). */
	give_state(&b, &look_b, pattern);
	ret = mg_load(b.dev, st.data, st.len - 1, NULL);
	ASSERT_LT(ret, 0);
	mg_expect_state(b.dev, VFMIG_STATE_ERROR);
	MG_OK(b.dev, vfmig_reset(b.dev));
	mg_expect_state(b.dev, VFMIG_STATE_RUNNING);
	expect_power_on(b.dev, "after reset from ERROR");
	/* And it works: a transfer, a factorial. */
	edu_dma(b.dev, iova_of(PG_SOURCE), EDU_DMA_BUF, 16, 0);
	factorial(b.dev, 4);
	ASSERT_EQ(edu_rd(b.dev, EDU_REG_FACT), 24);
	mg_buf_free(&st);
}

TEST_NAMED(stop_drains_dma, "edu.stop_drains_dma", 300)
{
	struct side a, b;
	struct mg_buf st = { 0 };
	uint8_t old[EDU_DMA_XFER_MAX], fresh[EDU_DMA_XFER_MAX], buf[EDU_DMA_XFER_MAX];
	uint8_t *src, *mem_a;
	uint64_t t0;

	setup_two(&a, &b);
	/* Remembers the bounce source page: the save borrows it below. */
	load_buffer(&a, 0x01d, old);
	load_buffer(&b, 0x0b0, buf);

	/*
	 * A transfer of a new pattern from a page of its own, still in
	 * flight (100 ms) at STOP.  The page is unmapped as soon as STOP
	 * returns: a transfer that had not run yet would find it gone.
	 */
	src = map_page(a.dev, EXTRA_IOVA, 0);
	fill(src, EDU_DMA_XFER_MAX, 0xf7e5);
	memcpy(fresh, src, EDU_DMA_XFER_MAX);
	ASSERT_NE(memcmp(old, fresh, EDU_DMA_XFER_MAX), 0);
	edu_wr(a.dev, EDU_REG_DMA_SRC, (uint32_t)EXTRA_IOVA);
	edu_wr(a.dev, EDU_REG_DMA_DST, EDU_DMA_BUF);
	edu_wr(a.dev, EDU_REG_DMA_CNT, EDU_DMA_XFER_MAX);
	t0 = mt_now_ms();
	edu_wr(a.dev, EDU_REG_DMA_CMD, EDU_DMA_RUN);
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_DMA_CMD) & EDU_DMA_RUN, EDU_DMA_RUN);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_STOP));
	MG_OK(a.dev, vfmig_dma_unmap(a.dev, EXTRA_IOVA, PAGE));
	test_log("STOP took %llu ms with a transfer in flight",
		 (unsigned long long)(mt_now_ms() - t0));
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_DMA_CMD) & EDU_DMA_RUN, 0);

	/* The save goes through the bounce page, and gives it back as was. */
	mem_a = malloc(BOUNCE_LEN);
	ASSERT_TRUE(mem_a != NULL);
	memcpy(mem_a, a.mem, BOUNCE_LEN);
	mg_save(a.dev, &st, false);
	ASSERT_MEM_EQ(a.mem, mem_a, BOUNCE_LEN);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), 0);
	MG_OK(b.dev, vfmig_mig_set_state(b.dev, VFMIG_STATE_RUNNING));
	read_buffer(&b, PG_READBACK, buf);
	ASSERT_MEM_EQ(buf, fresh, EDU_DMA_XFER_MAX);
	free(mem_a);
	munmap(src, PAGE);
	mg_buf_free(&st);
}

TEST_NAMED(stopped_refuses_work, "edu.stopped_refuses_work", 120)
{
	struct side a, b;

	setup_two(&a, &b);
	edu_wr(a.dev, EDU_REG_DMA_SRC, (uint32_t)iova_of(PG_SOURCE));
	edu_wr(a.dev, EDU_REG_DMA_DST, EDU_DMA_BUF);
	edu_wr(a.dev, EDU_REG_DMA_CNT, 16);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_RUNNING_P2P));
	edu_wr_refused(a.dev, EDU_REG_DMA_CMD, EDU_DMA_RUN, EBUSY);
	edu_wr_refused(a.dev, EDU_REG_FACT, 3, EBUSY);
	edu_wr_refused(a.dev, EDU_REG_IRQ_RAISE, 1, EBUSY);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_STOP));
	edu_wr_refused(a.dev, EDU_REG_DMA_CMD, EDU_DMA_RUN, EBUSY);
	edu_wr_refused(a.dev, EDU_REG_FACT, 3, EBUSY);
	edu_wr_refused(a.dev, EDU_REG_IRQ_RAISE, 1, EBUSY);
	/* Other writes change no more than the user asks. */
	edu_wr(a.dev, EDU_REG_LIVENESS, 7);
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_LIVENESS), ~7u);
	MG_OK(a.dev, vfmig_mig_set_state(a.dev, VFMIG_STATE_RUNNING));
	factorial(a.dev, 3);
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_FACT), 6);
	edu_dma(a.dev, iova_of(PG_SOURCE), EDU_DMA_BUF, 16, 0);
}

TEST_NAMED(no_dma_seen, "edu.no_dma_seen", 300)
{
	struct side a, b;
	struct mg_buf st = { 0 };
	struct edu_regs got, want;
	uint8_t pattern_b[EDU_DMA_XFER_MAX], buf[EDU_DMA_XFER_MAX];
	const struct look lk = { .liveness = 0x600d, .fact_input = 12 };

	setup_two(&a, &b);
	/* edu#1 does no DMA in this open: its buffer cannot be captured. */
	edu_wr(a.dev, EDU_REG_STATUS, 0);
	edu_wr(a.dev, EDU_REG_IRQ_ACK, ~0u);
	edu_wr(a.dev, EDU_REG_LIVENESS, lk.liveness);
	factorial(a.dev, lk.fact_input);
	expected_regs(&lk, &want);
	want.cmd = edu_rd(a.dev, EDU_REG_DMA_CMD);
	want.src = edu_rd(a.dev, EDU_REG_DMA_SRC);
	want.dst = edu_rd(a.dev, EDU_REG_DMA_DST);
	want.cnt = edu_rd(a.dev, EDU_REG_DMA_CNT);
	load_buffer(&b, 0x4242, pattern_b);

	mg_save(a.dev, &st, false);
	ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), 0);
	MG_OK(b.dev, vfmig_mig_set_state(b.dev, VFMIG_STATE_RUNNING));
	read_regs(b.dev, &got);
	/* The destination's own last command stays: no transfer was made. */
	got.cmd = want.cmd;
	expect_regs("edu#2", &got, &want);
	read_buffer(&b, PG_READBACK, buf);
	ASSERT_MEM_EQ(buf, pattern_b, EDU_DMA_XFER_MAX);
	mg_buf_free(&st);
}

TEST_NAMED(ioeventfd_refused, "edu.ioeventfd_refused", 120)
{
	struct vfio_device_ioeventfd ioe = { .argsz = sizeof(ioe) };
	struct vfmig_region_info info;
	struct side a, b;
	uint64_t one = 1;
	int efd, ret;

	setup_two(&a, &b);
	MG_OK(a.dev, vfmig_region_info(a.dev, 0, &info));
	/* A command QEMU's edu aborts on: buffer side past its end. */
	edu_wr(a.dev, EDU_REG_DMA_SRC, (uint32_t)iova_of(PG_SOURCE));
	edu_wr(a.dev, EDU_REG_DMA_DST, EDU_DMA_BUF + 0x1000);
	edu_wr(a.dev, EDU_REG_DMA_CNT, 1);

	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_OK(efd);
	ioe.flags = VFIO_DEVICE_IOEVENTFD_32;
	ioe.offset = info.offset + EDU_REG_DMA_CMD;
	ioe.data = EDU_DMA_RUN;
	ioe.fd = efd;
	ret = ioctl(vfmig_device_fd(a.dev), VFIO_DEVICE_IOEVENTFD, &ioe);
	if (ret != -1 || errno != EOPNOTSUPP)
		FAIL("VFIO_DEVICE_IOEVENTFD on BAR0 gave %d (%s), expected EOPNOTSUPP",
		     ret, ret ? strerror(errno) : "taken");
	/* Nothing listens: the command never reaches the device. */
	ASSERT_EQ(write(efd, &one, sizeof(one)), (ssize_t)sizeof(one));
	mt_sleep_ms(300);
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_ID), EDU_ID_VALUE);
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_DMA_CMD) & EDU_DMA_RUN, 0);
	/* Through ->rw the same write is refused. */
	edu_wr_refused(a.dev, EDU_REG_DMA_CMD, EDU_DMA_RUN, EINVAL);
	close(efd);
}

TEST_NAMED(source_after_save, "edu.source_after_save", 300)
{
	struct side a, b;
	struct mg_buf st = { 0 };
	struct edu_regs want, got;
	uint8_t pattern[EDU_DMA_XFER_MAX], buf[EDU_DMA_XFER_MAX];

	setup_two(&a, &b);
	/* look_b's last command: RAM->buffer, without IRQ. */
	give_state(&a, &look_b, pattern);
	expected_regs(&look_b, &want);
	read_regs(a.dev, &got);
	expect_regs("before the save", &got, &want);
	mg_save(a.dev, &st, false);
	read_regs(a.dev, &got);
	expect_regs("after the save", &got, &want);
	mg_to_running(a.dev);
	mg_buf_free(&st);

	/*
	 * A last command RAM->buffer with IRQ: the save's own transfers
	 * leave the IRQ bit clear, all the rest as it was.
	 */
	edu_dma(a.dev, iova_of(PG_SOURCE), EDU_DMA_BUF, EDU_DMA_XFER_MAX, EDU_DMA_IRQ);
	edu_wr(a.dev, EDU_REG_DMA_SRC, look_b.src);
	edu_wr(a.dev, EDU_REG_DMA_DST, look_b.dst);
	edu_wr(a.dev, EDU_REG_DMA_CNT, look_b.cnt);
	want.cmd = EDU_DMA_IRQ;
	want.irq_status |= EDU_IRQ_DMA;
	read_regs(a.dev, &got);
	expect_regs("before the second save", &got, &want);
	mg_save(a.dev, &st, false);
	want.cmd = 0;
	read_regs(a.dev, &got);
	expect_regs("after the second save", &got, &want);
	mg_to_running(a.dev);
	read_buffer(&a, PG_READBACK, buf);
	ASSERT_MEM_EQ(buf, pattern, EDU_DMA_XFER_MAX);
	mg_buf_free(&st);
}

TEST_NAMED(save_fails_unmapped_scratch, "edu.save_fails_unmapped_scratch", 300)
{
	struct side a, b;
	struct mg_buf st = { 0 };
	uint8_t *gone, *ro, gone_was[PAGE], ro_was[PAGE];
	int fd, ret;

	setup_two(&a, &b);
	/* The only DMA of this open: one page since unmapped, one read-only. */
	gone = map_page(a.dev, EXTRA_IOVA, 0);
	ro = map_page(a.dev, EXTRA_IOVA + PAGE, VFMIG_DMA_READ);
	fill(gone, PAGE, 0x90e);
	fill(ro, PAGE, 0x20);
	memcpy(gone_was, gone, PAGE);
	memcpy(ro_was, ro, PAGE);
	edu_dma(a.dev, (uint32_t)EXTRA_IOVA, EDU_DMA_BUF, 16, 0);
	edu_dma(a.dev, (uint32_t)(EXTRA_IOVA + PAGE), EDU_DMA_BUF, 16, 0);
	MG_OK(a.dev, vfmig_dma_unmap(a.dev, EXTRA_IOVA, PAGE));

	fd = memfd_create("edu-save", MFD_CLOEXEC);
	ASSERT_OK(fd);
	ret = vfmig_mig_save(a.dev, fd, NULL, NULL);
	close(fd);
	if (ret != -EFAULT)
		FAIL("save without a usable scratch page gave %d (%s), expected -EFAULT",
		     ret, ret ? vfmig_strerror(a.dev) : "success");
	ASSERT_MEM_EQ(ro, ro_was, PAGE);
	mg_to_running(a.dev);

	/* Mapped again, the page serves the next save. */
	MG_OK(a.dev, vfmig_dma_map(a.dev, gone, EXTRA_IOVA, PAGE, 0));
	mg_save(a.dev, &st, false);
	ASSERT_MEM_EQ(gone, gone_was, PAGE);
	ASSERT_MEM_EQ(ro, ro_was, PAGE);
	mg_to_running(a.dev);
	munmap(gone, PAGE);
	munmap(ro, PAGE);
	mg_buf_free(&st);
}

/*
 * A user loops loading a state edu-mediate refuses (its framing is fine,
 * its version is not): each load fails with EINVAL, and the kernel log
 * gets only the first few of the refusals.
 */
TEST_NAMED(refused_states_not_logged_each, "edu.refused_states_not_logged_each",
	   300)
{
	const unsigned int rounds = 100;
	struct side a, b;
	struct mg_buf st = { 0 };
	struct mg_stream layout;
	uint64_t mark;
	int lines;

	setup_two(&a, &b);
	mg_save(a.dev, &st, false);
	mg_stream_parse(st.data, st.len, &layout);
	/* struct edu_state starts with its version. */
	mg_put_le(st.data + layout.data_off[0] +
		  sizeof(struct vfio_pci_mediate_stream_record), 4, 99);
	mg_stream_reseal(st.data, st.len);

	mark = kmsg_mark();
	for (unsigned int i = 0; i < rounds; i++) {
		ASSERT_EQ(mg_load(b.dev, st.data, st.len, NULL), -EINVAL);
		MG_OK(b.dev, vfmig_reset(b.dev));
	}
	lines = kmsg_count_since(mark, vfmig_bdf(b.dev), NULL);
	test_log("%u refused states: %d kernel log lines name %s", rounds,
		 lines, vfmig_bdf(b.dev));
	ASSERT_LT(lines, 50);
	mg_buf_free(&st);
}
