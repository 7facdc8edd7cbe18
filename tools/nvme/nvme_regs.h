/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvme_regs.h - the parts of the NVMe specification that both NVMe users
 * here need: controller registers and bits, admin and I/O opcodes, and the
 * submission and completion queue entry layouts.  Shared by pdma-nvme
 * (tools/nvme/) and vfio_nvme_probe (tests/guest/).
 */
#ifndef NVME_REGS_H
#define NVME_REGS_H

#include <stdint.h>

/* Controller registers (BAR0) */
#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30
#define NVME_REG_DB 0x1000

/* CAP fields */
#define NVME_CAP_MQES(c) ((uint32_t)((c) & 0xffff))
#define NVME_CAP_TO(c) ((uint32_t)(((c) >> 24) & 0xff)) /* 500 ms units */
#define NVME_CAP_DSTRD(c) ((uint32_t)(((c) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(c) (((c) >> 37) & 1)
#define NVME_CAP_MPSMIN(c) ((uint32_t)(((c) >> 48) & 0xf))

/* CC and CSTS bits */
#define NVME_CC_EN (1u << 0)
#define NVME_CC_IOSQES(x) ((uint32_t)(x) << 16)
#define NVME_CC_IOCQES(x) ((uint32_t)(x) << 20)
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1)
#define NVME_CSTS_SHST(c) (((c) >> 2) & 3)

/* Opcodes */
#define NVME_ADM_CREATE_SQ 0x01
#define NVME_ADM_CREATE_CQ 0x05
#define NVME_ADM_IDENTIFY 0x06
#define NVME_ADM_SET_FEATURES 0x09
#define NVME_IO_FLUSH 0x00
#define NVME_IO_WRITE 0x01
#define NVME_IO_READ 0x02

/* Identify CNS values (CDW10) */
#define NVME_ID_CNS_NS 0x00
#define NVME_ID_CNS_CTRL 0x01

struct nvme_sqe {
	uint32_t cdw0;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status; /* bit 0: phase tag */
};

#endif /* NVME_REGS_H */
