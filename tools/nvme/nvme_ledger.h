/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvme_ledger.h - the write ledger of `pdma-nvme load` (a test and demo
 * writer), in its own pdma allocation "nvme/<BDF>/ledger", so that it
 * survives a kexec with the writes it describes.
 *
 * The namespace range [base_lba, base_lba + units * unit_blocks) is cut
 * into units; every write covers one whole unit with the seeded pattern of
 * nvd_pattern(seed, byte address / 8), seeds never 0 and never reused. Per
 * unit, `done` is the seed of the newest acknowledged write (its completion
 * reaped with success) and `inflight` the seed of a write submitted and not
 * yet acknowledged (0: none). The writer sets inflight before the doorbell;
 * the completion sets done, then clears inflight. A unit is never written
 * twice at once.
 *
 * Check: with inflight 0, every block of a unit holds `done`; with a write
 * in flight, every block holds `done` or `inflight`, each block whole (the
 * pattern differs in every 8-byte word, so a mix within a block matches
 * neither).
 *
 * Little-endian, fixed layout, one writer at a time (the pdma-nvme process
 * that owns the queues).
 */
#ifndef NVME_LEDGER_H
#define NVME_LEDGER_H

#include <stdint.h>

#define NVL_MAGIC 0x4744454c564e4450ULL /* "PDNVLEDG" */
#define NVL_VERSION 1
#define NVL_MAX_UNITS 65536

struct nvl_header {		/* 64 bytes */
	uint64_t magic;
	uint32_t version;
	uint32_t units;
	uint32_t unit_blocks;
	uint32_t reserved;
	uint64_t base_lba;
	uint64_t next_seed;	/* the last seed handed out */
	uint64_t submitted;	/* writes submitted, ever */
	uint64_t acked;		/* writes acknowledged, ever */
	uint64_t reserved2;
};

struct nvl_entry {		/* 16 bytes */
	uint64_t done;
	uint64_t inflight;
};

_Static_assert(sizeof(struct nvl_header) == 64, "ledger layout");
_Static_assert(sizeof(struct nvl_entry) == 16, "ledger layout");

#endif /* NVME_LEDGER_H */
