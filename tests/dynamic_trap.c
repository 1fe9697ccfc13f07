// SPDX-License-Identifier: GPL-2.0
/*
 * Dynamic traps (include/uapi/linux/vfio_pci_mediate.h, section 3) on the
 * lab's edu devices served by edu-mediate, which declares its register
 * page trappable, offers it to clients that follow traps and traps it
 * while VFIO DMA logging runs or migration is away from RUNNING.
 *
 *  - unaware_never_mmaps: a client that never sets the notification
 *    eventfd gets no mmap of the register page, before, during and after
 *    a trap/untrap cycle, and reaches the registers by read/write.
 *  - follow_1000_with_accessor: libvfmig follows the traps while one
 *    thread writes and reads a register through the trap-following BAR
 *    accessor and another handles the notifications; the main thread
 *    traps and untraps 1000 times, or as many as it did in
 *    CYCLES_BUDGET_MS once past MIN_CYCLES (DMA logging start/stop, or
 *    PRE_COPY and back where the kernel offers no DMA logging: Linux
 *    6.12).  Every write
 *    must read back as written (edu's liveness register returns the
 *    inverse of the last value written), every access went through
 *    exactly one of mmap and read/write (both used), no acknowledgement
 *    timed out, and there was no SIGBUS (it would kill the test).
 *  - unacked_trap_is_zapped: an aware client that does not acknowledge:
 *    the trap comes in force after trap_ack_timeout_ms (set to 300 for
 *    the test), the kernel counts it, the client's mapping then gets
 *    SIGBUS and a new mmap EACCES; after the untrap the same mapping
 *    works again.
 *  - migration_traps: libvfmig in one thread: PRE_COPY traps the page
 *    (the single-threaded client pays the timeout, and the library
 *    follows before it returns), back to RUNNING offers it again.
 *  - migrate_after_mmap_dma: a DMA started through the mapping, unseen by
 *    the mediator, is still migrated (see the test).
 *  - sparse_areas_three_ranges: several ranges in one BAR, through the
 *    test mediator (see the test).
 *  - p2p_dma_map_like_stock: mapping BAR0 past the register page into
 *    the IOMMU, as QEMU does for peer-to-peer DMA, gives what stock
 *    vfio-pci gives (see the test); so does the register page while open.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_mediate.h>

#include "edu_fixture.h"
#include "harness.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"
#include "sysfs_attr.h"

#define PAGE 4096u
#define EDU_BAR0_SIZE (1u << 20)
#define EDU_ID_VALUE 0x010000edu
#define MEM_IOVA 0x1000000ull
#define MEM_LEN (64ull * PAGE)
#define P2P_IOVA 0x4000000ull	/* above MEM_IOVA + MEM_LEN */
#define CYCLES 1000
/*
 * follow_1000_with_accessor stops early once it has done MIN_CYCLES and
 * spent CYCLES_BUDGET_MS: in the 6.12 lab a cycle may take half a
 * second, nearly all of it a woken thread waiting to be scheduled
 * (docs/design.md, Dynamic traps), and 1000 of them came within 70 s of the
 * test's timeout.
 */
#define MIN_CYCLES 100
#define CYCLES_BUDGET_MS 240000
#define TIMEOUT_PARAM "/sys/module/vfio_pci_mediate/parameters/trap_ack_timeout_ms"
#define TEST_TIMEOUT_MS 300u
#define DEBUGFS_DIR "/sys/kernel/debug"
#define ACK_TIMEOUTS DEBUGFS_DIR "/vfio_pci_mediate/trap_ack_timeouts"

/* Traps that came in force without an acknowledgement so far (debugfs). */
static unsigned int ack_timeouts(void)
{
	struct statfs st;
	unsigned int n;
	FILE *f;

	if (statfs(DEBUGFS_DIR, &st) || st.f_type != DEBUGFS_MAGIC)
		ASSERT_OK(mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL));
	f = fopen(ACK_TIMEOUTS, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fscanf(f, "%u", &n), 1);
	fclose(f);
	return n;
}

static struct vfmig_device *open_edu(void)
{
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *dev;
	void *mem;

	edu_setup_pair(a, b);
	dev = mg_open(a);
	MG_OK(dev, vfmig_dma_alloc(dev, MEM_IOVA, MEM_LEN, &mem));
	MG_OK(dev, vfmig_enable_mem_and_dma(dev));
	mt_expect_mediator(a, EDU_MEDIATOR);
	return dev;
}

/*
 * Makes edu-mediate trap its register page, and returns once the trap is
 * in force: by starting VFIO DMA logging where the kernel offers it, else
 * (Debian's 6.12: no DMA log reports, so no logging offered) by entering
 * PRE_COPY, a save session.  mediator_untrap() undoes it.
 */
static void mediator_trap(struct vfmig_device *dev)
{
	struct vfmig_range range = { .iova = MEM_IOVA, .length = MEM_LEN };
	uint64_t page_size = PAGE;

	if (lab_kernel_reports_dma_log())
		MG_OK(dev, vfmig_dma_logging_start(dev, &range, 1,
						   &page_size));
	else
		MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_PRE_COPY));
}

static void mediator_untrap(struct vfmig_device *dev)
{
	if (lab_kernel_reports_dma_log())
		MG_OK(dev, vfmig_dma_logging_stop(dev));
	else
		MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING));
}

static void read_trap_info(struct vfmig_device *dev,
			   struct vfio_pci_mediate_trap_info *info)
{
	int index = vfmig_region_find(dev, VFIO_PCI_MEDIATE_REGION_TYPE,
				      VFIO_PCI_MEDIATE_REGION_SUBTYPE_TRAP);

	ASSERT_GE(index, 0);
	MG_OK(dev, vfmig_region_read(dev, (uint32_t)index, 0, info,
				     sizeof(*info)));
	ASSERT_EQ(info->version, VFIO_PCI_MEDIATE_TRAP_VERSION);
	ASSERT_EQ(info->nr_ranges, 1u);
	ASSERT_EQ(info->ranges[0].index, 0u);
	ASSERT_EQ(info->ranges[0].offset, 0u);
	ASSERT_EQ(info->ranges[0].size, PAGE);
}

static bool register_page_trapped(struct vfmig_device *dev)
{
	struct vfio_pci_mediate_trap_info info;

	read_trap_info(dev, &info);
	return info.ranges[0].flags & VFIO_PCI_MEDIATE_TRAP_TRAPPED;
}

/* Whether BAR0's sparse areas include the register page. */
static bool register_page_offered(struct vfmig_device *dev)
{
	struct vfmig_region_info info;
	bool offered = false;

	MG_OK(dev, vfmig_region_info(dev, 0, &info));
	ASSERT_TRUE(info.has_sparse);
	for (uint32_t i = 0; i < info.nr_areas; i++) {
		if (info.areas[i].offset == 0) {
			ASSERT_EQ(info.areas[i].size, PAGE);
			offered = true;
		}
	}
	return offered;
}

/* errno of an mmap of the register page, or 0 (then unmapped again). */
static int map_register_page_errno(struct vfmig_device *dev, void **keep)
{
	struct vfmig_region_info info;
	void *p;

	MG_OK(dev, vfmig_region_info(dev, 0, &info));
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vfmig_device_fd(dev), (off_t)info.offset);
	if (p == MAP_FAILED)
		return errno;
	if (keep)
		*keep = p;
	else
		munmap(p, PAGE);
	return 0;
}

/*
 * A client that knows only struct vfio_irq_info (argsz 16) asks about the
 * trap IRQ: it learns the size needed, and nothing past its 16 bytes is
 * written.
 */
static void check_small_irq_info(struct vfmig_device *dev)
{
	union {
		struct vfio_irq_info info;
		uint8_t bytes[64];
	} q;

	memset(&q, 0xa5, sizeof(q));
	q.info.argsz = sizeof(q.info);
	q.info.index = VFIO_PCI_NUM_IRQS;
	ASSERT_OK(ioctl(vfmig_device_fd(dev), VFIO_DEVICE_GET_IRQ_INFO, &q));
	ASSERT_EQ(q.info.argsz,
		  sizeof(struct vfio_pci_mediate_irq_info) +
		  sizeof(struct vfio_pci_mediate_irq_info_cap_type));
	ASSERT_TRUE(q.info.flags & VFIO_PCI_MEDIATE_IRQ_INFO_FLAG_CAPS);
	ASSERT_EQ(q.info.count, 1u);
	for (size_t i = sizeof(q.info); i < sizeof(q); i++)
		ASSERT_EQ(q.bytes[i], 0xa5);
}

TEST_NAMED(unaware_never_mmaps, "trap.unaware_never_mmaps", 120)
{
	struct vfmig_device *dev = open_edu();
	struct vfmig_device_info di;
	struct vfmig_region_info info;

	MG_OK(dev, vfmig_device_info(dev, &di));
	ASSERT_EQ(di.num_irqs, VFIO_PCI_NUM_IRQS + 1u);
	check_small_irq_info(dev);
	ASSERT_TRUE(register_page_trapped(dev));
	ASSERT_FALSE(register_page_offered(dev));
	MG_OK(dev, vfmig_region_info(dev, 0, &info));
	ASSERT_EQ(info.nr_areas, 1u);
	ASSERT_EQ(info.areas[0].offset, PAGE);
	ASSERT_EQ(map_register_page_errno(dev, NULL), EACCES);

	/* The mediator traps and untraps: nothing changes for this client. */
	mediator_trap(dev);
	ASSERT_EQ(map_register_page_errno(dev, NULL), EACCES);
	mediator_untrap(dev);
	ASSERT_TRUE(register_page_trapped(dev));
	ASSERT_FALSE(register_page_offered(dev));
	ASSERT_EQ(map_register_page_errno(dev, NULL), EACCES);

	edu_wr(dev, EDU_REG_LIVENESS, 0x1234);
	ASSERT_EQ(edu_rd(dev, EDU_REG_LIVENESS), ~0x1234u);
	ASSERT_EQ(edu_rd(dev, EDU_REG_ID), EDU_ID_VALUE);
}

struct accessor {
	struct vfmig_device *dev;
	int trap_fd;
	atomic_bool stop;
	/* Written by the threads, read after they are joined. */
	uint64_t iterations;
	uint64_t mismatches;
	uint32_t first_bad_wrote, first_bad_read;
	int access_error;
	int handle_error;
	uint64_t handled;
};

static void *access_loop(void *arg)
{
	struct accessor *a = arg;
	uint32_t v = 0x5a000000;

	while (!atomic_load(&a->stop)) {
		uint64_t got = 0;
		int ret;

		v++;
		ret = vfmig_bar_write(a->dev, 0, EDU_REG_LIVENESS, 4, v);
		if (!ret)
			ret = vfmig_bar_read(a->dev, 0, EDU_REG_LIVENESS, 4, &got);
		if (ret) {
			a->access_error = ret;
			break;
		}
		if ((uint32_t)got != (uint32_t)~v && !a->mismatches++) {
			a->first_bad_wrote = v;
			a->first_bad_read = (uint32_t)got;
		}
		a->iterations++;
	}
	return NULL;
}

static void *handle_loop(void *arg)
{
	struct accessor *a = arg;
	struct pollfd pfd = { .fd = a->trap_fd, .events = POLLIN };

	while (!atomic_load(&a->stop)) {
		int ret = poll(&pfd, 1, 50);

		if (ret <= 0)
			continue;
		ret = vfmig_trap_handle(a->dev);
		if (ret < 0) {
			a->handle_error = ret;
			break;
		}
		a->handled += ret;
	}
	return NULL;
}

TEST_NAMED(follow_1000_with_accessor, "trap.follow_1000_with_accessor", 600)
{
	struct accessor a = { 0 };
	struct vfmig_trap_stats st;
	pthread_t accessor, handler;
	uint64_t start, slowest = 0;
	unsigned int timeouts;
	unsigned int cycles = 0;

	a.dev = open_edu();
	timeouts = ack_timeouts();
	MG_OK(a.dev, vfmig_trap_follow(a.dev, &a.trap_fd));
	MG_OK(a.dev, vfmig_trap_stats(a.dev, &st));
	ASSERT_EQ(st.nr_ranges, 1u);
	ASSERT_EQ(st.nr_mapped, 1u);
	ASSERT_FALSE(register_page_trapped(a.dev));
	ASSERT_TRUE(register_page_offered(a.dev));

	ASSERT_EQ(pthread_create(&handler, NULL, handle_loop, &a), 0);
	ASSERT_EQ(pthread_create(&accessor, NULL, access_loop, &a), 0);
	start = mt_now_ms();
	for (; cycles < CYCLES && !a.access_error && !a.handle_error;
	     cycles++) {
		uint64_t t0 = mt_now_ms(), took;

		if (cycles >= MIN_CYCLES && t0 - start >= CYCLES_BUDGET_MS)
			break;

		mediator_trap(a.dev);
		took = mt_now_ms() - t0;
		if (took > slowest)
			slowest = took;
		/* In force now: the library's map is gone. */
		ASSERT_TRUE(register_page_trapped(a.dev));
		mediator_untrap(a.dev);
	}
	atomic_store(&a.stop, true);
	pthread_join(accessor, NULL);
	pthread_join(handler, NULL);
	MG_OK(a.dev, vfmig_trap_stats(a.dev, &st));

	test_log("%u trap/untrap cycles%s in %llu ms (slowest trap %llu ms); accessor: %llu write+read pairs, %llu by mmap and %llu by read/write accesses; %llu changes followed (%llu by the handler thread)",
		 cycles, cycles < CYCLES ? " (the time budget's)" : "",
		 (unsigned long long)(mt_now_ms() - start),
		 (unsigned long long)slowest,
		 (unsigned long long)a.iterations,
		 (unsigned long long)st.mmap_accesses,
		 (unsigned long long)st.rw_accesses,
		 (unsigned long long)st.handled,
		 (unsigned long long)a.handled);
	if (a.mismatches)
		test_log("first mismatch: wrote %#x, read back %#x (want %#x)",
			 a.first_bad_wrote, a.first_bad_read,
			 ~a.first_bad_wrote);
	ASSERT_EQ(a.access_error, 0);
	ASSERT_EQ(a.handle_error, 0);
	ASSERT_EQ(a.mismatches, 0u);
	/* Every access went one way, exactly once. */
	ASSERT_EQ(st.mmap_accesses + st.rw_accesses, 2 * a.iterations);
	ASSERT_GT(st.mmap_accesses, 0u);
	ASSERT_GT(st.rw_accesses, 0u);
	ASSERT_GE(cycles, MIN_CYCLES);
	ASSERT_GE(st.handled, 2u * cycles);
	/* The handler thread acknowledged each trap in time. */
	ASSERT_EQ(ack_timeouts(), timeouts);
	ASSERT_EQ(st.nr_mapped, 1u);
	ASSERT_EQ(edu_rd(a.dev, EDU_REG_ID), EDU_ID_VALUE);
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(sigbus_jmp, 1);
}

/* Reads the ID through @p; false if that raised SIGBUS. */
static bool read_id_through(volatile uint32_t *p, uint32_t *id)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile bool ok = false;

	sigemptyset(&sa.sa_mask);
	ASSERT_OK(sigaction(SIGBUS, &sa, &old));
	if (!sigsetjmp(sigbus_jmp, 1)) {
		*id = p[EDU_REG_ID / 4];
		ok = true;
	}
	ASSERT_OK(sigaction(SIGBUS, &old, NULL));
	return ok;
}

static unsigned int saved_timeout_ms;

static int write_timeout_param(unsigned int ms)
{
	return sysfs_printf(TIMEOUT_PARAM, "%u\n", ms);
}

static unsigned int read_timeout_param(void)
{
	uint64_t ms = 0;

	ASSERT_OK(sysfs_read_u64(TIMEOUT_PARAM, &ms));
	return (unsigned int)ms;
}

static int restore_timeout(void *arg)
{
	(void)arg;
	return write_timeout_param(saved_timeout_ms);
}

static void set_timeout_for_test(unsigned int ms)
{
	saved_timeout_ms = read_timeout_param();
	ASSERT_OK(write_timeout_param(ms));
	test_add_cleanup(restore_timeout, NULL, "restore trap_ack_timeout_ms");
}

/* The trap IRQ's index, found by its type capability. */
static uint32_t find_trap_irq(struct vfmig_device *dev)
{
	struct vfmig_device_info di;
	struct {
		struct vfio_pci_mediate_irq_info info;
		struct vfio_pci_mediate_irq_info_cap_type cap;
	} q;

	MG_OK(dev, vfmig_device_info(dev, &di));
	for (uint32_t i = 0; i < di.num_irqs; i++) {
		memset(&q, 0, sizeof(q));
		q.info.argsz = sizeof(q);
		q.info.index = i;
		/* vfio-pci's own indexes may not apply (ERR needs PCIe). */
		if (i < VFIO_PCI_NUM_IRQS &&
		    ioctl(vfmig_device_fd(dev), VFIO_DEVICE_GET_IRQ_INFO, &q))
			continue;
		ASSERT_OK(ioctl(vfmig_device_fd(dev), VFIO_DEVICE_GET_IRQ_INFO,
				&q));
		if (!(q.info.flags & VFIO_PCI_MEDIATE_IRQ_INFO_FLAG_CAPS))
			continue;
		ASSERT_EQ(q.info.cap_offset, sizeof(q.info));
		ASSERT_EQ(q.cap.header.id, VFIO_PCI_MEDIATE_IRQ_INFO_CAP_TYPE);
		ASSERT_EQ(q.cap.type, VFIO_PCI_MEDIATE_IRQ_TYPE);
		ASSERT_EQ(q.cap.subtype, VFIO_PCI_MEDIATE_IRQ_SUBTYPE_TRAP);
		ASSERT_EQ(q.info.count, 1u);
		ASSERT_TRUE(q.info.flags & VFIO_IRQ_INFO_EVENTFD);
		return i;
	}
	FAIL("no IRQ index with the trap type capability");
	return 0;
}

/* Before the device is closed: a mapping would keep it open. */
static int unmap_register_page(void *p)
{
	return munmap(p, PAGE);
}

TEST_NAMED(unacked_trap_is_zapped, "trap.unacked_trap_is_zapped", 120)
{
	struct vfmig_device *dev = open_edu();
	struct vfio_pci_mediate_trap_info info;
	volatile uint32_t *regs = NULL;
	uint64_t t0, took, count = 0;
	unsigned int timeouts;
	uint32_t irq, id = 0;
	int efd, index;

	set_timeout_for_test(TEST_TIMEOUT_MS);
	irq = find_trap_irq(dev);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	MG_OK(dev, vfmig_irq_set_eventfds(dev, irq, 0, 1, &efd));
	/* Aware now: told at once, and the page is offered. */
	ASSERT_EQ(read(efd, &count, sizeof(count)), (ssize_t)sizeof(count));
	ASSERT_GE(count, 1u);
	read_trap_info(dev, &info);
	ASSERT_EQ(info.ack_timeout_ms, TEST_TIMEOUT_MS);
	ASSERT_FALSE(info.ranges[0].flags & VFIO_PCI_MEDIATE_TRAP_TRAPPED);
	ASSERT_TRUE(register_page_offered(dev));
	ASSERT_EQ(map_register_page_errno(dev, (void **)&regs), 0);
	test_add_cleanup(unmap_register_page, (void *)regs,
			 "munmap the register page");
	ASSERT_TRUE(read_id_through(regs, &id));
	ASSERT_EQ(id, EDU_ID_VALUE);

	/* Trap, and never acknowledge. */
	timeouts = ack_timeouts();
	t0 = mt_now_ms();
	mediator_trap(dev);
	took = mt_now_ms() - t0;
	test_log("trap came in force after %llu ms without an acknowledgement",
		 (unsigned long long)took);
	ASSERT_GE(took, TEST_TIMEOUT_MS - 20);
	ASSERT_LT(took, TEST_TIMEOUT_MS + 3000);
	ASSERT_EQ(ack_timeouts(), timeouts + 1);
	ASSERT_EQ(read(efd, &count, sizeof(count)), (ssize_t)sizeof(count));
	ASSERT_TRUE(register_page_trapped(dev));
	ASSERT_FALSE(register_page_offered(dev));
	ASSERT_FALSE(read_id_through(regs, &id));
	ASSERT_EQ(map_register_page_errno(dev, NULL), EACCES);
	/* read/write still reach the registers. */
	ASSERT_EQ(edu_rd(dev, EDU_REG_ID), EDU_ID_VALUE);

	/* Untrapped: the same mapping faults in again. */
	mediator_untrap(dev);
	ASSERT_FALSE(register_page_trapped(dev));
	ASSERT_TRUE(read_id_through(regs, &id));
	ASSERT_EQ(id, EDU_ID_VALUE);

	/* An ack beyond the generation is refused. */
	read_trap_info(dev, &info);
	index = vfmig_region_find(dev, VFIO_PCI_MEDIATE_REGION_TYPE,
				  VFIO_PCI_MEDIATE_REGION_SUBTYPE_TRAP);
	info.generation++;
	ASSERT_EQ(vfmig_region_write(dev, (uint32_t)index,
				     offsetof(struct vfio_pci_mediate_trap_info,
					      ack),
				     &info.generation, 8), -EINVAL);
	/* Unaware again: the mapping is withdrawn at once. */
	MG_OK(dev, vfmig_irq_disable(dev, irq));
	ASSERT_TRUE(register_page_trapped(dev));
	ASSERT_FALSE(read_id_through(regs, &id));
	close(efd);
}

TEST_NAMED(migration_traps, "trap.migration_traps", 120)
{
	struct vfmig_device *dev = open_edu();
	struct vfmig_trap_stats st;
	uint64_t t0;
	int fd;

	set_timeout_for_test(TEST_TIMEOUT_MS);
	MG_OK(dev, vfmig_trap_follow(dev, &fd));
	MG_OK(dev, vfmig_trap_stats(dev, &st));
	ASSERT_EQ(st.nr_mapped, 1u);

	/* No other thread acknowledges: the kernel waits out the bound. */
	t0 = mt_now_ms();
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_PRE_COPY));
	test_log("PRE_COPY took %llu ms with nobody acknowledging meanwhile",
		 (unsigned long long)(mt_now_ms() - t0));
	MG_OK(dev, vfmig_trap_stats(dev, &st));
	ASSERT_EQ(st.nr_mapped, 0u);
	ASSERT_TRUE(register_page_trapped(dev));
	edu_wr(dev, EDU_REG_LIVENESS, 77);
	ASSERT_EQ(edu_rd(dev, EDU_REG_LIVENESS), ~77u);

	/* Cancelled: offered again, and the library maps it. */
	MG_OK(dev, vfmig_mig_set_state(dev, VFMIG_STATE_RUNNING));
	MG_OK(dev, vfmig_trap_stats(dev, &st));
	ASSERT_EQ(st.nr_mapped, 1u);
	ASSERT_FALSE(register_page_trapped(dev));
	edu_wr(dev, EDU_REG_LIVENESS, 78);
	ASSERT_EQ(edu_rd(dev, EDU_REG_LIVENESS), ~78u);
	MG_OK(dev, vfmig_trap_stats(dev, &st));
	ASSERT_GE(st.mmap_accesses, 2u);
}

/*
 * A client that follows traps starts DMA through its mapping of the
 * register page, unseen by edu-mediate; a migration then traps the page,
 * and what edu-mediate learns when the trap comes in force (the page of
 * the last transfer) lets it capture edu's DMA buffer: the destination's
 * buffer ends up holding what the source's DMA put there.
 */
TEST_NAMED(migrate_after_mmap_dma, "trap.migrate_after_mmap_dma", 180)
{
	char bdf_a[PCI_BDF_LEN], bdf_b[PCI_BDF_LEN];
	struct vfmig_device *a, *b;
	struct vfmig_trap_stats st;
	struct mg_buf state = { 0 };
	uint8_t *mem_a, *mem_b;
	void *mem;
	int fd;

	edu_setup_pair(bdf_a, bdf_b);
	set_timeout_for_test(TEST_TIMEOUT_MS);
	a = mg_open(bdf_a);
	b = mg_open(bdf_b);
	MG_OK(a, vfmig_dma_alloc(a, MEM_IOVA, MEM_LEN, &mem));
	mem_a = mem;
	MG_OK(b, vfmig_dma_alloc(b, MEM_IOVA, MEM_LEN, &mem));
	mem_b = mem;
	MG_OK(a, vfmig_enable_mem_and_dma(a));
	MG_OK(b, vfmig_enable_mem_and_dma(b));
	MG_OK(a, vfmig_trap_follow(a, &fd));

	for (unsigned int i = 0; i < EDU_DMA_XFER_MAX; i++)
		mem_a[i] = (uint8_t)(i * 7 + 3);
	edu_dma(a, (uint32_t)MEM_IOVA, EDU_DMA_BUF, EDU_DMA_XFER_MAX, 0);
	MG_OK(a, vfmig_trap_stats(a, &st));
	test_log("source transfer: %llu register accesses by mmap, %llu by read/write",
		 (unsigned long long)st.mmap_accesses,
		 (unsigned long long)st.rw_accesses);
	ASSERT_GT(st.mmap_accesses, 0u);
	ASSERT_EQ(st.rw_accesses, 0u);

	mg_save(a, &state, false);
	ASSERT_EQ(mg_load(b, state.data, state.len, NULL), 0);
	MG_OK(b, vfmig_mig_set_state(b, VFMIG_STATE_RUNNING));
	memset(mem_b + PAGE, 0, PAGE);
	edu_dma(b, EDU_DMA_BUF, (uint32_t)(MEM_IOVA + PAGE), EDU_DMA_XFER_MAX,
		EDU_DMA_TO_RAM);
	ASSERT_MEM_EQ(mem_b + PAGE, mem_a, EDU_DMA_XFER_MAX);
	mg_buf_free(&state);
}

/* The sparse areas of BAR0 equal @want (offset, size pairs). */
static void expect_areas(struct vfmig_device *dev, const uint64_t want[][2],
			 uint32_t n)
{
	struct vfmig_region_info info;

	MG_OK(dev, vfmig_region_info(dev, 0, &info));
	ASSERT_TRUE(info.has_sparse);
	for (uint32_t i = 0; i < info.nr_areas; i++)
		test_log("area %u: %#llx+%#llx", i,
			 (unsigned long long)info.areas[i].offset,
			 (unsigned long long)info.areas[i].size);
	ASSERT_EQ(info.nr_areas, n);
	for (uint32_t i = 0; i < n; i++) {
		ASSERT_EQ(info.areas[i].offset, want[i][0]);
		ASSERT_EQ(info.areas[i].size, want[i][1]);
	}
}

/* errno of an mmap of [@offset, +@len) of BAR0, 0 if it worked. */
static int map_bar0_errno(struct vfmig_device *dev, uint64_t offset,
			  uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, vfmig_device_fd(dev),
		       (off_t)offset);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

/*
 * Several trappable ranges in one BAR (the test mediator's "trappable"
 * rules): two offered, one trapped, at the start, middle and end of
 * edu's 1 MiB BAR0.  The sparse areas cut the BAR at their edges, leave
 * out what the client may not map, and list each offered range on its
 * own; a mapping that covers part of a range and anything else is
 * refused.
 */
TEST_NAMED(sparse_areas_three_ranges, "trap.sparse_areas_three_ranges", 120)
{
	static const uint64_t unaware[][2] = {
		{ 0x1000, 0x2000 }, { 0x5000, 0xfa000 },
	};
	static const uint64_t aware[][2] = {
		{ 0x0, 0x1000 }, { 0x1000, 0x2000 }, { 0x5000, 0xfa000 },
		{ 0xff000, 0x1000 },
	};
	char bdf[PCI_BDF_LEN];
	struct vfmig_device *dev;
	struct vfmig_trap_stats st;
	int fd;

	mt_setup_edu(bdf, "");
	mt_register(1, true);
	mt_write(1, "accept", "%s", bdf);
	mt_write(1, "rules", "trappable 0 0x0 0x1000 open");
	mt_write(1, "rules", "trappable 0 0x3000 0x2000");
	mt_write(1, "rules", "trappable 0 0xff000 0x1000 open");
	dev = mg_open(bdf);

	expect_areas(dev, unaware, 2);
	ASSERT_EQ(map_bar0_errno(dev, 0, PAGE), EACCES);
	ASSERT_EQ(map_bar0_errno(dev, 0xff000, PAGE), EACCES);
	ASSERT_EQ(map_bar0_errno(dev, 0x1000, 0x2000), 0);

	MG_OK(dev, vfmig_trap_follow(dev, &fd));
	MG_OK(dev, vfmig_trap_stats(dev, &st));
	ASSERT_EQ(st.nr_ranges, 3u);
	ASSERT_EQ(st.nr_mapped, 2u);
	expect_areas(dev, aware, 4);
	ASSERT_EQ(map_bar0_errno(dev, 0, PAGE), 0);
	ASSERT_EQ(map_bar0_errno(dev, 0xff000, PAGE), 0);
	ASSERT_EQ(map_bar0_errno(dev, 0x3000, PAGE), EACCES);
	ASSERT_EQ(map_bar0_errno(dev, 0, 2 * PAGE), EINVAL);
	ASSERT_EQ(map_bar0_errno(dev, 0xfe000, 2 * PAGE), EINVAL);
	ASSERT_EQ(map_bar0_errno(dev, 0, EDU_BAR0_SIZE), EINVAL);
	ASSERT_EQ(map_bar0_errno(dev, 0x5000, 0xfa000), 0);
}

static size_t offered_map_len;

/* Whatever of the mapping is still there (a test may have moved or cut it). */
static int unmap_offered_range(void *p)
{
	return munmap(p, offered_map_len);
}

/*
 * An aware client of the test mediator with one offered range of
 * @pages pages at BAR0 0x1000, and its eventfd; the range is mapped at
 * *@map.
 */
static struct vfmig_device *open_offered_range(unsigned int pages,
					       void **map, uint32_t *irq,
					       int *efd)
{
	char bdf[PCI_BDF_LEN];
	struct vfmig_device *dev;
	struct vfmig_region_info info;

	mt_setup_edu(bdf, "");
	mt_register(1, true);
	mt_write(1, "accept", "%s", bdf);
	mt_write(1, "rules", "trappable 0 0x1000 %#x open", pages * PAGE);
	dev = mg_open(bdf);
	*irq = find_trap_irq(dev);
	*efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(*efd, 0);
	MG_OK(dev, vfmig_irq_set_eventfds(dev, *irq, 0, 1, efd));
	MG_OK(dev, vfmig_region_info(dev, 0, &info));
	*map = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vfmig_device_fd(dev), (off_t)(info.offset + PAGE));
	ASSERT_TRUE(*map != MAP_FAILED);
	/* A mapping keeps the device open: gone before its binding goes back. */
	offered_map_len = pages * PAGE;
	test_add_cleanup(unmap_offered_range, *map, "munmap the offered range");
	return dev;
}

/* In a child: touches @p; exits 0 if it could, 2 on SIGSEGV, 3 on SIGBUS. */
static void on_fault_exit(int sig)
{
	_exit(sig == SIGSEGV ? 2 : 3);
}

static int touch_in_child(volatile uint32_t *p)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0) {
		signal(SIGSEGV, on_fault_exit);
		signal(SIGBUS, on_fault_exit);
		(void)p[0];
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static bool readable(volatile uint32_t *p)
{
	uint32_t value;

	return read_id_through(p, &value);
}

/*
 * Before Linux 6.10 (kernel/trap_vma_list.c), a mapping of a trappable
 * range is the framework's to remove, so it must not escape: fork() does
 * not copy it into the child, and it cannot be moved (mremap) or cut into
 * parts (munmap or mprotect of a page of it).  It is removed when the
 * range is trapped (here: the client turns unaware).
 */
TEST_NAMED(mappings_not_inherited_split_or_moved,
	   "trap.mappings_not_inherited_split_or_moved", 120)
{
	struct vfmig_device *dev;
	volatile uint32_t *p;
	void *map, *elsewhere;
	uint32_t irq;
	int efd;

	if (lab_kernel_at_least(6, 10))
		SKIP("Linux 6.10+ needs no such limits (kernel/trap.h): trap.copied_mappings_all_removed checks its mappings");
	dev = open_offered_range(2, &map, &irq, &efd);
	p = map;
	ASSERT_TRUE(readable(p));

	/* The child has no such mapping at all. */
	ASSERT_EQ(touch_in_child(p), 2);

	elsewhere = mmap(NULL, 2 * PAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(elsewhere != MAP_FAILED);
	ASSERT_TRUE(mremap(map, 2 * PAGE, 2 * PAGE,
			   MREMAP_MAYMOVE | MREMAP_FIXED, elsewhere) ==
		    MAP_FAILED);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(munmap((uint8_t *)map + PAGE, PAGE), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(mprotect(map, PAGE, PROT_READ), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_TRUE(readable(p));

	/* Unaware again: the range traps, and the mapping is gone. */
	MG_OK(dev, vfmig_irq_disable(dev, irq));
	ASSERT_FALSE(readable(p));
	close(efd);
}

static int unmap_moved_range(void *addr)
{
	return munmap(addr, 3 * PAGE);
}

/*
 * From Linux 6.10 (kernel/trap_vma_inode.c) a trap removes mappings by
 * their offset in the device file, wherever they are, so they may be
 * inherited, moved and cut like any other: a child's inherited mapping,
 * a moved one and the pieces of a cut one all work while the range is
 * offered, and all of them lose their pages when it traps.
 */
TEST_NAMED(copied_mappings_all_removed, "trap.copied_mappings_all_removed",
	   120)
{
	struct vfmig_device *dev;
	int go[2], status;
	uint8_t *moved;
	void *map;
	uint32_t irq;
	pid_t child;
	int efd;

	if (!lab_kernel_at_least(6, 10))
		SKIP("before Linux 6.10 such mappings cannot be copied, moved or cut: trap.mappings_not_inherited_split_or_moved checks that");
	dev = open_offered_range(3, &map, &irq, &efd);
	ASSERT_TRUE(readable(map));
	ASSERT_EQ(touch_in_child(map), 0);

	/* A child that keeps its copy until after the trap. */
	ASSERT_OK(pipe(go));
	fflush(stdout);
	child = fork();
	ASSERT_OK(child);
	if (child == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		signal(SIGSEGV, on_fault_exit);
		signal(SIGBUS, on_fault_exit);
		(void)((volatile uint32_t *)map)[0];
		_exit(0);
	}
	close(go[0]);

	moved = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	ASSERT_TRUE(moved != MAP_FAILED);
	ASSERT_TRUE(mremap(map, 3 * PAGE, 3 * PAGE,
			   MREMAP_MAYMOVE | MREMAP_FIXED, moved) == moved);
	test_add_cleanup(unmap_moved_range, moved, "munmap the moved range");
	ASSERT_OK(munmap(moved + PAGE, PAGE));
	ASSERT_OK(mprotect(moved + 2 * PAGE, PAGE, PROT_READ));
	ASSERT_TRUE(readable((volatile uint32_t *)moved));
	ASSERT_TRUE(readable((volatile uint32_t *)(moved + 2 * PAGE)));

	/* Unaware: the range traps, and every copy loses its pages. */
	MG_OK(dev, vfmig_irq_disable(dev, irq));
	ASSERT_FALSE(readable((volatile uint32_t *)moved));
	ASSERT_FALSE(readable((volatile uint32_t *)(moved + 2 * PAGE)));
	ASSERT_EQ(write(go[1], "g", 1), 1);
	close(go[1]);
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 3);
	ASSERT_OK(munmap(moved, 3 * PAGE));
	close(efd);
}

/* Threads that make the client unaware at the same moment, over and over. */
struct removers {
	struct vfmig_device *dev;
	uint32_t irq;
	int efd;
	pthread_barrier_t step;
	int error;
};

static void *unaware_loop(void *arg)
{
	struct removers *r = arg;
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = r->irq,
	};

	for (int i = 0; i < 200; i++) {
		int ret;

		pthread_barrier_wait(&r->step);
		/*
		 * Both at once, past libvfmig's lock: two removal passes over
		 * the same mappings.
		 */
		ret = ioctl(vfmig_device_fd(r->dev), VFIO_DEVICE_SET_IRQS, &set);
		pthread_barrier_wait(&r->step);
		if (ret)
			r->error = -errno;
	}
	return NULL;
}

/*
 * Removal passes that overlap must both finish: two threads turn the
 * client unaware at the same moment, 200 times, while the range is
 * mapped in this process and in three children (each mapping is removed
 * by every pass that runs).
 */
TEST_NAMED(overlapping_removals_finish, "trap.overlapping_removals_finish",
	   300)
{
	struct removers r = { 0 };
	struct vfmig_region_info info;
	pthread_t t[2];
	uint64_t start;
	void *map;

	r.dev = open_offered_range(1, &map, &r.irq, &r.efd);
	MG_OK(r.dev, vfmig_region_info(r.dev, 0, &info));
	for (int c = 0; c < 3; c++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		ASSERT_OK(pid);
		if (pid == 0) {
			/* The device fd is inherited; the mapping is not. */
			void *own = mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
					 vfmig_device_fd(r.dev),
					 (off_t)(info.offset + PAGE));

			if (own == MAP_FAILED)
				_exit(1);
			(void)*(volatile uint32_t *)own;
			for (;;)
				pause();
		}
		mt_kill_at_end(pid);
	}
	mt_sleep_ms(200);
	ASSERT_EQ(pthread_barrier_init(&r.step, NULL, 3), 0);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, unaware_loop, &r), 0);
	start = mt_now_ms();
	for (int i = 0; i < 200; i++) {
		pthread_barrier_wait(&r.step);
		pthread_barrier_wait(&r.step);
		/* Aware again: the range opens for the next round. */
		MG_OK(r.dev, vfmig_irq_set_eventfds(r.dev, r.irq, 0, 1, &r.efd));
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	test_log("200 rounds of two overlapping removals in %llu ms",
		 (unsigned long long)(mt_now_ms() - start));
	ASSERT_EQ(r.error, 0);
	close(r.efd);
}

/* What a trap may wait for the user is bounded, whatever root asks. */
TEST_NAMED(ack_timeout_bounded, "trap.ack_timeout_bounded", 60)
{
	unsigned int now = 0;

	lab_require();
	set_timeout_for_test(1000);
	ASSERT_EQ(write_timeout_param(10001), -EINVAL);
	ASSERT_EQ(write_timeout_param(0), -EINVAL);
	ASSERT_EQ(write_timeout_param(3600000), -EINVAL);
	ASSERT_OK(write_timeout_param(10000));
	now = read_timeout_param();
	ASSERT_EQ(now, 10000u);
}

/* A child that runs @fn(@dev) and exits with its status (0 for success). */
static pid_t fork_device_call(struct vfmig_device *dev,
			      int (*fn)(struct vfmig_device *dev))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_OK(pid);
	if (pid == 0)
		_exit(fn(dev) ? 1 : 0);
	mt_kill_at_end(pid);
	return pid;
}

static int to_pre_copy(struct vfmig_device *dev)
{
	return vfmig_mig_set_state(dev, VFMIG_STATE_PRE_COPY);
}

/* GET MIG_DEVICE_STATE, past libvfmig: it takes the device's migration lock. */
static int get_state(struct vfmig_device *dev)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_mig_state state;
	} req = {
		.feature.argsz = sizeof(req),
		.feature.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
	};

	return ioctl(vfmig_device_fd(dev), VFIO_DEVICE_FEATURE, &req);
}

/*
 * While one process's state change waits for the user's acknowledgement
 * (edu-mediate traps its registers for PRE_COPY; nobody acknowledges), a
 * second process sharing the device blocks on its migration lock: killed,
 * it must go at once, not when the first one's wait is over.
 */
TEST_NAMED(killed_waiter_leaves_at_once, "trap.killed_waiter_leaves_at_once",
	   120)
{
	struct vfmig_device *dev = open_edu();
	uint64_t count, t0, took;
	pid_t holder, waiter;
	uint32_t irq;
	int efd, status;

	set_timeout_for_test(4000);
	irq = find_trap_irq(dev);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	MG_OK(dev, vfmig_irq_set_eventfds(dev, irq, 0, 1, &efd));
	ASSERT_EQ(read(efd, &count, sizeof(count)), (ssize_t)sizeof(count));

	holder = fork_device_call(dev, to_pre_copy);
	mt_sleep_ms(500);
	waiter = fork_device_call(dev, get_state);
	mt_sleep_ms(300);
	ASSERT_EQ(waitpid(waiter, &status, WNOHANG), 0);

	t0 = mt_now_ms();
	ASSERT_OK(kill(waiter, SIGKILL));
	ASSERT_EQ(waitpid(waiter, &status, 0), waiter);
	took = mt_now_ms() - t0;
	test_log("the waiting process was gone %llu ms after SIGKILL",
		 (unsigned long long)took);
	ASSERT_LT(took, 1000u);

	ASSERT_EQ(waitpid(holder, &status, 0), holder);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	MG_OK(dev, vfmig_irq_disable(dev, irq));
	close(efd);
}

struct bar_map {
	void *addr;
	size_t len;
};

static int unmap_bar(void *arg)
{
	struct bar_map *m = arg;

	return m->addr ? munmap(m->addr, m->len) : 0;
}

/* Memory Space Enable in the command register, on or off. */
static void set_memory_decode(struct vfmig_device *dev, bool on)
{
	uint32_t cmd;

	MG_OK(dev, vfmig_config_read(dev, PCI_COMMAND, 2, &cmd));
	cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MEMORY;
	MG_OK(dev, vfmig_config_write(dev, PCI_COMMAND, 2, cmd));
}

/* VFIO_IOMMU_MAP_DMA of @m at P2P_IOVA: 0 or -errno; unmapped again. */
static int p2p_map(struct vfmig_device *dev, const struct bar_map *m)
{
	int ret = vfmig_dma_map(dev, m->addr, P2P_IOVA, m->len, 0);

	if (!ret)
		MG_OK(dev, vfmig_dma_unmap(dev, P2P_IOVA, m->len));
	return ret;
}

/*
 * What QEMU does for peer-to-peer DMA: it maps its mmap of a BAR into the
 * IOMMU (type1 follows the VM_PFNMAP mapping's PTEs, faulting them in
 * through the driver).  @m gets an mmap of BAR0 past the register page;
 * *@on and *@off the map's results with memory decode on, then off (the
 * CPU never touched the mapping, so type1 has to fault it in).
 */
static void p2p_map_results(struct vfmig_device *dev, struct bar_map *m,
			    int *on, int *off)
{
	m->len = EDU_BAR0_SIZE - PAGE;
	MG_OK(dev, vfmig_region_mmap(dev, 0, PAGE, m->len,
				     PROT_READ | PROT_WRITE, &m->addr));
	test_add_cleanup(unmap_bar, m, "munmap BAR0");
	*on = p2p_map(dev, m);
	set_memory_decode(dev, false);
	*off = p2p_map(dev, m);
	set_memory_decode(dev, true);
	test_log("%s: P2P DMA map of BAR0+%#x: %d with memory decode on, %d with it off",
		 vfmig_bdf(dev), PAGE, *on, *off);
}

/*
 * Peer-to-peer DMA mapping of a mediated BAR works exactly where stock
 * vfio-pci lets it work: vfio-pci-core faults a BAR in only while memory
 * decode is on, for both drivers, so both refuse the map with EFAULT
 * while it is off.  (QEMU's migration destination maps the BAR before it
 * restores the command register, after its reset cleared Memory Space
 * Enable; with either driver it then says "PCI peer-to-peer transactions
 * on BARs are not supported".)  The register page, while open for a
 * client that follows traps, maps through our vm_ops as well.
 */
TEST_NAMED(p2p_dma_map_like_stock, "trap.p2p_dma_map_like_stock", 120)
{
	static struct bar_map stock_map, mediated_map, reg_map;
	char a[PCI_BDF_LEN], b[PCI_BDF_LEN];
	struct vfmig_device *mediated, *stock;
	int stock_on, stock_off, on, off, fd;

	edu_setup_pair(a, b);
	lab_bind(b, DRIVER_VFIO_PCI);
	stock = mg_open(b);
	MG_OK(stock, vfmig_enable_mem_and_dma(stock));
	p2p_map_results(stock, &stock_map, &stock_on, &stock_off);
	ASSERT_EQ(stock_on, 0);
	ASSERT_EQ(stock_off, -EFAULT);

	mediated = mg_open(a);
	mt_expect_mediator(a, EDU_MEDIATOR);
	MG_OK(mediated, vfmig_enable_mem_and_dma(mediated));
	p2p_map_results(mediated, &mediated_map, &on, &off);
	ASSERT_EQ(on, stock_on);
	ASSERT_EQ(off, stock_off);

	MG_OK(mediated, vfmig_trap_follow(mediated, &fd));
	ASSERT_FALSE(register_page_trapped(mediated));
	reg_map.len = PAGE;
	ASSERT_EQ(map_register_page_errno(mediated, &reg_map.addr), 0);
	test_add_cleanup(unmap_bar, &reg_map, "munmap the register page");
	ASSERT_EQ(p2p_map(mediated, &reg_map), 0);
}
