// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_cc_disable - test aid: clear CC.EN of an NVMe controller behind
 * pdma-nvme's back (its record untouched), to check that the driver finds
 * the controller reset. Built on the pdma-nvme driver core alone
 * (tools/nvme/nvme_{hw,io,state,restore}.c, no CLI), which it also proves
 * usable without the CLI.
 *
 *   nvme_cc_disable BDF
 *
 * Prints {"bdf":..,"cc_before":"0x..","cc_after":"0x..","ok":true}; exit 0,
 * or 2 with {"ok":false,"error":..} (also on stderr).
 */
#include <stdio.h>

#include "nvme/nvme_drv.h"

int main(int argc, char **argv)
{
	static struct nvd d;
	char bdf[16];
	uint32_t cc;

	if (argc != 2 || !nvd_parse_bdf(argv[1], bdf, sizeof(bdf))) {
		printf("{\"ok\":false,\"error\":\"usage: nvme_cc_disable DDDD:BB:DD.F\"}\n");
		fprintf(stderr, "usage: nvme_cc_disable DDDD:BB:DD.F\n");
		return 2;
	}
	nvd_init_struct(&d, bdf);
	if (nvd_open_device(&d)) {
		printf("{\"bdf\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n", bdf, d.err);
		fprintf(stderr, "nvme_cc_disable: %s\n", d.err);
		return 2;
	}
	cc = nvd_rd32(&d, NVME_REG_CC);
	nvd_wr_cc(&d, cc & ~NVME_CC_EN);
	printf("{\"bdf\":\"%s\",\"cc_before\":\"0x%x\",\"cc_after\":\"0x%x\",\"ok\":true}\n", bdf,
	       cc, nvd_rd32(&d, NVME_REG_CC));
	nvd_close_device(&d);
	return 0;
}
