/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vfio-pci-mediate: the per-device state the driver keeps next
 * to vfio-pci-core's.
 */
#ifndef VFIO_PCI_MEDIATE_PRIV_H
#define VFIO_PCI_MEDIATE_PRIV_H

#include <linux/vfio_pci_core.h>

/**
 * struct vfio_pci_mediate_device - a device bound to vfio-pci-mediate
 * @core_device: vfio-pci-core's state; must stay first, as vfio_alloc_device()
 *	and the core find it by container_of() from the vfio_device.
 */
struct vfio_pci_mediate_device {
	struct vfio_pci_core_device core_device;
};

#endif /* VFIO_PCI_MEDIATE_PRIV_H */
