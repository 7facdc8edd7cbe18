// SPDX-License-Identifier: GPL-2.0
/*
 * pdma-nvme - a polled userspace NVMe driver (VFIO no-IOMMU) whose queues
 * and buffers live in pdma, so that the controller can be serviced across
 * kexec: save in the old kernel, restore in the new one.
 *
 *   pdma-nvme [-d BDF] [--timeout-ms N] COMMAND [ARGS]
 *     init [--queues N] [--depth D] [--forget] [--msix]
 *                                     reset the controller, build everything;
 *                                     first settles what the record lists
 *                                     (a crash, writes in flight), unless
 *                                     --forget drops the log and them;
 *                                     --msix: completions by MSI-X (one
 *                                     vector per queue) instead of polling
 *     write LBA FILE                  write a file (the last block zero-padded)
 *     write LBA --pattern SEED --count N [--no-wait]
 *                                     seeded pattern; --no-wait leaves the
 *                                     commands in flight (recorded) and exits
 *     read LBA COUNT [--out FILE]     read, print the CRC32C, optionally save
 *     verify [LBA --pattern SEED --count N | LBA --file FILE]
 *                                     re-read and check; without arguments
 *                                     every range of the record's log
 *     wait                            reap commands left in flight
 *     save [--no-keep-alive] [--drain] [--flush]
 *                                     quiesce and write the state record;
 *                                     commands in flight stay so (listed),
 *                                     unless --drain reaps them first
 *     restore [--queues N] [--depth D]
 *                                     resume after kexec, or re-init (the
 *                                     geometry options only matter then)
 *     status                          the record and the device, no I/O
 *     load BASE --units N --unit-blocks B [--seed S]
 *                                     random unit writes on every slot of
 *                                     every queue, in a ledger in pdma,
 *                                     until SIGUSR1 (then save with them in
 *                                     flight) or SIGTERM/SIGINT
 *     ledger-check                    the namespace against the ledger
 *
 * Every command that uses the device first opens the queues (nvme_restore.c):
 * it resumes on them when they are proven intact, else (a process died
 * owning them, another kernel, a reset device) it resets and re-initialises
 * the controller by itself, reporting "recovered":true, checks_failed,
 * in_doubt (writes listed in flight: never reissued) and the range whose
 * content became unknown (lost: blocks a killed write was writing, dropped
 * from the log).
 *
 * BDF defaults to 0000:01:00.0 (the harness), or $PDMA_NVME_BDF. COUNT and
 * N are blocks, or bytes with a K, M or G suffix; LBA, SEED and the options
 * are plain numbers (decimal or 0x), checked for range. One JSON object per run on
 * stdout, times in ns; errors also on stderr. Exit: 0 ok, 1 an operation or
 * check failed, 2 usage or I/O error.
 *
 * Keys every command prints: cmd, bdf, ok, cmd_ns (the whole run), and on
 * failure error and exit; after I/O: admin_cmds, cc_writes, io_cmds (this
 * run), inflight and ranges (of the stored record). restore adds path
 * ("keep-alive" or "full-init"), checks_failed (why not keep-alive, ""),
 * record_ok, restore_ns (start of the process to the first I/O
 * completion) split into claim_ns, vfio_open_ns (of it vfio_group_ns:
 * container and group; vfio_device_ns: the device fd, where vfio-pci
 * enables the device) and open_to_first_io_ns, init_ns, reaped/in_doubt (commands in flight at the save), and, from
 * the TSC stamps of the last save (null without a good record): save_ns,
 * kexec_ns (end of the save to the start of this process: the kexec when
 * there was one), device_restore_ns and blackout_ns (start of the save's
 * quiesce to the first I/O completion).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_cli.h"

/*
 * Geometry options for init and restore: take every --queues N and
 * --depth D out of @argv (into drv.nq, drv.depth); 0, or usage()'s code.
 */
static int take_geometry(int *argc, char **argv)
{
	uint64_t v;
	int q;

	for (q = 0; q + 1 < *argc; q++) {
		if (!strcmp(argv[q], "--queues") || !strcmp(argv[q], "--depth")) {
			bool queues = !strcmp(argv[q], "--queues");

			if (!parse_uint(argv[q + 1], queues ? 1 : NVD_SLOTS + 1,
					queues ? NVS_MAX_QUEUES : 4096, &v))
				return usage(queues ? "--queues takes 1..8" : "--depth takes 17..4096");
			if (queues)
				drv.nq = (unsigned int)v;
			else
				drv.depth = (unsigned int)v;
			memmove(&argv[q], &argv[q + 2], sizeof(*argv) * (size_t)(*argc - q - 1));
			*argc -= 2;
			q--;
		}
	}
	return 0;
}

/* init's own options (the geometry ones already taken), then init */
static int run_init(int argc, char **argv)
{
	bool forget = false, msix = false;
	int q;

	for (q = 0; q < argc; q++) {
		if (!strcmp(argv[q], "--forget") && !forget)
			forget = true;
		else if (!strcmp(argv[q], "--msix") && !msix)
			msix = true;
		else
			return usage("init [--queues N] [--depth D] [--forget] [--msix]");
	}
	return cmd_init(forget, msix);
}

int main(int argc, char **argv)
{
	const char *bdf = getenv("PDMA_NVME_BDF"), *timeout = NULL;
	char norm[16];
	uint64_t v;
	int i = 1, rc;

	t_main = nvd_now_ns();
	tsc_main = nvd_tsc();
	raw_main = raw_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
	jraw("{");
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "-d"))
			bdf = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout-ms"))
			timeout = argv[i + 1];
		else
			break;
	}
	if (!bdf)
		bdf = DEFAULT_BDF;
	jstr("cmd", i < argc ? argv[i] : "");
	if (!nvd_parse_bdf(bdf, norm, sizeof(norm))) {
		jstr("bdf", bdf);
		return usage("BDF must look like 0000:01:00.0");
	}
	nvd_init_struct(&drv, norm);
	jstr("bdf", norm);
	if (timeout && !parse_uint(timeout, 1, 3600000, &v))
		return usage("--timeout-ms takes 1..3600000");
	if (timeout)
		drv.timeout_ms = (unsigned int)v;
	if (i >= argc)
		return usage("pdma-nvme [-d BDF] COMMAND ...");
	argv += i + 1;
	argc -= i + 1;
	rc = take_geometry(&argc, argv);
	if (rc)
		return rc;
	if (!strcmp(argv[-1], "init"))
		return run_init(argc, argv);
	if (!strcmp(argv[-1], "write"))
		return cmd_write(argc, argv);
	if (!strcmp(argv[-1], "read"))
		return cmd_read(argc, argv);
	if (!strcmp(argv[-1], "verify"))
		return cmd_verify(argc, argv);
	if (!strcmp(argv[-1], "wait"))
		return argc ? usage("wait") : cmd_wait();
	if (!strcmp(argv[-1], "save"))
		return cmd_save(argc, argv);
	if (!strcmp(argv[-1], "restore"))
		return argc ? usage("restore [--queues N] [--depth D]") : cmd_restore();
	if (!strcmp(argv[-1], "load"))
		return cmd_load(argc, argv);
	if (!strcmp(argv[-1], "ledger-check"))
		return argc ? usage("ledger-check") : cmd_ledger_check();
	if (!strcmp(argv[-1], "status"))
		return argc ? usage("status") : cmd_status();
	return usage("unknown command");
}
