/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pdma-dump internals shared by its two halves: pdma-dump.c reads the
 * table from the device or an image and loads it into an inspection-only
 * core; pdma_dump_report.c judges the result and prints it as text or
 * JSON (schema in docs/pdma-dump.md).
 */
#ifndef _PDMA_DUMP_REPORT_H
#define _PDMA_DUMP_REPORT_H

#include "pdma_core.h"
#include "libpdma/libpdma.h"

#define MAX_PROBLEMS	16
#define PROBLEM_LEN	256

/* Where the bytes come from: the device, or an image at an offset. */
struct source {
	const char *path;
	int fd;
	bool device;
	u64 offset;
};

/* Region geometry to configure the core with, and where it came from. */
struct geom {
	u64 base;
	u64 size;
	u32 capacity;
	const char *from;
};

/* What one run learned about the table: its source, load and verdict. */
struct dump {
	struct source src;
	bool have_geom;			/* a core was loaded under @geom */
	bool found;			/* and it found a table (magic) */
	struct geom geom;
	struct pdma_layout lay;
	u8 *table;			/* lay.data_offset bytes */
	struct pdma_core *core;
	enum pdma_load_result result;
	struct pdma_load_report load;
	struct pdma_copy_report copy[2];
	struct pdma_core_info info;
	bool live;
	struct pdma_info dev;
	int nr_problems;
	char problems[MAX_PROBLEMS][PROBLEM_LEN];
};

static inline char copy_name(int c)
{
	return c ? 'B' : 'A';
}

/* Record a problem for the verdict; at most MAX_PROBLEMS are kept. */
void dump_problem(struct dump *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Add the problems that make the table corrupt or inconsistent. */
void dump_judge(struct dump *d);
void dump_print_json(const struct dump *d);
void dump_print_text(const struct dump *d);

#endif /* _PDMA_DUMP_REPORT_H */
