// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-pci-mediate with nothing mediating must look exactly like stock
 * vfio-pci to a VFIO client. Each test binds one lab device once to each
 * driver, runs the same probe against both, and compares the two logs of
 * observations. Probes also check sanity values on their own, so that two
 * equally broken results cannot pass.
 *
 * OBS_DUMP=1 in the environment prints every observation compared.
 *
 * Order matters: NVMe VF tests run before NVMe PF tests, and every PF test
 * puts the PF back on nvme with its VFs online.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "harness.h"
#include "lab_fixture.h"
#include "observations.h"
#include "vfio_dev.h"
#include "../include/edu_regs.h"

#define PAGE_SIZE_BYTES 4096u

/* edu BAR0 registers. */
#define EDU_DMA_LEN 256u

/* NVMe controller registers (BAR0). */
#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30
#define NVME_CC_ENABLE 0x1u

/* Below edu's 28-bit DMA mask. */
#define TEST_IOVA 0x100000ull

#define VFIO_FEATURE_INDEXES_PROBED 10

struct device_kind {
	const char *name;
	void (*find)(char bdf[PCI_BDF_LEN]);
	bool is_edu;
	bool is_nvme_pf;
	/* Expected config region size: 256 for PCI, 4096 for PCIe. */
	uint64_t config_size;
};

static const struct device_kind kind_edu = {
	.name = "edu", .find = lab_find_edu, .is_edu = true,
	.config_size = 256,
};
static const struct device_kind kind_nvme_vf = {
	.name = "nvme_vf", .find = lab_find_nvme_vf, .config_size = 4096,
};
static const struct device_kind kind_nvme_pf = {
	.name = "nvme_pf", .find = lab_find_nvme_pf, .is_nvme_pf = true,
	.config_size = 4096,
};

typedef void (*probe_fn)(const struct device_kind *kind, struct vfio_dev *dev,
			 struct observation_log *log);

/* --- small access helpers ---------------------------------------------- */

static uint64_t region_offset(const struct vfio_dev *dev, uint32_t index)
{
	return dev->regions[index].offset;
}

static uint64_t region_size(const struct vfio_dev *dev, uint32_t index)
{
	return dev->regions[index].size;
}

static uint32_t bar0_read32(const struct vfio_dev *dev, uint64_t offset)
{
	uint32_t value = 0;

	ASSERT_OK(vfio_region_read32(dev, VFIO_PCI_BAR0_REGION_INDEX, offset,
				     &value));
	return value;
}

static void bar0_write32(const struct vfio_dev *dev, uint64_t offset,
			 uint32_t value)
{
	ASSERT_OK(vfio_region_write32(dev, VFIO_PCI_BAR0_REGION_INDEX, offset,
				      value));
}

static uint32_t mmio_read32(const void *base, uint64_t offset)
{
	return *(const volatile uint32_t *)((const char *)base + offset);
}

static void mmio_write32(void *base, uint64_t offset, uint32_t value)
{
	*(volatile uint32_t *)((char *)base + offset) = value;
}

/* pread at a raw file offset; logs the result and the bytes read. */
static void observe_pread(struct observation_log *log, struct vfio_dev *dev,
			  uint64_t file_offset, size_t len, const char *key)
{
	unsigned char *buf = calloc(1, len ? len : 1);
	ssize_t n;

	ASSERT_TRUE(buf != NULL);
	n = pread(dev->device_fd, buf, len, (off_t)file_offset);
	obs_result(log, n < 0 ? -errno : n, "%s: pread result", key);
	if (n > 0)
		obs_bytes(log, buf, (size_t)n, "%s: pread data", key);
	free(buf);
}

static void observe_pwrite(struct observation_log *log, struct vfio_dev *dev,
			   uint64_t file_offset, const void *data, size_t len,
			   const char *key)
{
	OBS_SYSCALL(log, pwrite(dev->device_fd, data, len, (off_t)file_offset),
		    "%s: pwrite result", key);
}

/* Logs whether an mmap succeeds, unmapping it at once. */
static void observe_mmap(struct observation_log *log, struct vfio_dev *dev,
			 uint64_t file_offset, size_t len, int flags,
			 const char *key)
{
	void *addr = lab_mmap(dev, file_offset, len, PROT_READ | PROT_WRITE,
			      flags);

	obs_result(log, addr == MAP_FAILED ? -errno : 0, "%s: mmap", key);
	if (addr != MAP_FAILED)
		lab_munmap(addr, len);
}

static void read_config(struct vfio_dev *dev, unsigned char *config,
			size_t size)
{
	for (size_t off = 0; off < size; off += 4) {
		uint32_t dword;

		ASSERT_OK(vfio_region_read32(dev, VFIO_PCI_CONFIG_REGION_INDEX,
					     off, &dword));
		memcpy(config + off, &dword, 4);
	}
}

static bool nvme_controller_enabled(const struct vfio_dev *dev)
{
	return bar0_read32(dev, NVME_REG_CC) & NVME_CC_ENABLE;
}

/*
 * Device state a previous user left behind (the host nvme driver's admin
 * queue addresses survive an FLR in QEMU) is not the driver's doing: clear
 * it so that both drivers' probes start alike.
 */
static void clear_leftover_state(const struct device_kind *kind,
				 struct vfio_dev *dev)
{
	if (kind->is_edu) {
		bar0_write32(dev, EDU_REG_LIVENESS, 0);
		return;
	}
	ASSERT_OK(vfio_config_set_command_bits(dev, PCI_COMMAND_MEMORY));
	if (nvme_controller_enabled(dev))
		return;
	bar0_write32(dev, NVME_REG_ASQ, 0);
	bar0_write32(dev, NVME_REG_ASQ + 4, 0);
	bar0_write32(dev, NVME_REG_ACQ, 0);
	bar0_write32(dev, NVME_REG_ACQ + 4, 0);
}

/* --- the comparison ------------------------------------------------------ */

static const char *const drivers[2] = { DRIVER_VFIO_PCI,
					DRIVER_VFIO_PCI_MEDIATE };

static void compare_drivers(const struct device_kind *kind, probe_fn probe)
{
	struct observation_log logs[2];
	char bdf[PCI_BDF_LEN];

	lab_require();
	kind->find(bdf);
	if (kind->is_nvme_pf)
		lab_take_nvme_pf(bdf);
	else
		lab_restore_binding_at_end(bdf);

	for (int i = 0; i < 2; i++) {
		struct vfio_dev *dev;

		test_log("%s %s: probing with %s", kind->name, bdf, drivers[i]);
		lab_bind(bdf, drivers[i]);
		/*
		 * One open and close first, so that both drivers start from
		 * the state a VFIO release leaves, not from the previous
		 * driver's or user's.
		 */
		dev = lab_open(bdf);
		clear_leftover_state(kind, dev);
		lab_close(dev);
		dev = lab_open(bdf);
		obs_init(&logs[i]);
		probe(kind, dev, &logs[i]);
		lab_close(dev);
	}

	/* OBS_DUMP=1 shows what was compared. */
	if (getenv("OBS_DUMP"))
		obs_dump(&logs[0], drivers[0]);
	ASSERT_TRUE(obs_equal(&logs[0], drivers[0], &logs[1], drivers[1]));
	test_log("%zu observations identical", logs[0].count);
	obs_free(&logs[0]);
	obs_free(&logs[1]);
}

/* --- probes -------------------------------------------------------------- */

static void probe_device_info(const struct device_kind *kind,
			      struct vfio_dev *dev,
			      struct observation_log *log)
{
	struct vfio_device_info *info = NULL;
	struct vfio_device_info small;

	ASSERT_OK(vfio_device_info_get(dev->device_fd, &info));
	obs_bytes(log, info, info->argsz, "GET_INFO full");
	ASSERT_TRUE(info->flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_GE(info->num_regions, VFIO_PCI_NUM_REGIONS);
	ASSERT_EQ(info->num_irqs, VFIO_PCI_NUM_IRQS);
	if (kind->is_edu)
		/* edu has no reset mechanism at all. */
		ASSERT_FALSE(info->flags & VFIO_DEVICE_FLAGS_RESET);
	if (kind->is_nvme_pf)
		ASSERT_TRUE(info->flags & VFIO_DEVICE_FLAGS_RESET);
	free(info);

	/* The oldest clients pass only up to num_irqs. */
	memset(&small, 0, sizeof(small));
	small.argsz = offsetof(struct vfio_device_info, cap_offset);
	OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_GET_INFO, &small),
		    "GET_INFO without cap_offset");
	obs_bytes(log, &small, sizeof(small), "GET_INFO without cap_offset: out");
}

/* Logs the chain's capability ids in order, so a diff names them. */
static void observe_cap_ids(struct observation_log *log,
			    const struct vfio_region_info *info, uint32_t index)
{
	uint32_t offset = info->flags & VFIO_REGION_INFO_FLAG_CAPS ?
				  info->cap_offset : 0;
	char ids[128] = "";
	size_t used = 0;

	for (int hops = 0; offset && hops < 16; hops++) {
		const struct vfio_info_cap_header *cap;

		ASSERT_LE(offset + sizeof(*cap), info->argsz);
		cap = (const void *)((const char *)info + offset);
		used += (size_t)snprintf(ids + used, sizeof(ids) - used,
					 "%s%u.v%u", used ? "," : "", cap->id,
					 cap->version);
		if (used >= sizeof(ids))
			break;
		offset = cap->next;
	}
	obs_bytes(log, ids, strlen(ids), "region %u capability ids", index);
}

static void probe_region_info(const struct device_kind *kind,
			      struct vfio_dev *dev,
			      struct observation_log *log)
{
	for (uint32_t i = 0; i < dev->info.num_regions; i++) {
		struct vfio_region_info first = { .argsz = sizeof(first),
						  .index = i };
		struct vfio_region_info *info = NULL;
		long ret;

		/* Without room for capabilities: the kernel asks for more. */
		OBS_SYSCALL(log,
			    ioctl(dev->device_fd, VFIO_DEVICE_GET_REGION_INFO,
				  &first),
			    "region %u info, no cap room", i);
		obs_bytes(log, &first, sizeof(first),
			  "region %u info, no cap room: out", i);

		ret = vfio_region_info_get(dev->device_fd, i, &info);
		obs_result(log, ret, "region %u info", i);
		if (ret < 0)
			continue;
		obs_bytes(log, info, info->argsz, "region %u info with caps", i);
		observe_cap_ids(log, info, i);

		if (i == VFIO_PCI_CONFIG_REGION_INDEX) {
			ASSERT_EQ(info->size, kind->config_size);
			ASSERT_EQ(info->flags & (VFIO_REGION_INFO_FLAG_READ |
						 VFIO_REGION_INFO_FLAG_WRITE),
				  VFIO_REGION_INFO_FLAG_READ |
					  VFIO_REGION_INFO_FLAG_WRITE);
		}
		if (i == VFIO_PCI_BAR0_REGION_INDEX) {
			ASSERT_TRUE(info->flags & VFIO_REGION_INFO_FLAG_MMAP);
			if (kind->is_edu)
				ASSERT_EQ(info->size, EDU_BAR0_SIZE);
			else
				ASSERT_GE(info->size, 0x1000);
		}
		free(info);
	}
}

static void probe_irq_info(const struct device_kind *kind,
			   struct vfio_dev *dev,
			   struct observation_log *log)
{
	for (uint32_t i = 0; i <= dev->info.num_irqs; i++) {
		struct vfio_irq_info info;
		int ret = vfio_irq_info_get(dev->device_fd, i, &info);

		obs_result(log, ret, "irq %u info", i);
		if (ret == 0)
			obs_bytes(log, &info, sizeof(info), "irq %u info: out", i);

		if (i == VFIO_PCI_REQ_IRQ_INDEX) {
			ASSERT_EQ(ret, 0);
			ASSERT_EQ(info.count, 1);
		}
		if (i == VFIO_PCI_ERR_IRQ_INDEX && kind->is_edu)
			/* ERR exists only for PCIe devices. */
			ASSERT_EQ(ret, -EINVAL);
		if (i == VFIO_PCI_MSIX_IRQ_INDEX && !kind->is_edu) {
			ASSERT_EQ(ret, 0);
			ASSERT_GT(info.count, 0);
		}
		if (kind->is_edu && (i == VFIO_PCI_INTX_IRQ_INDEX ||
				     i == VFIO_PCI_MSI_IRQ_INDEX)) {
			ASSERT_EQ(ret, 0);
			ASSERT_EQ(info.count, 1);
		}
		if (i == dev->info.num_irqs)
			ASSERT_EQ(ret, -EINVAL);
	}
}

static void probe_config(const struct device_kind *kind, struct vfio_dev *dev,
			 struct observation_log *log)
{
	uint64_t size = region_size(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	uint64_t base = region_offset(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	unsigned char *config = calloc(1, size);
	uint64_t vendor, device;
	uint32_t bar0, sized;
	uint16_t command;

	ASSERT_TRUE(config != NULL);
	ASSERT_EQ(size, kind->config_size);
	read_config(dev, config, size);
	obs_bytes(log, config, size, "config space, dword reads");

	/* What the client sees must name the device sysfs names. */
	ASSERT_OK(pci_read_attr_u64(dev->bdf, "vendor", &vendor));
	ASSERT_OK(pci_read_attr_u64(dev->bdf, "device", &device));
	ASSERT_EQ(config[PCI_VENDOR_ID] | config[PCI_VENDOR_ID + 1] << 8,
		  vendor);
	ASSERT_EQ(config[PCI_DEVICE_ID] | config[PCI_DEVICE_ID + 1] << 8,
		  device);
	if (kind->is_edu) {
		ASSERT_EQ(vendor, VENDOR_QEMU_EDU);
		ASSERT_EQ(device, DEVICE_QEMU_EDU);
	}

	/* Narrow and whole-region reads go through other paths. */
	for (uint64_t off = 0; off < 64; off++)
		observe_pread(log, dev, base + off, 1, "config byte");
	for (uint64_t off = 0; off < 64; off += 2)
		observe_pread(log, dev, base + off, 2, "config word");
	observe_pread(log, dev, base, size, "config in one read");

	/* Command register writes are partly virtualised. */
	ASSERT_OK(vfio_config_set_command_bits(dev, PCI_COMMAND_MEMORY |
						       PCI_COMMAND_MASTER));
	ASSERT_EQ(vfio_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				   PCI_COMMAND, &command, 2), 2);
	obs_u64(log, command, "command after setting memory+master");
	ASSERT_EQ(command & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
		  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	/* BAR sizing is emulated: all ones reads back the size mask. */
	ASSERT_OK(vfio_region_read32(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				     PCI_BASE_ADDRESS_0, &bar0));
	ASSERT_OK(vfio_region_write32(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				      PCI_BASE_ADDRESS_0, 0xffffffffu));
	ASSERT_OK(vfio_region_read32(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				     PCI_BASE_ADDRESS_0, &sized));
	ASSERT_OK(vfio_region_write32(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				      PCI_BASE_ADDRESS_0, bar0));
	obs_u64(log, sized, "BAR0 after writing all ones");
	if (kind->is_edu)
		ASSERT_EQ(sized & PCI_BASE_ADDRESS_MEM_MASK,
			  (uint32_t)~(EDU_BAR0_SIZE - 1));

	read_config(dev, config, size);
	obs_bytes(log, config, size, "config space after writes");
	free(config);
}

static void probe_bar_edu(struct vfio_dev *dev, struct observation_log *log)
{
	static const uint32_t patterns[] = { 0x5a5a0f0fu, 0, 0xffffffffu,
					     0x12345678u };
	uint64_t bar0 = region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX);
	void *map;

	obs_u64(log, bar0_read32(dev, EDU_REG_ID), "pread id");
	ASSERT_EQ(bar0_read32(dev, EDU_REG_ID), EDU_ID_VALUE);
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		bar0_write32(dev, EDU_REG_LIVENESS, patterns[i]);
		obs_u64(log, bar0_read32(dev, EDU_REG_LIVENESS),
			"pread liveness after pwrite 0x%x", patterns[i]);
		ASSERT_EQ(bar0_read32(dev, EDU_REG_LIVENESS), ~patterns[i]);
	}
	/* Narrow and wide accesses: edu answers all ones below 4 bytes. */
	observe_pread(log, dev, bar0 + EDU_REG_ID, 1, "id, 1 byte");
	observe_pread(log, dev, bar0 + EDU_REG_ID, 2, "id, 2 bytes");
	observe_pread(log, dev, bar0 + EDU_REG_ID, 8, "id+liveness, 8 bytes");
	observe_pread(log, dev, bar0, 64, "first 64 bytes");

	map = lab_mmap(dev, bar0, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED);
	obs_result(log, map == MAP_FAILED ? -errno : 0, "mmap BAR0");
	ASSERT_TRUE(map != MAP_FAILED);
	obs_u64(log, mmio_read32(map, EDU_REG_ID), "mmap id");
	ASSERT_EQ(mmio_read32(map, EDU_REG_ID), EDU_ID_VALUE);
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		mmio_write32(map, EDU_REG_LIVENESS, patterns[i]);
		obs_u64(log, mmio_read32(map, EDU_REG_LIVENESS),
			"mmap liveness after mmap write 0x%x", patterns[i]);
		ASSERT_EQ(mmio_read32(map, EDU_REG_LIVENESS), ~patterns[i]);
		/* Both paths reach the same register. */
		ASSERT_EQ(bar0_read32(dev, EDU_REG_LIVENESS), ~patterns[i]);
	}
	lab_munmap(map, EDU_BAR0_SIZE);

	/* A partial map at a page offset inside the BAR. */
	map = lab_mmap(dev, bar0 + PAGE_SIZE_BYTES, PAGE_SIZE_BYTES,
		       PROT_READ, MAP_SHARED);
	obs_result(log, map == MAP_FAILED ? -errno : 0, "mmap BAR0 page 1");
	ASSERT_TRUE(map != MAP_FAILED);
	obs_u64(log, mmio_read32(map, 0), "mmap BAR0 page 1, first dword");
	lab_munmap(map, PAGE_SIZE_BYTES);
}

static void probe_bar_nvme(struct vfio_dev *dev, struct observation_log *log)
{
	uint64_t bar0 = region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX);
	uint32_t cap_lo = bar0_read32(dev, NVME_REG_CAP);
	uint32_t cap_hi = bar0_read32(dev, NVME_REG_CAP + 4);
	uint32_t vs = bar0_read32(dev, NVME_REG_VS);
	void *map;

	obs_u64(log, (uint64_t)cap_hi << 32 | cap_lo, "pread CAP");
	obs_u64(log, vs, "pread VS");
	ASSERT_NE(cap_lo, 0);
	ASSERT_NE(cap_lo, 0xffffffffu);
	ASSERT_GE(vs, 0x00010000u);
	ASSERT_LT(vs, 0x00030000u);
	observe_pread(log, dev, bar0 + NVME_REG_CAP, 8, "CAP, 8 bytes");
	observe_pread(log, dev, bar0 + NVME_REG_VS, 2, "VS, 2 bytes");
	observe_pread(log, dev, bar0, 64, "first 64 bytes");
	obs_u64(log, bar0_read32(dev, NVME_REG_CC), "pread CC");
	obs_u64(log, bar0_read32(dev, NVME_REG_CSTS), "pread CSTS");

	map = lab_mmap(dev, bar0, PAGE_SIZE_BYTES, PROT_READ | PROT_WRITE,
		       MAP_SHARED);
	obs_result(log, map == MAP_FAILED ? -errno : 0, "mmap BAR0 page 0");
	ASSERT_TRUE(map != MAP_FAILED);
	ASSERT_EQ(mmio_read32(map, NVME_REG_CAP), cap_lo);
	ASSERT_EQ(mmio_read32(map, NVME_REG_VS), vs);

	/* Admin queue addresses are harmless while the controller is off. */
	if (nvme_controller_enabled(dev)) {
		obs_u64(log, 1, "controller enabled, register writes skipped");
	} else {
		bar0_write32(dev, NVME_REG_ASQ, 0x12345000u);
		obs_u64(log, bar0_read32(dev, NVME_REG_ASQ),
			"pread ASQ after pwrite");
		ASSERT_EQ(bar0_read32(dev, NVME_REG_ASQ), 0x12345000u);
		ASSERT_EQ(mmio_read32(map, NVME_REG_ASQ), 0x12345000u);

		mmio_write32(map, NVME_REG_ACQ, 0x0abcd000u);
		obs_u64(log, bar0_read32(dev, NVME_REG_ACQ),
			"pread ACQ after mmap write");
		ASSERT_EQ(bar0_read32(dev, NVME_REG_ACQ), 0x0abcd000u);

		bar0_write32(dev, NVME_REG_ASQ, 0);
		mmio_write32(map, NVME_REG_ACQ, 0);
		ASSERT_EQ(bar0_read32(dev, NVME_REG_ASQ), 0);
		ASSERT_EQ(bar0_read32(dev, NVME_REG_ACQ), 0);
	}
	lab_munmap(map, PAGE_SIZE_BYTES);
}

static void probe_bar(const struct device_kind *kind, struct vfio_dev *dev,
		      struct observation_log *log)
{
	if (kind->is_edu)
		probe_bar_edu(dev, log);
	else
		probe_bar_nvme(dev, log);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Starts one edu DMA transfer and waits for it to finish. */
static void edu_dma(struct vfio_dev *dev, uint32_t src, uint32_t dst,
		    uint32_t count, uint32_t direction)
{
	bar0_write32(dev, EDU_REG_DMA_SRC, src);
	bar0_write32(dev, EDU_REG_DMA_DST, dst);
	bar0_write32(dev, EDU_REG_DMA_CNT, count);
	bar0_write32(dev, EDU_REG_DMA_CMD, EDU_DMA_RUN | direction);
	/* edu finishes ~100 ms of virtual time later. */
	for (int waited = 0; waited < 10000; waited += 5) {
		if (!(bar0_read32(dev, EDU_REG_DMA_CMD) & EDU_DMA_RUN))
			return;
		sleep_ms(5);
	}
	FAIL("edu DMA 0x%x -> 0x%x did not finish in 10 s", src, dst);
}

/* RAM -> edu buffer -> RAM through the IOMMU mapping at TEST_IOVA. */
static void edu_dma_round_trip(struct vfio_dev *dev, unsigned char *ram,
			       struct observation_log *log)
{
	unsigned char *out = ram, *back = ram + PAGE_SIZE_BYTES;

	for (unsigned int i = 0; i < EDU_DMA_LEN; i++)
		out[i] = (unsigned char)(i * 7 + 3);
	memset(back, 0, EDU_DMA_LEN);

	/* Without Bus Master, edu's DMA is silently dropped. */
	ASSERT_OK(vfio_config_set_command_bits(dev, PCI_COMMAND_MEMORY |
						       PCI_COMMAND_MASTER));
	edu_dma(dev, (uint32_t)TEST_IOVA, EDU_DMA_BUF, EDU_DMA_LEN, 0);
	edu_dma(dev, EDU_DMA_BUF, (uint32_t)(TEST_IOVA + PAGE_SIZE_BYTES),
		EDU_DMA_LEN, EDU_DMA_TO_RAM);
	obs_bytes(log, back, EDU_DMA_LEN, "edu DMA round trip data");
	ASSERT_MEM_EQ(back, out, EDU_DMA_LEN);
}

static void observe_iommu_info(struct vfio_dev *dev,
			       struct observation_log *log)
{
	struct vfio_iommu_type1_info *info = calloc(1, sizeof(*info));

	ASSERT_TRUE(info != NULL);
	info->argsz = sizeof(*info);
	ASSERT_OK(ioctl(dev->container_fd, VFIO_IOMMU_GET_INFO, info));
	if (info->argsz > sizeof(*info)) {
		uint32_t size = info->argsz;

		free(info);
		info = calloc(1, size);
		ASSERT_TRUE(info != NULL);
		info->argsz = size;
		ASSERT_OK(ioctl(dev->container_fd, VFIO_IOMMU_GET_INFO, info));
	}
	obs_bytes(log, info, info->argsz, "IOMMU_GET_INFO with caps");
	free(info);
}

static void probe_dma(const struct device_kind *kind, struct vfio_dev *dev,
		      struct observation_log *log)
{
	const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	size_t len = 2 * PAGE_SIZE_BYTES;
	unsigned char *ram = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long unmapped;
	int ret;

	ASSERT_TRUE(ram != MAP_FAILED);
	observe_iommu_info(dev, log);

	ret = vfio_dma_map(dev->container_fd, ram, TEST_IOVA, len, rw);
	obs_result(log, ret, "map 2 pages");
	ASSERT_EQ(ret, 0);
	obs_result(log, vfio_dma_map(dev->container_fd, ram, TEST_IOVA, len, rw),
		   "map the same range again");
	obs_result(log, vfio_dma_map(dev->container_fd, ram,
				     TEST_IOVA + PAGE_SIZE_BYTES, len, rw),
		   "map overlapping the first");
	obs_result(log, vfio_dma_map(dev->container_fd, ram, TEST_IOVA + 0x800,
				     PAGE_SIZE_BYTES, rw),
		   "map at an unaligned iova");
	obs_result(log, vfio_dma_map(dev->container_fd, ram + 0x800,
				     TEST_IOVA + 4 * PAGE_SIZE_BYTES,
				     PAGE_SIZE_BYTES, rw),
		   "map an unaligned vaddr");
	obs_result(log, vfio_dma_map(dev->container_fd, ram,
				     TEST_IOVA + 8 * PAGE_SIZE_BYTES, 0, rw),
		   "map size 0");
	obs_result(log, vfio_dma_map(dev->container_fd, ram,
				     TEST_IOVA + 8 * PAGE_SIZE_BYTES,
				     PAGE_SIZE_BYTES, 0),
		   "map without read or write");

	if (kind->is_edu)
		edu_dma_round_trip(dev, ram, log);

	obs_result(log, vfio_dma_unmap(dev->container_fd, TEST_IOVA + 0x800,
				       PAGE_SIZE_BYTES),
		   "unmap at an unaligned iova");
	unmapped = vfio_dma_unmap(dev->container_fd, TEST_IOVA, len);
	obs_result(log, unmapped, "unmap 2 pages");
	ASSERT_EQ(unmapped, (long)len);
	obs_result(log, vfio_dma_unmap(dev->container_fd, TEST_IOVA, len),
		   "unmap again");
	munmap(ram, len);
}

static void observe_hot_reset_info(struct vfio_dev *dev,
				   struct observation_log *log)
{
	struct vfio_pci_hot_reset_info header = { .argsz = sizeof(header) };
	struct vfio_pci_hot_reset_info *full;
	size_t size;
	int ret;

	ret = ioctl(dev->device_fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &header);
	obs_result(log, ret < 0 ? -errno : ret, "hot reset info, header only");
	obs_bytes(log, &header, sizeof(header), "hot reset info header: out");
	if (ret < 0 && errno != ENOSPC)
		return;
	size = sizeof(header) + header.count * sizeof(full->devices[0]);
	full = calloc(1, size);
	ASSERT_TRUE(full != NULL);
	full->argsz = size;
	OBS_SYSCALL(log,
		    ioctl(dev->device_fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
			  full),
		    "hot reset info, full");
	obs_bytes(log, full, size, "hot reset info, full: out");
	free(full);
}

static void probe_reset(const struct device_kind *kind, struct vfio_dev *dev,
			struct observation_log *log)
{
	uint64_t size = region_size(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	unsigned char *config = calloc(1, size);
	bool write_asq = false;
	int ret;

	ASSERT_TRUE(config != NULL);
	obs_u64(log, dev->info.flags & VFIO_DEVICE_FLAGS_RESET,
		"reset flag in GET_INFO");

	/* Leave a mark that a reset would clear. */
	if (kind->is_edu) {
		bar0_write32(dev, EDU_REG_LIVENESS, 0x0f0f0f0fu);
	} else if (!nvme_controller_enabled(dev)) {
		bar0_write32(dev, NVME_REG_ASQ, 0x12345000u);
		write_asq = true;
	}
	ASSERT_OK(vfio_config_set_command_bits(dev, PCI_COMMAND_MEMORY));

	ret = ioctl(dev->device_fd, VFIO_DEVICE_RESET);
	obs_result(log, ret < 0 ? -errno : ret, "VFIO_DEVICE_RESET");
	if (kind->is_edu)
		ASSERT_EQ(ret < 0 ? -errno : ret, -EINVAL);
	if (kind->is_nvme_pf)
		ASSERT_EQ(ret, 0);

	read_config(dev, config, size);
	obs_bytes(log, config, size, "config space after reset");
	if (kind->is_edu) {
		obs_u64(log, bar0_read32(dev, EDU_REG_LIVENESS),
			"liveness after reset");
		ASSERT_EQ(bar0_read32(dev, EDU_REG_ID), EDU_ID_VALUE);
	} else {
		/* Memory decoding may be off after a reset: turn it on. */
		ASSERT_OK(vfio_config_set_command_bits(dev, PCI_COMMAND_MEMORY));
		obs_u64(log, bar0_read32(dev, NVME_REG_ASQ), "ASQ after reset");
		obs_u64(log, bar0_read32(dev, NVME_REG_CC), "CC after reset");
		obs_u64(log, bar0_read32(dev, NVME_REG_VS), "VS after reset");
		obs_u64(log, write_asq, "ASQ written before reset");
		/* QEMU's FLR keeps ASQ; it must leave the controller off. */
		if (ret == 0)
			ASSERT_FALSE(nvme_controller_enabled(dev));
		ASSERT_GE(bar0_read32(dev, NVME_REG_VS), 0x00010000u);
	}

	ret = ioctl(dev->device_fd, VFIO_DEVICE_RESET);
	obs_result(log, ret < 0 ? -errno : ret, "VFIO_DEVICE_RESET again");
	observe_hot_reset_info(dev, log);
	free(config);
}

/* The region index's offset, derived from the layout regions 0 and 1 show. */
static uint64_t index_to_offset(const struct vfio_dev *dev, uint32_t index)
{
	return (uint64_t)index * (region_offset(dev, 1) - region_offset(dev, 0)) +
	       region_offset(dev, 0);
}

static void observe_bad_region_access(struct vfio_dev *dev, uint32_t index,
				      bool writes, struct observation_log *log)
{
	uint64_t base = region_offset(dev, index);
	uint64_t size = region_size(dev, index);
	unsigned char tail[4] = { 0 };
	char key[64];
	long n;

	snprintf(key, sizeof(key), "region %u at end", index);
	observe_pread(log, dev, base + size, 4, key);
	snprintf(key, sizeof(key), "region %u beyond end", index);
	observe_pread(log, dev, base + size + PAGE_SIZE_BYTES, 4, key);
	snprintf(key, sizeof(key), "region %u spanning end", index);
	observe_pread(log, dev, base + size - 2, 4, key);
	snprintf(key, sizeof(key), "region %u oversized at end-8", index);
	observe_pread(log, dev, base + size - 8, 1 << 16, key);
	snprintf(key, sizeof(key), "region %u unaligned +1", index);
	observe_pread(log, dev, base + 1, 4, key);
	snprintf(key, sizeof(key), "region %u unaligned +3", index);
	observe_pread(log, dev, base + 3, 2, key);
	snprintf(key, sizeof(key), "region %u zero length", index);
	observe_pread(log, dev, base, 0, key);

	snprintf(key, sizeof(key), "region %u write at end", index);
	observe_pwrite(log, dev, base + size, tail, 4, key);
	snprintf(key, sizeof(key), "region %u write beyond end", index);
	observe_pwrite(log, dev, base + size + PAGE_SIZE_BYTES, tail, 4, key);
	if (!writes)
		return;
	/* Write back what is there, so the spanning write changes nothing. */
	n = pread(dev->device_fd, tail, 2, (off_t)(base + size - 2));
	ASSERT_EQ(n, 2);
	snprintf(key, sizeof(key), "region %u write spanning end", index);
	observe_pwrite(log, dev, base + size - 2, tail, 4, key);
}

static void observe_bad_ioctls(struct vfio_dev *dev,
			       struct observation_log *log)
{
	static const uint32_t bad_argsz[] = { 0, 4, 8, 15 };
	static const uint32_t bad_indexes[] = { 0, 1, 0x7fffffffu, 0xffffffffu };

	for (size_t i = 0; i < sizeof(bad_argsz) / sizeof(bad_argsz[0]); i++) {
		struct vfio_device_info info = { .argsz = bad_argsz[i] };
		struct vfio_region_info region = { .argsz = bad_argsz[i] };
		struct vfio_irq_info irq = { .argsz = bad_argsz[i] };

		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_GET_INFO,
				       &info),
			    "GET_INFO argsz %u", bad_argsz[i]);
		OBS_SYSCALL(log, ioctl(dev->device_fd,
				       VFIO_DEVICE_GET_REGION_INFO, &region),
			    "GET_REGION_INFO argsz %u", bad_argsz[i]);
		OBS_SYSCALL(log, ioctl(dev->device_fd,
				       VFIO_DEVICE_GET_IRQ_INFO, &irq),
			    "GET_IRQ_INFO argsz %u", bad_argsz[i]);
	}

	for (size_t i = 0; i < sizeof(bad_indexes) / sizeof(bad_indexes[0]);
	     i++) {
		/* 0 and 1 mean "just past the last one" here. */
		uint32_t region_index = bad_indexes[i] > 1 ?
						bad_indexes[i] :
						dev->info.num_regions + bad_indexes[i];
		uint32_t irq_index = bad_indexes[i] > 1 ?
					     bad_indexes[i] :
					     dev->info.num_irqs + bad_indexes[i];
		struct vfio_region_info *region = NULL;
		struct vfio_irq_info irq;
		int ret;

		ret = vfio_region_info_get(dev->device_fd, region_index, &region);
		obs_result(log, ret, "GET_REGION_INFO index 0x%x", region_index);
		ASSERT_EQ(ret, -EINVAL);
		free(region);
		ret = vfio_irq_info_get(dev->device_fd, irq_index, &irq);
		obs_result(log, ret, "GET_IRQ_INFO index 0x%x", irq_index);
		ASSERT_EQ(ret, -EINVAL);
	}

	/* An ioctl number vfio does not know. */
	OBS_SYSCALL(log, ioctl(dev->device_fd, _IO(VFIO_TYPE, VFIO_BASE + 60)),
		    "unknown ioctl");

	{
		struct vfio_irq_set set = { .argsz = sizeof(set) };

		set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
		set.index = 99;
		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, &set),
			    "SET_IRQS unknown index");
		set.index = VFIO_PCI_INTX_IRQ_INDEX;
		set.argsz = 4;
		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, &set),
			    "SET_IRQS argsz 4");
		set.argsz = sizeof(set);
		set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
			    VFIO_IRQ_SET_ACTION_TRIGGER;
		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, &set),
			    "SET_IRQS two data types");
		/* Tearing down an INTx trigger that was never set up. */
		set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, &set),
			    "SET_IRQS INTx disable");
	}

	/* Feature probes have no side effects. */
	for (uint32_t feature = 0; feature < VFIO_FEATURE_INDEXES_PROBED;
	     feature++) {
		struct vfio_device_feature probe = { .argsz = sizeof(probe) };

		probe.flags = VFIO_DEVICE_FEATURE_PROBE |
			      VFIO_DEVICE_FEATURE_GET | feature;
		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, &probe),
			    "feature %u probe get", feature);
		probe.flags = VFIO_DEVICE_FEATURE_PROBE |
			      VFIO_DEVICE_FEATURE_SET | feature;
		OBS_SYSCALL(log, ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, &probe),
			    "feature %u probe set", feature);
	}
}

static void observe_bad_mmaps(const struct device_kind *kind,
			      struct vfio_dev *dev,
			      struct observation_log *log)
{
	uint64_t bar0 = region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX);
	uint64_t size = region_size(dev, VFIO_PCI_BAR0_REGION_INDEX);

	observe_mmap(log, dev, bar0, size + PAGE_SIZE_BYTES, MAP_SHARED,
		     "BAR0 longer than the BAR");
	observe_mmap(log, dev, bar0 + size, PAGE_SIZE_BYTES, MAP_SHARED,
		     "BAR0 at its end");
	observe_mmap(log, dev, bar0 + size - PAGE_SIZE_BYTES,
		     2 * PAGE_SIZE_BYTES, MAP_SHARED, "BAR0 spanning its end");
	observe_mmap(log, dev, bar0 + 1, PAGE_SIZE_BYTES, MAP_SHARED,
		     "BAR0 at an unaligned offset");
	observe_mmap(log, dev, bar0, PAGE_SIZE_BYTES, MAP_PRIVATE,
		     "BAR0 private");
	observe_mmap(log, dev, bar0, 100, MAP_SHARED, "BAR0 100 bytes");
	observe_mmap(log, dev,
		     region_offset(dev, VFIO_PCI_CONFIG_REGION_INDEX),
		     PAGE_SIZE_BYTES, MAP_SHARED, "config region");
	observe_mmap(log, dev, region_offset(dev, VFIO_PCI_ROM_REGION_INDEX),
		     PAGE_SIZE_BYTES, MAP_SHARED, "ROM region");
	/* No VGA here: its info is refused, so its offset is derived. */
	observe_mmap(log, dev, index_to_offset(dev, VFIO_PCI_VGA_REGION_INDEX),
		     PAGE_SIZE_BYTES, MAP_SHARED, "VGA region");
	observe_mmap(log, dev, index_to_offset(dev, dev->info.num_regions + 2),
		     PAGE_SIZE_BYTES, MAP_SHARED, "unknown region");
	for (uint32_t bar = VFIO_PCI_BAR1_REGION_INDEX;
	     bar <= VFIO_PCI_BAR5_REGION_INDEX; bar++) {
		char key[48];

		snprintf(key, sizeof(key), "BAR%u (size 0x%llx)", bar,
			 (unsigned long long)region_size(dev, bar));
		observe_mmap(log, dev, region_offset(dev, bar), PAGE_SIZE_BYTES,
			     MAP_SHARED, key);
	}
	if (kind->is_edu) {
		/* Sanity: a non-mmappable region refuses, a BAR maps. */
		void *map = lab_mmap(dev,
				     region_offset(dev,
						   VFIO_PCI_CONFIG_REGION_INDEX),
				     PAGE_SIZE_BYTES, PROT_READ, MAP_SHARED);
		ASSERT_TRUE(map == MAP_FAILED);
		map = lab_mmap(dev, bar0, size + PAGE_SIZE_BYTES, PROT_READ,
			       MAP_SHARED);
		ASSERT_TRUE(map == MAP_FAILED);
	}
}

static void probe_bad_input(const struct device_kind *kind,
			    struct vfio_dev *dev,
			    struct observation_log *log)
{
	uint64_t unknown = index_to_offset(dev, dev->info.num_regions + 2);
	unsigned char zero[4] = { 0 };

	observe_bad_region_access(dev, VFIO_PCI_BAR0_REGION_INDEX, true, log);
	observe_bad_region_access(dev, VFIO_PCI_CONFIG_REGION_INDEX, true, log);
	observe_bad_region_access(dev, VFIO_PCI_ROM_REGION_INDEX, false, log);
	observe_pread(log, dev, unknown, 4, "unknown region");
	observe_pwrite(log, dev, unknown, zero, 4, "unknown region");
	observe_pread(log, dev, index_to_offset(dev, VFIO_PCI_VGA_REGION_INDEX),
		      4, "VGA region");

	/* Unaligned writes to harmless registers. */
	if (kind->is_edu) {
		observe_pwrite(log, dev,
			       region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX) +
				       EDU_REG_LIVENESS + 1,
			       zero, 4, "edu liveness +1");
		obs_u64(log, bar0_read32(dev, EDU_REG_LIVENESS),
			"edu liveness after unaligned write");
	} else if (!nvme_controller_enabled(dev)) {
		observe_pwrite(log, dev,
			       region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX) +
				       NVME_REG_ASQ + 1,
			       zero, 2, "NVMe ASQ +1");
	}

	observe_bad_ioctls(dev, log);
	observe_bad_mmaps(kind, dev, log);

	/* Sanity, independent of the comparison. */
	{
		struct vfio_device_info info = { .argsz = 4 };

		ASSERT_EQ(ioctl(dev->device_fd, VFIO_DEVICE_GET_INFO, &info), -1);
		ASSERT_EQ(errno, EINVAL);
	}
	if (kind->is_edu) {
		uint32_t value;

		ASSERT_EQ(pread(dev->device_fd, &value, 4,
				(off_t)(region_offset(dev, 0) + EDU_BAR0_SIZE)),
			  -1);
		ASSERT_EQ(errno, EINVAL);
	}
}

/* --- the tests ----------------------------------------------------------- */

#define COMPARE_TEST(kind, probe)                                            \
	TEST_NAMED(kind##_##probe, #kind "." #probe, TEST_DEFAULT_TIMEOUT_S)  \
	{                                                                     \
		compare_drivers(&kind_##kind, probe_##probe);                 \
	}

COMPARE_TEST(edu, device_info)
COMPARE_TEST(edu, region_info)
COMPARE_TEST(edu, irq_info)
COMPARE_TEST(edu, config)
COMPARE_TEST(edu, bar)
COMPARE_TEST(edu, dma)
COMPARE_TEST(edu, reset)
COMPARE_TEST(edu, bad_input)

COMPARE_TEST(nvme_vf, device_info)
COMPARE_TEST(nvme_vf, region_info)
COMPARE_TEST(nvme_vf, irq_info)
COMPARE_TEST(nvme_vf, config)
COMPARE_TEST(nvme_vf, bar)
COMPARE_TEST(nvme_vf, dma)
COMPARE_TEST(nvme_vf, reset)
COMPARE_TEST(nvme_vf, bad_input)

/* Last: each takes the PF from nvme and gives it back with its VFs. */
COMPARE_TEST(nvme_pf, device_info)
COMPARE_TEST(nvme_pf, region_info)
COMPARE_TEST(nvme_pf, irq_info)
COMPARE_TEST(nvme_pf, config)
COMPARE_TEST(nvme_pf, bar)
COMPARE_TEST(nvme_pf, dma)
COMPARE_TEST(nvme_pf, reset)
COMPARE_TEST(nvme_pf, bad_input)
