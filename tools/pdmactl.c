// SPDX-License-Identifier: GPL-2.0
/*
 * pdmactl: administer /dev/pdma from shell scripts.
 *
 *   pdmactl [-d DEV] alloc NAME SIZE [--align A] [--zero]
 *   pdmactl [-d DEV] free NAME
 *   pdmactl [-d DEV] claim NAME
 *   pdmactl [-d DEV] info
 *   pdmactl [-d DEV] list
 *   pdmactl range [--modprobe] [CMDLINE_FILE]
 *   pdmactl [-d DEV] preflight [--append "NEXT CMDLINE"] [--kexec-file]
 *                              [--load KERNEL [--initrd FILE]]
 *
 * `pdmactl range` prints the module parameters (base= size=) for the
 * first memmap=SIZE$START of the running kernel's command line (or of
 * CMDLINE_FILE); with --modprobe, as a modprobe.d line:
 *   pdmactl range --modprobe >/etc/modprobe.d/pdma.conf
 *
 * After a servicing, `pdmactl list` shows what the new driver did not
 * claim (state preserved-unclaimed) and `pdmactl free NAME` releases it.
 * SIZE and A take K, M and G suffixes.
 *
 * preflight checks a servicing kexec before it happens (tools/pdma_preflight.c).
 *
 * Exit: 0 done, 1 the kernel refused the operation (preflight: a problem),
 * 2 usage or I/O error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpdma/libpdma.h"
#include "pdma_preflight.h"

static const char *prog = "pdmactl";

static int usage(void)
{
	fprintf(stderr,
		"usage: %s [-d DEV] alloc NAME SIZE [--align A] [--zero] | free NAME | claim NAME | info | list\n"
		"       %s range [--modprobe] [CMDLINE_FILE]\n"
		"       %s [-d DEV] preflight [--append \"NEXT CMDLINE\"] [--kexec-file] [--load KERNEL [--initrd FILE]]\n",
		prog, prog, prog);
	return 2;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* The kernel's refusal is exit 1; not reaching the kernel is exit 2. */
static int refused(const char *what, const char *name, int err)
{
	fprintf(stderr, "%s: %s %s: %s\n", prog, what, name, strerror(-err));
	return err == -ENOTTY || err == -EFAULT ? 2 : 1;
}

static void print_entry(const struct pdma_entry_info *e)
{
	printf("%-32s %-20s id=%u offset=%#" PRIx64 " phys=%#" PRIx64 " size=%" PRIu64
	       " align=%" PRIu64 " flags=%#x gen=%" PRIu64 " maps=%u\n",
	       e->name, pdma_state_str(e->state), e->id, (uint64_t)e->offset,
	       (uint64_t)e->phys, (uint64_t)e->size, (uint64_t)e->align, e->flags,
	       (uint64_t)e->create_gen, e->map_count);
}

static int cmd_alloc(struct pdma *p, int argc, char **argv)
{
	uint64_t size, align = 0;
	uint32_t flags = 0;
	struct pdma_entry_info e;
	int i, ret;

	if (argc < 2 || parse_size(argv[1], &size))
		return usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--align") && i + 1 < argc && !parse_size(argv[i + 1], &align))
			i++;
		else if (!strcmp(argv[i], "--zero"))
			flags |= PDMA_ALLOC_ZERO;
		else
			return usage();
	}
	ret = pdma_alloc(p, argv[0], size, align, flags, &e);
	if (ret)
		return refused("alloc", argv[0], ret);
	print_entry(&e);
	return 0;
}

static int cmd_free(struct pdma *p, const char *name)
{
	int ret = pdma_free(p, name);

	return ret ? refused("free", name, ret) : 0;
}

static int cmd_claim(struct pdma *p, const char *name)
{
	struct pdma_entry_info e;
	int ret = pdma_lookup(p, name, &e);

	if (ret)
		return refused("claim", name, ret);
	print_entry(&e);
	return 0;
}

static int cmd_info(struct pdma *p)
{
	struct pdma_info i;
	int ret = pdma_info(p, &i);

	if (ret)
		return refused("info", "", ret);
	printf("base %#" PRIx64 "\nsize %" PRIu64 "\ndata_offset %#" PRIx64 "\nfree %" PRIu64
	       "\nlargest_free %" PRIu64 "\ngeneration %" PRIu64 "\nadopt_count %u\nentries %u\n"
	       "capacity %u\nstate %s%s%s\n",
	       (uint64_t)i.base, (uint64_t)i.size, (uint64_t)i.data_offset,
	       (uint64_t)i.free_bytes, (uint64_t)i.largest_free, (uint64_t)i.generation,
	       i.adopt_count, i.nr_entries, i.capacity,
	       i.state_flags & PDMA_STATE_FRESH ? "fresh" : "",
	       i.state_flags & PDMA_STATE_ADOPTED ? "adopted" : "",
	       i.state_flags & PDMA_STATE_READONLY ? "read-only-corrupt" : "");
	return 0;
}

static int cmd_list(struct pdma *p)
{
	struct pdma_entry_info e;
	uint32_t cursor = 0;
	int ret;

	while (!(ret = pdma_list(p, &cursor, &e)))
		print_entry(&e);
	return ret == -ENOENT ? 0 : refused("list", "", ret);
}

/*
 * The first memmap=SIZE$START of a kernel command line, as module
 * parameters: the range the module must be told about, since a module
 * does not read the command line itself.
 */
static int cmd_range(int argc, char **argv)
{
	const char *path = "/proc/cmdline";
	bool modprobe = false;
	char line[4096], *tok, *dollar, *save;
	uint64_t size, start;
	FILE *f;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--modprobe"))
			modprobe = true;
		else
			path = argv[i];
	}
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		fprintf(stderr, "%s: range: cannot read %s: %s\n", prog, path, strerror(errno));
		if (f)
			fclose(f);
		return 2;
	}
	fclose(f);
	for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, "memmap=", 7))
			continue;
		dollar = strchr(tok + 7, '$');
		if (!dollar)
			continue;
		*dollar = '\0';
		if (parse_size(tok + 7, &size) || parse_size(dollar + 1, &start))
			continue;
		printf("%sbase=%#" PRIx64 " size=%#" PRIx64 "\n", modprobe ? "options pdma " : "",
		       start, size);
		return 0;
	}
	fprintf(stderr, "%s: range: no memmap=SIZE$START in %s; reserve a range with it first\n",
		prog, path);
	return 1;
}

int main(int argc, char **argv)
{
	const char *dev = NULL;
	struct pdma *p;
	int ret;

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		dev = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "range"))
		return cmd_range(argc - 2, argv + 2);
	if (!strcmp(argv[1], "preflight"))
		return pdma_preflight(dev, argc - 2, argv + 2);
	ret = pdma_open(dev, &p);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", prog, dev ? dev : PDMA_DEFAULT_PATH, strerror(-ret));
		return 2;
	}
	if (!strcmp(argv[1], "alloc"))
		ret = cmd_alloc(p, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "free") && argc == 3)
		ret = cmd_free(p, argv[2]);
	else if (!strcmp(argv[1], "claim") && argc == 3)
		ret = cmd_claim(p, argv[2]);
	else if (!strcmp(argv[1], "info") && argc == 2)
		ret = cmd_info(p);
	else if (!strcmp(argv[1], "list") && argc == 2)
		ret = cmd_list(p);
	else
		ret = usage();
	pdma_close(p);
	return ret;
}
