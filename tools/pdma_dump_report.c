// SPDX-License-Identifier: GPL-2.0
/*
 * pdma-dump's verdict and reports: the problems that make a table corrupt
 * or inconsistent, and the text and JSON reports of both copies, every
 * entry, the free extents and totals (schema in docs/pdma-dump.md).
 */
#include <stdarg.h>
#include <stdio.h>

#include "pdma_dump_report.h"

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

void dump_problem(struct dump *d, const char *fmt, ...)
{
	va_list ap;

	if (d->nr_problems == MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(d->problems[d->nr_problems++], PROBLEM_LEN, fmt, ap);
	va_end(ap);
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
	dump_problem(d, "copy %c: %s%s", copy_name(c),
		pdma_copy_status_str(r->status), where);
}

/*
 * Consistent: a copy loads, and the other one is either its valid
 * predecessor (one generation older) or, right after a format, an
 * untouched copy B next to copy A at generation 1. A live device must
 * agree with the table it exposes.
 */
void dump_judge(struct dump *d)
{
	const struct pdma_core_info *ci = &d->info;
	int cur, oth;

	if (!d->found) {
		dump_problem(d, "no table: neither copy has the magic");
		return;
	}
	if (d->result != PDMA_LOAD_OK) {
		dump_problem(d, "no valid copy: %s", d->result == PDMA_LOAD_MISMATCH ?
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
				dump_problem(d, "copy %c: generation %llu is not one below the current copy's %llu",
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
		dump_problem(d, "the device is %s but the table %s",
			d->dev.state_flags & PDMA_STATE_READONLY ? "read-only" : "writable",
			d->result == PDMA_LOAD_OK ? "loads" : "does not load");
	if (d->result != PDMA_LOAD_OK)
		return;
	if (d->dev.generation != ci->generation)
		dump_problem(d, "the device reports generation %llu, the table holds %llu",
			(unsigned long long)d->dev.generation,
			(unsigned long long)ci->generation);
	if (d->dev.nr_entries != ci->nr_entries)
		dump_problem(d, "the device reports %u entries, the table holds %u",
			d->dev.nr_entries, ci->nr_entries);
	if (d->dev.adopt_count != ci->adopt_count)
		dump_problem(d, "the device reports adopt_count %u, the table holds %u",
			d->dev.adopt_count, ci->adopt_count);
	if (d->dev.free_bytes != ci->free_bytes ||
	    d->dev.largest_free != ci->largest_free)
		dump_problem(d, "the device reports %llu free bytes (largest %llu), the table %llu (largest %llu)",
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

void dump_print_json(const struct dump *d)
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

void dump_print_text(const struct dump *d)
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
