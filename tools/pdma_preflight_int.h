/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of pdmactl preflight share; see pdma_preflight.c. */
#ifndef PDMA_PREFLIGHT_INT_H
#define PDMA_PREFLIGHT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "libpdma/libpdma.h"

#define MAX_TOKENS 256

struct pf {
	const char *dev;
	struct pdma *p;
	struct pdma_info info;
	uint64_t base, last;		/* the current range, last byte inclusive */
	char *cmdline;			/* the next kernel's, split into tokens */
	char *tok[MAX_TOKENS];
	int ntok;
	const char *load, *initrd;
	bool kexec_file;
	int problems;
};

/* Print one "FAIL CHECK: ..." line and count the problem. */
void fail(struct pf *pf, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The whole file as a string, or NULL with errno set. */
char *read_text(const char *path);

void check_boot(struct pf *pf);
void check_kexec(struct pf *pf);
int load_next_kernel(struct pf *pf, const char *cmdline);

#endif
