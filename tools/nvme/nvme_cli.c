// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_cli.c - output and argument helpers of pdma-nvme: one JSON object
 * per run, errors, the TSC rate, counts with size suffixes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nvme_cli.h"

struct nvd drv;
bool cli_opened;
uint64_t t_main, tsc_main, raw_main;

/* ------------------------------------------------------------------ */
/* One JSON object, printed at exit                                    */

static char js[16384];
static size_t jlen;
static bool jfirst = true;

void jraw(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(js + jlen, sizeof(js) - jlen, fmt, ap);
	va_end(ap);
	if (n > 0 && jlen + (size_t)n < sizeof(js))
		jlen += (size_t)n;
}

void jkey(const char *k)
{
	jraw("%s\"%s\":", jfirst ? "" : ",", k);
	jfirst = false;
}

void jstr(const char *k, const char *v)
{
	jkey(k);
	jraw("\"");
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			jraw("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			jraw("\\u%04x", c);
		else
			jraw("%c", c);
	}
	jraw("\"");
}

void jint(const char *k, long long v)
{
	jkey(k);
	jraw("%lld", v);
}

void jbool(const char *k, bool v)
{
	jkey(k);
	jraw(v ? "true" : "false");
}

void jnull(const char *k)
{
	jkey(k);
	jraw("null");
}

void jhex(const char *k, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	jstr(k, b);
}

void jfixed(const char *k, const char *v, size_t n)
{
	char b[64];

	snprintf(b, sizeof(b), "%.*s", (int)n, v);
	for (n = strlen(b); n && b[n - 1] == ' '; n--)
		b[n - 1] = 0;
	jstr(k, b);
}

int finish(int code)
{
	jint("cmd_ns", (long long)(nvd_now_ns() - t_main));
	jbool("ok", code == 0);
	if (code) {
		jstr("error", drv.err[0] ? drv.err : "failed");
		jint("exit", code);
		fprintf(stderr, "pdma-nvme: %s\n", drv.err[0] ? drv.err : "failed");
	}
	printf("%s}\n", js);
	fflush(stdout);
	return code;
}

int fail(void)
{
	if (cli_opened && drv.owned && !drv.queues_bad)
		nvd_checkpoint(&drv);
	return finish(drv.err_code ? drv.err_code : NVD_EXIT_IO);
}

int usage(const char *msg)
{
	nvd_err(&drv, NVD_EXIT_IO, "usage: %s (see the top of tools/nvme/pdma-nvme.c)", msg);
	return fail();
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

uint64_t raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* TSC ticks per second, measured against CLOCK_MONOTONIC_RAW since main */
uint64_t tsc_hz(void)
{
	uint64_t el = raw_ns() - raw_main;

	if (el < CALIBRATE_NS)
		usleep((useconds_t)((CALIBRATE_NS - el) / 1000 + 1));
	el = raw_ns() - raw_main;
	return (uint64_t)((double)(nvd_tsc() - tsc_main) * 1e9 / (double)el);
}

long long ticks_ns(uint64_t from, uint64_t to, uint64_t hz)
{
	return hz ? (long long)(((double)to - (double)from) * 1e9 / (double)hz) : -1;
}

/* strtoull without its leniencies: no sign, no blank, no empty string */
static bool num_prefix(const char *s, uint64_t *out, char **end)
{
	if (!(*s >= '0' && *s <= '9'))
		return false;
	errno = 0;
	*out = strtoull(s, end, 0);
	return !errno && *end != s;
}

bool parse_num(const char *s, struct count *c)
{
	unsigned int shift = 0;
	char *end;

	c->bytes = false;
	if (!num_prefix(s, &c->n, &end))
		return false;
	switch (*end) {
	case 'G': case 'g': shift = 30; break;
	case 'M': case 'm': shift = 20; break;
	case 'K': case 'k': shift = 10; break;
	default: break;
	}
	if (shift) {
		if (c->n > UINT64_MAX >> shift)
			return false;
		c->n <<= shift;
		c->bytes = true;
		end++;
	}
	return !*end;
}

bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	return num_prefix(s, out, &end) && !*end && *out >= min && *out <= max;
}

bool parse_lba(const char *s, struct count *c)
{
	c->bytes = false;
	return parse_uint(s, 0, UINT64_MAX, &c->n);
}

