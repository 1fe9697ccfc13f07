// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-mediate: a vfio-pci driver built on vfio-pci-core in which
 * vendor "mediate" drivers, which never bind the device themselves, can
 * customise a device per open (see include/linux/vfio_pci_mediate.h).
 * With nothing mediating, a device bound here behaves exactly as under the
 * stock vfio-pci driver.
 *
 * The core-wide knobs (nointxmask, disable_vga, disable_idle_d3) belong
 * to vfio-pci-core and are set by vfio-pci's module options; this driver
 * deliberately leaves them alone so loading it never changes how devices
 * bound to vfio-pci behave.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/vfio_pci_core.h>

#include "vfio_pci_mediate_priv.h"

static char ids[1024] __initdata;
module_param_string(ids, ids, sizeof(ids), 0);
MODULE_PARM_DESC(ids,
		 "Initial PCI IDs to bind, \"vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]\", comma separated");

static bool enable_sriov;
#ifdef CONFIG_PCI_IOV
module_param(enable_sriov, bool, 0644);
MODULE_PARM_DESC(enable_sriov,
		 "Allow userspace owners of a PF to enable SR-IOV on it (needs a userspace PF driver)");
#endif

static bool disable_denylist;
module_param(disable_denylist, bool, 0444);
MODULE_PARM_DESC(disable_denylist,
		 "Allow binding devices that vfio-pci refuses for known errata");

/*
 * The devices stock vfio-pci refuses to bind (errata that let a user
 * compromise the host).  Kept identical so that binding here is never a
 * way around that policy.
 */
static const struct pci_device_id vfio_pci_mediate_denylist[] = {
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C3XXX) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C3XXX_VF) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C62X) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C62X_VF) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_DH895XCC) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_DH895XCC_VF) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_DSA_SPR0) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_IAX_SPR0) },
	{}
};

static bool vpm_denied(struct pci_dev *pdev)
{
	if (!pci_match_id(vfio_pci_mediate_denylist, pdev))
		return false;

	if (disable_denylist) {
		pci_warn(pdev, "denylist disabled, allowing %04x:%04x\n",
			 pdev->vendor, pdev->device);
		return false;
	}

	pci_warn(pdev, "%04x:%04x is on the vfio-pci denylist, not binding\n",
		 pdev->vendor, pdev->device);
	return true;
}

static int vpm_init_dev(struct vfio_device *core_vdev)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);

	mutex_init(&vpmdev->barmap_lock);
	mutex_init(&vpmdev->bar_lock);
	INIT_LIST_HEAD(&vpmdev->served_node);
	vpm_mig_init(vpmdev);
	vpm_dirty_init(vpmdev);
	vpm_trap_init(vpmdev);
	return vfio_pci_core_init_dev(core_vdev);
}

static void vpm_release_dev(struct vfio_device *core_vdev)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);

	vpm_mig_destroy(vpmdev);
	mutex_destroy(&vpmdev->trap.lock);
	mutex_destroy(&vpmdev->dirty.log_lock);
	mutex_destroy(&vpmdev->dirty.lock);
	mutex_destroy(&vpmdev->bar_lock);
	mutex_destroy(&vpmdev->barmap_lock);
	vfio_pci_core_release_dev(core_vdev);
}

static void vpm_set_enabled(struct vfio_pci_mediate_device *vpmdev,
			    bool enabled)
{
	down_write(&vpmdev->core_device.memory_lock);
	vpmdev->enabled = enabled;
	up_write(&vpmdev->core_device.memory_lock);
}

static int vpm_open_device(struct vfio_device *core_vdev)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	int ret;

	ret = vfio_pci_core_enable(vdev);
	if (ret)
		return ret;
	vpm_set_enabled(vpmdev, true);
	vpm_user_dma_open(vpmdev);

	ret = vpm_attach(vpmdev);
	if (ret)
		goto out_disable;

	ret = vpm_trap_open(vpmdev);
	if (ret)
		goto out_disable;
	ret = vpm_mig_open(vpmdev);
	if (ret)
		goto out_disable;
	vpm_dirty_open(vpmdev);

	vfio_pci_core_finish_enable(vdev);
	return 0;

out_disable:
	vpm_set_enabled(vpmdev, false);
	vfio_pci_core_disable(vdev);
	vpm_unmap_bars(vpmdev);
	vpm_trap_close(vpmdev);
	/* Released after disable, as on close; nothing if none attached. */
	vpm_detach(vpmdev);
	vpm_trap_forget(vpmdev);
	vpm_dirty_close(vpmdev);
	return ret;
}

/*
 * Migration sessions end first, while the device is still enabled and its
 * mediator attached (their ->save_end() may touch it).  The core then
 * disables the device and releases the open's device-specific regions;
 * the mediator is released last, as its header promises.  Its DMA pins
 * go after it (bus mastering is off by then).
 */
static void vpm_close_device(struct vfio_device *core_vdev)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);

	vpm_mig_close(vpmdev);
	vpm_trap_close(vpmdev);
	vpm_set_enabled(vpmdev, false);
	vfio_pci_core_close_device(core_vdev);
	vpm_unmap_bars(vpmdev);
	vpm_detach(vpmdev);
	vpm_trap_forget(vpmdev);
	vpm_dirty_close(vpmdev);
}

static void vpm_dma_unmap(struct vfio_device *core_vdev, u64 iova, u64 length)
{
	vpm_dirty_dma_unmap(to_mediate_device(core_vdev), iova, length);
}

/*
 * VFIO_DEVICE_FEATURE_MIG_DATA_SIZE (later kernels' uAPI, which QEMU 8+
 * needs to converge) is answered here, as 6.1's vfio core leaves unknown
 * features to the driver; everything else is vfio-pci-core's.
 */
static int vpm_device_feature(struct vfio_device *core_vdev, u32 flags,
			      void __user *arg, size_t argsz)
{
	struct vfio_pci_mediate_device *vpmdev = to_mediate_device(core_vdev);

	if ((flags & VFIO_DEVICE_FEATURE_MASK) ==
	    VFIO_DEVICE_FEATURE_MIG_DATA_SIZE)
		return vpm_mig_v2_data_size_feature(vpmdev, flags, arg, argsz);
	return vfio_pci_core_ioctl_feature(core_vdev, flags, arg, argsz);
}

/*
 * Any reset of the function (hot reset, FLR through config space, sysfs)
 * returns the device to power-on: migration and the mediator must follow.
 * reset_done may run under vfio-pci-core's memory_lock, so migration only
 * takes note here and catches up at its next call.
 */
static void vpm_reset_done(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	vpm_mig_device_was_reset(container_of(vdev,
					      struct vfio_pci_mediate_device,
					      core_device));
}

static const struct pci_error_handlers vfio_pci_mediate_err_handlers = {
	.error_detected	= vfio_pci_core_aer_err_detected,
	.reset_done	= vpm_reset_done,
};

static const struct vfio_device_ops vfio_pci_mediate_ops = {
	.name		= "vfio-pci-mediate",
	.init		= vpm_init_dev,
	.release	= vpm_release_dev,
	.open_device	= vpm_open_device,
	.close_device	= vpm_close_device,
	.ioctl		= vpm_ioctl,
	.device_feature	= vpm_device_feature,
	.read		= vpm_read,
	.write		= vpm_write,
	.mmap		= vpm_mmap,
	.dma_unmap	= vpm_dma_unmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	VPM_IOMMUFD_PHYSICAL_OPS
};

static int vpm_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vfio_pci_mediate_device *vpmdev;
	int ret;

	if (vpm_denied(pdev))
		return -EINVAL;

	vpmdev = vfio_alloc_device(vfio_pci_mediate_device, core_device.vdev,
				   &pdev->dev, &vfio_pci_mediate_ops);
	if (IS_ERR(vpmdev))
		return PTR_ERR(vpmdev);

	dev_set_drvdata(&pdev->dev, &vpmdev->core_device);
	ret = vfio_pci_core_register_device(&vpmdev->core_device);
	if (ret)
		goto out_put_vdev;
	return 0;

out_put_vdev:
	vfio_put_device(&vpmdev->core_device.vdev);
	return ret;
}

static void vpm_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(vdev);
	vfio_put_device(&vdev->vdev);
}

static int vpm_sriov_configure(struct pci_dev *pdev, int nr_virtfn)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	if (!enable_sriov)
		return -ENOENT;

	return vfio_pci_core_sriov_configure(vdev, nr_virtfn);
}

/* Like vfio-pci: matches nothing until told to by driver_override/new_id. */
static const struct pci_device_id vfio_pci_mediate_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_ANY_ID, PCI_ANY_ID) },
	{}
};
MODULE_DEVICE_TABLE(pci, vfio_pci_mediate_table);

static struct pci_driver vfio_pci_mediate_driver = {
	.name			= "vfio-pci-mediate",
	.id_table		= vfio_pci_mediate_table,
	.probe			= vpm_probe,
	.remove			= vpm_remove,
	.sriov_configure	= vpm_sriov_configure,
	.err_handler		= &vfio_pci_mediate_err_handlers,
	.driver_managed_dma	= true,
	.groups			= vfio_pci_mediate_driver_groups,
	.dev_groups		= vfio_pci_mediate_dev_groups,
};

/* Parse one "vendor:device[:subvendor[:subdevice[:class[:mask]]]]" entry. */
static void __init vpm_add_id(const char *id)
{
	unsigned int vendor, device, subvendor = PCI_ANY_ID;
	unsigned int subdevice = PCI_ANY_ID, class = 0, class_mask = 0;
	int ret;

	if (sscanf(id, "%x:%x:%x:%x:%x:%x", &vendor, &device, &subvendor,
		   &subdevice, &class, &class_mask) < 2) {
		pr_warn("ignoring malformed id \"%s\"\n", id);
		return;
	}

	ret = pci_add_dynid(&vfio_pci_mediate_driver, vendor, device,
			    subvendor, subdevice, class, class_mask, 0);
	if (ret)
		pr_warn("cannot add id %04x:%04x[%04x:%04x] class %#08x/%08x: %d\n",
			vendor, device, subvendor, subdevice, class,
			class_mask, ret);
	else
		pr_info("added id %04x:%04x[%04x:%04x] class %#08x/%08x\n",
			vendor, device, subvendor, subdevice, class,
			class_mask);
}

static void __init vpm_add_ids(void)
{
	char *p = ids, *id;

	while ((id = strsep(&p, ",")))
		if (*id)
			vpm_add_id(id);
}

/*
 * Counters for tests, in debugfs: no ABI.  <linux/debugfs.h> stays out of
 * the files with exports: the types it defines would change their symbol
 * versions.
 */
static struct dentry *vpm_debugfs;

static int __init vpm_init(void)
{
	int ret;

	vpm_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_atomic_t("trap_ack_timeouts", 0444, vpm_debugfs,
				&vpm_trap_ack_timeouts);
	ret = pci_register_driver(&vfio_pci_mediate_driver);
	if (ret) {
		debugfs_remove_recursive(vpm_debugfs);
		return ret;
	}

	vpm_add_ids();
	if (disable_denylist)
		pr_warn("device denylist disabled\n");
	return 0;
}
module_init(vpm_init);

static void __exit vpm_exit(void)
{
	pci_unregister_driver(&vfio_pci_mediate_driver);
	debugfs_remove_recursive(vpm_debugfs);
}
module_exit(vpm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO PCI driver whose devices vendor mediators can customise per open");
