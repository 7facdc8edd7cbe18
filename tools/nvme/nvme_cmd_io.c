// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_cmd_io.c - the I/O commands of pdma-nvme: write, read, verify,
 * wait, load (the ledger writer, until a signal) and ledger-check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

static void j_stream(const char *prefix, const struct nvd_stream *st)
{
	char k[40];

	snprintf(k, sizeof(k), "%s_ns", prefix);
	jint("bytes", (long long)st->bytes);
	jint(k, (long long)st->ns);
	jint("mib_s", st->ns ? (long long)(st->bytes * 1000.0 / st->ns / 1.048576) : 0);
}

int cmd_write(int argc, char **argv)
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

int cmd_read(int argc, char **argv)
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

int cmd_verify(int argc, char **argv)
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

int cmd_wait(void)
{
	if (attach_drained())
		return fail();
	j_common();
	store_checkpoint();
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
int cmd_load(int argc, char **argv)
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

int cmd_ledger_check(void)
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
