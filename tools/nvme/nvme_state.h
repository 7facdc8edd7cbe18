/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvme_state.h - the state record pdma-nvme keeps in its own pdma
 * allocation, "nvme/<BDF>/state", to resume a controller after kexec.
 *
 * Little-endian, naturally aligned, fixed size (sizeof(struct nvs_record),
 * checked below). A reader accepts a copy only when magic, version and size
 * match and crc32c (CRC32C, Castagnoli, of all sizeof() bytes with the
 * crc32c field taken as zero) is right.
 *
 * Two copies, A at offset 0 and B at NVS_COPY_SIZE: a store goes to the
 * copy that is not the newest valid one, with a seq above both, body first
 * and CRC last, and a reader takes the valid copy with the higher seq. A store torn by SIGKILL or a kexec leaves the other
 * copy, which is safe to act on because of the dirty protocol below: every
 * process stores a dirty copy before its first doorbell, so the older copy
 * is either exact (the torn store was that dirty mark, nothing moved yet) or
 * itself dirty.
 *
 * flags:
 *   NVS_F_DIRTY       a process owns the queues and may have moved them; the
 *                     queue positions are not final. Set, with gen + 1, by
 *                     every process before its first doorbell; cleared by
 *                     the store at its normal end. A dirty record is never
 *                     resumed: the next command resets the controller,
 *                     replays the listed in-flight writes (their buffers are
 *                     untouched, see inflight[]) and drops the intent range
 *                     from the log (its blocks may hold old or new data).
 *   NVS_F_SAVED       written by a completed `save`: nothing in flight, the
 *                     queue positions are final. Only such a record lets a
 *                     restore in another kernel resume on the existing queues.
 *   NVS_F_KEEP_ALIVE  the save left the vfio-pci keep-alive flag set.
 *   NVS_F_FLUSHED     the save flushed the volatile write cache.
 * A clean record without SAVED is a checkpoint: exact in the kernel that
 * wrote it; its inflight[] lists commands submitted and not yet reaped
 * (write --no-wait).
 *
 * Command identifiers: bits 15:12 the low bits of gen (the process life
 * that submitted it), bits 11:0 the queue's next_cid counter. Every
 * completion is matched on (SQ id, full CID) against the commands
 * outstanding; anything else stops the process with the record dirty.
 *
 * cq_crc: CRC32C of the completion ring at the clean store, with the
 * entries from cq_head on that the queue's in-flight commands may still
 * fill left out. Resuming needs the same CRC (the controller posted nothing
 * else, whatever the count, even a multiple of the ring) and every entry in
 * that window either not yet posted or a completion of a listed command.
 *
 * ranges[] is the log of what the namespace holds: the newest write wins,
 * older ranges are trimmed around it (CRC ranges, which cannot be trimmed,
 * are dropped when partly overwritten).
 */
#ifndef NVME_STATE_H
#define NVME_STATE_H

#include <stdint.h>

#define NVS_MAGIC 0x5453454d564e4450ULL /* "PDNVMEST" */
#define NVS_VERSION 2
#define NVS_MAX_QUEUES 8     /* I/O queue pairs */
#define NVS_MAX_INFLIGHT 64 /* NVS_MAX_QUEUES pairs x 8: QD 64 over 4 pairs */
#define NVS_MAX_RANGES 128
#define NVS_BOOT_ID 40
#define NVS_COPY_SIZE 8192  /* copy A at 0, copy B at NVS_COPY_SIZE */
#define NVS_ALLOC_SIZE (2 * NVS_COPY_SIZE) /* the state allocation */

#define NVS_F_SAVED (1u << 0)
#define NVS_F_KEEP_ALIVE (1u << 1)
#define NVS_F_FLUSHED (1u << 2)
#define NVS_F_DIRTY (1u << 3)

#define NVS_CID_SEQ_BITS 12 /* CID: gen in 15:12, counter in 11:0 */

#define NVS_KIND_PATTERN 1 /* tag: seed of nvd_pattern() */
#define NVS_KIND_CRC 2	   /* tag: CRC32C of the whole range */
#define NVS_KIND_READ 3	   /* in-flight reads only */
#define NVS_KIND_LEDGER 4  /* in-flight ledger writes (nvme_ledger.h): seed */

struct nvs_queue {		/* 40 bytes */
	uint64_t sq_phys;	/* submission queue, physical */
	uint64_t cq_phys;	/* completion queue, physical */
	uint16_t qid;		/* 0: admin */
	uint16_t size;		/* entries */
	uint16_t sq_tail;	/* next free SQ slot (our doorbell value) */
	uint16_t sq_head;	/* last SQ head the controller reported */
	uint16_t cq_head;	/* next CQ entry to consume */
	uint16_t phase;		/* phase tag of a new entry at cq_head */
	uint16_t next_cid;	/* CID counter (bits 11:0) of the next command */
	uint16_t reserved;
	uint32_t cq_crc;	/* see above; admin queue: whole ring */
	uint32_t reserved2;
};

struct nvs_cmd {		/* 32 bytes: a command not yet reaped */
	uint16_t qid, cid;
	uint8_t opcode, kind;	/* NVS_KIND_* */
	uint16_t slot;		/* data buffer and PRP page slot of the queue */
	uint32_t nlb;		/* blocks */
	uint32_t reserved;
	uint64_t slba;
	uint64_t tag;		/* seed or CRC, as in a range */
};

struct nvs_range {		/* 24 bytes */
	uint64_t slba;
	uint32_t nlb;
	uint8_t kind;		/* NVS_KIND_PATTERN or NVS_KIND_CRC */
	uint8_t reserved[3];
	uint64_t tag;
};

struct nvs_record {
	uint64_t magic;			/*    0 NVS_MAGIC */
	uint32_t version;		/*    8 NVS_VERSION */
	uint32_t size;			/*   12 sizeof(struct nvs_record) */
	uint32_t crc32c;		/*   16 */
	uint32_t flags;			/*   20 NVS_F_* */
	uint64_t seq;			/*   24 +1 on every store */
	char bdf[16];			/*   32 DDDD:BB:DD.F */
	char boot_id[NVS_BOOT_ID];	/*   48 kernel that wrote the record */
	/* controller */
	uint64_t cap;			/*   88 CAP register */
	uint32_t cc;			/*   96 CC as programmed (EN=1) */
	uint32_t aqa;			/*  100 AQA as programmed */
	uint16_t vid, ssvid;		/*  104 Identify Controller */
	uint32_t irq_vectors;		/*  108 0: polled; n: MSI-X, vector q for queue q */
	char serial[20];		/*  112 Identify SN, space padded */
	char model[40];			/*  132 Identify MN */
	char firmware[8];		/*  172 Identify FR */
	uint32_t gen;			/*  180 process lives that owned the queues */
	/* namespace */
	uint64_t nsze;			/*  184 blocks */
	uint32_t nsid;			/*  192 */
	uint32_t lba_shift;		/*  196 log2 of the block size */
	/* layout of the allocations */
	uint32_t nr_io_queues;		/*  200 */
	uint32_t depth;			/*  204 entries per I/O queue */
	uint32_t slots;			/*  208 data slots per I/O queue */
	uint32_t chunk;			/*  212 bytes per data slot */
	uint64_t prp_phys;		/*  216 */
	uint64_t data_phys;		/*  224 */
	uint64_t id_phys;		/*  232 identify buffer */
	uint64_t mdts_bytes;		/*  240 0: no limit */
	struct nvs_queue admin;		/*  248 */
	struct nvs_queue io[NVS_MAX_QUEUES]; /* 288 */
	/* servicing: TSC stamps of the last save (see README "NVMe servicing") */
	uint64_t save_tsc_start;	/*  608 start of quiesce */
	uint64_t save_tsc_end;		/*  616 record written */
	uint64_t tsc_hz;		/*  624 TSC rate measured by that save */
	uint64_t save_ns;		/*  632 quiesce + record, CLOCK_MONOTONIC */
	/* history */
	uint64_t bytes_written;		/*  640 by every write so far */
	uint32_t saves, restores;	/*  648 */
	uint32_t nr_inflight;		/*  656 */
	uint32_t nr_ranges;		/*  660 */
	uint32_t recoveries;		/*  664 resets after a dirty record */
	uint32_t reserved3;		/*  668 */
	/* what the owning process writes (dirty only; nlb 0: nothing) */
	struct nvs_range intent;	/*  672 */
	struct nvs_cmd inflight[NVS_MAX_INFLIGHT]; /* 696 */
	struct nvs_range ranges[NVS_MAX_RANGES];   /* 2744 */
};					/* 5816 */

_Static_assert(sizeof(struct nvs_queue) == 40, "nvs_queue layout");
_Static_assert(sizeof(struct nvs_cmd) == 32, "nvs_cmd layout");
_Static_assert(sizeof(struct nvs_range) == 24, "nvs_range layout");
_Static_assert(__builtin_offsetof(struct nvs_record, serial) == 112, "record layout");
_Static_assert(__builtin_offsetof(struct nvs_record, admin) == 248, "record layout");
_Static_assert(__builtin_offsetof(struct nvs_record, intent) == 672, "record layout");
_Static_assert(__builtin_offsetof(struct nvs_record, inflight) == 696, "record layout");
_Static_assert(sizeof(struct nvs_record) == 5816, "record layout");
_Static_assert(sizeof(struct nvs_record) <= NVS_COPY_SIZE, "record too large");

#endif /* NVME_STATE_H */
