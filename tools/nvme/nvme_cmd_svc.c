// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_cmd_svc.c - the servicing commands of pdma-nvme: init, save,
 * restore and status, and what every command shares: opening the queues
 * (attach), the counters and the checkpoint at the end of a run.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nvme_cli.h"

void j_common(void)
{
	nvd_irq_collect(&drv);
	jstr("irq", drv.cur.irq_vectors ? "msix" : "polled");
	jint("irqs", (long long)drv.irqs);
	jint("irq_wakeups", drv.irq_wakeups);
	jint("admin_cmds", drv.admin_cmds);
	jint("cc_writes", drv.cc_writes);
	jint("io_cmds", drv.io_cmds);
}

int store_checkpoint(void)
{
	nvd_checkpoint(&drv);
	jint("inflight", drv.cur.nr_inflight);
	jint("ranges", drv.cur.nr_ranges);
	if (drv.ranges_dropped)
		jint("ranges_dropped", drv.ranges_dropped);
	return 0;
}

/* "lost": the range a killed write may have half written, or null */
static void j_lost(const struct nvd_restore *r)
{
	jkey("lost");
	if (r->lost.nlb)
		jraw("{\"lba\":%" PRIu64 ",\"blocks\":%u}", r->lost.slba, r->lost.nlb);
	else
		jraw("null");
}

static void j_recovery(const struct nvd_restore *r)
{
	bool rec = strcmp(r->path, "keep-alive") != 0;

	jbool("recovered", rec);
	if (!rec)
		return;
	jstr("checks_failed", r->checks);
	jint("in_doubt", r->in_doubt);
	j_lost(r);
}

/* Open the queues (recovering if need be); @drain: reap what was left */
int attach(bool drain)
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

int attach_drained(void)
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

int cmd_init(bool forget, bool msix)
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

/*
 * Quiesce and store the SAVED record. Commands still in flight stay so: the
 * record lists them and their rings' CRCs, the controller completes them
 * into the rings in pdma (across a kexec, too), and the next process reaps
 * and matches their completions before it submits anything (--drain reaps
 * them here instead).
 */
int do_save(bool keep_alive, bool drain, bool flush)
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

int cmd_save(int argc, char **argv)
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

int cmd_restore(void)
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
	jint("vfio_group_ns", (long long)(drv.t_vfio_group - drv.t_claimed));
	jint("vfio_device_ns", (long long)(drv.t_vfio_device - drv.t_vfio_group));
	jint("open_to_first_io_ns", (long long)(drv.t_first_io - drv.t_opened));
	jint("check_ns", (long long)r.check_ns);
	jint("init_ns", (long long)r.init_ns);
	jint("reaped", r.reaped);
	jint("in_doubt", r.in_doubt);
	jbool("dirty", r.dirty);
	j_lost(&r);
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

int cmd_status(void)
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
