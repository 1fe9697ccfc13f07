// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registry of mediate ops: registration, choosing a mediator when a
 * device is opened, releasing it when the device is closed, autoload by
 * module alias, and what sysfs shows of it.
 */

#include <linux/device.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "vfio_pci_mediate_priv.h"

/*
 * Protects the registry list, each registration's served list and users
 * count (written under it, read with READ_ONCE() by unregister's wait),
 * and each device's mediator, handle and served_node.  Held across a
 * mediator's ->open(), and the ->release of the regions an open that it
 * refused registered, so that unregister cannot race with them; never
 * held across ->release() or any other callback.  Lock order: Locking in
 * vfio_pci_mediate_priv.h.
 */
static DEFINE_MUTEX(vfio_pci_mediate_registry_lock);
static LIST_HEAD(vfio_pci_mediate_registry);

static struct vfio_pci_mediate_registration *
find_registration(const struct vfio_pci_mediate_ops *ops)
{
	struct vfio_pci_mediate_registration *reg;

	lockdep_assert_held(&vfio_pci_mediate_registry_lock);
	list_for_each_entry(reg, &vfio_pci_mediate_registry, node)
		if (reg->ops == ops || !strcmp(reg->ops->name, ops->name))
			return reg;
	return NULL;
}

static bool
migration_ops_complete(const struct vfio_pci_mediate_migration_ops *mig)
{
	return mig->max_state_size && mig->set_run_state && mig->save_start &&
	       mig->save && mig->save_size && mig->save_end && mig->load;
}

/**
 * vfio_pci_register_mediate_ops() - make a mediator available
 * @ops: the mediator's ops; must stay valid until unregistered
 *
 * From now on the mediator is asked, after those registered before it,
 * each time a device bound to vfio-pci-mediate is opened.  Devices already
 * open are not affected.  Process context; may sleep.
 *
 * Return: 0, -EINVAL if @ops lacks a name, ->open or ->release, has a name
 * that does not fit a migration stream's header, or has migration ops
 * without ->reset, with a callback missing or a max_state_size of 0, -EEXIST
 * if it or a mediator of the same name is registered, -ENOMEM.
 */
int vfio_pci_register_mediate_ops(const struct vfio_pci_mediate_ops *ops)
{
	struct vfio_pci_mediate_registration *reg;
	int ret = 0;

	if (!ops || !ops->name || !ops->open || !ops->release)
		return -EINVAL;
	/* Streams carry it; a cut name could match another mediator's. */
	if (strnlen(ops->name, VFIO_PCI_MEDIATE_NAME_LEN) ==
	    VFIO_PCI_MEDIATE_NAME_LEN)
		return -EINVAL;
	if (ops->migration &&
	    (!ops->reset || !migration_ops_complete(ops->migration)))
		return -EINVAL;

	reg = kzalloc(sizeof(*reg), GFP_KERNEL);
	if (!reg)
		return -ENOMEM;
	reg->ops = ops;
	INIT_LIST_HEAD(&reg->served);
	init_waitqueue_head(&reg->unused);

	mutex_lock(&vfio_pci_mediate_registry_lock);
	if (find_registration(ops)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	list_add_tail(&reg->node, &vfio_pci_mediate_registry);
	reg = NULL;
out_unlock:
	mutex_unlock(&vfio_pci_mediate_registry_lock);
	kfree(reg);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_register_mediate_ops);

/*
 * A wait condition, so no lock: @users only changes under the registry
 * lock, and the wake-up follows its last decrement.
 */
static bool registration_unused(struct vfio_pci_mediate_registration *reg)
{
	return !READ_ONCE(reg->users);
}

/* Asks the users of every device @reg serves to release it (request IRQ). */
static void request_release(struct vfio_pci_mediate_registration *reg,
			    unsigned int count)
{
	struct vfio_pci_mediate_device *vpmdev;

	mutex_lock(&vfio_pci_mediate_registry_lock);
	list_for_each_entry(vpmdev, &reg->served, served_node)
		vfio_pci_core_request(&vpmdev->core_device.vdev, count);
	mutex_unlock(&vfio_pci_mediate_registry_lock);
}

/**
 * vfio_pci_unregister_mediate_ops() - withdraw a mediator
 * @ops: ops given to vfio_pci_register_mediate_ops()
 *
 * No further open is offered to the mediator.  Returns at once if it
 * serves no device.  Otherwise (a mediator module cannot be unloaded
 * while it serves a device, so this happens when a still-loaded module,
 * e.g. a PF driver being unbound, unregisters) it asks the users of the
 * devices it serves to release them, through vfio's device request IRQ
 * as vfio-pci's own removal does, again every 10 seconds, and returns
 * once every open it serves has been released; like vfio-pci's removal it
 * cannot give up before that.  Once it returns, no callback of @ops runs
 * or will run.  Process context; may sleep.
 */
void vfio_pci_unregister_mediate_ops(const struct vfio_pci_mediate_ops *ops)
{
	struct vfio_pci_mediate_registration *reg;
	unsigned int i;

	mutex_lock(&vfio_pci_mediate_registry_lock);
	reg = find_registration(ops);
	if (reg && reg->ops != ops)
		reg = NULL;
	if (reg)
		list_del(&reg->node);
	mutex_unlock(&vfio_pci_mediate_registry_lock);
	if (WARN_ON(!reg))
		return;

	/* Woken every 10 s, so the hung-task detector leaves it alone. */
	for (i = 0; !registration_unused(reg); i++) {
		request_release(reg, i);
		wait_event_timeout(reg->unused, registration_unused(reg),
				   10 * HZ);
	}
	kfree(reg);
}
EXPORT_SYMBOL_GPL(vfio_pci_unregister_mediate_ops);

/* Load the mediator modules that list this device, once per bind. */
static void request_mediator_module(struct vfio_pci_mediate_device *vpmdev)
{
	struct pci_dev *pdev = vpmdev->core_device.pdev;

	if (vpmdev->autoload_done)
		return;
	vpmdev->autoload_done = true;
	/* No mediator for the device is the usual case, not an error. */
	request_module("vfio_pci_mediate:v%08Xd%08Xsv%08Xsd%08X",
		       pdev->vendor, pdev->device, pdev->subsystem_vendor,
		       pdev->subsystem_device);
}

/*
 * A mediator's ->open() declined or failed: take back what it set up
 * through the helpers before (regions, trappable ranges, the logging
 * offer), now, while its module is still pinned (the regions' ->release
 * is its code), so that the next mediator, or plain passthrough, finds
 * the device as the open found it.
 */
static void undo_refused_open(struct vfio_pci_mediate_device *vpmdev,
			      int regions)
{
	vpm_release_regions_from(vpmdev, regions);
	vpm_trap_forget(vpmdev);
	vpm_dirty_open_declined(vpmdev);
}

/* Ask one mediator; 0 if it accepted, -ENODEV if it declined. */
static int offer_open(struct vfio_pci_mediate_device *vpmdev,
		      struct vfio_pci_mediate_registration *reg)
{
	struct vfio_pci_core_device *vdev = &vpmdev->core_device;
	const struct vfio_pci_mediate_ops *ops = reg->ops;
	int regions = vdev->num_regions;
	void *handle = NULL;
	int ret;

	lockdep_assert_held(&vfio_pci_mediate_registry_lock);
	/* A module on its way out is not asked. */
	if (!try_module_get(ops->owner))
		return -ENODEV;

	vpmdev->in_open = true;
	ret = ops->open(vpmdev, vdev->pdev, &handle);
	vpmdev->in_open = false;

	if (ret) {
		undo_refused_open(vpmdev, regions);
		module_put(ops->owner);
		return ret;
	}

	WRITE_ONCE(reg->users, reg->users + 1);
	list_add_tail(&vpmdev->served_node, &reg->served);
	vpmdev->mediator = reg;
	vpmdev->handle = handle;
	/* Every open would log it: debug level (dynamic debug shows it). */
	pci_dbg(vdev->pdev, "mediated by %s\n", ops->name);
	return 0;
}

/**
 * vpm_attach() - choose the mediator for a device being opened
 * @vpmdev: the device, enabled by vfio_pci_core_enable()
 *
 * Return: 0 (whether or not a mediator accepted), or the error with which
 * a mediator failed the open.
 */
int vpm_attach(struct vfio_pci_mediate_device *vpmdev)
{
	struct vfio_pci_mediate_registration *reg;
	int ret = 0;

	/* Outside the lock: the module's init registers, taking it. */
	request_mediator_module(vpmdev);

	mutex_lock(&vfio_pci_mediate_registry_lock);
	list_for_each_entry(reg, &vfio_pci_mediate_registry, node) {
		ret = offer_open(vpmdev, reg);
		if (ret != -ENODEV)
			break;
	}
	mutex_unlock(&vfio_pci_mediate_registry_lock);
	return ret == -ENODEV ? 0 : ret;
}

/**
 * vpm_detach() - release the mediator of a device being closed
 * @vpmdev: the device, already disabled
 */
void vpm_detach(struct vfio_pci_mediate_device *vpmdev)
{
	struct vfio_pci_mediate_registration *reg = vpmdev->mediator;
	struct module *owner;

	if (!reg)
		return;

	owner = reg->ops->owner;
	pci_dbg(vpmdev->core_device.pdev, "%s no longer mediates\n",
		reg->ops->name);
	reg->ops->release(vpmdev->handle);

	mutex_lock(&vfio_pci_mediate_registry_lock);
	list_del(&vpmdev->served_node);
	vpmdev->mediator = NULL;
	vpmdev->handle = NULL;
	WRITE_ONCE(reg->users, reg->users - 1);
	if (!reg->users)
		wake_up(&reg->unused);
	mutex_unlock(&vfio_pci_mediate_registry_lock);
	/* Last: the module's code ran until here. */
	module_put(owner);
}

static ssize_t mediator_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(dev);
	struct vfio_pci_mediate_device *vpmdev =
		container_of(vdev, struct vfio_pci_mediate_device, core_device);
	ssize_t len;

	mutex_lock(&vfio_pci_mediate_registry_lock);
	len = sysfs_emit(buf, "%s\n", vpmdev->mediator ?
			 vpmdev->mediator->ops->name : "none");
	mutex_unlock(&vfio_pci_mediate_registry_lock);
	return len;
}
static DEVICE_ATTR_RO(mediator);

static struct attribute *vfio_pci_mediate_dev_attrs[] = {
	&dev_attr_mediator.attr,
	&dev_attr_migration_protocol.attr,
	&dev_attr_migration_refused.attr,
	NULL,
};

static const struct attribute_group vfio_pci_mediate_dev_group = {
	.attrs = vfio_pci_mediate_dev_attrs,
};

const struct attribute_group *vfio_pci_mediate_dev_groups[] = {
	&vfio_pci_mediate_dev_group,
	NULL,
};

static ssize_t mediators_show(struct device_driver *drv, char *buf)
{
	struct vfio_pci_mediate_registration *reg;
	ssize_t len = 0;

	mutex_lock(&vfio_pci_mediate_registry_lock);
	list_for_each_entry(reg, &vfio_pci_mediate_registry, node)
		len += sysfs_emit_at(buf, len, "%s\n", reg->ops->name);
	mutex_unlock(&vfio_pci_mediate_registry_lock);
	return len;
}
static DRIVER_ATTR_RO(mediators);

static struct attribute *vfio_pci_mediate_driver_attrs[] = {
	&driver_attr_mediators.attr,
	NULL,
};

static const struct attribute_group vfio_pci_mediate_driver_group = {
	.attrs = vfio_pci_mediate_driver_attrs,
};

const struct attribute_group *vfio_pci_mediate_driver_groups[] = {
	&vfio_pci_mediate_driver_group,
	NULL,
};
