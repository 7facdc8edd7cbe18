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
 * completion) split into claim_ns, vfio_open_ns and open_to_first_io_ns,
 * init_ns, reaped/in_doubt (commands in flight at the save), and, from
 * the TSC stamps of the last save (null without a good record): save_ns,
 * kexec_ns (end of the save to the start of this process: the kexec when
 * there was one), device_restore_ns and blackout_ns (start of the save's
 * quiesce to the first I/O completion).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include "nvme_cli.h"

static int blocks(const struct count *c, uint64_t *out)
{
	uint64_t bs = 1ull << drv.cur.lba_shift;

	if (c->bytes && c->n % bs)
		return nvd_err(&drv, NVD_EXIT_IO, "%" PRIu64 " bytes is not a multiple of the "
			       "%" PRIu64 "-byte block", c->n, bs);
	*out = c->bytes ? c->n / bs : c->n;
	return *out ? 0 : nvd_err(&drv, NVD_EXIT_IO, "count must not be zero");
}

static void j_common(void)
{
	nvd_irq_collect(&drv);
	jstr("irq", drv.cur.irq_vectors ? "msix" : "polled");
	jint("irqs", (long long)drv.irqs);
	jint("irq_wakeups", drv.irq_wakeups);
	jint("admin_cmds", drv.admin_cmds);
	jint("cc_writes", drv.cc_writes);
	jint("io_cmds", drv.io_cmds);
}

static void j_stream(const char *prefix, const struct nvd_stream *st)
{
	char k[40];

	snprintf(k, sizeof(k), "%s_ns", prefix);
	jint("bytes", (long long)st->bytes);
	jint(k, (long long)st->ns);
	jint("mib_s", st->ns ? (long long)(st->bytes * 1000.0 / st->ns / 1.048576) : 0);
}

static int store_checkpoint(void)
{
	nvd_checkpoint(&drv);
	jint("inflight", drv.cur.nr_inflight);
	jint("ranges", drv.cur.nr_ranges);
	if (drv.ranges_dropped)
		jint("ranges_dropped", drv.ranges_dropped);
	return 0;
}

static void j_recovery(const struct nvd_restore *r)
{
	bool rec = strcmp(r->path, "keep-alive") != 0;

	jbool("recovered", rec);
	if (!rec)
		return;
	jstr("checks_failed", r->checks);
	jint("in_doubt", r->in_doubt);
	jkey("lost");
	if (r->lost.nlb)
		jraw("{\"lba\":%" PRIu64 ",\"blocks\":%u}", r->lost.slba, r->lost.nlb);
	else
		jraw("null");
}

/* Open the queues (recovering if need be); @drain: reap what was left */
static int attach(bool drain)
{
	struct nvd_restore r;

	if (nvd_restore(&drv, &r, false, drain)) {
		if (*r.checks)
			jstr("checks_failed", r.checks);
		return -1;
	}
	cli_opened = true;
	j_recovery(&r);
	if (drain)
		jint("reaped", r.reaped);
	return 0;
}

static int attach_drained(void)
{
	return attach(true);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

/*
 * A record that is dirty or lists writes in flight is settled first (the
 * recovery every command runs, on the recorded geometry: it rewrites them
 * on the same disk), so that init never drops data silently; --forget is
 * the explicit way to drop the record's log and writes instead.
 */
static int settle_before_init(struct nvs_record *old, bool *have)
{
	unsigned int nq = drv.nq, depth = drv.depth;
	struct nvd_restore r;

	if (!*have || !(old->flags & NVS_F_DIRTY || old->nr_inflight))
		return 0;
	if (nvd_restore(&drv, &r, false, true)) {
		if (*r.checks)
			jstr("checks_failed", r.checks);
		return -1;
	}
	jstr("settled", r.path);
	jint("in_doubt", r.in_doubt);
	jint("reaped", r.reaped);
	*old = drv.cur;
	nvd_unmap_queues(&drv); /* claimed again below, maybe with another size */
	drv.nq = nq;
	drv.depth = depth;
	return 0;
}

static int cmd_init(bool forget, bool msix)
{
	struct nvs_record old;
	char why[400];
	bool present, have, keep;
	uint64_t t0;

	if (nvd_state_map(&drv, true, &present))
		return fail();
	have = present && !nvd_record_read(&drv, &old, why, sizeof(why)) &&
	       !strcmp(old.bdf, drv.bdf);
	if (!forget && settle_before_init(&old, &have))
		return fail();
	if (drv.device < 0 && nvd_open_device(&drv))
		return fail();
	t0 = nvd_now_ns();
	keep = have && !forget;
	memset(&drv.cur, 0, sizeof(drv.cur));
	if (keep) {
		drv.cur = old;
		drv.cur.nr_inflight = 0;
		memset(drv.cur.inflight, 0, sizeof(drv.cur.inflight));
	}
	drv.cur.gen = have ? old.gen : 0;
	drv.cur.irq_vectors = msix ? drv.nq + 1 : 0;
	memset(drv.io, 0, sizeof(drv.io));
	memset(&drv.admin, 0, sizeof(drv.admin));
	jhex("cc_at_open", nvd_rd32(&drv, NVME_REG_CC));
	/* Dirty first, then stop the controller (and its DMA) before any free */
	nvd_own(&drv);
	if (nvd_disable(&drv) || nvd_claim_all(&drv, true) || nvd_full_init(&drv) ||
	    nvd_ka_set(&drv, 1))
		return fail();
	cli_opened = true;
	jint("init_ns", (long long)(nvd_now_ns() - t0));
	keep = keep && old.nsze == drv.cur.nsze && old.lba_shift == drv.cur.lba_shift &&
	       !memcmp(old.serial, drv.cur.serial, sizeof(old.serial));
	if (!keep) {
		drv.cur.nr_ranges = 0;
		memset(drv.cur.ranges, 0, sizeof(drv.cur.ranges));
	}
	jbool("ranges_kept", keep);
	jbool("forgot", forget && have);
	jfixed("serial", drv.cur.serial, sizeof(drv.cur.serial));
	jfixed("model", drv.cur.model, sizeof(drv.cur.model));
	jint("nsze", (long long)drv.cur.nsze);
	jint("lba_size", 1 << drv.cur.lba_shift);
	jint("queues", drv.nq);
	jint("depth", drv.depth);
	jint("chunk", drv.chunk);
	j_common();
	store_checkpoint();
	return finish(0);
}

static int cmd_write(int argc, char **argv)
{
	struct nvd_stream st = { 0 };
	struct count lba, cnt = { 0, false };
	const char *file = NULL, *seed = NULL;
	uint64_t nlb, seedv = 0;
	bool wait = true;
	struct stat sb;
	int i, fd;

	if (argc < 1 || !parse_lba(argv[0], &lba))
		return usage("write LBA FILE | write LBA --pattern SEED --count N [--no-wait]");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pattern") && i + 1 < argc &&
		    parse_uint(argv[i + 1], 0, UINT64_MAX, &seedv))
			seed = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc && parse_num(argv[i + 1], &cnt))
			i++;
		else if (!strcmp(argv[i], "--no-wait"))
			wait = false;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return usage("write LBA FILE | write LBA --pattern SEED --count N [--no-wait]");
	}
	if (!!file == !!seed || (seed && !cnt.n) || (file && (cnt.n || !wait)))
		return usage("write LBA FILE | write LBA --pattern SEED --count N [--no-wait]");
	fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
	if (file && (fd < 0 || fstat(fd, &sb) || sb.st_size <= 0))
		return nvd_err(&drv, NVD_EXIT_IO, "%s: %s", file, fd < 0 || sb.st_size < 0 ?
			       strerror(errno) : "empty file"), fail();
	if (attach_drained())
		return fail();
	jint("lba", (long long)lba.n);
	if (seed) {
		if (blocks(&cnt, &nlb))
			return fail();
		jint("blocks", (long long)nlb);
		nvd_intend(&drv, lba.n, nlb); /* a crash from here: these blocks unknown */
		if (nvd_write_pattern(&drv, lba.n, nlb, seedv, wait, &st))
			return fail();
	} else {
		nlb = ((uint64_t)sb.st_size + (1u << drv.cur.lba_shift) - 1) >> drv.cur.lba_shift;
		nvd_intend(&drv, lba.n, nlb);
		if (nvd_write_fd(&drv, lba.n, fd, file, &st))
			return close(fd), fail();
		close(fd);
		jhex("crc32c", st.crc);
	}
	j_stream(wait ? "write" : "submit", &st);
	j_common();
	store_checkpoint();
	return finish(0);
}

static int cmd_read(int argc, char **argv)
{
	struct nvd_stream st = { 0 };
	struct count lba, cnt;
	const char *out = NULL;
	uint64_t nlb;
	int fd = -1;

	if (argc == 4 && !strcmp(argv[2], "--out"))
		out = argv[3];
	else if (argc != 2)
		return usage("read LBA COUNT [--out FILE]");
	if (!parse_lba(argv[0], &lba) || !parse_num(argv[1], &cnt))
		return usage("read LBA COUNT [--out FILE]");
	if (attach_drained() || blocks(&cnt, &nlb))
		return fail();
	if (out && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return nvd_err(&drv, NVD_EXIT_IO, "%s: %s", out, strerror(errno)), fail();
	if (nvd_read_range(&drv, lba.n, nlb, fd, out, &st)) {
		if (fd >= 0)
			close(fd);
		return fail();
	}
	if (fd >= 0 && close(fd))
		return nvd_err(&drv, NVD_EXIT_IO, "%s: %s", out, strerror(errno)), fail();
	jint("lba", (long long)lba.n);
	jint("blocks", (long long)nlb);
	jhex("crc32c", st.crc);
	j_stream("read", &st);
	j_common();
	store_checkpoint();
	return finish(0);
}

/* CRC32C of a file padded with zeros to whole blocks, and its block count */
static int file_crc(const char *path, uint32_t *crc, uint64_t *nlb)
{
	uint8_t buf[65536];
	uint64_t total = 0, bs = 1ull << drv.cur.lba_shift;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return nvd_err(&drv, NVD_EXIT_IO, "%s: %s", path, strerror(errno));
	*crc = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		*crc = nvd_crc32c(*crc, buf, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	if (n < 0 || !total)
		return nvd_err(&drv, NVD_EXIT_IO, "%s: %s", path, n ? strerror(errno) : "empty");
	memset(buf, 0, sizeof(buf));
	for (uint64_t pad = (bs - total % bs) % bs; pad; pad -= (uint64_t)n) {
		n = (ssize_t)(pad < sizeof(buf) ? pad : sizeof(buf));
		*crc = nvd_crc32c(*crc, buf, (size_t)n);
	}
	*nlb = (total + bs - 1) / bs;
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	struct nvs_range list[NVS_MAX_RANGES];
	struct nvd_stream st = { 0 };
	struct count lba, cnt = { 0, false };
	unsigned int n = 0, i;
	uint64_t nlb, seed = 0;
	uint32_t crc;

	if (argc && (!parse_lba(argv[0], &lba) ||
		     !((argc == 5 && !strcmp(argv[1], "--pattern") && !strcmp(argv[3], "--count") &&
			parse_uint(argv[2], 0, UINT64_MAX, &seed) && parse_num(argv[4], &cnt)) ||
		       (argc == 3 && !strcmp(argv[1], "--file")))))
		return usage("verify [LBA --pattern SEED --count N | LBA --file FILE]");
	if (attach_drained())
		return fail();
	if (argc == 5) {
		if (blocks(&cnt, &nlb))
			return fail();
		if (nlb > UINT32_MAX)
			return nvd_err(&drv, NVD_EXIT_IO, "verify: at most %u blocks at once",
				       UINT32_MAX), fail();
		list[0] = (struct nvs_range){ .slba = lba.n, .nlb = (uint32_t)nlb,
					      .kind = NVS_KIND_PATTERN,
					      .tag = seed };
		n = 1;
	} else if (argc == 3) {
		if (file_crc(argv[2], &crc, &nlb))
			return fail();
		list[0] = (struct nvs_range){ .slba = lba.n, .nlb = (uint32_t)nlb,
					      .kind = NVS_KIND_CRC, .tag = crc };
		n = 1;
	} else {
		n = drv.cur.nr_ranges;
		memcpy(list, drv.cur.ranges, sizeof(list[0]) * n);
		if (!n)
			return nvd_err(&drv, NVD_EXIT_FAIL, "nothing to verify: the record logs no "
				       "written range; pass LBA --pattern SEED --count N"), fail();
	}
	for (i = 0; i < n; i++)
		if (nvd_verify_range(&drv, list[i].slba, list[i].nlb, list[i].kind, list[i].tag, &st))
			return fail();
	jint("ranges_checked", n);
	jint("bytes_verified", (long long)st.bytes);
	jint("verify_ns", (long long)st.ns);
	jbool("match", !st.mismatch);
	if (st.mismatch)
		jint("bad_lba", (long long)st.bad_lba);
	j_common();
	store_checkpoint();
	if (st.mismatch)
		return nvd_err(&drv, NVD_EXIT_FAIL, "%s: data mismatch at LBA %" PRIu64, drv.bdf,
			       st.bad_lba), fail();
	return finish(0);
}

static int cmd_wait(void)
{
	if (attach_drained())
		return fail();
	j_common();
	store_checkpoint();
	return finish(0);
}

/*
 * Quiesce and store the SAVED record. Commands still in flight stay so: the
 * record lists them and their rings' CRCs, the controller completes them
 * into the rings in pdma (across a kexec, too), and the next process reaps
 * and matches their completions before it submits anything (--drain reaps
 * them here instead).
 */
static int do_save(bool keep_alive, bool drain, bool flush)
{
	uint64_t hz = tsc_hz(), t_q = nvd_now_ns(), tsc_q = nvd_tsc();
	unsigned int i, n = 0;
	uint32_t flags;

	for (i = 0; i < drv.nq; i++)
		n += nvd_pending(&drv.io[i]);
	jint("inflight_at_save", n);
	if ((n && drain && nvd_drain(&drv)) || (flush && nvd_flush(&drv)) ||
	    nvd_ka_set(&drv, keep_alive))
		return -1;
	nvd_settle(&drv);
	memset(&drv.cur.intent, 0, sizeof(drv.cur.intent));
	nvd_snapshot(&drv);
	drv.cur.saves++;
	drv.cur.save_tsc_start = tsc_q;
	drv.cur.tsc_hz = hz;
	flags = NVS_F_SAVED | (keep_alive ? NVS_F_KEEP_ALIVE : 0) | (flush ? NVS_F_FLUSHED : 0);
	drv.cur.save_ns = nvd_now_ns() - t_q;
	drv.cur.save_tsc_end = nvd_tsc();
	nvd_store(&drv, flags);
	cli_opened = false; /* saved: a later failure must not overwrite it */
	jint("save_ns", (long long)(nvd_now_ns() - t_q));
	jint("drained", drain ? n : 0);
	jint("inflight", drv.cur.nr_inflight);
	jbool("keep_alive", keep_alive);
	jbool("flushed", flush);
	jint("queues", drv.nq);
	jint("seq", (long long)drv.cur.seq);
	jint("tsc_hz", (long long)hz);
	jint("ranges", drv.cur.nr_ranges);
	return 0;
}

static int cmd_save(int argc, char **argv)
{
	bool keep_alive = true, drain = false, flush = false;
	int k;

	for (k = 0; k < argc; k++) {
		if (!strcmp(argv[k], "--no-keep-alive"))
			keep_alive = false, flush = true; /* the close resets the device */
		else if (!strcmp(argv[k], "--drain"))
			drain = true;
		else if (!strcmp(argv[k], "--flush"))
			flush = true;
		else
			return usage("save [--no-keep-alive] [--drain] [--flush]");
	}
	if (attach(false) || do_save(keep_alive, drain, flush))
		return fail();
	j_common();
	return finish(0);
}

static volatile int load_stop;

static void on_stop(int sig)
{
	(void)sig;
	load_stop = 1;
}

/*
 * load BASE --units N --unit-blocks B [--seed S]: prefill the units, then
 * keep every slot of every I/O queue busy with random unit writes recorded
 * in the ledger, until SIGUSR1 (then save, with the writes in flight, and
 * exit: the caller's next step is `kexec -e`) or SIGTERM/SIGINT (then
 * checkpoint and exit).
 */
static int cmd_load(int argc, char **argv)
{
	const char *use = "load BASE --units N --unit-blocks B [--seed S]";
	uint64_t base, units = 0, ub = 0, seed = 1;
	struct sigaction sa = { .sa_handler = on_stop };
	struct nvd_load st = { 0 };
	int k;

	if (argc < 1 || !parse_uint(argv[0], 0, UINT64_MAX, &base))
		return usage(use);
	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--units") && parse_uint(argv[k + 1], 1, NVL_MAX_UNITS, &units))
			continue;
		if (!strcmp(argv[k], "--unit-blocks") && parse_uint(argv[k + 1], 1, 4096, &ub))
			continue;
		if (!strcmp(argv[k], "--seed") && parse_uint(argv[k + 1], 1, UINT64_MAX, &seed))
			continue;
		return usage(use);
	}
	if (k != argc || !units || !ub)
		return usage(use);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (attach_drained() || nvd_ledger_create(&drv, base, (uint32_t)units, (uint32_t)ub))
		return fail();
	nvd_intend(&drv, base, units * ub);
	if (nvd_ledger_run(&drv, seed, &load_stop, &st))
		return fail();
	jint("writes", (long long)st.writes);
	jint("min_qd", st.min_qd);
	jint("prefill_ns", (long long)st.prefill_ns);
	jint("load_ns", (long long)st.ns);
	jint("ledger_acked", (long long)drv.ledger->acked);
	if (do_save(true, false, false))
		return fail();
	j_common();
	return finish(0);
}

static int cmd_ledger_check(void)
{
	struct nvd_ledger_check c;

	if (attach_drained() || nvd_ledger_check(&drv, &c))
		return fail();
	jint("units", (long long)c.units);
	jint("units_in_flight", (long long)c.inflight);
	jint("blocks_done", (long long)c.blocks_done);
	jint("blocks_old", (long long)c.blocks_old);
	jint("blocks_new", (long long)c.blocks_new);
	jint("blocks_unwritten", (long long)c.blocks_unwritten);
	jint("bad", (long long)c.bad);
	if (c.bad)
		jint("first_bad_lba", (long long)c.first_bad_lba);
	j_common();
	store_checkpoint();
	if (c.bad)
		return nvd_err(&drv, NVD_EXIT_FAIL, "%s: %" PRIu64 " blocks match neither the "
			       "acknowledged nor the in-flight write of their unit (first LBA %"
			       PRIu64 ")", drv.bdf, c.bad, c.first_bad_lba), fail();
	return finish(0);
}

static int cmd_restore(void)
{
	struct nvd_restore r;
	const struct nvs_record *s = &drv.cur;
	uint64_t hz;

	if (nvd_restore(&drv, &r, true, false)) {
		jstr("checks_failed", r.checks);
		return fail();
	}
	cli_opened = true;
	drv.cur.restores++;
	store_checkpoint();
	jint("restore_ns", drv.t_first_io ? (long long)(drv.t_first_io - t_main) : -1);
	jstr("path", r.path);
	jstr("checks_failed", r.checks);
	jbool("record_ok", r.record_ok);
	j_common();
	jint("open_ns", (long long)r.open_ns);
	jint("claim_ns", (long long)(drv.t_claimed - t_main));
	jint("vfio_open_ns", (long long)(drv.t_opened - drv.t_claimed));
	jint("open_to_first_io_ns", (long long)(drv.t_first_io - drv.t_opened));
	jint("check_ns", (long long)r.check_ns);
	jint("init_ns", (long long)r.init_ns);
	jint("reaped", r.reaped);
	jint("in_doubt", r.in_doubt);
	jbool("dirty", r.dirty);
	jkey("lost");
	if (r.lost.nlb)
		jraw("{\"lba\":%" PRIu64 ",\"blocks\":%u}", r.lost.slba, r.lost.nlb);
	else
		jraw("null");
	jint("queues", drv.nq);
	jfixed("serial", s->serial, sizeof(s->serial));
	hz = tsc_hz();
	jint("tsc_hz", (long long)hz);
	jbool("from_save", r.saved);
	if (r.saved && s->save_tsc_start && s->tsc_hz) {
		jint("tsc_hz_save", (long long)s->tsc_hz);
		jint("save_ns", (long long)s->save_ns);
		jint("quiesce_to_save_end_ns", ticks_ns(s->save_tsc_start, s->save_tsc_end, s->tsc_hz));
		jint("kexec_ns", ticks_ns(s->save_tsc_end, tsc_main, s->tsc_hz));
		jint("device_restore_ns", ticks_ns(tsc_main, drv.tsc_first_io, s->tsc_hz));
		jint("blackout_ns", ticks_ns(s->save_tsc_start, drv.tsc_first_io, s->tsc_hz));
		/* Raw stamps: blackouts of several controllers add up on one clock */
		jint("save_tsc_start", (long long)s->save_tsc_start);
		jint("tsc_first_io", (long long)drv.tsc_first_io);
	} else {
		jnull("blackout_ns");
	}
	return finish(0);
}

static int cmd_status(void)
{
	const struct nvs_record *s = &drv.cur;
	char problem[400];
	bool present, good;
	char ka[8] = "", path[96];
	int fd;

	if (nvd_state_map(&drv, false, &present))
		return fail();
	jbool("record_present", present);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/keep_alive", drv.bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, ka, 1) == 1)
		jint("sysfs_keep_alive", ka[0] - '0');
	if (fd >= 0)
		close(fd);
	if (!present)
		return finish(0);
	good = !nvd_record_read(&drv, &drv.cur, problem, sizeof(problem));
	jhex("state_phys", drv.mem[M_STATE].phys);
	jhex("record_phys", drv.mem[M_STATE].phys + (good ? drv.rec_copy * NVS_COPY_SIZE : 0));
	jstr("record_problem", problem);
	if (!good)
		return finish(0);
	jstr("copy", drv.rec_copy ? "B" : "A");
	jint("seq", (long long)s->seq);
	jbool("dirty", s->flags & NVS_F_DIRTY);
	jint("gen", s->gen);
	jint("intent_lba", (long long)s->intent.slba);
	jint("intent_blocks", s->intent.nlb);
	jint("recoveries", s->recoveries);
	jbool("saved", s->flags & NVS_F_SAVED);
	jbool("saved_keep_alive", s->flags & NVS_F_KEEP_ALIVE);
	jfixed("boot_id", s->boot_id, sizeof(s->boot_id));
	jfixed("serial", s->serial, sizeof(s->serial));
	jfixed("model", s->model, sizeof(s->model));
	jint("nsze", (long long)s->nsze);
	jint("lba_size", s->lba_shift < 32 ? 1ll << s->lba_shift : 0);
	jint("queues", s->nr_io_queues);
	jint("depth", s->depth);
	for (unsigned int i = 0; i <= s->nr_io_queues && i <= NVS_MAX_QUEUES; i++) {
		const struct nvs_queue *q = i ? &s->io[i - 1] : &s->admin;
		char k[16];

		snprintf(k, sizeof(k), "q%u", i);
		jkey(k);
		jraw("{\"sq\":\"0x%" PRIx64 "\",\"cq\":\"0x%" PRIx64 "\",\"size\":%u,\"sq_tail\":%u,"
		     "\"cq_head\":%u,\"phase\":%u,\"next_cid\":%u}", q->sq_phys, q->cq_phys,
		     q->size, q->sq_tail, q->cq_head, q->phase, q->next_cid);
	}
	jint("inflight", s->nr_inflight);
	jint("ranges", s->nr_ranges);
	jint("bytes_written", (long long)s->bytes_written);
	jint("saves", s->saves);
	jint("restores", s->restores);
	return finish(0);
}

int main(int argc, char **argv)
{
	const char *bdf = getenv("PDMA_NVME_BDF"), *timeout = NULL;
	char norm[16];
	uint64_t v;
	int i = 1, q;

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
	/* Geometry options for init and restore */
	for (q = 0; q + 1 < argc; q++) {
		if (!strcmp(argv[q], "--queues") || !strcmp(argv[q], "--depth")) {
			bool queues = !strcmp(argv[q], "--queues");

			if (!parse_uint(argv[q + 1], queues ? 1 : NVD_SLOTS + 1,
					queues ? NVS_MAX_QUEUES : 4096, &v))
				return usage(queues ? "--queues takes 1..8" : "--depth takes 17..4096");
			if (queues)
				drv.nq = (unsigned int)v;
			else
				drv.depth = (unsigned int)v;
			memmove(&argv[q], &argv[q + 2], sizeof(*argv) * (size_t)(argc - q - 1));
			argc -= 2;
			q--;
		}
	}
	if (!strcmp(argv[-1], "init")) {
		bool forget = false, msix = false;

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
