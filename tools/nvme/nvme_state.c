// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_state.c - pdma allocations of pdma-nvme and the state record
 * (layout in nvme_state.h): CRC32C, claiming the allocations by name,
 * storing and checking the record, and the log of written ranges.
 *
 * Allocation names are derived from the device, "nvme/<BDF>/<part>":
 *   state   the record (NVS_ALLOC_SIZE)
 *   admin   admin SQ, admin CQ, one page for Identify data
 *   io      SQ 1, CQ 1, SQ 2, CQ 2, ... (each page rounded), then one PRP
 *           list page per I/O slot
 *   data    one NVD_CHUNK data buffer per I/O slot
 * Four allocations rather than one per ring: after kexec each claim is a
 * pdma table commit. The record keeps every ring's physical address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvme_drv.h"

/* ------------------------------------------------------------------ */
/* CRC32C (Castagnoli, reflected 0x82f63b78): SSE4.2 or a table          */

static uint32_t crc_table[256];

__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc, v;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

uint32_t nvd_crc32c(uint32_t crc, const volatile void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf; /* pdma memory: plain loads */
	static int hw = -1;
	size_t i;

	if (hw < 0) {
		__builtin_cpu_init();
		hw = __builtin_cpu_supports("sse4.2");
		for (uint32_t n = 0; n < 256; n++) {
			uint32_t c = n;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			crc_table[n] = c;
		}
	}
	if (hw)
		return ~crc_sse42(~crc, p, len);
	crc = ~crc;
	for (i = 0; i < len; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------------------------ */
/* Allocations                                                         */

static uint64_t page_round(uint64_t n)
{
	return (n + NVD_PAGE - 1) & ~(uint64_t)(NVD_PAGE - 1);
}

/*
 * The driver maps its rings and the device's BAR: /dev/pdma's mmap and
 * no-IOMMU VFIO both need CAP_SYS_RAWIO. A caller without it is refused
 * here, before its first LOOKUP: a claim is a pdma table commit, and a run
 * that cannot go on must leave the table as it found it. The module's own
 * judgement is asked (INFO reads base 0 on an fd opened without it), so a
 * file capability or a user namespace is judged as the kernel will.
 */
int nvd_pdma_open(struct nvd *d)
{
	struct pdma_info info;
	int ret;

	if (d->pdma)
		return 0;
	ret = pdma_open(NULL, &d->pdma);
	if (ret == -EACCES || ret == -EPERM)
		return nvd_err(d, NVD_EXIT_IO, "%s: %s: pdma-nvme needs read-write access to it "
			       "and CAP_SYS_RAWIO (run it as root)", PDMA_DEFAULT_PATH,
			       strerror(-ret));
	if (ret)
		return nvd_err(d, NVD_EXIT_IO, "%s: %s (is the pdma module loaded?)",
			       PDMA_DEFAULT_PATH, strerror(-ret));
	ret = pdma_info(d->pdma, &info);
	if (!ret && info.base)
		return 0;
	pdma_close(d->pdma);
	d->pdma = NULL;
	if (ret)
		return nvd_err(d, NVD_EXIT_IO, "%s: INFO: %s", PDMA_DEFAULT_PATH, strerror(-ret));
	return nvd_err(d, NVD_EXIT_IO, "%s: opened without CAP_SYS_RAWIO: pdma-nvme cannot map "
		       "its queues and no-IOMMU VFIO refuses the device (run it as root); "
		       "nothing was claimed or changed", PDMA_DEFAULT_PATH);
}

/*
 * Claim NAME and map it. Missing: -ENOENT unless @create (then allocate).
 * Too small: an error, unless @create (then free and allocate again; the
 * caller has stopped the controller).
 */
int nvd_claim(struct nvd *d, struct nvd_mem *m, const char *part, uint64_t size, bool create)
{
	struct pdma_entry_info e;
	struct pdma_mapping pm;
	int ret;

	snprintf(m->name, sizeof(m->name), "nvme/%s/%s", d->bdf, part);
	if (m->mapped)
		return 0;
	ret = pdma_lookup(d->pdma, m->name, &e);
	if (!ret && e.size < size && create) {
		ret = pdma_free(d->pdma, m->name);
		if (ret)
			return nvd_err(d, NVD_EXIT_FAIL, "pdma allocation %s: free: %s", m->name,
				       strerror(-ret));
		ret = -ENOENT;
	}
	if (ret == -ENOENT && create)
		ret = pdma_alloc(d->pdma, m->name, size, 0, 0, &e);
	if (ret == -ENOENT)
		return nvd_err(d, NVD_EXIT_FAIL, "pdma allocation %s is missing: the queues "
			       "cannot be resumed or rebuilt safely; run `pdma-nvme init %s` to "
			       "reset the controller and start over (namespace data is kept)",
			       m->name, d->bdf);
	if (ret)
		return nvd_err(d, ret == -ENOSPC || ret == -ENOMEM ? NVD_EXIT_FAIL : NVD_EXIT_IO,
			       "pdma allocation %s (%" PRIu64 " bytes): %s", m->name, size,
			       strerror(-ret));
	if (e.size < size)
		return nvd_err(d, NVD_EXIT_FAIL, "pdma allocation %s is %" PRIu64 " bytes, "
			       "need %" PRIu64 ": run `pdma-nvme init`", m->name,
			       (uint64_t)e.size, size);
	ret = pdma_map(d->pdma, &e, &pm);
	if (ret)
		return nvd_err(d, NVD_EXIT_IO, "pdma allocation %s: mmap: %s", m->name,
			       strerror(-ret));
	m->phys = pm.phys;
	m->size = pm.len;
	m->virt = pm.addr;
	m->mapped = true;
	return 0;
}

/* A view of @len bytes at *@off of allocation @parent */
static void carve(struct nvd *d, struct nvd_mem *v, enum nvd_mem_id parent, const char *what,
		  uint64_t *off, uint64_t len)
{
	const struct nvd_mem *p = &d->mem[parent];

	snprintf(v->name, sizeof(v->name), "%.40s+%.15s", p->name, what);
	v->phys = p->phys + *off;
	v->virt = p->virt + *off;
	v->size = len;
	v->mapped = true;
	*off += len;
}

void nvd_unmap_queues(struct nvd *d)
{
	struct pdma_mapping pm;
	unsigned int i;

	for (i = M_ADMIN; i < M_ALLOCS; i++) {
		if (!d->mem[i].mapped)
			continue;
		pm = (struct pdma_mapping){ .addr = (void *)d->mem[i].virt, .len = d->mem[i].size };
		pdma_unmap(&pm);
		d->mem[i].mapped = false;
	}
}

int nvd_claim_all(struct nvd *d, bool create)
{
	uint64_t sq = page_round((uint64_t)d->depth * sizeof(struct nvme_sqe));
	uint64_t cq = page_round((uint64_t)d->depth * sizeof(struct nvme_cqe));
	uint64_t slots = (uint64_t)d->nq * NVD_SLOTS, off = 0;
	unsigned int i;
	char what[16];

	if (!d->nq || d->nq > NVS_MAX_QUEUES || d->depth < 2 || d->depth > 4096)
		return nvd_err(d, NVD_EXIT_IO, "%u queue pairs of depth %u: need 1..%u pairs "
			       "of depth 2..4096", d->nq, d->depth, NVS_MAX_QUEUES);
	if (d->depth <= NVD_SLOTS)
		return nvd_err(d, NVD_EXIT_IO, "queue depth %u: need more than %u", d->depth,
			       NVD_SLOTS);
	if (nvd_claim(d, &d->mem[M_ADMIN], "admin", sq + cq + NVD_PAGE, create) ||
	    nvd_claim(d, &d->mem[M_IO], "io", d->nq * (sq + cq) + slots * NVD_PAGE, create) ||
	    nvd_claim(d, &d->mem[M_DATA], "data", slots * NVD_CHUNK, create))
		return -1;
	carve(d, &d->mem[M_ASQ], M_ADMIN, "asq", &off, sq);
	carve(d, &d->mem[M_ACQ], M_ADMIN, "acq", &off, cq);
	carve(d, &d->mem[M_ID], M_ADMIN, "id", &off, NVD_PAGE);
	off = 0;
	for (i = 0; i < d->nq; i++) {
		snprintf(what, sizeof(what), "sq%u", i + 1);
		carve(d, &d->sqm[i], M_IO, what, &off, sq);
		snprintf(what, sizeof(what), "cq%u", i + 1);
		carve(d, &d->cqm[i], M_IO, what, &off, cq);
	}
	carve(d, &d->mem[M_PRP], M_IO, "prp", &off, slots * NVD_PAGE);
	return 0;
}

int nvd_state_map(struct nvd *d, bool create, bool *present)
{
	struct pdma_entry_info e;
	char name[64];

	if (nvd_pdma_open(d))
		return -1;
	snprintf(name, sizeof(name), "nvme/%s/state", d->bdf);
	*present = !pdma_lookup(d->pdma, name, &e);
	if (!*present && !create)
		return 0;
	if (nvd_claim(d, &d->mem[M_STATE], "state", NVS_ALLOC_SIZE, create))
		return -1;
	d->rec = (volatile struct nvs_record *)d->mem[M_STATE].virt;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The record: two copies, the valid one with the higher seq wins       */

static volatile struct nvs_record *copy_at(struct nvd *d, unsigned int i)
{
	return (volatile struct nvs_record *)(d->mem[M_STATE].virt + i * NVS_COPY_SIZE);
}

/* Why copy @in cannot be used, or "" */
static void copy_problem(const struct nvs_record *in, char *why, size_t size)
{
	struct nvs_record r = *in;
	uint32_t crc = r.crc32c;

	r.crc32c = 0;
	*why = 0;
	if (r.magic != NVS_MAGIC)
		snprintf(why, size, "bad magic 0x%016" PRIx64 " (never saved?)", r.magic);
	else if (r.version != NVS_VERSION || r.size != sizeof(r))
		snprintf(why, size, "version %u size %u, this driver reads version %u size %zu",
			 r.version, r.size, NVS_VERSION, sizeof(r));
	else if (nvd_crc32c(0, &r, sizeof(r)) != crc)
		snprintf(why, size, "CRC mismatch (stored 0x%08x, computed 0x%08x)", crc,
			 nvd_crc32c(0, &r, sizeof(r)));
	else if (r.nr_io_queues < 1 || r.nr_io_queues > NVS_MAX_QUEUES ||
		 r.nr_inflight > NVS_MAX_INFLIGHT || r.nr_ranges > NVS_MAX_RANGES ||
		 r.depth <= NVD_SLOTS || r.depth > 4096 || !r.chunk || r.chunk > NVD_CHUNK)
		snprintf(why, size, "inconsistent geometry");
}

int nvd_record_read(struct nvd *d, struct nvs_record *out, char *why, size_t size)
{
	struct nvs_record c[2];
	char p[2][160];
	int best = -1;
	unsigned int i;

	d->seq_seen = 0;
	for (i = 0; i < 2; i++) {
		memcpy(&c[i], (const void *)copy_at(d, i), sizeof(c[i]));
		copy_problem(&c[i], p[i], sizeof(p[i]));
		if (c[i].magic == NVS_MAGIC && c[i].seq > d->seq_seen)
			d->seq_seen = c[i].seq; /* stores stay above any copy */
		if (!*p[i] && (best < 0 || c[i].seq > c[best].seq))
			best = (int)i;
	}
	*why = 0;
	d->rec_copy = best;
	if (best < 0) {
		snprintf(why, size, "copy A: %s; copy B: %s", p[0], p[1]);
		return -1;
	}
	/* Report a newer copy that was refused: its store was torn */
	if (*p[!best] && c[!best].magic == NVS_MAGIC && c[!best].seq > c[best].seq)
		snprintf(why, size, "copy %c (seq %" PRIu64 "): %s; using copy %c (seq %" PRIu64
			 ")", best ? 'A' : 'B', c[!best].seq, p[!best], best ? 'B' : 'A',
			 c[best].seq);
	d->rec = copy_at(d, (unsigned int)best);
	*out = c[best];
	return 0;
}

/*
 * Which kernel wrote a record: the kernel's boot_id when it has sysctl,
 * else its boot time and how many times pdma adopted its table (every
 * kexec adopts it once).
 */
void nvd_boot_id(struct nvd *d, char *out)
{
	char buf[64] = "", line[128];
	struct pdma_info info = { 0 };
	unsigned long btime = 0;
	int fd;
	ssize_t n;
	FILE *f;

	if (d->boot_id[0]) {
		memcpy(out, d->boot_id, NVS_BOOT_ID);
		return;
	}
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
	} else {
		f = fopen("/proc/stat", "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %lu", &btime) == 1)
				break;
		if (f)
			fclose(f);
		if (d->pdma)
			pdma_info(d->pdma, &info);
		snprintf(buf, sizeof(buf), "btime-%lu-adopt-%u", btime, info.adopt_count);
	}
	memset(d->boot_id, 0, NVS_BOOT_ID);
	snprintf(d->boot_id, NVS_BOOT_ID, "%s", buf);
	memcpy(out, d->boot_id, NVS_BOOT_ID);
}

unsigned int nvd_pending(const struct nvd_queue *q)
{
	unsigned int j, n = 0;

	for (j = 0; j < NVD_SLOTS; j++)
		n += q->slot[j].busy && !q->slot[j].done;
	return n;
}

void nvd_snapshot(struct nvd *d)
{
	struct nvs_record *s = &d->cur;
	unsigned int i, j;

	snprintf(s->bdf, sizeof(s->bdf), "%s", d->bdf);
	s->nr_io_queues = d->nq;
	s->depth = d->depth;
	s->slots = NVD_SLOTS;
	s->chunk = d->chunk;
	s->prp_phys = d->mem[M_PRP].phys;
	s->data_phys = d->mem[M_DATA].phys;
	s->id_phys = d->mem[M_ID].phys;
	memset(&s->admin, 0, sizeof(s->admin));
	memset(s->io, 0, sizeof(s->io));
	for (i = 0; i <= d->nq; i++) {
		struct nvd_queue *q = i ? &d->io[i - 1] : &d->admin;
		struct nvs_queue *o = i ? &s->io[i - 1] : &s->admin;

		*o = (struct nvs_queue){ .sq_phys = q->sq_phys, .cq_phys = q->cq_phys,
					 .qid = q->qid, .size = q->size, .sq_tail = q->sq_tail,
					 .sq_head = q->sq_head, .cq_head = q->cq_head,
					 .phase = q->phase, .next_cid = q->next_cid };
		if (q->cq)
			o->cq_crc = nvd_cq_crc(q, i ? nvd_pending(q) : 0);
	}
	memset(s->inflight, 0, sizeof(s->inflight));
	s->nr_inflight = 0;
	for (i = 0; i < d->nq; i++) {
		for (j = 0; j < NVD_SLOTS && s->nr_inflight < NVS_MAX_INFLIGHT; j++) {
			struct nvd_slot *sl = &d->io[i].slot[j];

			if (!sl->busy || sl->done)
				continue;
			s->inflight[s->nr_inflight++] = (struct nvs_cmd){
				.qid = (uint16_t)(i + 1), .cid = sl->cid, .opcode = sl->opcode,
				.kind = sl->kind, .slot = (uint16_t)j, .nlb = sl->nlb,
				.slba = sl->slba, .tag = sl->tag };
		}
	}
}

/*
 * CRC32C of queue @q's completion ring, leaving out the @skip entries from
 * cq_head on (completions that commands in flight may still post).
 */
uint32_t nvd_cq_crc(const struct nvd_queue *q, unsigned int skip)
{
	uint32_t crc = 0;
	unsigned int i;

	for (i = 0; i < q->size; i++)
		if ((i + q->size - q->cq_head) % q->size >= skip)
			crc = nvd_crc32c(crc, &q->cq[i], sizeof(q->cq[i]));
	return crc;
}

void nvd_store(struct nvd *d, uint32_t flags)
{
	struct nvs_record *s = &d->cur;
	volatile struct nvs_record *rec;
	volatile uint8_t *dst;

	s->magic = NVS_MAGIC;
	s->version = NVS_VERSION;
	s->size = sizeof(*s);
	s->flags = flags;
	s->seq = (s->seq > d->seq_seen ? s->seq : d->seq_seen) + 1;
	d->seq_seen = s->seq;
	nvd_boot_id(d, s->boot_id);
	s->crc32c = 0;
	s->crc32c = nvd_crc32c(0, s, sizeof(*s));
	/*
	 * Never over the newest valid copy (a torn copy is the one to reuse),
	 * body first, CRC last: a torn store never passes the check
	 */
	d->rec_copy = d->rec_copy == 0 ? 1 : 0;
	rec = copy_at(d, (unsigned int)d->rec_copy);
	dst = (volatile uint8_t *)rec;
	rec->crc32c = ~s->crc32c;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy((void *)(dst + 20), (const uint8_t *)s + 20, sizeof(*s) - 20);
	memcpy((void *)dst, s, 16);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rec->crc32c = s->crc32c;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->rec = rec;
}

void nvd_own(struct nvd *d)
{
	d->cur.gen++;
	memset(&d->cur.intent, 0, sizeof(d->cur.intent));
	nvd_snapshot(d);
	nvd_store(d, NVS_F_DIRTY);
	d->owned = true;
}

void nvd_checkpoint(struct nvd *d)
{
	nvd_settle(d);
	memset(&d->cur.intent, 0, sizeof(d->cur.intent));
	nvd_snapshot(d);
	nvd_store(d, 0);
}

/* ------------------------------------------------------------------ */
/* Range log                                                           */

static void push_range(struct nvd *d, struct nvs_range *r)
{
	struct nvs_record *s = &d->cur;

	if (s->nr_ranges == NVS_MAX_RANGES) {
		memmove(&s->ranges[0], &s->ranges[1], sizeof(s->ranges[0]) * (NVS_MAX_RANGES - 1));
		s->nr_ranges--;
		d->ranges_dropped++;
	}
	s->ranges[s->nr_ranges++] = *r;
}

void nvd_log_range(struct nvd *d, uint64_t slba, uint32_t nlb, uint8_t kind, uint64_t tag)
{
	struct nvs_record *s = &d->cur;
	struct nvs_range old[NVS_MAX_RANGES], nr = { .slba = slba, .nlb = nlb, .kind = kind,
						     .tag = tag };
	uint64_t end = slba + nlb;
	unsigned int i, n = s->nr_ranges;

	memcpy(old, s->ranges, sizeof(old[0]) * n);
	s->nr_ranges = 0;
	for (i = 0; i < n; i++) {
		struct nvs_range r = old[i];
		uint64_t rend = r.slba + r.nlb;

		if (rend <= slba || r.slba >= end) {
			/* Disjoint: merge a pattern neighbour into the new range */
			if (kind == NVS_KIND_PATTERN && r.kind == kind && r.tag == tag &&
			    (rend == nr.slba || r.slba == nr.slba + nr.nlb) &&
			    (uint64_t)r.nlb + nr.nlb <= UINT32_MAX) {
				nr.slba = r.slba < nr.slba ? r.slba : nr.slba;
				nr.nlb += r.nlb;
				continue;
			}
			push_range(d, &r);
			continue;
		}
		if (r.kind != NVS_KIND_PATTERN) {
			d->ranges_dropped++; /* a CRC covers all of it: cannot trim */
			continue;
		}
		if (r.slba < slba) {
			struct nvs_range left = r;

			left.nlb = (uint32_t)(slba - r.slba);
			push_range(d, &left);
		}
		if (rend > end) {
			struct nvs_range right = r;

			right.slba = end;
			right.nlb = (uint32_t)(rend - end);
			push_range(d, &right);
		}
	}
	push_range(d, &nr);
}

void nvd_log_forget(struct nvd *d, uint64_t slba, uint32_t nlb)
{
	struct nvs_record *s = &d->cur;
	unsigned int i, n = 0;

	nvd_log_range(d, slba, nlb, 0, 0); /* trims everything it overlaps */
	for (i = 0; i < s->nr_ranges; i++)
		if (s->ranges[i].kind)
			s->ranges[n++] = s->ranges[i];
	memset(&s->ranges[n], 0, sizeof(s->ranges[0]) * (s->nr_ranges - n));
	s->nr_ranges = n;
}

void nvd_intend(struct nvd *d, uint64_t slba, uint64_t nlb)
{
	d->cur.intent = (struct nvs_range){ .slba = slba,
					    .nlb = nlb > UINT32_MAX ? UINT32_MAX : (uint32_t)nlb,
					    .kind = NVS_KIND_PATTERN };
	nvd_snapshot(d);
	nvd_store(d, NVS_F_DIRTY);
}
