// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_test_aid - faults for the pdma-nvme tests, made behind the driver's
 * back. Built on the pdma-nvme driver core alone (tools/nvme/nvme_{hw,io,
 * state,restore,ledger}.c, no CLI), which it also proves usable without it.
 *
 *   nvme_test_aid cc-disable BDF
 *       clear CC.EN (the record untouched): the controller was reset
 *   nvme_test_aid record-serial BDF SERIAL
 *       store the record again, valid, naming another disk's serial: the
 *       record now describes a different disk than the one at BDF
 *
 * Prints one JSON object ("ok", and "cc_before"/"cc_after" or "seq"); exit
 * 0, or 2 with "error" (also on stderr).
 */
#include <stdio.h>
#include <string.h>

#include "nvme/nvme_drv.h"

static int fail(const char *bdf, const char *msg)
{
	printf("{\"bdf\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n", bdf, msg);
	fprintf(stderr, "nvme_test_aid: %s\n", msg);
	return 2;
}

static int cc_disable(struct nvd *d)
{
	uint32_t cc;

	if (nvd_open_device(d))
		return fail(d->bdf, d->err);
	cc = nvd_rd32(d, NVME_REG_CC);
	nvd_wr_cc(d, cc & ~NVME_CC_EN);
	printf("{\"bdf\":\"%s\",\"cc_before\":\"0x%x\",\"cc_after\":\"0x%x\",\"ok\":true}\n",
	       d->bdf, cc, nvd_rd32(d, NVME_REG_CC));
	nvd_close_device(d);
	return 0;
}

static int record_serial(struct nvd *d, const char *serial)
{
	char why[400];
	bool present;

	if (nvd_state_map(d, false, &present) || !present)
		return fail(d->bdf, present ? d->err : "no state allocation");
	if (nvd_record_read(d, &d->cur, why, sizeof(why)))
		return fail(d->bdf, why);
	memset(d->cur.serial, ' ', sizeof(d->cur.serial));
	memcpy(d->cur.serial, serial, strnlen(serial, sizeof(d->cur.serial)));
	nvd_store(d, d->cur.flags);
	printf("{\"bdf\":\"%s\",\"seq\":%llu,\"ok\":true}\n", d->bdf,
	       (unsigned long long)d->cur.seq);
	return 0;
}

int main(int argc, char **argv)
{
	static struct nvd d;
	char bdf[16];

	if (argc < 3 || !nvd_parse_bdf(argv[2], bdf, sizeof(bdf)))
		return fail("", "usage: nvme_test_aid cc-disable BDF | record-serial BDF SERIAL");
	nvd_init_struct(&d, bdf);
	if (argc == 3 && !strcmp(argv[1], "cc-disable"))
		return cc_disable(&d);
	if (argc == 4 && !strcmp(argv[1], "record-serial"))
		return record_serial(&d, argv[3]);
	return fail(bdf, "usage: nvme_test_aid cc-disable BDF | record-serial BDF SERIAL");
}
