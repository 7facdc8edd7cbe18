/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvme_cli.h - the CLI layer of pdma-nvme, shared by pdma-nvme.c (main:
 * parse and dispatch), nvme_cmd_io.c, nvme_cmd_svc.c (the commands) and
 * nvme_cli.c (JSON output, errors, arguments). The driver core
 * (nvme_drv.h) knows nothing of it.
 */
#ifndef NVME_CLI_H
#define NVME_CLI_H

#include "nvme_drv.h"

#define DEFAULT_BDF "0000:01:00.0"
#define CALIBRATE_NS 20000000ull /* TSC rate over at least 20 ms */

extern struct nvd drv;
/* The queues are open and consistent: a failure stores a clean checkpoint */
extern bool cli_opened;
/* CLOCK_MONOTONIC, TSC and CLOCK_MONOTONIC_RAW at the start of main() */
extern uint64_t t_main, tsc_main, raw_main;

void jraw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void jkey(const char *k);
void jstr(const char *k, const char *v);
void jint(const char *k, long long v);
void jbool(const char *k, bool v);
void jnull(const char *k);
void jhex(const char *k, uint64_t v);
void jfixed(const char *k, const char *v, size_t n); /* space-padded field */
/* Print the object (with "ok", and "error"/"exit" if code != 0); @code */
int finish(int code);
/*
 * finish(drv.err_code); when the queues are open and consistent, first a
 * clean checkpoint (else the record stays dirty: the next command resets)
 */
int fail(void);
int usage(const char *msg);

uint64_t raw_ns(void);
/* TSC ticks per second since main(), over at least CALIBRATE_NS */
uint64_t tsc_hz(void);
long long ticks_ns(uint64_t from, uint64_t to, uint64_t hz);

/* A number of blocks, or bytes with a K/M/G suffix (converted later) */
struct count {
	uint64_t n;
	bool bytes;
};
bool parse_num(const char *s, struct count *c);
/* Plain decimal or 0x number in [min, max], nothing else */
bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A block address: a plain number */
bool parse_lba(const char *s, struct count *c);

/* nvme_cmd_svc.c: what every command shares */

/* Print the driver's counters (irq mode, admin/CC/I/O commands) */
void j_common(void);
/* Store a clean checkpoint and print inflight, ranges (and ranges_dropped) */
int store_checkpoint(void);
/* Open the queues (recovering if need be); @drain: reap what was left */
int attach(bool drain);
/* attach(true): open the queues with nothing left in flight */
int attach_drained(void);
/* Quiesce and store the SAVED record (commands in flight stay listed) */
int do_save(bool keep_alive, bool drain, bool flush);

/* The commands: each prints its JSON object and returns the exit code */

/* nvme_cmd_svc.c: servicing */
int cmd_init(bool forget, bool msix);
int cmd_save(int argc, char **argv);
int cmd_restore(void);
int cmd_status(void);

/* nvme_cmd_io.c: I/O */
int cmd_write(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_wait(void);
int cmd_load(int argc, char **argv);
int cmd_ledger_check(void);

#endif /* NVME_CLI_H */
