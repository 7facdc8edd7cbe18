// SPDX-License-Identifier: GPL-2.0
/*
 * pdma-dump: inspect the allocation table of a pdma region.
 *
 *   pdma-dump [--json | --quiet] [DEVICE]
 *   pdma-dump [--json | --quiet] --image FILE [--offset N] [--base B]
 *             [--size S] [--capacity C]
 *
 * The source is the live device (default /dev/pdma: INFO for the region,
 * read() for the raw table bytes) or a raw image of the region, e.g. from
 * dd of /dev/mem or QEMU's pmemsave, starting --offset bytes into FILE.
 *
 * Every byte is interpreted by the pdma core (kmod/pdma_*.c, the sources
 * the module runs), configured inspection-only: this tool has no parser of
 * its own. It reports both table copies, every entry, the free extents and
 * totals, as a table or as JSON (schema in docs/pdma-dump.md).
 * This file reads the source and loads the core; pdma_dump_report.c judges
 * the table and prints the reports.
 *
 * Exit: 0 consistent, 1 corrupt or inconsistent (including no table at
 * all), 2 usage or I/O error (including an image too short to hold the
 * table it describes).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pdma_dump_report.h"

#define EXIT_CONSISTENT	0
#define EXIT_CORRUPT	1
#define EXIT_ERROR	2

#define PAGE		PDMA_PAGE_SIZE

static const char *prog = "pdma-dump";
static bool quiet;

struct opts {
	const char *device;
	const char *image;
	u64 offset;
	u64 base;
	u64 size;
	u32 capacity;
	bool have_base;
	bool have_size;
	bool have_capacity;
	bool json;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int usage(void)
{
	if (!quiet)
		fprintf(stderr,
			"usage: %s [--json | --quiet] [DEVICE]\n"
			"       %s [--json | --quiet] --image FILE [--offset N] [--base B] [--size S] [--capacity C]\n"
			"DEVICE defaults to %s. Exit: 0 consistent, 1 corrupt or inconsistent, 2 usage or I/O error.\n",
			prog, prog, PDMA_DEFAULT_PATH);
	return EXIT_ERROR;
}

/* A number with an optional K, M or G suffix, as pdmactl takes them. */
static int parse_u64(const char *s, u64 *out)
{
	unsigned int shift = 0;
	char *end;
	u64 v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift) {
		end++;
		if (v > U64_MAX >> shift)
			return -1;
		v <<= shift;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/*
 * Read up to @len bytes at region offset @off. Returns the bytes read (fewer
 * only at the end of the file) or -errno.
 */
static ssize_t src_read(const struct source *s, void *buf, size_t len, u64 off)
{
	size_t done = 0;
	ssize_t n;

	if (s->offset > (u64)INT64_MAX || off > (u64)INT64_MAX - s->offset ||
	    len > (u64)INT64_MAX - s->offset - off)
		return -EOVERFLOW;
	while (done < len) {
		n = pread(s->fd, (u8 *)buf + done, len - done,
			  (off_t)(s->offset + off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		done += n;
	}
	return done;
}

static void dump_reset(struct dump *d)
{
	pdma_core_destroy(d->core);
	d->core = NULL;
	free(d->table);
	d->table = NULL;
}

/*
 * Load the table area under @g with an inspection-only core and judge both
 * copies. Returns 0 (loaded, whatever the verdict), -ENODATA if the image
 * ends inside the table area, or another -errno.
 */
static int dump_load(struct dump *d, const struct geom *g)
{
	struct pdma_core_config cfg = { 0 };
	ssize_t n;
	int ret, c;

	dump_reset(d);
	d->geom = *g;
	ret = pdma_core_layout(g->base, g->size, g->capacity, &d->lay);
	if (ret)
		return ret;
	d->table = malloc(d->lay.data_offset);
	if (!d->table)
		return -ENOMEM;
	n = src_read(&d->src, d->table, d->lay.data_offset, 0);
	if (n < 0)
		return n;
	if ((u64)n < d->lay.data_offset)
		return -ENODATA;
	cfg.base = g->base;
	cfg.size = g->size;
	cfg.capacity = g->capacity;
	cfg.table = d->table;
	ret = pdma_core_create(&cfg, &d->core);
	if (ret)
		return ret;
	d->result = pdma_core_load(d->core, &d->load);
	/* The load skips an older copy once a newer one is valid: judge both. */
	for (c = 0; c < 2; c++)
		pdma_core_check_copy(d->core, c, &d->copy[c]);
	pdma_core_info(d->core, &d->info);
	return 0;
}

/* A region the core cannot take: keep the capacity, shrink to a minimum. */
static void geom_fallback(struct geom *g)
{
	struct pdma_layout lay;

	if (!pdma_core_layout(g->base, g->size, g->capacity, &lay))
		return;
	g->size = 2 * pdma_table_copy_size(g->capacity) + PAGE;
	if ((g->base & (PAGE - 1)) || g->base > U64_MAX - g->size)
		g->base = 0;
	g->from = "fallback";
}

static void geom_override(const struct opts *o, struct geom *g)
{
	if (o->have_base)
		g->base = o->base;
	if (o->have_size)
		g->size = o->size;
	if (o->have_capacity)
		g->capacity = o->capacity;
	if (o->have_base || o->have_size || o->have_capacity)
		g->from = "options";
}

/*
 * Copy B of a capacity-C table starts at pdma_table_copy_size(C): find the
 * first page holding a header whose capacity puts copy B right there.
 */
static int find_copy_b(struct dump *d, struct geom *g)
{
	u8 hdr[sizeof(struct pdma_table_header)];
	u64 k, max = pdma_table_copy_size(PDMA_CORE_MAX_CAPACITY) / PAGE;
	ssize_t n;
	u32 cap;

	for (k = 1; k <= max; k++) {
		n = src_read(&d->src, hdr, sizeof(hdr), k * PAGE);
		if (n < 0)
			return n;
		if ((size_t)n < sizeof(hdr))
			return 0;
		cap = pdma_core_peek_region(hdr, &g->base, &g->size);
		if (cap && pdma_table_copy_size(cap) == k * PAGE) {
			g->capacity = cap;
			g->from = "copy B header";
			return 1;
		}
	}
	return 0;
}

static bool geom_eq(const struct geom *a, const struct geom *b)
{
	return a->base == b->base && a->size == b->size &&
	       a->capacity == b->capacity;
}

/* No table anywhere: both copies are reported without a magic. */
static void no_table(struct dump *d)
{
	int c;

	dump_reset(d);
	d->have_geom = false;
	d->found = false;
	memset(d->copy, 0, sizeof(d->copy));
	for (c = 0; c < 2; c++) {
		d->copy[c].status = PDMA_COPY_NO_MAGIC;
		d->copy[c].slot = PDMA_NONE;
		d->copy[c].other = PDMA_NONE;
	}
}

/*
 * Images: the region comes from the headers. Copy A's is tried first; if
 * that does not give a loadable table, copy B is searched for and tried.
 * The first geometry that loads wins, else the first one that could be
 * read at all.
 */
static int open_image(const struct opts *o, struct dump *d)
{
	struct geom cand[2], g;
	int nr = 0, i, ret, best = -1, ok = -1;
	bool tried_b = false, truncated = false;
	u8 page[PAGE];
	ssize_t n;

	n = src_read(&d->src, page, sizeof(page), 0);
	if (n < 0) {
		say("%s: %s", d->src.path, strerror((int)-n));
		return EXIT_ERROR;
	}
	if ((size_t)n < sizeof(page)) {
		say("%s: truncated: %zd bytes at offset %llu, a region image holds at least %llu",
		    d->src.path, n, (unsigned long long)d->src.offset, PAGE);
		return EXIT_ERROR;
	}
	memset(&g, 0, sizeof(g));
	g.capacity = pdma_core_peek_region(page, &g.base, &g.size);
	g.from = "copy A header";
	if (g.capacity || o->have_capacity) {
		geom_override(o, &g);
		geom_fallback(&g);
		cand[nr++] = g;
	}
	for (i = 0; ; i++) {
		if (i == nr) {
			/* Out of candidates: look for copy B, once. */
			if (ok >= 0 || tried_b || o->have_capacity)
				break;
			tried_b = true;
			memset(&g, 0, sizeof(g));
			ret = find_copy_b(d, &g);
			if (ret < 0) {
				say("%s: %s", d->src.path, strerror(-ret));
				return EXIT_ERROR;
			}
			if (!ret)
				break;
			geom_override(o, &g);
			geom_fallback(&g);
			if (nr && geom_eq(&g, &cand[0]))
				break;
			cand[nr++] = g;
		}
		ret = dump_load(d, &cand[i]);
		if (ret == -ENODATA) {
			truncated = true;
			continue;
		}
		if (ret) {
			say("%s: %s", d->src.path, strerror(-ret));
			return EXIT_ERROR;
		}
		if (best < 0)
			best = i;
		if (d->result == PDMA_LOAD_OK) {
			ok = i;
			break;
		}
	}
	if (best < 0 && truncated) {
		g = cand[0];
		say("%s: truncated: the table area (%s, capacity %u) needs %llu bytes at offset %llu",
		    d->src.path, g.from, g.capacity,
		    (unsigned long long)(2 * pdma_table_copy_size(g.capacity)),
		    (unsigned long long)d->src.offset);
		return EXIT_ERROR;
	}
	if (best < 0) {
		no_table(d);
		return 0;
	}
	if (ok < 0 && !geom_eq(&d->geom, &cand[best])) {
		ret = dump_load(d, &cand[best]);
		if (ret) {
			say("%s: %s", d->src.path, strerror(-ret));
			return EXIT_ERROR;
		}
	}
	d->have_geom = true;
	d->found = d->result != PDMA_LOAD_EMPTY;
	if (!strcmp(d->geom.from, "fallback"))
		dump_problem(d, "the header records an impossible region (capacity %u); checked as base %#llx size %#llx",
			d->geom.capacity, (unsigned long long)d->geom.base,
			(unsigned long long)d->geom.size);
	return 0;
}

static int dev_info(struct dump *d, struct pdma_info *info)
{
	memset(info, 0, sizeof(*info));
	if (ioctl(d->src.fd, PDMA_IOC_INFO, info)) {
		say("%s: PDMA_IOC_INFO: %s", d->src.path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The live device: INFO gives the region, read() the table bytes under the
 * module's lock. INFO is asked again afterwards and the read retried if a
 * commit came in between, so that the cross-checks compare one state.
 */
static int open_device(struct dump *d)
{
	struct pdma_info again;
	struct geom g;
	int tries, ret;

	for (tries = 0; tries < 5; tries++) {
		if (dev_info(d, &d->dev))
			return EXIT_ERROR;
		g = (struct geom) {
			.base = d->dev.base,
			.size = d->dev.size,
			.capacity = d->dev.capacity,
			.from = "device",
		};
		ret = dump_load(d, &g);
		if (ret == -ENODATA) {
			say("%s: short read of the table area (%llu bytes)",
			    d->src.path, (unsigned long long)d->lay.data_offset);
			return EXIT_ERROR;
		}
		if (ret == -EINVAL || (!ret && d->lay.data_offset != d->dev.data_offset)) {
			say("%s: the device reports an impossible region: base %#llx size %#llx capacity %u data_offset %#llx",
			    d->src.path, (unsigned long long)d->dev.base,
			    (unsigned long long)d->dev.size, d->dev.capacity,
			    (unsigned long long)d->dev.data_offset);
			return EXIT_ERROR;
		}
		if (ret) {
			say("%s: %s", d->src.path, strerror(-ret));
			return EXIT_ERROR;
		}
		if (dev_info(d, &again))
			return EXIT_ERROR;
		if (again.generation == d->dev.generation &&
		    again.nr_entries == d->dev.nr_entries)
			break;
	}
	d->live = true;
	d->have_geom = true;
	d->found = d->result != PDMA_LOAD_EMPTY;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "image", required_argument, NULL, 'i' },
		{ "offset", required_argument, NULL, 'o' },
		{ "base", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	bool image_opts = false;
	struct dump *d;
	int c, i, ret;
	u64 v;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'q':
			break;
		case 'i':
			o.image = optarg;
			break;
		case 'h':
			if (!quiet)
				printf("usage: %s [--json | --quiet] [DEVICE]\n"
				       "       %s [--json | --quiet] --image FILE [--offset N] [--base B] [--size S] [--capacity C]\n"
				       "See docs/pdma-dump.md.\n", prog, prog);
			return 0;
		case 'o': case 'b': case 's': case 'c':
			image_opts = true;
			if (parse_u64(optarg, &v)) {
				say("bad number '%s'", optarg);
				return usage();
			}
			if (c == 'o') {
				o.offset = v;
			} else if (c == 'b') {
				o.base = v;
				o.have_base = true;
			} else if (c == 's') {
				o.size = v;
				o.have_size = true;
			} else {
				if (!v || v > PDMA_CORE_MAX_CAPACITY) {
					say("--capacity must be 1 to %u", PDMA_CORE_MAX_CAPACITY);
					return usage();
				}
				o.capacity = v;
				o.have_capacity = true;
			}
			break;
		default:
			say("bad option '%s'", argv[optind - 1]);
			return usage();
		}
	}
	if (optind < argc)
		o.device = argv[optind++];
	if (optind < argc || (o.image && o.device) || (image_opts && !o.image))
		return usage();
	if ((o.have_base && (o.base & (PAGE - 1))) ||
	    (o.have_size && (!o.size || (o.size & (PAGE - 1))))) {
		say("--base and --size must be multiples of %llu", PAGE);
		return usage();
	}
	if (o.offset > (u64)INT64_MAX) {
		say("--offset %llu is too large", (unsigned long long)o.offset);
		return usage();
	}

	d = calloc(1, sizeof(*d));
	if (!d) {
		say("%s", strerror(ENOMEM));
		return EXIT_ERROR;
	}
	d->src.device = !o.image;
	d->src.path = o.image ? o.image : o.device ? o.device : PDMA_DEFAULT_PATH;
	d->src.offset = o.image ? o.offset : 0;
	d->src.fd = open(d->src.path, O_RDONLY | O_CLOEXEC);
	if (d->src.fd < 0) {
		say("%s: %s", d->src.path, strerror(errno));
		free(d);
		return EXIT_ERROR;
	}
	ret = d->src.device ? open_device(d) : open_image(&o, d);
	if (!ret) {
		dump_judge(d);
		if (!quiet) {
			if (o.json)
				dump_print_json(d);
			else
				dump_print_text(d);
			fflush(stdout);
		}
		for (i = 0; i < d->nr_problems; i++)
			say("%s: %s", d->src.path, d->problems[i]);
		ret = d->nr_problems ? EXIT_CORRUPT : EXIT_CONSISTENT;
	}
	close(d->src.fd);
	dump_reset(d);
	free(d);
	return ret;
}
