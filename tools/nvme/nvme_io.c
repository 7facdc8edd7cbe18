// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_io.c - queues and I/O for pdma-nvme: submission and completion
 * rings, the per-queue command slots (a data buffer and a PRP list page
 * each, in pdma), and streams that keep every slot of every I/O queue busy
 * while reading, writing or verifying a block range.
 *
 * A stream processes completions in submission order (a FIFO of slots), so
 * reads reach a file or a CRC in LBA order whatever order the controller
 * completes them in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nvme_drv.h"

#define BARRIER() __atomic_thread_fence(__ATOMIC_SEQ_CST)

void nvd_queue_setup(struct nvd *d, struct nvd_queue *q, uint16_t qid, uint16_t size,
		     volatile uint8_t *sq, uint64_t sq_phys, volatile uint8_t *cq,
		     uint64_t cq_phys)
{
	memset(q, 0, sizeof(*q));
	q->qid = qid;
	q->size = size;
	q->phase = 1;
	q->sq = (volatile struct nvme_sqe *)sq;
	q->cq = (volatile struct nvme_cqe *)cq;
	q->sq_phys = sq_phys;
	q->cq_phys = cq_phys;
	q->sq_db = NVME_REG_DB + 2u * qid * d->stride;
	q->cq_db = NVME_REG_DB + (2u * qid + 1) * d->stride;
}

/* Slot j of queue i: fixed offsets, independent of the controller's MDTS */
void nvd_slots_setup(struct nvd *d)
{
	unsigned int i, j;

	for (i = 0; i < d->nq; i++) {
		for (j = 0; j < NVD_SLOTS; j++) {
			struct nvd_slot *s = &d->io[i].slot[j];
			uint64_t n = (uint64_t)i * NVD_SLOTS + j;

			s->data = d->mem[M_DATA].virt + n * NVD_CHUNK;
			s->data_phys = d->mem[M_DATA].phys + n * NVD_CHUNK;
			s->prp = (volatile uint64_t *)(d->mem[M_PRP].virt + n * NVD_PAGE);
			s->prp_phys = d->mem[M_PRP].phys + n * NVD_PAGE;
		}
	}
}

#define CID_SEQ_MASK ((1u << NVS_CID_SEQ_BITS) - 1)

/* The CID of the next command of @q: this life's generation, the counter */
uint16_t nvd_next_cid(const struct nvd *d, const struct nvd_queue *q)
{
	uint32_t cid = (d->cur.gen & 0xf) << NVS_CID_SEQ_BITS | (q->next_cid & CID_SEQ_MASK);

	return (uint16_t)(cid == 0xffff ? cid & ~CID_SEQ_MASK : cid); /* 0xffff: reserved */
}

void nvd_sq_push(struct nvd *d, struct nvd_queue *q, struct nvme_sqe *cmd)
{
	uint16_t cid = nvd_next_cid(d, q);

	cmd->cdw0 = (cmd->cdw0 & 0xffff) | (uint32_t)cid << 16;
	memcpy((void *)&q->sq[q->sq_tail], cmd, sizeof(*cmd));
	q->next_cid = (uint16_t)((cid + 1) & CID_SEQ_MASK);
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->size);
	BARRIER();
	nvd_wr32(d, q->sq_db, q->sq_tail);
}

int nvd_cq_pop(struct nvd *d, struct nvd_queue *q, struct nvme_cqe *out, unsigned int ms)
{
	volatile struct nvme_cqe *e = &q->cq[q->cq_head];
	uint64_t start = 0;
	unsigned int spins = 0;

	/* The ring first, then the interrupt: the eventfd counts, none is missed */
	while ((e->status & 1) != q->phase) {
		if (q->qid && q->qid < d->nr_irq) {
			if (nvd_irq_wait(d, q->qid, ms))
				return -1;
			continue;
		}
		if (++spins % 1024)
			continue;
		if (!start)
			start = nvd_now_ns();
		else if (nvd_now_ns() - start > (uint64_t)ms * 1000000ull)
			return -1;
	}
	BARRIER();
	memcpy(out, (const void *)e, sizeof(*out));
	if (q->qid && !d->t_first_io) {
		d->t_first_io = nvd_now_ns();
		d->tsc_first_io = nvd_tsc();
	}
	q->sq_head = out->sqhd;
	q->cq_head = (uint16_t)((q->cq_head + 1) % q->size);
	if (!q->cq_head)
		q->phase ^= 1;
	nvd_wr32(d, q->cq_db, q->cq_head);
	return 0;
}

int nvd_free_slot(struct nvd *d, unsigned int qi)
{
	unsigned int j;

	for (j = 0; j < NVD_SLOTS; j++)
		if (!d->io[qi].slot[j].busy)
			return (int)j;
	return -1;
}

int nvd_io_submit(struct nvd *d, unsigned int qi, int slot, uint8_t opcode, uint64_t slba,
		  uint32_t nlb, uint8_t kind, uint64_t tag)
{
	struct nvd_queue *q = &d->io[qi];
	struct nvd_slot *s = &q->slot[slot];
	uint64_t len = (uint64_t)nlb << d->cur.lba_shift;
	unsigned int pages = (unsigned int)((len + NVD_PAGE - 1) / NVD_PAGE), k;
	struct nvme_sqe c = { .cdw0 = opcode, .nsid = d->cur.nsid };

	if (len > d->chunk || (opcode != NVME_IO_FLUSH && !nlb))
		return nvd_err(d, NVD_EXIT_IO, "internal: %u blocks do not fit a slot", nlb);
	if (opcode != NVME_IO_FLUSH && slba + nlb > d->cur.nsze)
		return nvd_err(d, NVD_EXIT_IO, "%s: LBA %" PRIu64 "+%u beyond the namespace "
			       "(%" PRIu64 " blocks)", d->bdf, slba, nlb, d->cur.nsze);
	if ((q->sq_tail + 1) % q->size == q->sq_head)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: I/O SQ %u full", d->bdf, q->qid);
	if (nlb) {
		c.prp1 = s->data_phys;
		if (pages == 2) {
			c.prp2 = s->data_phys + NVD_PAGE;
		} else if (pages > 2) {
			for (k = 1; k < pages; k++)
				s->prp[k - 1] = s->data_phys + (uint64_t)k * NVD_PAGE;
			c.prp2 = s->prp_phys;
		}
		c.cdw10 = (uint32_t)slba;
		c.cdw11 = (uint32_t)(slba >> 32);
		c.cdw12 = nlb - 1;
	}
	s->busy = true;
	s->done = false;
	s->opcode = opcode;
	s->kind = kind;
	s->cid = nvd_next_cid(d, q);
	s->slba = slba;
	s->nlb = nlb;
	s->tag = tag;
	q->busy++;
	d->io_cmds++;
	nvd_sq_push(d, q, &c);
	return 0;
}

/* Consume one completion of queue @qi and mark its slot done */
int nvd_reap(struct nvd *d, unsigned int qi)
{
	struct nvd_queue *q = &d->io[qi];
	struct nvme_cqe cqe;
	unsigned int j;

	if (nvd_cq_pop(d, q, &cqe, d->timeout_ms)) {
		d->queues_bad = true;
		return nvd_err(d, NVD_EXIT_FAIL, "%s: I/O queue %u: no completion in %u ms "
			       "(%u commands outstanding); the next command resets the "
			       "controller", d->bdf, q->qid, d->timeout_ms, nvd_pending(q));
	}
	for (j = 0; j < NVD_SLOTS && cqe.sqid == q->qid; j++) {
		struct nvd_slot *s = &q->slot[j];

		if (s->busy && !s->done && s->cid == cqe.cid) {
			s->done = true;
			s->status = cqe.status >> 1;
			return 0;
		}
	}
	/* Not a command of ours: the queues are not what we think they are */
	d->queues_bad = true;
	return nvd_err(d, NVD_EXIT_FAIL, "%s: I/O queue %u: completion (SQ %u CID 0x%04x) "
		       "matches no outstanding command; stopped, the next command resets "
		       "the controller", d->bdf, q->qid, cqe.sqid, cqe.cid);
}

int nvd_io_wait(struct nvd *d, unsigned int qi, int slot)
{
	while (!d->io[qi].slot[slot].done)
		if (nvd_reap(d, qi))
			return -1;
	return 0;
}

/* Release a done slot; a successful write goes into the range log */
static int release(struct nvd *d, unsigned int qi, int slot)
{
	struct nvd_slot *s = &d->io[qi].slot[slot];
	int ret = 0;

	if (s->status)
		ret = nvd_err(d, NVD_EXIT_FAIL, "%s: %s of LBA %" PRIu64 "+%u failed: status 0x%x",
			      d->bdf, s->opcode == NVME_IO_WRITE ? "write" : "I/O", s->slba, s->nlb,
			      s->status);
	else if (s->opcode == NVME_IO_WRITE && s->kind == NVS_KIND_PATTERN)
		nvd_log_range(d, s->slba, s->nlb, s->kind, s->tag);
	else if (s->opcode == NVME_IO_WRITE && s->kind == NVS_KIND_LEDGER)
		nvd_ledger_acked(d, s->slba, s->tag);
	if (!s->status && s->opcode == NVME_IO_WRITE)
		d->cur.bytes_written += (uint64_t)s->nlb << d->cur.lba_shift;
	s->busy = s->done = false;
	d->io[qi].busy--;
	return ret;
}

void nvd_settle(struct nvd *d)
{
	unsigned int i;
	int j;

	for (i = 0; i < d->nq; i++)
		for (j = 0; j < NVD_SLOTS; j++)
			if (d->io[i].slot[j].busy && d->io[i].slot[j].done)
				release(d, i, j);
}

int nvd_drain(struct nvd *d)
{
	unsigned int i;
	int j, ret = 0;

	for (i = 0; i < d->nq; i++)
		for (j = 0; j < NVD_SLOTS; j++)
			if (d->io[i].slot[j].busy) {
				if (nvd_io_wait(d, i, j))
					return -1;
				ret |= release(d, i, j);
			}
	return ret;
}

int nvd_flush(struct nvd *d)
{
	int slot = nvd_free_slot(d, 0);

	if (slot < 0 || nvd_io_submit(d, 0, slot, NVME_IO_FLUSH, 0, 0, 0, 0) ||
	    nvd_io_wait(d, 0, slot))
		return slot < 0 ? nvd_err(d, NVD_EXIT_FAIL, "internal: no slot for flush") : -1;
	return release(d, 0, slot);
}

/* ------------------------------------------------------------------ */
/* Pattern                                                             */

uint64_t nvd_pattern(uint64_t seed, uint64_t word)
{
	uint64_t x = seed + word * 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void nvd_fill_pattern(volatile uint8_t *buf, uint64_t seed, uint64_t byte_addr, size_t len)
{
	uint64_t *w = (uint64_t *)buf, first = byte_addr / 8;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = nvd_pattern(seed, first + i);
}

long nvd_check_pattern(const volatile uint8_t *buf, uint64_t seed, uint64_t byte_addr,
		       size_t len)
{
	const uint64_t *w = (const uint64_t *)buf;
	uint64_t first = byte_addr / 8;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != nvd_pattern(seed, first + i))
			return (long)(i * 8);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */

struct stream {
	uint8_t opcode, kind; /* kind: what a write logs, or what a verify checks */
	uint64_t tag;
	int fd;
	const char *path;
	bool wait;
	struct nvd_stream *st;
};

/* Fill the slot before a write; 0 or -1 */
static int prepare(struct nvd *d, struct stream *x, struct nvd_slot *s, uint64_t lba,
		   uint32_t nlb)
{
	size_t len = (size_t)nlb << d->cur.lba_shift, got = 0;
	ssize_t n;

	if (x->opcode != NVME_IO_WRITE)
		return 0;
	if (x->kind == NVS_KIND_PATTERN) {
		nvd_fill_pattern(s->data, x->tag, lba << d->cur.lba_shift, len);
		return 0;
	}
	while (got < len) {
		n = read(x->fd, (void *)(s->data + got), len - got);
		if (n < 0)
			return nvd_err(d, NVD_EXIT_IO, "%s: read: %s", x->path, strerror(errno));
		if (!n)
			break;
		got += (size_t)n;
	}
	memset((void *)(s->data + got), 0, len - got); /* pad the last block */
	x->st->crc = nvd_crc32c(x->st->crc, s->data, len);
	return 0;
}

/* Consume a done slot: check what a read brought back */
static int consume(struct nvd *d, struct stream *x, struct nvd_slot *s)
{
	size_t len = (size_t)s->nlb << d->cur.lba_shift, off = 0;
	ssize_t n;
	long bad;

	if (s->status || x->opcode != NVME_IO_READ)
		return 0;
	if (x->kind == NVS_KIND_PATTERN) {
		bad = nvd_check_pattern(s->data, x->tag, s->slba << d->cur.lba_shift, len);
		if (bad >= 0 && !x->st->mismatch) {
			x->st->mismatch = true;
			x->st->bad_lba = s->slba + ((uint64_t)bad >> d->cur.lba_shift);
		}
		return 0;
	}
	x->st->crc = nvd_crc32c(x->st->crc, s->data, len);
	while (x->fd >= 0 && off < len) {
		n = write(x->fd, (const void *)(s->data + off), len - off);
		if (n <= 0)
			return nvd_err(d, NVD_EXIT_IO, "%s: write: %s", x->path,
				       n ? strerror(errno) : "short write");
		off += (size_t)n;
	}
	return 0;
}

static int stream(struct nvd *d, struct stream *x, uint64_t slba, uint64_t nlb)
{
	struct { unsigned int qi; int slot; } fifo[NVS_MAX_QUEUES * NVD_SLOTS];
	unsigned int head = 0, count = 0, cap = d->nq * NVD_SLOTS, rr = 0, k;
	uint64_t next = slba, end = slba + nlb, t0 = nvd_now_ns();
	uint32_t per = d->chunk >> d->cur.lba_shift;
	int ret = 0;

	if (end > d->cur.nsze || end < slba)
		return nvd_err(d, NVD_EXIT_IO, "%s: LBA %" PRIu64 "+%" PRIu64 " beyond the "
			       "namespace (%" PRIu64 " blocks)", d->bdf, slba, nlb, d->cur.nsze);
	while (!ret && (next < end || (count && x->wait))) {
		while (next < end && count < cap) {
			unsigned int qi = 0;
			uint32_t n = end - next < per ? (uint32_t)(end - next) : per;
			int slot = -1;

			for (k = 0; k < d->nq && slot < 0; k++) {
				qi = (rr + k) % d->nq;
				slot = nvd_free_slot(d, qi);
			}
			if (slot < 0)
				break;
			rr = qi + 1;
			if (prepare(d, x, &d->io[qi].slot[slot], next, n) ||
			    nvd_io_submit(d, qi, slot, x->opcode, next, n,
					  x->opcode == NVME_IO_READ ? NVS_KIND_READ : x->kind,
					  x->tag))
				return -1;
			k = (head + count++) % cap;
			fifo[k].qi = qi;
			fifo[k].slot = slot;
			next += n;
		}
		if (!x->wait || !count) {
			if (next < end)
				return nvd_err(d, NVD_EXIT_IO, "%s: no free I/O slot: at most %u "
					       "commands of %u blocks can be left in flight",
					       d->bdf, cap, per);
			break;
		}
		if (nvd_io_wait(d, fifo[head].qi, fifo[head].slot))
			return -1;
		ret = consume(d, x, &d->io[fifo[head].qi].slot[fifo[head].slot]);
		ret |= release(d, fifo[head].qi, fifo[head].slot);
		head = (head + 1) % cap;
		count--;
	}
	x->st->bytes += (next - slba) << d->cur.lba_shift;
	x->st->ns += nvd_now_ns() - t0;
	return ret;
}

int nvd_write_pattern(struct nvd *d, uint64_t slba, uint64_t nlb, uint64_t seed, bool wait,
		      struct nvd_stream *st)
{
	struct stream x = { .opcode = NVME_IO_WRITE, .kind = NVS_KIND_PATTERN, .tag = seed,
			    .fd = -1, .wait = wait, .st = st };

	return stream(d, &x, slba, nlb);
}

int nvd_write_fd(struct nvd *d, uint64_t slba, int fd, const char *path, struct nvd_stream *st)
{
	struct stream x = { .opcode = NVME_IO_WRITE, .kind = NVS_KIND_CRC, .fd = fd,
			    .path = path, .wait = true, .st = st };
	off_t size = lseek(fd, 0, SEEK_END);
	uint64_t nlb;

	if (size <= 0 || lseek(fd, 0, SEEK_SET))
		return nvd_err(d, NVD_EXIT_IO, "%s: %s", path,
			       size ? strerror(errno) : "empty file");
	nlb = ((uint64_t)size + (1u << d->cur.lba_shift) - 1) >> d->cur.lba_shift;
	st->crc = 0;
	if (stream(d, &x, slba, nlb))
		return -1;
	nvd_log_range(d, slba, (uint32_t)nlb, NVS_KIND_CRC, st->crc);
	return 0;
}

int nvd_read_range(struct nvd *d, uint64_t slba, uint64_t nlb, int out_fd,
		   const char *out_path, struct nvd_stream *st)
{
	struct stream x = { .opcode = NVME_IO_READ, .kind = NVS_KIND_CRC, .fd = out_fd,
			    .path = out_path, .wait = true, .st = st };

	st->crc = 0;
	return stream(d, &x, slba, nlb);
}

int nvd_verify_range(struct nvd *d, uint64_t slba, uint64_t nlb, uint8_t kind, uint64_t tag,
		     struct nvd_stream *st)
{
	struct stream x = { .opcode = NVME_IO_READ, .kind = kind, .tag = tag, .fd = -1,
			    .wait = true, .st = st };
	bool before = st->mismatch;
	uint32_t crc_before = st->crc;
	int ret;

	st->crc = 0;
	ret = stream(d, &x, slba, nlb);
	if (!ret && kind == NVS_KIND_CRC && st->crc != (uint32_t)tag && !before) {
		st->mismatch = true;
		st->bad_lba = slba;
	}
	if (kind != NVS_KIND_CRC)
		st->crc = crc_before;
	return ret;
}
