// SPDX-License-Identifier: GPL-2.0
/*
 * Golden region images for the pdma-dump tests, written by the core itself
 * (the same sources as the module) through a store hook into a buffer,
 * then damaged or forged on purpose. Forged entries are resealed with
 * pdma_crc32c so that only the intended check rejects them.
 *
 * usage: gen_image KIND OUT [--base B] [--size S] [--capacity C]
 *                  [--table-only]
 *
 *   fresh           format only: copy A generation 1, copy B zeroed
 *   many            100 entries in all three states, with holes
 *   copy-a-corrupt  copy A (current) has one flipped byte
 *   both-corrupt    both copies have one flipped byte
 *   overlap         slot 1 moved onto slot 0 in both copies, resealed
 *   past-end        slot 1 moved to straddle the region end, resealed
 *   names           names with quotes, backslash, tab, UTF-8, non-UTF-8
 *
 * OUT is the table area followed by a hole up to the region size (a sparse
 * file, like a pmemsave of the region), or only the table area with
 * --table-only. stdout gets a JSON manifest: the region and the entries as
 * the writing core saw them before any damage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_common.h"

static struct region R;

static int die(const char *what, int err)
{
	fprintf(stderr, "gen_image: %s: %s\n", what, strerror(err));
	exit(1);
}

static void must(int ret, const char *what)
{
	if (ret)
		die(what, ret < 0 ? -ret : EINVAL);
}

static void alloc(const char *name, u64 size, u64 align, u32 flags)
{
	must(pdma_core_alloc(R.core, name, size, align, flags, NULL), name);
}

static void flip(int copy, u32 slot)
{
	ent_of(&R, copy, slot)->name[0] ^= 0x20;
}

/* Slot 0 of the "three" history is 4K, slot 1 8K, slot 2 4K. */
static void three(void)
{
	alloc(N("e0"), 4096, 0, 0);		/* gen 2 in B */
	alloc(N("e1"), 8192, 0, 0);		/* gen 3 in A */
	alloc(N("e2"), 4096, 0, 0);		/* gen 4 in B */
}

static void forge_both(u64 offset, u64 size)
{
	int c;

	for (c = 0; c < 2; c++) {
		ent_of(&R, c, 1)->offset = cpu_to_le64(offset);
		ent_of(&R, c, 1)->size = cpu_to_le64(size);
		reseal(&R, c);
	}
}

/*
 * 100 entries: 100 allocations, every 10th freed, an adoption (all
 * preserved), every 3rd survivor claimed, then 10 new allocations.
 */
static void many(void)
{
	static const u64 aligns[] = { 0, 0x10000, 0x200000, 0x4000 };
	u32 i;

	for (i = 0; i < 100; i++)
		alloc(N("nvme/q%03u", i), (i % 7 + 1) * 4096, aligns[i % 4],
		      i % 5 ? 0 : PDMA_ALLOC_ZERO);
	for (i = 0; i < 100; i += 10)
		must(pdma_core_free(R.core, N("nvme/q%03u", i)), "free");
	must(pdma_core_adopt(R.core), "adopt");
	for (i = 1; i < 100; i += 3)
		if (i % 10)
			must(pdma_core_claim(R.core, N("nvme/q%03u", i), NULL),
			     "claim");
	for (i = 0; i < 10; i++)
		alloc(N("data/new%u", i), 0x10000, 0x10000, 0);
}

static const char *state_name(u32 state)
{
	switch (state) {
	case PDMA_ENTRY_ALLOCATED:
		return "allocated";
	case PDMA_ENTRY_PRESERVED:
		return "preserved-unclaimed";
	case PDMA_ENTRY_CLAIMED:
		return "claimed";
	default:
		return "unknown";
	}
}

#define ULL(x)	((unsigned long long)(x))

static void manifest(const char *kind)
{
	struct pdma_core_info info;
	struct pdma_core_entry e;
	u32 cursor = 0;
	int first = 1;

	pdma_core_info(R.core, &info);
	printf("{\"kind\": \"%s\", \"base\": %llu, \"size\": %llu, "
	       "\"capacity\": %u, \"copy_size\": %llu, \"data_offset\": %llu, "
	       "\"generation\": %llu, \"adopt_count\": %u, "
	       "\"current_copy\": \"%c\", \"entries\": [",
	       kind, ULL(R.base), ULL(R.size), R.capacity,
	       ULL(R.lay.copy_size), ULL(R.lay.data_offset),
	       ULL(info.generation), info.adopt_count,
	       'A' + info.current_copy);
	while (!pdma_core_next_entry(R.core, &cursor, &e)) {
		printf("%s\n  {\"slot\": %u, \"name\": \"%s\", \"state\": \"%s\", "
		       "\"offset\": %llu, \"size\": %llu, \"align\": %llu, "
		       "\"flags\": %u, \"create_gen\": %llu}",
		       first ? "" : ",", e.id, e.name, state_name(e.state),
		       ULL(e.offset), ULL(e.size), ULL(e.align), e.flags,
		       ULL(e.create_gen));
		first = 0;
	}
	printf("]}\n");
}

static int parse_u64(const char *s, u64 *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: gen_image fresh|many|copy-a-corrupt|both-corrupt|overlap|past-end|names|escape-name|huge-gen OUT\n"
		"                 [--base B] [--size S] [--capacity C] [--table-only]\n");
	return 2;
}

int main(int argc, char **argv)
{
	u64 base = 0x30000000ULL, size = 64 * SZ_1M, cap = 1024, v;
	const char *kind, *out;
	bool table_only = false;
	int i, fd;

	if (argc < 3)
		return usage();
	kind = argv[1];
	out = argv[2];
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--table-only")) {
			table_only = true;
			continue;
		}
		if (i + 1 >= argc || parse_u64(argv[i + 1], &v))
			return usage();
		if (!strcmp(argv[i], "--base"))
			base = v;
		else if (!strcmp(argv[i], "--size"))
			size = v;
		else if (!strcmp(argv[i], "--capacity") && v <= U32_MAX)
			cap = v;
		else
			return usage();
		i++;
	}
	if (region_init(&R, base, size, cap) || region_format(&R))
		die("region", EINVAL);

	if (!strcmp(kind, "fresh")) {
		manifest(kind);
	} else if (!strcmp(kind, "many")) {
		many();
		manifest(kind);
	} else if (!strcmp(kind, "copy-a-corrupt")) {
		alloc(N("a"), 4096, 0, 0);	/* gen 2 in B */
		alloc(N("b"), 4096, 0, 0);	/* gen 3 in A, current */
		manifest(kind);
		flip(0, 0);
	} else if (!strcmp(kind, "both-corrupt")) {
		alloc(N("a"), 4096, 0, 0);
		alloc(N("b"), 4096, 0, 0);
		manifest(kind);
		flip(0, 0);
		flip(1, 0);
	} else if (!strcmp(kind, "overlap")) {
		three();
		manifest(kind);
		/* Slot 1 starts where slot 0 does: in range, but overlapping. */
		forge_both(le64_to_cpu(ent_of(&R, 0, 0)->offset), 8192);
	} else if (!strcmp(kind, "past-end")) {
		three();
		manifest(kind);
		/* Slot 1 keeps its 8K and starts one page before the end. */
		forge_both(size - 4096, 8192);
	} else if (!strcmp(kind, "names")) {
		alloc(N("q\"uote"), 4096, 0, 0);
		alloc(N("back\\slash"), 4096, 0, 0);
		alloc(N("sp ace"), 4096, 0, 0);
		alloc(N("~{}"), 4096, 0, 0);
		/* No manifest: these names are not valid JSON as printed. */
		printf("{}\n");
	} else if (!strcmp(kind, "escape-name")) {
		three();
		manifest(kind);
		/* CRC-valid, but a name with an ESC byte: log injection. */
		for (int c = 0; c < 2; c++) {
			memcpy(ent_of(&R, c, 1)->name, "e\033[2J", 6);
			reseal(&R, c);
		}
	} else if (!strcmp(kind, "huge-gen")) {
		three();
		manifest(kind);
		/* CRC-valid generations at and past 2^63 would wrap. */
		hdr_of(&R, 0)->generation = cpu_to_le64(U64_MAX - 1);
		hdr_of(&R, 1)->generation = cpu_to_le64(PDMA_GEN_LIMIT);
		reseal(&R, 0);
		reseal(&R, 1);
	} else {
		return usage();
	}

	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(out, errno);
	if (write(fd, R.mem, R.lay.data_offset) != (ssize_t)R.lay.data_offset)
		die(out, errno ? errno : EIO);
	if (!table_only && ftruncate(fd, size))
		die(out, errno);
	if (close(fd))
		die(out, errno);
	region_fini(&R);
	return 0;
}
