// SPDX-License-Identifier: GPL-2.0
/* The lab's igb VFs for tests that play the VF's driver: igbvf_fixture.h. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "igbvf_fixture.h"
#include "lab_fixture.h"
#include "mediate_fixture.h"
#include "migration_fixture.h"

/* The first entry of directory @dir into @name; false if none. */
static bool first_entry(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		if (e->d_name[0] != '.' && strlen(e->d_name) < len) {
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
			found = true;
		}
	closedir(d);
	return found;
}

/* VF @bdf's PF netdev and index, from sysfs. */
static void vf_identify(struct vf *vf)
{
	char path[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/physfn/net",
		 vf->bdf);
	if (!first_entry(path, vf->pf_netdev, sizeof(vf->pf_netdev)))
		SKIP("the PF of %s has no netdev (is igb bound?)", vf->bdf);
	for (i = 0; i < 8; i++) {
		snprintf(link, sizeof(link),
			 "/sys/bus/pci/devices/%s/physfn/virtfn%d", vf->bdf, i);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strstr(target, vf->bdf)) {
			vf->index = i;
			return;
		}
	}
	FAIL("%s is not among its PF's virtfn links", vf->bdf);
}

void vf_find(struct vf *vfs, int n)
{
	char found[8][PCI_BDF_LEN];
	int have, i;

	lab_require();
	have = pci_find_devices(VENDOR_INTEL, DEVICE_82576_VF, found, 8);
	if (have < n)
		SKIP("needs %d igb VFs (%04x:%04x), found %d: boot the lab with LAB_MACHINE=igb",
		     n, VENDOR_INTEL, DEVICE_82576_VF, have);
	for (i = 0; i < n; i++) {
		memset(&vfs[i], 0, sizeof(vfs[i]));
		memcpy(vfs[i].bdf, found[i], PCI_BDF_LEN);
		vf_identify(&vfs[i]);
		mt_bind_mediate(vfs[i].bdf);
	}
	mt_sample_load_for_test(IGBVF_MODULE, "igbvf-mediate.ko", "");
}

uint32_t vf_rd(const struct vf *vf, uint32_t reg)
{
	uint64_t val = 0;

	MG_OK(vf->dev, vfmig_bar_read(vf->dev, 0, reg, 4, &val));
	return (uint32_t)val;
}

void vf_wr(const struct vf *vf, uint32_t reg, uint32_t val)
{
	MG_OK(vf->dev, vfmig_bar_write(vf->dev, 0, reg, 4, val));
}

bool vf_mbx_wait(const struct vf *vf, uint32_t bits, uint32_t *seen,
		 unsigned int ms)
{
	uint64_t deadline = mt_now_ms() + ms;

	while (!(*seen & bits)) {
		if (mt_now_ms() > deadline)
			return false;
		mt_sleep_ms(1);
		*seen |= vf_rd(vf, V2PMAILBOX);
	}
	return true;
}

/* Sends @n words to the PF and waits until it took them. */
static void vf_mbx_send(const struct vf *vf, const uint32_t *msg, int n,
			uint32_t *seen)
{
	vf_wr(vf, V2PMAILBOX, MBX_VFU);
	*seen |= vf_rd(vf, V2PMAILBOX);
	ASSERT_TRUE(*seen & MBX_VFU);
	*seen &= ~(MBX_PFACK | MBX_PFSTS);
	for (int i = 0; i < n; i++)
		vf_wr(vf, VMBMEM(i), msg[i]);
	vf_wr(vf, V2PMAILBOX, MBX_REQ);
	if (!vf_mbx_wait(vf, MBX_PFACK, seen, 2000))
		FAIL("%s: the PF did not take message %#x within 2 s (mailbox %#x)",
		     vf->bdf, msg[0], *seen);
}

/* Reads the PF's answer (@n words) and acknowledges it. */
static void vf_mbx_receive(const struct vf *vf, uint32_t *msg, int n)
{
	vf_wr(vf, V2PMAILBOX, MBX_VFU);
	for (int i = 0; i < n; i++)
		msg[i] = vf_rd(vf, VMBMEM(i));
	vf_wr(vf, V2PMAILBOX, MBX_ACK);
}

uint32_t vf_mbx_set_lpe(const struct vf *vf)
{
	const uint32_t msg[2] = { MSG_SET_LPE, 1522 };
	uint32_t seen = 0, reply;

	vf_mbx_send(vf, msg, 2, &seen);
	if (!vf_mbx_wait(vf, MBX_PFSTS, &seen, 1500))
		return 0;
	vf_mbx_receive(vf, &reply, 1);
	return reply;
}

void vf_start(const struct vf *vf, uint8_t mac[6])
{
	const uint32_t msg = MSG_RESET;
	uint32_t seen = 0, reply[3] = { 0 };
	int i;

	vf_wr(vf, CTRL, vf_rd(vf, CTRL) | CTRL_RST);
	/* igb may post something else first (a ping): skip it. */
	vf_mbx_send(vf, &msg, 1, &seen);
	for (i = 0; i < 4 && (reply[0] & 0xffff) != MSG_RESET; i++) {
		if (!vf_mbx_wait(vf, MBX_PFSTS, &seen, 2000))
			FAIL("%s: the PF did not answer the reset within 2 s",
			     vf->bdf);
		seen &= ~MBX_PFSTS;
		vf_mbx_receive(vf, reply, 3);
	}
	if ((reply[0] & ~MSG_CTS) != (MSG_RESET | MSG_ACK))
		FAIL("%s: the PF answered the reset with %#x", vf->bdf,
		     reply[0]);
	memcpy(mac, &reply[1], 6);
}
