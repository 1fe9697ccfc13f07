/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-mediate's shared definitions: constants, module parameters, the
 * migrated state, one open's device, and the functions the files share
 * (main.c describes the mediator).
 */
#ifndef EDU_MEDIATE_H
#define EDU_MEDIATE_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <linux/vfio_pci_mediate.h>
#include <linux/workqueue.h>

#include "edu_regs.h"

/*
 * What edu-mediate logs is the device user's doing (a refused state, a
 * save that cannot work): ratelimited, so that a user's loop cannot flood
 * the kernel log.
 */
#define edu_warn(edu, fmt, ...) \
	dev_warn_ratelimited(&(edu)->pdev->dev, fmt, ##__VA_ARGS__)

#define EDU_BAR			0
#define EDU_REG_PAGE		SZ_4K	/* trapped part of BAR0 */
/* Where BAR0 may be mmapped: the first page boundary past the registers. */
#define EDU_MMAP_START		ALIGN(EDU_REG_PAGE, PAGE_SIZE)
/* Bytes of a user access bounced through the stack at a time. */
#define EDU_RW_CHUNK		64

/* The IOMMU's page: a scratch IOVA is the start of one. */
#define EDU_IOVA_PAGE		SZ_4K

/* The smallest n whose n! has 32 factors of 2, so n! mod 2^32 == 0. */
#define EDU_FACT_ZERO_INPUT	34

/*
 * Bound on the drain and on the mediator's own transfers.  A transfer
 * takes 100 ms of the model's virtual clock; a factorial of a 32-bit input
 * above about 2^31 takes the model's thread seconds and may exceed it
 * (STOP then fails with -ETIMEDOUT).
 */
#define EDU_WAIT_MS		5000
#define EDU_POLL_MS		2
/*
 * How old the user's last work must be before STOP with memory decode off
 * reports the device stopped: the model's 100 ms transfer delay, and room
 * for its timer to run late.
 */
#define EDU_BLIND_WAIT_MS	250
/*
 * After a replayed factorial, the model's thread clears COMPUTING and only
 * then looks at the IRQ-on-factorial bit (under the BQL): the time it is
 * given to get past that before the bit is set again.
 */
#define EDU_FACT_SETTLE_MS	20

/* Pages of the user's DMA commands remembered as scratch candidates. */
#define EDU_NR_SCRATCH		4
/*
 * Transfers into RAM whose pages stay pinned for dirty tracking until the
 * engine is seen idle: the one running and commands issued meanwhile
 * (which the model ignores).  More than that are refused.
 */
#define EDU_NR_DIRTY		4

/* Module parameters and the tests' counters (main.c). */
extern unsigned int edu_param_dma_mask_bits;
extern bool edu_param_dirty_tracking;
extern bool edu_param_mmap_registers;
extern atomic_t edu_drained_dma;
extern atomic_t edu_drained_factorial;

/* Why the register page is trapped (struct edu_dev's @trap_holds). */
#define EDU_TRAP_MIGRATION	BIT(0)	/* a save session, or not RUNNING */
#define EDU_TRAP_LOGGING	BIT(1)	/* VFIO DMA logging runs */

#define EDU_STATE_VERSION	1
#define EDU_STATE_BUF_VALID	BIT(0)	/* @dma_buf and @scratch_iova hold */

/**
 * struct edu_state - edu's migrated state, little endian (it crosses hosts)
 * @version: EDU_STATE_VERSION
 * @flags: EDU_STATE_BUF_VALID or 0
 * @liveness: register 0x04 as read
 * @fact: register 0x08, a factorial result
 * @status: register 0x20, only EDU_STATUS_IRQFACT
 * @irq_status: register 0x24, including interrupts still to be raised
 * @dma_src: register 0x80
 * @dma_dst: register 0x88
 * @dma_cnt: register 0x90
 * @dma_cmd: register 0x98, never EDU_DMA_RUN
 * @scratch_iova: the page used to move @dma_buf; the destination uses the
 *	same one
 * @dma_buf: edu's DMA buffer; the last byte is always 0 (not reachable)
 */
struct edu_state {
	__le32 version;
	__le32 flags;
	__le32 liveness;
	__le32 fact;
	__le32 status;
	__le32 irq_status;
	__le32 dma_src;
	__le32 dma_dst;
	__le32 dma_cnt;
	__le32 dma_cmd;
	__le64 scratch_iova;
	u8 dma_buf[EDU_DMA_BUF_SIZE];
} __packed;

static_assert(sizeof(struct edu_state) == 48 + EDU_DMA_BUF_SIZE);

/**
 * struct edu_dev - one open of an edu device
 * @vpmdev: the framework's handle for the helpers
 * @pdev: the PCI device
 * @hw_sem: user accesses to the register page take it for read (they may
 *	run concurrently); the mediator's own sequences on the device (drain,
 *	capture, applying a state, reset, run state changes) take it for
 *	write, so that no user access interleaves with them.  Protects
 *	@run_state, @reset_pending, @stop_blind, @irq_to_raise,
 *	@load_pending and @loaded; read by rw under it for read.  User
 *	buffers are copied outside it, so a faulting user page cannot hold
 *	up STOP or a reset.
 * @dma_lock: serialises user writes to the DMA registers (0x80-0x98), so
 *	that the range check of a DMA command sees the values the device
 *	will use.  Taken with @hw_sem held for read.
 * @scratch: page IOVAs the user's DMA commands used, newest first; added
 *	under @dma_lock with @hw_sem held for read, read and cleared under
 *	@hw_sem held for write
 * @nr_scratch: valid entries of @scratch, same locking
 * @work_at: jiffies when the user last started device work (a factorial
 *	or a DMA command), or when this open began; written with @hw_sem
 *	held for read (WRITE_ONCE: concurrent writers store about the same
 *	time), read with it held for write
 * @run_state: what the framework last set
 * @reset_pending: a reset found memory decode off, or failed; its register
 *	part is done on the next access with decode on.  Written with
 *	@hw_sem held for write (WRITE_ONCE); rw checks it without the lock
 *	first, and only settles it under the lock.  A reset racing with
 *	that check is the user's own race: the access lands either before
 *	or after the register reset
 * @stop_blind: STOPPED was reported with memory decode off, without a
 *	drain; the next save drains and says if it had to wait
 * @irq_to_raise: irq_status of an applied state, raised on RUNNING
 * @load_pending: @loaded is to be applied when the device leaves STOPPED
 * @loaded: a validated state from ->load()
 * @snap_valid: @snap holds the state captured for the save session
 * @snap_pos: bytes of @snap handed out by ->save()
 * @snap: the captured state
 * @page_orig: a scratch page's content while the mediator borrows it
 * @dirty: RAM ranges of the user's transfers into RAM, given to
 *	vfio_pci_mediate_dirty_begin() and not ended yet; changed under
 *	@dma_lock with @hw_sem held for read, or with @hw_sem held for write
 * @nr_dirty: valid entries of @dirty, same locking
 * @trap_lock: serialises trapping and untrapping the register page; never
 *	taken with @hw_sem held (trapping waits for the user, whose
 *	accesses take @hw_sem)
 * @trap_id: the register page's trappable range
 * @trap_holds: EDU_TRAP_* reasons it is trapped now, under @trap_lock
 * @saving: a save session is on; only touched by the migration callbacks
 *	and ->reset, which the framework serialises
 * @settle_work: ends the user's transfers into RAM once the engine is
 *	idle, where their pages are pinned (edu_settle_work())
 *
 * The migration callbacks are serialised by the framework; @snap_valid,
 * @snap_pos and @snap are used only by them (and by ->reset under
 * @hw_sem held for write).
 */
struct edu_dev {
	struct vfio_pci_mediate_device *vpmdev;
	struct pci_dev *pdev;
	struct rw_semaphore hw_sem;	/* see above */
	struct mutex dma_lock;		/* see above */
	u32 scratch[EDU_NR_SCRATCH];
	unsigned int nr_scratch;
	unsigned long work_at;
	enum vfio_pci_mediate_run_state run_state;
	bool reset_pending;
	bool stop_blind;
	u32 irq_to_raise;
	bool load_pending;
	struct edu_state loaded;
	bool snap_valid;
	size_t snap_pos;
	struct edu_state snap;
	u8 page_orig[EDU_DMA_XFER_MAX];
	struct edu_dirty_range {
		u32 iova;
		u32 len;
	} dirty[EDU_NR_DIRTY];
	unsigned int nr_dirty;
	struct mutex trap_lock;		/* see above */
	unsigned int trap_id;
	unsigned int trap_holds;
	bool saving;
	struct delayed_work settle_work;
};

/* regs.c: device access */
int edu_read(struct edu_dev *edu, u32 reg, u32 *val);
int edu_write(struct edu_dev *edu, u32 reg, u32 val);
int edu_wait_clear(struct edu_dev *edu, u32 reg, u32 mask, bool *waited);
void edu_dirty_end_all(struct edu_dev *edu);
int edu_drain(struct edu_dev *edu, bool *fact_busy, bool *dma_busy);
u32 edu_dma_mask(void);
bool edu_dma_range_ok(u64 buf, u64 cnt);
bool edu_fact_input(u32 result, u32 *input);
int edu_set_fact(struct edu_dev *edu, u32 result, bool *replayed);
int edu_read_dma_regs(struct edu_dev *edu, u32 *src, u32 *dst, u32 *cnt);
int edu_write_dma_regs(struct edu_dev *edu, u32 src, u32 dst, u32 cnt);

/* dma.c: the mediator's own transfers */
int edu_dirty_settle(struct edu_dev *edu);
bool edu_settle_transfers(struct edu_dev *edu);
void edu_settle_work(struct work_struct *work);
void edu_settle_later(struct edu_dev *edu);
int edu_iova_rw(struct edu_dev *edu, u64 iova, void *buf, size_t len,
		bool write);
void edu_note_iova(struct edu_dev *edu, u32 ram);
int edu_capture_buffer(struct edu_dev *edu, struct edu_state *st);
int edu_restore_buffer(struct edu_dev *edu, struct edu_state *st);

/* state.c: reset, capture, apply (@hw_sem held for write) */
int edu_settle_reset(struct edu_dev *edu);
const char *edu_err_hint(struct edu_dev *edu, int err);
int edu_capture(struct edu_dev *edu, struct edu_state *st);
int edu_apply(struct edu_dev *edu, struct edu_state *st);

/* mediate.c: mediate ops, trap and dirty tracking */
int edu_open(struct vfio_pci_mediate_device *vpmdev, struct pci_dev *pdev,
	     void **handle);
void edu_release(void *handle);
int edu_trap_hold(struct edu_dev *edu, unsigned int why);
void edu_trap_release(struct edu_dev *edu, unsigned int why);
void edu_trap_migration_over(struct edu_dev *edu);
ssize_t edu_rw(void *handle, unsigned int index, char __user *buf, size_t count,
	       loff_t offset, bool iswrite, bool *pt);
int edu_reset(void *handle);

/* migration.c: migration ops */
int edu_set_run_state(void *handle, enum vfio_pci_mediate_run_state state);
int edu_save_start(void *handle, bool live);
ssize_t edu_save(void *handle, void *buf, size_t len);
void edu_save_size(void *handle, u64 *live_bytes, u64 *stop_bytes);
void edu_save_end(void *handle);
int edu_dirty_sync(void *handle);
int edu_dirty_tracking(void *handle, bool on);
int edu_load(void *handle, const void *data, size_t len);

#endif /* EDU_MEDIATE_H */
