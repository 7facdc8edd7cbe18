// SPDX-License-Identifier: GPL-2.0
/* Shared helpers of the pdma core unit tests; see test_common.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_common.h"

int test_verbose;
int snapshot_quiet;

int test_run_all(const char *prog, const struct test_case *tests, int nr,
		 int argc, char **argv)
{
	const char *only = NULL;
	int i, failed = 0, ran = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			test_verbose = 1;
		else
			only = argv[i];
	}
	for (i = 0; i < nr; i++) {
		int ret;

		if (only && strcmp(only, tests[i].name))
			continue;
		if (test_verbose)
			printf("# %s: %s\n", tests[i].name, tests[i].expect);
		fflush(stdout);
		ret = tests[i].fn();
		ran++;
		if (ret) {
			failed++;
			printf("not ok %d - %s\n#   %s\n", ran, tests[i].name,
			       tests[i].expect);
		} else {
			printf("ok %d - %s\n", ran, tests[i].name);
		}
		fflush(stdout);
	}
	printf("# %s: %d tests, %d failures\n", prog, ran, failed);
	return failed ? 1 : 0;
}

static void region_write(void *ctx, u64 off, const void *src, size_t len)
{
	struct region *r = ctx;
	unsigned long k = r->stores++;

	r->log[k % 16].off = off;
	r->log[k % 16].len = len;
	/* The core must only ever store into the table area. */
	if (off > r->lay.data_offset || len > r->lay.data_offset - off) {
		r->bounds_error = true;
		fprintf(stderr, "store out of the table area: %llu+%zu\n",
			(unsigned long long)off, len);
		abort();
	}
	if (r->crashed)
		return;
	if (r->crash_at >= 0 && k == (unsigned long)r->crash_at) {
		r->crashed = true;
		if (r->crash_mode == CRASH_HALF)
			memcpy(r->mem + off, src, len / 2);
		return;
	}
	memcpy(r->mem + off, src, len);
}

const struct pdma_core_ops region_ops = {
	.write = region_write,
};

int region_init(struct region *r, u64 base, u64 size, u32 capacity)
{
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->size = size;
	r->capacity = capacity;
	r->crash_at = -1;
	if (pdma_core_layout(base, size, capacity, &r->lay))
		return -1;
	r->mem = calloc(1, r->lay.data_offset);
	return r->mem ? 0 : -1;
}

void region_fini(struct region *r)
{
	pdma_core_destroy(r->core);
	r->core = NULL;
	free(r->mem);
	r->mem = NULL;
}

enum pdma_load_result region_load(struct region *r,
				  struct pdma_load_report *rep)
{
	struct pdma_core_config cfg = {
		.base = r->base,
		.size = r->size,
		.capacity = r->capacity,
		.table = r->mem,
		.ops = &region_ops,
		.ctx = r,
	};

	pdma_core_destroy(r->core);
	r->core = NULL;
	if (pdma_core_create(&cfg, &r->core)) {
		fprintf(stderr, "pdma_core_create failed\n");
		abort();
	}
	return pdma_core_load(r->core, rep);
}

int region_format(struct region *r)
{
	if (region_load(r, NULL) != PDMA_LOAD_EMPTY)
		return -1;
	return pdma_core_format(r->core) ? -1 : 0;
}

int region_clone_config(struct region *dst, const struct region *src,
			u64 base, u64 size, u32 capacity)
{
	if (region_init(dst, base, size, capacity))
		return -1;
	memcpy(dst->mem, src->mem,
	       dst->lay.data_offset < src->lay.data_offset ?
	       dst->lay.data_offset : src->lay.data_offset);
	return 0;
}

const char *N(const char *fmt, ...)
{
	static char bufs[8][PDMA_NAME_MAX];
	static unsigned int next;
	char *b = bufs[next++ % 8];
	va_list ap;

	memset(b, 0, PDMA_NAME_MAX);
	va_start(ap, fmt);
	vsnprintf(b, PDMA_NAME_MAX, fmt, ap);
	va_end(ap);
	return b;
}

int snapshot_take(struct pdma_core *core, struct snapshot *s)
{
	struct pdma_core_entry e;
	u32 cursor = 0;

	pdma_core_info(core, &s->info);
	s->nr = 0;
	s->ent = calloc(s->info.capacity, sizeof(*s->ent));
	if (!s->ent)
		return -1;
	while (!pdma_core_next_entry(core, &cursor, &e)) {
		if (s->nr == s->info.capacity)
			return -1;
		s->ent[s->nr++] = e;
	}
	return s->nr == s->info.nr_entries ? 0 : -1;
}

void snapshot_free(struct snapshot *s)
{
	free(s->ent);
	s->ent = NULL;
}

bool entry_eq(const struct pdma_core_entry *a,
	      const struct pdma_core_entry *b)
{
	return !memcmp(a->name, b->name, PDMA_NAME_MAX) &&
	       a->offset == b->offset && a->size == b->size &&
	       a->align == b->align && a->create_gen == b->create_gen &&
	       a->flags == b->flags && a->state == b->state && a->id == b->id;
}

int snapshot_cmp(const struct snapshot *a, const struct snapshot *b,
		 bool with_copy)
{
	const struct pdma_core_info *x = &a->info, *y = &b->info;
	u32 i;

	if (x->state != y->state || x->generation != y->generation ||
	    x->adopt_count != y->adopt_count ||
	    x->nr_entries != y->nr_entries || x->free_bytes != y->free_bytes ||
	    x->largest_free != y->largest_free ||
	    (with_copy && x->current_copy != y->current_copy)) {
		if (snapshot_quiet)
			return 1;
		fprintf(stderr,
			"  info differs: state %d/%d gen %llu/%llu adopt %u/%u nr %u/%u free %llu/%llu largest %llu/%llu copy %d/%d\n",
			x->state, y->state, (unsigned long long)x->generation,
			(unsigned long long)y->generation, x->adopt_count,
			y->adopt_count, x->nr_entries, y->nr_entries,
			(unsigned long long)x->free_bytes,
			(unsigned long long)y->free_bytes,
			(unsigned long long)x->largest_free,
			(unsigned long long)y->largest_free, x->current_copy,
			y->current_copy);
		return 1;
	}
	if (a->nr != b->nr)
		return 1;
	for (i = 0; i < a->nr; i++) {
		if (!entry_eq(&a->ent[i], &b->ent[i])) {
			if (snapshot_quiet)
				return 1;
			fprintf(stderr, "  entry %u differs: %s/%s\n", i,
				a->ent[i].name, b->ent[i].name);
			return 1;
		}
	}
	return 0;
}

struct pdma_table_header *hdr_of(struct region *r, int copy)
{
	return (struct pdma_table_header *)(r->mem + copy * r->lay.copy_size);
}

struct pdma_table_entry *ent_of(struct region *r, int copy, u32 slot)
{
	return (struct pdma_table_entry *)(hdr_of(r, copy) + 1) + slot;
}

void reseal(struct region *r, int copy)
{
	struct pdma_table_header *h = hdr_of(r, copy);
	size_t len = sizeof(*h) + (size_t)r->capacity *
		     sizeof(struct pdma_table_entry);

	h->crc32c = 0;
	h->crc32c = cpu_to_le32(~pdma_crc32c(~0U, h, len));
}
