// SPDX-License-Identifier: GPL-2.0-only
/*
 * minimal-mediate: the shape of a mediator, and nothing more.
 *
 * It serves the devices named by its "devices" parameter (PCI addresses),
 * meant for the lab's QEMU edu devices, and mediates one thing: a 32-bit
 * scratch register at BAR0 offset MINIMAL_REG_SCRATCH, which edu does not
 * have (edu reads ~0 there and ignores writes).  The mediator keeps the
 * register itself: it reads back what was last written, is 0 after a
 * reset and is the state a migration moves.  Every other access to BAR0
 * and to the other regions passes through to vfio-pci (*pt = true).  The
 * device's own state is not migrated: edu-mediate shows how that is done.
 *
 * Devices are chosen per open: vfio-pci-mediate asks the registered
 * mediators in turn, and this one declines (-ENODEV) a device that is not
 * in its list.  It carries no module alias, so it is never loaded for a
 * device by itself.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_mediate.h>

#define MINIMAL_BAR		0
/* The register page, kept trapped so that every access reaches ->rw(). */
#define MINIMAL_REG_PAGE	PAGE_SIZE
#define MINIMAL_REG_SCRATCH	0x10
#define MINIMAL_STATE_VERSION	1
#define MINIMAL_MAX_DEVICES	8

static char *devices[MINIMAL_MAX_DEVICES];
static unsigned int nr_devices;
module_param_array(devices, charp, &nr_devices, 0444);
MODULE_PARM_DESC(devices,
		 "PCI addresses (0000:00:05.0,...) of the devices to serve");

/**
 * struct minimal_state - the migrated state, little endian
 * @version: MINIMAL_STATE_VERSION
 * @scratch: the scratch register
 */
struct minimal_state {
	__le32 version;
	__le32 scratch;
} __packed;

/**
 * struct minimal_dev - one open of a device
 * @scratch: the scratch register; a single aligned word, read and written
 *	with READ_ONCE()/WRITE_ONCE() by concurrent accesses
 * @run_state: what the framework last set
 * @snap: the state being saved, taken at the first ->save() once stopped
 * @saved: bytes of @snap handed out in this save session
 *
 * The framework serialises the migration callbacks and ->reset, the only
 * users of @run_state, @snap and @saved.
 */
struct minimal_dev {
	u32 scratch;
	enum vfio_pci_mediate_run_state run_state;
	struct minimal_state snap;
	size_t saved;
};

static bool minimal_wanted(struct pci_dev *pdev)
{
	unsigned int i;

	for (i = 0; i < nr_devices; i++)
		if (sysfs_streq(devices[i], pci_name(pdev)))
			return true;
	return false;
}

static int minimal_open(struct vfio_pci_mediate_device *vpmdev,
			struct pci_dev *pdev, void **handle)
{
	struct minimal_dev *priv;
	int ret;

	if (!minimal_wanted(pdev) ||
	    !(pci_resource_flags(pdev, MINIMAL_BAR) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, MINIMAL_BAR) < MINIMAL_REG_PAGE)
		return -ENODEV;

	/* Undone by the framework if this open fails. */
	ret = vfio_pci_mediate_add_trappable(vpmdev, MINIMAL_BAR, 0,
					     MINIMAL_REG_PAGE);
	if (ret < 0)
		return ret;

	priv = kzalloc(sizeof(*priv), GFP_KERNEL);
	if (!priv)
		return -ENOMEM;
	priv->run_state = VFIO_PCI_MEDIATE_RUNNING;
	*handle = priv;
	return 0;
}

static void minimal_release(void *handle)
{
	kfree(handle);
}

static ssize_t minimal_rw(void *handle, unsigned int index, char __user *buf,
			  size_t count, loff_t offset, bool iswrite, bool *pt)
{
	struct minimal_dev *priv = handle;
	__le32 val;

	if (index != VFIO_PCI_BAR0_REGION_INDEX ||
	    offset + count <= MINIMAL_REG_SCRATCH ||
	    offset >= MINIMAL_REG_SCRATCH + sizeof(val)) {
		*pt = true;
		return 0;
	}
	/* Only whole 4-byte accesses reach the scratch register. */
	if (offset != MINIMAL_REG_SCRATCH || count != sizeof(val))
		return -EINVAL;

	if (iswrite) {
		if (copy_from_user(&val, buf, sizeof(val)))
			return -EFAULT;
		WRITE_ONCE(priv->scratch, le32_to_cpu(val));
	} else {
		val = cpu_to_le32(READ_ONCE(priv->scratch));
		if (copy_to_user(buf, &val, sizeof(val)))
			return -EFAULT;
	}
	return sizeof(val);
}

static int minimal_reset(void *handle)
{
	struct minimal_dev *priv = handle;

	WRITE_ONCE(priv->scratch, 0);
	priv->run_state = VFIO_PCI_MEDIATE_RUNNING;
	return 0;
}

/* The register does nothing on its own: there is no work to wait for. */
static int minimal_set_run_state(void *handle,
				 enum vfio_pci_mediate_run_state state)
{
	struct minimal_dev *priv = handle;

	priv->run_state = state;
	return 0;
}

static int minimal_save_start(void *handle, bool live)
{
	struct minimal_dev *priv = handle;

	priv->saved = 0;
	return 0;
}

/*
 * Nothing is handed out while the device runs (the register may still
 * change); once it is stopped, the whole state, taken at the first call.
 */
static ssize_t minimal_save(void *handle, void *buf, size_t len)
{
	struct minimal_dev *priv = handle;
	size_t n;

	if (priv->run_state != VFIO_PCI_MEDIATE_STOPPED)
		return 0;
	if (!priv->saved) {
		priv->snap.version = cpu_to_le32(MINIMAL_STATE_VERSION);
		priv->snap.scratch = cpu_to_le32(READ_ONCE(priv->scratch));
	}
	n = min(len, sizeof(priv->snap) - priv->saved);
	memcpy(buf, (u8 *)&priv->snap + priv->saved, n);
	priv->saved += n;
	return n;
}

static void minimal_save_size(void *handle, u64 *live_bytes, u64 *stop_bytes)
{
	struct minimal_dev *priv = handle;

	*live_bytes = 0;
	*stop_bytes = sizeof(priv->snap) - priv->saved;
}

/* Outside a session, save_size() must report the whole state again. */
static void minimal_save_end(void *handle)
{
	struct minimal_dev *priv = handle;

	priv->saved = 0;
}

/* @data is untrusted: check everything before using it. */
static int minimal_load(void *handle, const void *data, size_t len)
{
	struct minimal_dev *priv = handle;
	const struct minimal_state *st = data;

	if (len != sizeof(*st) ||
	    le32_to_cpu(st->version) != MINIMAL_STATE_VERSION)
		return -EINVAL;
	WRITE_ONCE(priv->scratch, le32_to_cpu(st->scratch));
	return 0;
}

static const struct vfio_pci_mediate_migration_ops minimal_migration_ops = {
	.max_state_size = sizeof(struct minimal_state),
	.set_run_state = minimal_set_run_state,
	.save_start = minimal_save_start,
	.save = minimal_save,
	.save_size = minimal_save_size,
	.save_end = minimal_save_end,
	.load = minimal_load,
};

static const struct vfio_pci_mediate_ops minimal_mediate_ops = {
	.owner = THIS_MODULE,
	.name = "minimal-mediate",
	.open = minimal_open,
	.release = minimal_release,
	.rw = minimal_rw,
	.reset = minimal_reset,
	.migration = &minimal_migration_ops,
};

module_vfio_pci_mediate_ops(minimal_mediate_ops);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Minimal sample mediator: one emulated register, passthrough otherwise, its value migrated");
