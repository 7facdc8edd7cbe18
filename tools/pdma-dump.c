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

#include "pdma_core.h"
#include "libpdma/libpdma.h"

#define EXIT_CONSISTENT	0
#define EXIT_CORRUPT	1
#define EXIT_ERROR	2

#define PAGE		PDMA_PAGE_SIZE
#define MAX_PROBLEMS	16
#define PROBLEM_LEN	256

static const char *prog = "pdma-dump";
static bool quiet;

/* Stable machine names of enum pdma_copy_status, part of the JSON schema. */
static const char * const status_key[] = {
	[PDMA_COPY_OK]			= "ok",
	[PDMA_COPY_UNCHECKED]		= "unchecked",
	[PDMA_COPY_NO_MAGIC]		= "no_magic",
	[PDMA_COPY_BAD_VERSION]		= "bad_version",
	[PDMA_COPY_BAD_LAYOUT]		= "bad_layout",
	[PDMA_COPY_CAPACITY_MISMATCH]	= "capacity_mismatch",
	[PDMA_COPY_BAD_CRC]		= "bad_crc",
	[PDMA_COPY_REGION_MISMATCH]	= "region_mismatch",
	[PDMA_COPY_BAD_HEADER]		= "bad_header",
	[PDMA_COPY_BAD_STATE]		= "bad_state",
	[PDMA_COPY_BAD_FREE_SLOT]	= "bad_free_slot",
	[PDMA_COPY_BAD_NAME]		= "bad_name",
	[PDMA_COPY_BAD_ENTRY]		= "bad_entry",
	[PDMA_COPY_OVERLAP]		= "overlap",
	[PDMA_COPY_DUPLICATE_NAME]	= "duplicate_name",
	[PDMA_COPY_BAD_COUNT]		= "bad_count",
};
static_assert(sizeof(status_key) / sizeof(status_key[0]) == PDMA_COPY_NR_STATUS,
	      "a status without a JSON name");

static const char * const crc_key[] = {
	[PDMA_CRC_UNCHECKED]	= "unchecked",
	[PDMA_CRC_GOOD]		= "good",
	[PDMA_CRC_BAD]		= "bad",
};

static const char * const result_key[] = {
	[PDMA_LOAD_EMPTY]	= "empty",
	[PDMA_LOAD_OK]		= "ok",
	[PDMA_LOAD_CORRUPT]	= "corrupt",
	[PDMA_LOAD_MISMATCH]	= "mismatch",
};

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

static void problem(struct dump *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct dump *d, const char *fmt, ...)
{
	va_list ap;

	if (d->nr_problems == MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(d->problems[d->nr_problems++], PROBLEM_LEN, fmt, ap);
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
		problem(d, "the header records an impossible region (capacity %u); checked as base %#llx size %#llx",
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

static char copy_name(int c)
{
	return c ? 'B' : 'A';
}

static void copy_problem(struct dump *d, int c)
{
	const struct pdma_copy_report *r = &d->copy[c];
	char where[64] = "";

	if (r->status == PDMA_COPY_BAD_CRC)
		snprintf(where, sizeof(where), " (stored %#010x, computed %#010x)",
			 r->crc_stored, r->crc_computed);
	else if (r->slot != PDMA_NONE && r->other != PDMA_NONE)
		snprintf(where, sizeof(where), " (slots %u and %u)", r->slot,
			 r->other);
	else if (r->slot != PDMA_NONE)
		snprintf(where, sizeof(where), " (slot %u)", r->slot);
	problem(d, "copy %c: %s%s", copy_name(c),
		pdma_copy_status_str(r->status), where);
}

/*
 * Consistent: a copy loads, and the other one is either its valid
 * predecessor (one generation older) or, right after a format, an
 * untouched copy B next to copy A at generation 1. A live device must
 * agree with the table it exposes.
 */
static void judge(struct dump *d)
{
	const struct pdma_core_info *ci = &d->info;
	int cur, oth;

	if (!d->found) {
		problem(d, "no table: neither copy has the magic");
		return;
	}
	if (d->result != PDMA_LOAD_OK) {
		problem(d, "no valid copy: %s", d->result == PDMA_LOAD_MISMATCH ?
			"the table was made for another region or capacity" :
			"the table is corrupt");
		for (cur = 0; cur < 2; cur++)
			if (d->copy[cur].status != PDMA_COPY_OK)
				copy_problem(d, cur);
	} else {
		cur = d->load.used;
		oth = !cur;
		if (d->copy[oth].status == PDMA_COPY_OK) {
			if (d->copy[oth].generation + 1 != d->copy[cur].generation)
				problem(d, "copy %c: generation %llu is not one below the current copy's %llu",
					copy_name(oth),
					(unsigned long long)d->copy[oth].generation,
					(unsigned long long)d->copy[cur].generation);
		} else if (!(oth == 1 && d->copy[oth].status == PDMA_COPY_NO_MAGIC &&
			     d->copy[cur].generation == 1)) {
			copy_problem(d, oth);
		}
	}
	if (!d->live)
		return;
	if (!!(d->dev.state_flags & PDMA_STATE_READONLY) != (d->result != PDMA_LOAD_OK))
		problem(d, "the device is %s but the table %s",
			d->dev.state_flags & PDMA_STATE_READONLY ? "read-only" : "writable",
			d->result == PDMA_LOAD_OK ? "loads" : "does not load");
	if (d->result != PDMA_LOAD_OK)
		return;
	if (d->dev.generation != ci->generation)
		problem(d, "the device reports generation %llu, the table holds %llu",
			(unsigned long long)d->dev.generation,
			(unsigned long long)ci->generation);
	if (d->dev.nr_entries != ci->nr_entries)
		problem(d, "the device reports %u entries, the table holds %u",
			d->dev.nr_entries, ci->nr_entries);
	if (d->dev.adopt_count != ci->adopt_count)
		problem(d, "the device reports adopt_count %u, the table holds %u",
			d->dev.adopt_count, ci->adopt_count);
	if (d->dev.free_bytes != ci->free_bytes ||
	    d->dev.largest_free != ci->largest_free)
		problem(d, "the device reports %llu free bytes (largest %llu), the table %llu (largest %llu)",
			(unsigned long long)d->dev.free_bytes,
			(unsigned long long)d->dev.largest_free,
			(unsigned long long)ci->free_bytes,
			(unsigned long long)ci->largest_free);
}

static const char *device_state(u32 flags)
{
	if (flags & PDMA_STATE_READONLY)
		return "read-only-corrupt";
	if (flags & PDMA_STATE_ADOPTED)
		return "adopted";
	if (flags & PDMA_STATE_FRESH)
		return "fresh";
	return "unknown";
}

/* ---- JSON ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	u32 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string: valid UTF-8 as is, any other byte as \u00XX. */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), k;

	putchar('"');
	while (n) {
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s);
		} else if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s);
		} else {
			k = utf8_len(s, n);
			if (k) {
				fwrite(s, 1, k, stdout);
				s += k;
				n -= k;
				continue;
			}
			printf("\\u%04x", *s);
		}
		s++;
		n--;
	}
	putchar('"');
}

static void json_u64_or_null(u64 v, bool present)
{
	if (present)
		printf("%llu", (unsigned long long)v);
	else
		printf("null");
}

static void json_copy(const struct dump *d, int c)
{
	const struct pdma_copy_report *r = &d->copy[c];
	bool known = d->have_geom || c == 0;

	printf("    {\"copy\": \"%c\", \"offset\": ", copy_name(c));
	json_u64_or_null(c ? d->lay.copy_size : 0, known);
	printf(", \"status\": \"%s\", \"reason\": ", status_key[r->status]);
	json_str(pdma_copy_status_str(r->status));
	printf(", \"current\": %s, \"generation\": %llu, \"crc\": \"%s\", \"crc_stored\": %u, \"crc_computed\": ",
	       d->found && d->result == PDMA_LOAD_OK && d->load.used == c ?
	       "true" : "false", (unsigned long long)r->generation,
	       crc_key[r->crc], r->crc_stored);
	json_u64_or_null(r->crc_computed, r->crc != PDMA_CRC_UNCHECKED);
	printf(", \"slot\": ");
	json_u64_or_null(r->slot, r->slot != PDMA_NONE);
	printf(", \"other_slot\": ");
	json_u64_or_null(r->other, r->other != PDMA_NONE);
	printf("}");
}

static void print_json(const struct dump *d)
{
	const struct pdma_core_info *ci = &d->info;
	bool loaded = d->found && d->result == PDMA_LOAD_OK;
	struct pdma_core_entry e;
	u64 cursor = 0, off, len, used = 0, largest = 0, free_bytes = 0;
	u32 slot = 0, n = 0;
	int i;

	printf("{\n  \"schema\": 1,\n  \"source\": {\"kind\": \"%s\", \"path\": ",
	       d->src.device ? "device" : "image");
	json_str(d->src.path);
	printf(", \"offset\": %llu},\n", (unsigned long long)d->src.offset);

	if (d->have_geom) {
		printf("  \"region\": {\"base\": %llu, \"size\": %llu, \"capacity\": %u, \"copy_size\": %llu, \"data_offset\": %llu, \"from\": \"%s\"},\n",
		       (unsigned long long)d->geom.base,
		       (unsigned long long)d->geom.size, d->geom.capacity,
		       (unsigned long long)d->lay.copy_size,
		       (unsigned long long)d->lay.data_offset, d->geom.from);
	} else {
		printf("  \"region\": null,\n");
	}
	if (d->live) {
		printf("  \"device\": {\"state\": \"%s\", \"state_flags\": %u, \"generation\": %llu, \"adopt_count\": %u, \"nr_entries\": %u, \"capacity\": %u, \"free_bytes\": %llu, \"largest_free\": %llu},\n",
		       device_state(d->dev.state_flags), d->dev.state_flags,
		       (unsigned long long)d->dev.generation, d->dev.adopt_count,
		       d->dev.nr_entries, d->dev.capacity,
		       (unsigned long long)d->dev.free_bytes,
		       (unsigned long long)d->dev.largest_free);
	} else {
		printf("  \"device\": null,\n");
	}
	printf("  \"result\": \"%s\",\n  \"consistent\": %s,\n",
	       d->found ? result_key[d->result] : "empty",
	       d->nr_problems ? "false" : "true");
	printf("  \"problems\": [");
	for (i = 0; i < d->nr_problems; i++) {
		printf("%s", i ? ", " : "");
		json_str(d->problems[i]);
	}
	printf("],\n  \"current_copy\": ");
	if (loaded)
		printf("\"%c\"", copy_name(d->load.used));
	else
		printf("null");
	printf(",\n  \"generation\": ");
	json_u64_or_null(ci->generation, loaded);
	printf(",\n  \"adopt_count\": ");
	json_u64_or_null(ci->adopt_count, loaded);
	printf(",\n  \"copies\": [\n");
	json_copy(d, 0);
	printf(",\n");
	json_copy(d, 1);
	printf("\n  ],\n  \"entries\": [");
	while (loaded && !pdma_core_next_entry(d->core, &slot, &e)) {
		printf("%s\n    {\"slot\": %u, \"name\": ", n++ ? "," : "", e.id);
		json_str(e.name);
		printf(", \"state\": \"%s\", \"state_code\": %u, \"offset\": %llu, \"phys\": %llu, \"size\": %llu, \"align\": %llu, \"flags\": %u, \"flag_names\": [%s], \"create_gen\": %llu}",
		       pdma_state_str(e.state), e.state,
		       (unsigned long long)e.offset,
		       (unsigned long long)(d->geom.base + e.offset),
		       (unsigned long long)e.size,
		       (unsigned long long)e.align, e.flags,
		       e.flags & PDMA_ALLOC_ZERO ? "\"zero\"" : "",
		       (unsigned long long)e.create_gen);
		used += e.size;
	}
	printf("%s],\n  \"free\": [", n ? "\n  " : "");
	n = 0;
	while (loaded && !pdma_core_next_free(d->core, &cursor, &off, &len)) {
		printf("%s\n    {\"offset\": %llu, \"phys\": %llu, \"size\": %llu}",
		       n++ ? "," : "", (unsigned long long)off,
		       (unsigned long long)(d->geom.base + off),
		       (unsigned long long)len);
		free_bytes += len;
		if (len > largest)
			largest = len;
	}
	printf("%s],\n  \"totals\": ", n ? "\n  " : "");
	if (!loaded) {
		printf("null\n}\n");
		return;
	}
	printf("{\"entries\": %u, \"capacity\": %u, \"used_bytes\": %llu, \"free_bytes\": %llu, \"free_extents\": %u, \"largest_free\": %llu, \"fragmentation\": ",
	       ci->nr_entries, ci->capacity, (unsigned long long)used,
	       (unsigned long long)free_bytes, n, (unsigned long long)largest);
	if (free_bytes)
		printf("%.6f", (double)largest / (double)free_bytes);
	else
		printf("null");
	printf("}\n}\n");
}

/* ---- text ---------------------------------------------------------- */

/* A name with anything unprintable as \xHH. */
static void text_name(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	for (; *s; s++) {
		if (*s < 0x20 || *s >= 0x7f || *s == '\\')
			printf("\\x%02x", *s);
		else
			putchar(*s);
	}
}

static void text_copy(const struct dump *d, int c)
{
	const struct pdma_copy_report *r = &d->copy[c];

	printf("copy %c    ", copy_name(c));
	if (d->have_geom || !c)
		printf("at %#-9llx ", c ? (unsigned long long)d->lay.copy_size : 0ULL);
	else
		printf("at %-9s ", "?");
	printf("generation %-6llu crc %-9s %s", (unsigned long long)r->generation,
	       crc_key[r->crc], pdma_copy_status_str(r->status));
	if (r->status == PDMA_COPY_BAD_CRC)
		printf(" (stored %#010x, computed %#010x)", r->crc_stored,
		       r->crc_computed);
	else if (r->slot != PDMA_NONE && r->other != PDMA_NONE)
		printf(" (slots %u and %u)", r->slot, r->other);
	else if (r->slot != PDMA_NONE)
		printf(" (slot %u)", r->slot);
	if (d->found && d->result == PDMA_LOAD_OK && d->load.used == c)
		printf(", current");
	putchar('\n');
}

static void print_text(const struct dump *d)
{
	const struct pdma_core_info *ci = &d->info;
	bool loaded = d->found && d->result == PDMA_LOAD_OK;
	struct pdma_core_entry e;
	u64 cursor = 0, off, len, used = 0;
	u32 slot = 0, n;
	int i;

	printf("source    %s %s", d->src.device ? "device" : "image", d->src.path);
	if (!d->src.device && d->src.offset)
		printf(" at offset %#llx", (unsigned long long)d->src.offset);
	if (d->live)
		printf(" (module state %s, generation %llu)",
		       device_state(d->dev.state_flags),
		       (unsigned long long)d->dev.generation);
	putchar('\n');
	if (d->have_geom)
		printf("region    base %#llx  size %#llx (%llu MiB)  capacity %u  copy size %#llx  data offset %#llx  (from %s)\n",
		       (unsigned long long)d->geom.base,
		       (unsigned long long)d->geom.size,
		       (unsigned long long)(d->geom.size >> 20), d->geom.capacity,
		       (unsigned long long)d->lay.copy_size,
		       (unsigned long long)d->lay.data_offset, d->geom.from);
	else
		printf("region    no table found\n");
	text_copy(d, 0);
	text_copy(d, 1);
	if (loaded)
		printf("table     %s: copy %c current, generation %llu, adopted %u time(s)\n",
		       result_key[d->result], copy_name(d->load.used),
		       (unsigned long long)ci->generation, ci->adopt_count);
	else
		printf("table     %s: no entries can be listed\n",
		       d->found ? result_key[d->result] : "empty");

	if (loaded) {
		printf("\n%u entries (%u slots)\n", ci->nr_entries, ci->capacity);
		if (ci->nr_entries)
			printf("%5s  %-19s  %12s  %14s  %12s  %10s  %-5s  %6s  %s\n",
			       "slot", "state", "offset", "phys", "size", "align",
			       "flags", "gen", "name");
		while (!pdma_core_next_entry(d->core, &slot, &e)) {
			printf("%5u  %-19s  %#12llx  %#14llx  %12llu  %#10llx  %-5s  %6llu  ",
			       e.id, pdma_state_str(e.state),
			       (unsigned long long)e.offset,
			       (unsigned long long)(d->geom.base + e.offset),
			       (unsigned long long)e.size,
			       (unsigned long long)e.align,
			       e.flags & PDMA_ALLOC_ZERO ? "zero" : "-",
			       (unsigned long long)e.create_gen);
			text_name(e.name);
			putchar('\n');
			used += e.size;
		}
		n = 0;
		while (!pdma_core_next_free(d->core, &cursor, &off, &len))
			n++;
		printf("\n%u free extents\n", n);
		if (n)
			printf("%5s  %-19s  %12s  %14s  %12s\n", "", "", "offset",
			       "phys", "size");
		cursor = 0;
		while (!pdma_core_next_free(d->core, &cursor, &off, &len))
			printf("%5s  %-19s  %#12llx  %#14llx  %12llu\n", "", "",
			       (unsigned long long)off,
			       (unsigned long long)(d->geom.base + off),
			       (unsigned long long)len);
		printf("\ntotals    %u entries, %llu bytes used; %llu bytes free in %u extents, largest %llu",
		       ci->nr_entries, (unsigned long long)used,
		       (unsigned long long)ci->free_bytes, n,
		       (unsigned long long)ci->largest_free);
		if (ci->free_bytes)
			printf(", fragmentation %.4f (largest free / free)",
			       (double)ci->largest_free / (double)ci->free_bytes);
		putchar('\n');
	}
	printf("verdict   %s\n", d->nr_problems ? "CORRUPT OR INCONSISTENT" : "consistent");
	for (i = 0; i < d->nr_problems; i++)
		printf("  - %s\n", d->problems[i]);
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
		judge(d);
		if (!quiet) {
			if (o.json)
				print_json(d);
			else
				print_text(d);
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
