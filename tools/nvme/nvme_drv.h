/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvme_drv.h - a small polled NVMe driver over VFIO no-IOMMU whose queues,
 * PRP lists and data buffers live in pdma allocations, so that the
 * controller and its queues can be resumed after kexec (see the vfio-pci
 * keep-alive series in kmod/patches/).
 *
 *   nvme_hw.c     VFIO device, registers, admin queue, controller init
 *   nvme_io.c     I/O queues: slots, PRP lists, submit/reap, streams
 *   nvme_state.c  pdma allocations, the state record and its range log
 *   nvme_restore.c  open the queues: resume, or recover (any command)
 *   nvme_ledger.c a random writer with a ledger in pdma, and its check
 *   nvme_state.h  the state record layout (an on-memory contract)
 *   nvme_regs.h   NVMe registers, opcodes, SQE/CQE (shared with vfio_nvme_probe)
 *   vfio_keep_alive.h  the keep-alive VFIO feature, if <linux/vfio.h> lacks it
 *
 * That is the driver core: it knows nothing of the command line. The CLI
 * sits on top (pdma-nvme and the files of nvme_cli.h: commands, arguments,
 * JSON); so does the test helper tests/guest/nvme_test_aid.c.
 *
 * Ownership (see nvme_state.h): a process that opens the queues stores a
 * dirty record (nvd_own) before its first doorbell and a clean one
 * (nvd_checkpoint) when it is done; a dirty record makes the next process
 * reset the controller instead of trusting queue positions.
 *
 * Every function that can fail returns 0 or -1; on -1 the reason is in
 * d->err and the exit class (NVD_EXIT_FAIL or NVD_EXIT_IO) in d->err_code.
 * Nothing here prints or exits.
 */
#ifndef NVME_DRV_H
#define NVME_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libpdma/libpdma.h"
#include "nvme_ledger.h"
#include "nvme_regs.h"
#include "nvme_state.h"

#define NVD_EXIT_OK 0
#define NVD_EXIT_FAIL 1 /* an operation or a check failed */
#define NVD_EXIT_IO 2	/* usage, I/O or environment error */

#define NVD_PAGE 4096u
#define NVD_DEF_QUEUES 2
#define NVD_DEF_DEPTH 64
#define NVD_SLOTS 16		  /* in-flight I/O commands per queue */
#define NVD_CHUNK (128u << 10) /* bytes per I/O command, before MDTS */

/* CC I/O queue entry sizes: IOSQES 64 B, IOCQES 16 B */
#define NVME_CC_IO (NVME_CC_IOSQES(6) | NVME_CC_IOCQES(4))

/* One pdma allocation, claimed and mapped */
struct nvd_mem {
	char name[64];
	uint64_t phys;
	uint64_t size;
	volatile uint8_t *virt;
	bool mapped;
};

/* One in-flight command slot of an I/O queue: its data buffer and PRP page */
struct nvd_slot {
	bool busy, done;
	uint8_t opcode, kind;
	uint16_t cid, status;
	uint32_t nlb;
	uint64_t slba, tag;
	volatile uint8_t *data;
	uint64_t data_phys;
	volatile uint64_t *prp;
	uint64_t prp_phys;
};

struct nvd_queue {
	uint16_t qid, size;
	uint16_t sq_tail, sq_head, cq_head, phase, next_cid;
	uint32_t sq_db, cq_db;
	volatile struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint64_t sq_phys, cq_phys;
	struct nvd_slot slot[NVD_SLOTS];
	unsigned int busy;
};

/*
 * Four pdma allocations (one claim each after kexec: every claim commits
 * the pdma table), and views into them: ASQ, ACQ and Identify page in
 * "admin"; each I/O SQ and CQ, then the PRP pages, in "io".
 */
enum nvd_mem_id { M_STATE, M_ADMIN, M_IO, M_DATA, M_ALLOCS,
		  M_ASQ = M_ALLOCS, M_ACQ, M_ID, M_PRP, M_FIXED };

struct nvd {
	char bdf[16];
	/* geometry: from the record, or from the command line for init */
	unsigned int nq, depth, chunk;

	/* pdma */
	struct pdma *pdma;
	struct nvd_mem mem[M_FIXED];
	struct nvd_mem sqm[NVS_MAX_QUEUES], cqm[NVS_MAX_QUEUES];
	volatile struct nvs_record *rec; /* the copy last read or stored */
	int rec_copy;			 /* 0: copy A, 1: copy B */
	uint64_t seq_seen;		 /* highest seq of any copy: stores go above */
	struct nvs_record cur;		 /* the driver's state, stored by nvd_store */
	bool owned;			 /* this process stored the dirty mark */
	bool queues_bad;		 /* a queue misbehaved: leave the record dirty */
	struct nvd_mem ledger_mem;	 /* nvme/BDF/ledger, when it exists */
	volatile struct nvl_header *ledger;

	/* VFIO */
	int container, group, device;
	uint64_t cfg_off, bar_off, bar_size;
	volatile uint8_t *bar;
	uint32_t stride;

	struct nvd_queue admin, io[NVS_MAX_QUEUES];

	/* MSI-X mode (cur.irq_vectors): one eventfd per vector, armed per process */
	int irq_fd[NVS_MAX_QUEUES + 1];
	unsigned int nr_irq;	   /* vectors armed by this process */
	unsigned int irq_wakeups;  /* waits ended by an interrupt */
	uint64_t irqs;		   /* interrupts delivered (eventfd counts) */

	/* counters for this process */
	unsigned int admin_cmds, cc_writes, io_cmds, ranges_dropped;
	uint64_t t_claimed, t_opened; /* load(): allocations claimed, device open */
	/* nvd_open_device(): group in its container, device fd (vfio-pci enable) */
	uint64_t t_vfio_group, t_vfio_device;
	uint64_t t_first_io; /* CLOCK_MONOTONIC ns of the first I/O completion */
	uint64_t tsc_first_io;
	unsigned int timeout_ms;
	char boot_id[NVS_BOOT_ID]; /* this kernel's, read once */

	char err[512];
	int err_code;
};

/* nvme_hw.c */
int nvd_err(struct nvd *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t nvd_now_ns(void);
uint64_t nvd_tsc(void);
bool nvd_parse_bdf(const char *in, char *out, size_t size);
void nvd_init_struct(struct nvd *d, const char *bdf);
int nvd_open_device(struct nvd *d);
void nvd_close_device(struct nvd *d);
int nvd_cfg_read16(struct nvd *d, unsigned int off, uint16_t *val);
int nvd_cfg_write16(struct nvd *d, unsigned int off, uint16_t val);
/* Keep-alive feature: GET fills *enable and *restored; -ENOTTY: none */
int nvd_ka_get(struct nvd *d, uint32_t *enable, bool *restored);
int nvd_ka_set(struct nvd *d, uint32_t enable);
uint32_t nvd_rd32(struct nvd *d, unsigned int off);
uint64_t nvd_rd64(struct nvd *d, unsigned int off);
void nvd_wr32(struct nvd *d, unsigned int off, uint32_t val);
void nvd_wr_cc(struct nvd *d, uint32_t val); /* counted */
/* Full controller init: disable, admin queue, enable, identify, queues */
int nvd_full_init(struct nvd *d);
/*
 * MSI-X mode: an eventfd per vector (admin 0, I/O queue q: vector q) and
 * VFIO_DEVICE_SET_IRQS, which also enables MSI-X: needed in every process,
 * and after kexec, where the new kernel starts with MSI-X disabled
 */
int nvd_irq_arm(struct nvd *d);
/* Wait up to @ms for the vector of queue @qid; 0, or -1 on timeout */
int nvd_irq_wait(struct nvd *d, unsigned int qid, unsigned int ms);
/* Add the interrupts delivered and not waited for to d->irqs */
void nvd_irq_collect(struct nvd *d);
/* CC.EN=0 and wait for CSTS.RDY=0: every queue deleted, no more DMA */
int nvd_disable(struct nvd *d);
/* The doorbells of the admin queue and @nq I/O queue pairs fit BAR0 */
int nvd_check_doorbells(struct nvd *d, unsigned int nq);

/* nvme_io.c */
void nvd_queue_setup(struct nvd *d, struct nvd_queue *q, uint16_t qid, uint16_t size,
		     volatile uint8_t *sq, uint64_t sq_phys, volatile uint8_t *cq,
		     uint64_t cq_phys);
void nvd_slots_setup(struct nvd *d);
/* CID of the next command: gen (15:12) and the queue's counter (11:0) */
uint16_t nvd_next_cid(const struct nvd *d, const struct nvd_queue *q);
void nvd_sq_push(struct nvd *d, struct nvd_queue *q, struct nvme_sqe *cmd);
/* Next completion of @q, consumed and doorbelled; 0, or -1 on timeout */
int nvd_cq_pop(struct nvd *d, struct nvd_queue *q, struct nvme_cqe *out, unsigned int ms);
/* Submit one I/O in a free slot of queue @qi (data already in the slot) */
int nvd_io_submit(struct nvd *d, unsigned int qi, int slot, uint8_t opcode, uint64_t slba,
		  uint32_t nlb, uint8_t kind, uint64_t tag);
/* A free slot of queue @qi, or -1 */
int nvd_free_slot(struct nvd *d, unsigned int qi);
/* Reap completions on @qi until @slot (or any slot if -1) is done */
int nvd_io_wait(struct nvd *d, unsigned int qi, int slot);
/* Reap one completion of queue @qi (waiting for it) */
int nvd_reap(struct nvd *d, unsigned int qi);
/* Wait for every busy slot of every queue; records completed writes */
int nvd_drain(struct nvd *d);
/* Release the slots whose completion was reaped; records completed writes */
void nvd_settle(struct nvd *d);
/* Commands of @q whose completion has not been reaped */
unsigned int nvd_pending(const struct nvd_queue *q);
int nvd_flush(struct nvd *d);

/* Pattern: a pure function of (seed, byte address / 8) */
uint64_t nvd_pattern(uint64_t seed, uint64_t word);
void nvd_fill_pattern(volatile uint8_t *buf, uint64_t seed, uint64_t byte_addr, size_t len);
/* Offset of the first mismatching byte, or -1 */
long nvd_check_pattern(const volatile uint8_t *buf, uint64_t seed, uint64_t byte_addr,
		       size_t len);

struct nvd_stream {
	uint64_t bytes, ns;
	uint64_t bad_lba; /* first mismatching LBA (verify) */
	bool mismatch;
	uint32_t crc; /* of the data, for file writes and reads */
};

int nvd_write_pattern(struct nvd *d, uint64_t slba, uint64_t nlb, uint64_t seed, bool wait,
		      struct nvd_stream *st);
int nvd_write_fd(struct nvd *d, uint64_t slba, int fd, const char *path, struct nvd_stream *st);
int nvd_read_range(struct nvd *d, uint64_t slba, uint64_t nlb, int out_fd,
		   const char *out_path, struct nvd_stream *st);
int nvd_verify_range(struct nvd *d, uint64_t slba, uint64_t nlb, uint8_t kind, uint64_t tag,
		     struct nvd_stream *st);

/* nvme_state.c */
uint32_t nvd_crc32c(uint32_t crc, const volatile void *buf, size_t len);
int nvd_pdma_open(struct nvd *d);
/* Claim (and with @create, allocate) every allocation for d->nq/depth */
int nvd_claim_all(struct nvd *d, bool create);
/* Claim allocation nvme/BDF/@part of at least @size bytes into @m */
int nvd_claim(struct nvd *d, struct nvd_mem *m, const char *part, uint64_t size, bool create);
/* Unmap the admin, io and data allocations (to claim them with another size) */
void nvd_unmap_queues(struct nvd *d);
/* Map the state allocation; *present false when it does not exist */
int nvd_state_map(struct nvd *d, bool create, bool *present);
/*
 * The newest valid copy of the record into *@out; 0, or -1 with why in
 * @why. On 0, @why may still name a newer copy that was torn.
 */
int nvd_record_read(struct nvd *d, struct nvs_record *out, char *why, size_t size);
/* Write d->cur to the older copy (seq above every copy seen, CRC last) */
void nvd_store(struct nvd *d, uint32_t flags);
/* Store the dirty mark (gen + 1, no intent yet); before the first doorbell */
void nvd_own(struct nvd *d);
/* Settle reaped slots and store a clean record of the queues as they are */
void nvd_checkpoint(struct nvd *d);
/* CRC32C of @q's CQ ring without the @skip entries from cq_head on */
uint32_t nvd_cq_crc(const struct nvd_queue *q, unsigned int skip);
/* Record what the running controller looks like in d->cur */
void nvd_snapshot(struct nvd *d);
/* Record a completed write in the range log; newer data wins */
void nvd_log_range(struct nvd *d, uint64_t slba, uint32_t nlb, uint8_t kind, uint64_t tag);
/* Drop [slba, slba + nlb) from the range log: its content is unknown */
void nvd_log_forget(struct nvd *d, uint64_t slba, uint32_t nlb);
/* Store the dirty mark again naming the blocks this process will write */
void nvd_intend(struct nvd *d, uint64_t slba, uint64_t nlb);
/* Read this kernel's boot id into @out (NVS_BOOT_ID bytes) */
void nvd_boot_id(struct nvd *d, char *out);

struct nvd_restore {
	const char *path; /* "keep-alive" or "full-init" */
	char checks[1024]; /* failed checks, "; "-separated */
	/* commands in flight: completions reaped, or in doubt after a reset */
	unsigned int reaped, in_doubt;
	bool record_ok, saved; /* saved: the record came from a completed save */
	bool dirty;	       /* the record was dirty: a process died owning it */
	struct nvs_range lost; /* dirty: the range it was writing (nlb 0: none) */
	uint64_t open_ns, check_ns, init_ns;
};
/*
 * Open the queues for this process: resume on them when the record and the
 * controller prove them intact, else reset and re-initialise the controller
 * (same disk only) and rewrite the writes the record lists in flight. Then
 * the dirty mark. @probe: one read on every I/O queue (restore's first I/O);
 * @drain: reap the commands a previous process left in flight.
 */
int nvd_restore(struct nvd *d, struct nvd_restore *r, bool probe, bool drain);
/* Checks for the keep-alive path; appends failures to @checks */
bool nvd_device_intact(struct nvd *d, const struct nvs_record *s, char *checks, size_t size);

/* nvme_ledger.c */
struct nvd_load {
	uint64_t writes, ns, prefill_ns;
	unsigned int min_qd; /* fewest writes in flight seen between reaps */
};

struct nvd_ledger_check {
	uint64_t units, inflight; /* units, and those with a write in flight */
	uint64_t blocks_done, blocks_old, blocks_new, blocks_unwritten, bad;
	uint64_t first_bad_lba;
};

/* Map nvme/BDF/ledger if it exists */
int nvd_ledger_map(struct nvd *d, bool *present);
/* Claim (or create, zeroed) a ledger of @units units of @unit_blocks at @base */
int nvd_ledger_create(struct nvd *d, uint64_t base, uint32_t units, uint32_t unit_blocks);
/* A ledger write of @seed at @slba was acknowledged */
void nvd_ledger_acked(struct nvd *d, uint64_t slba, uint64_t seed);
/* Prefill, then random unit writes on every queue until *@stop */
int nvd_ledger_run(struct nvd *d, uint64_t seed, const volatile int *stop, struct nvd_load *st);
/* Read every unit back and classify its blocks */
int nvd_ledger_check(struct nvd *d, struct nvd_ledger_check *c);

#endif /* NVME_DRV_H */
