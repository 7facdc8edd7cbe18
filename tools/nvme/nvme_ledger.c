// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_ledger.c - a writer that keeps every I/O queue full of random-unit
 * writes, each recorded in a ledger in pdma (layout and rules in
 * nvme_ledger.h), and the check of the namespace against that ledger.
 * Used to prove that writes in flight across a kexec are never lost, torn
 * within a block or reissued.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nvme_drv.h"

#define FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)

static volatile struct nvl_entry *entries(struct nvd *d)
{
	return (volatile struct nvl_entry *)(d->ledger + 1);
}

static int ledger_valid(struct nvd *d)
{
	volatile struct nvl_header *h = d->ledger;
	uint64_t end = h->base_lba + (uint64_t)h->units * h->unit_blocks;

	if (h->magic != NVL_MAGIC || h->version != NVL_VERSION || !h->units ||
	    h->units > NVL_MAX_UNITS || !h->unit_blocks || end > d->cur.nsze ||
	    ((uint64_t)h->unit_blocks << d->cur.lba_shift) > d->chunk)
		return nvd_err(d, NVD_EXIT_FAIL, "pdma allocation %s: not a ledger for this "
			       "namespace (%" PRIu64 " blocks, %u-byte slots)",
			       d->ledger_mem.name, d->cur.nsze, d->chunk);
	return 0;
}

int nvd_ledger_map(struct nvd *d, bool *present)
{
	struct pdma_entry_info e;
	char name[64];

	snprintf(name, sizeof(name), "nvme/%s/ledger", d->bdf);
	*present = !pdma_lookup(d->pdma, name, &e);
	if (!*present)
		return 0;
	if (nvd_claim(d, &d->ledger_mem, "ledger", sizeof(struct nvl_header), false))
		return -1;
	d->ledger = (volatile struct nvl_header *)d->ledger_mem.virt;
	return 0;
}

int nvd_ledger_create(struct nvd *d, uint64_t base, uint32_t units, uint32_t unit_blocks)
{
	uint64_t size = sizeof(struct nvl_header) + (uint64_t)units * sizeof(struct nvl_entry);
	volatile struct nvl_header *h;

	if (!units || units > NVL_MAX_UNITS || !unit_blocks)
		return nvd_err(d, NVD_EXIT_IO, "ledger: 1..%u units of at least one block",
			       NVL_MAX_UNITS);
	if (nvd_claim(d, &d->ledger_mem, "ledger", size, true))
		return -1;
	h = d->ledger = (volatile struct nvl_header *)d->ledger_mem.virt;
	if (h->magic == NVL_MAGIC && h->units == units && h->unit_blocks == unit_blocks &&
	    h->base_lba == base)
		return ledger_valid(d); /* go on with it: seeds stay unique */
	memset((void *)h, 0, size);
	h->version = NVL_VERSION;
	h->units = units;
	h->unit_blocks = unit_blocks;
	h->base_lba = base;
	FENCE();
	h->magic = NVL_MAGIC;
	return ledger_valid(d);
}

void nvd_ledger_acked(struct nvd *d, uint64_t slba, uint64_t seed)
{
	volatile struct nvl_header *h = d->ledger;
	uint64_t u;

	if (!h || slba < h->base_lba)
		return;
	u = (slba - h->base_lba) / h->unit_blocks;
	if (u >= h->units || entries(d)[u].inflight != seed)
		return;
	entries(d)[u].done = seed;
	FENCE();
	entries(d)[u].inflight = 0;
	h->acked++;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random unit with no write in flight, or -1 after a few tries */
static long pick(struct nvd *d, uint64_t *rng)
{
	unsigned int i;

	for (i = 0; i < 64; i++) {
		uint64_t u = xorshift(rng) % d->ledger->units;

		if (!entries(d)[u].inflight)
			return (long)u;
	}
	return -1;
}

static int submit_unit(struct nvd *d, unsigned int qi, int slot, uint64_t u)
{
	volatile struct nvl_header *h = d->ledger;
	uint64_t slba = h->base_lba + u * h->unit_blocks, seed = ++h->next_seed;

	nvd_fill_pattern(d->io[qi].slot[slot].data, seed, slba << d->cur.lba_shift,
			 (size_t)h->unit_blocks << d->cur.lba_shift);
	entries(d)[u].inflight = seed;
	h->submitted++;
	FENCE(); /* the ledger names the write before the controller sees it */
	return nvd_io_submit(d, qi, slot, NVME_IO_WRITE, slba, h->unit_blocks,
			     NVS_KIND_LEDGER, seed);
}

/* Fill unit by unit, in order, so that every unit has a known content */
static int prefill(struct nvd *d, const volatile int *stop)
{
	uint64_t u = 0;
	unsigned int qi;
	int slot;

	while (u < d->ledger->units && !*stop) {
		for (qi = 0; qi < d->nq && u < d->ledger->units; qi++)
			while (u < d->ledger->units && (slot = nvd_free_slot(d, qi)) >= 0) {
				if (entries(d)[u].done) {
					u++;
					continue;
				}
				if (submit_unit(d, qi, slot, u++))
					return -1;
			}
		if (nvd_drain(d))
			return -1;
	}
	return 0;
}

int nvd_ledger_run(struct nvd *d, uint64_t seed, const volatile int *stop,
		   struct nvd_load *st)
{
	uint64_t rng = seed | 1, t0 = nvd_now_ns();
	unsigned int qi, pending;
	long u;
	int slot;

	if (ledger_valid(d) || prefill(d, stop))
		return -1;
	st->prefill_ns = nvd_now_ns() - t0;
	t0 = nvd_now_ns();
	while (!*stop) {
		for (qi = 0; qi < d->nq; qi++)
			while (!*stop && (slot = nvd_free_slot(d, qi)) >= 0 &&
			       (u = pick(d, &rng)) >= 0) {
				if (submit_unit(d, qi, slot, (uint64_t)u))
					return -1;
				st->writes++;
			}
		for (qi = 0, pending = 0; qi < d->nq; qi++)
			pending += nvd_pending(&d->io[qi]);
		if (pending < st->min_qd || !st->min_qd)
			st->min_qd = pending;
		for (qi = 0; qi < d->nq && !*stop; qi++)
			if (nvd_pending(&d->io[qi]) && nvd_reap(d, qi))
				return -1;
		nvd_settle(d);
	}
	st->ns = nvd_now_ns() - t0;
	return 0;
}

/* Classify each block of unit @u read into @buf */
static void check_unit(struct nvd *d, uint64_t u, const volatile uint8_t *buf,
		       struct nvd_ledger_check *c)
{
	volatile struct nvl_header *h = d->ledger;
	uint64_t done = entries(d)[u].done, infl = entries(d)[u].inflight, b;
	size_t bs = (size_t)1 << d->cur.lba_shift;

	c->units++;
	c->inflight += !!infl;
	for (b = 0; b < h->unit_blocks; b++) {
		uint64_t lba = h->base_lba + u * h->unit_blocks + b;
		const volatile uint8_t *p = buf + b * bs;

		if (done && nvd_check_pattern(p, done, lba << d->cur.lba_shift, bs) < 0) {
			c->blocks_done++;
			if (infl)
				c->blocks_old++;
		} else if (infl && nvd_check_pattern(p, infl, lba << d->cur.lba_shift, bs) < 0) {
			c->blocks_new++;
		} else if (!done && !infl) {
			c->blocks_unwritten++;
		} else if (!c->bad++) {
			c->first_bad_lba = lba;
		}
	}
}

int nvd_ledger_check(struct nvd *d, struct nvd_ledger_check *c)
{
	volatile struct nvl_header *h = d->ledger;
	struct { unsigned int qi; int slot; uint64_t u; } batch[NVS_MAX_QUEUES * NVD_SLOTS];
	uint64_t u = 0;
	unsigned int qi, n, i;
	int slot;

	memset(c, 0, sizeof(*c));
	if (!h)
		return nvd_err(d, NVD_EXIT_FAIL, "no ledger: run `pdma-nvme load` first");
	if (ledger_valid(d))
		return -1;
	while (u < h->units) {
		for (qi = 0, n = 0; qi < d->nq; qi++)
			while (u < h->units && (slot = nvd_free_slot(d, qi)) >= 0) {
				if (nvd_io_submit(d, qi, slot, NVME_IO_READ,
						  h->base_lba + u * h->unit_blocks,
						  h->unit_blocks, NVS_KIND_READ, 0))
					return -1;
				batch[n].qi = qi;
				batch[n].slot = slot;
				batch[n++].u = u++;
			}
		for (i = 0; i < n; i++) {
			struct nvd_slot *s = &d->io[batch[i].qi].slot[batch[i].slot];

			if (nvd_io_wait(d, batch[i].qi, batch[i].slot))
				return -1;
			if (s->status)
				return nvd_err(d, NVD_EXIT_FAIL, "%s: ledger read of unit %" PRIu64
					       " failed: status 0x%x", d->bdf, batch[i].u, s->status);
			check_unit(d, batch[i].u, s->data, c);
		}
		nvd_settle(d);
	}
	return 0;
}
