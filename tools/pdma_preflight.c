// SPDX-License-Identifier: GPL-2.0
/*
 * pdmactl preflight: what a user can get wrong before a servicing kexec.
 *
 *   pdmactl [-d DEV] preflight [--append "NEXT CMDLINE"] [--kexec-file]
 *                              [--load KERNEL [--initrd FILE]]
 *
 * Checks, each printing one "FAIL check: ..." line per problem:
 *   range   the next command line reserves the range (memmap=SIZE$START
 *           covering it) and the next module finds the same range:
 *           pdma.base=/pdma.size= on that line, else "options pdma base=
 *           size=" in modprobe.d, else the first memmap=SIZE$START (the
 *           module's default);
 *   iomem   /proc/iomem shows the range as Reserved and owned by "pdma";
 *   nvme    every device with a pdma-nvme record (nvme/BDF/state) has its
 *           keep-alive flag set now (else kexec clears Bus Master) and
 *           vfio_pci.keep_alive=BDF on the next command line (else the next
 *           vfio-pci resets it at open);
 *   table   the module is not read-only and pdma-dump calls the table
 *           consistent;
 *   boot    after a kexec, neither this kernel's image nor its initrd lies
 *           in the range: when one does, the previous kernel's loader
 *           (kexec -l) wrote it there and the range's old content is gone;
 *           also run when pdma is not loaded, on the range the current
 *           command line gives, since that is why the module then refuses;
 *   kexec   kexec_file_load is available and, when /sys/firmware/memmap
 *           lists any of the range as System RAM (kexec_load would treat it
 *           as RAM and may place the next kernel in it), the next kernel is
 *           loaded with kexec_file_load: by preflight itself (--load), or as
 *           the caller states (--kexec-file, i.e. `kexec -s`).
 * Without --append the next command line is taken to be /proc/cmdline.
 * --load loads KERNEL with kexec_file_load and the checked command line,
 * only when every check passed; `kexec -e` then boots it.
 *
 * The boot and kexec checks and the load are in pdma_preflight_kexec.c.
 *
 * Exit: 0 ready, 1 at least one problem (or the load failed), 2 usage.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libpdma/libpdma.h"
#include "pdma_preflight.h"
#include "pdma_preflight_int.h"

void fail(struct pf *pf, const char *check, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", check);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	pf->problems++;
}

char *read_text(const char *path)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *n = realloc(buf, cap = cap * 2 + 8192);

			if (!n)
				break;
			buf = n;
		}
		size_t r = fread(buf + len, 1, 4096, f);

		len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

/* The kernel's memparse(): a number with an optional K, M, G, T suffix. */
static bool memparse(const char *s, uint64_t *v, const char **end)
{
	char *e;

	errno = 0;
	*v = strtoull(s, &e, 0);
	if (errno || e == s)
		return false;
	switch (*e) {
	case 'T': case 't': *v <<= 10; /* fall through */
	case 'G': case 'g': *v <<= 10; /* fall through */
	case 'M': case 'm': *v <<= 10; /* fall through */
	case 'K': case 'k': *v <<= 10; e++; break;
	default: break;
	}
	*end = e;
	return true;
}

/* A module parameter (kstrtoull base 0): the whole string is the number. */
static bool parse_u64(const char *s, uint64_t *v)
{
	char *e;

	errno = 0;
	*v = strtoull(s, &e, 0);
	return !errno && e != s && (!*e || *e == '\n');
}

/* Split like the kernel's next_arg(): spaces separate, quotes group. */
static void split_cmdline(struct pf *pf)
{
	char *s = pf->cmdline, *o;
	bool quoted;

	pf->ntok = 0;
	while (*s && pf->ntok < MAX_TOKENS) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		pf->tok[pf->ntok++] = o = s;
		for (quoted = false; *s && (quoted || !isspace((unsigned char)*s)); s++) {
			if (*s == '"')
				quoted = !quoted;
			else
				*o++ = *s;
		}
		if (*s)
			s++;
		*o = 0;
	}
}

/* The last value of KEY on the next command line (later ones win). */
static const char *last_param(struct pf *pf, const char *key)
{
	const char *v = NULL;
	size_t n = strlen(key);

	for (int i = 0; i < pf->ntok; i++)
		if (!strncmp(pf->tok[i], key, n) && pf->tok[i][n] == '=')
			v = pf->tok[i] + n + 1;
	return v;
}

/*
 * memmap=SIZE$START reservations on the next command line: does one cover
 * the range, and which is the first (the module's default range)?
 */
static void scan_memmap(struct pf *pf, bool *covered, uint64_t *first_start,
			uint64_t *first_size)
{
	*covered = false;
	*first_size = 0;
	for (int i = 0; i < pf->ntok; i++) {
		const char *v, *e;
		uint64_t sz, st;
		bool first_item = true;

		if (strncmp(pf->tok[i], "memmap=", 7))
			continue;
		for (v = pf->tok[i] + 7; *v; v = *e ? e + 1 : e, first_item = false) {
			if (!memparse(v, &sz, &e) || *e != '$' || !memparse(e + 1, &st, &e))
				break;
			if (first_item && !*first_size) {
				*first_start = st;
				*first_size = sz;
			}
			if (st <= pf->base && st + sz - 1 >= pf->last)
				*covered = true;
			if (*e != ',')
				break;
		}
	}
}

/* "options pdma base=... size=..." in modprobe.d; later files and lines win. */
static void modprobe_options(const char **base, const char **size, char **keep, size_t nkeep)
{
	static const char *const dirs[] = { "/usr/lib/modprobe.d", "/lib/modprobe.d",
					    "/run/modprobe.d", "/etc/modprobe.d" };
	char path[PATH_MAX], *text, *line, *save, *w, *wsave;
	struct dirent **names;
	int n;

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		n = scandir(dirs[d], &names, NULL, alphasort);
		for (int i = 0; i < n; i++) {
			size_t l = strlen(names[i]->d_name);

			snprintf(path, sizeof(path), "%s/%s", dirs[d], names[i]->d_name);
			text = l > 5 && !strcmp(names[i]->d_name + l - 5, ".conf") ?
			       read_text(path) : NULL;
			free(names[i]);
			if (!text)
				continue;
			for (line = strtok_r(text, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				w = strtok_r(line, " \t", &wsave);
				if (!w || strcmp(w, "options"))
					continue;
				w = strtok_r(NULL, " \t", &wsave);
				if (!w || strcmp(w, "pdma"))
					continue;
				while ((w = strtok_r(NULL, " \t", &wsave))) {
					if (!strncmp(w, "base=", 5))
						*base = w + 5;
					else if (!strncmp(w, "size=", 5))
						*size = w + 5;
				}
			}
			/* Values point into text: keep it until the check ends. */
			if (nkeep > 1) {
				*keep++ = text;
				nkeep--;
			}
		}
		if (n > 0)
			free(names);
	}
}

static void check_range(struct pf *pf)
{
	const char *base = NULL, *size = NULL, *from;
	char *keep[64] = { 0 };
	uint64_t fst = 0, fsz, b, s;
	bool covered;

	scan_memmap(pf, &covered, &fst, &fsz);
	if (!covered)
		fail(pf, "range", "the next command line does not reserve %#" PRIx64 "-%#" PRIx64
		     ": add memmap=%" PRIu64 "K$%#" PRIx64 " (else the range is System RAM there and pdma refuses to load)",
		     pf->base, pf->last, (uint64_t)pf->info.size >> 10, pf->base);
	modprobe_options(&base, &size, keep, 64);
	from = "modprobe.d options";
	if (last_param(pf, "pdma.base") || last_param(pf, "pdma.size")) {
		base = last_param(pf, "pdma.base") ?: base;
		size = last_param(pf, "pdma.size") ?: size;
		from = "pdma.base=/pdma.size=";
	}
	if (base || size) {
		if (!base || !size || !parse_u64(base, &b) || !parse_u64(size, &s))
			fail(pf, "range", "%s give base=%s size=%s: the next pdma needs both, as numbers",
			     from, base ?: "(none)", size ?: "(none)");
		else if (b != pf->base || s != pf->info.size)
			fail(pf, "range", "%s give %#" PRIx64 "+%#" PRIx64 ", not the current range %#" PRIx64 "+%#" PRIx64,
			     from, b, s, pf->base, (uint64_t)pf->info.size);
	} else if (!fsz) {
		fail(pf, "range", "the next command line has no memmap=SIZE$START and no pdma.base=/pdma.size=: the next pdma has no range");
	} else if (fst != pf->base || fsz != pf->info.size) {
		fail(pf, "range", "the next pdma takes the first memmap=, %#" PRIx64 "+%#" PRIx64 ", not the current range %#" PRIx64 "+%#" PRIx64 " (put it first, or pass pdma.base= and pdma.size=)",
		     fst, fsz, pf->base, (uint64_t)pf->info.size);
	}
	for (size_t i = 0; i < 64 && keep[i]; i++)
		free(keep[i]);
}

static void check_iomem(struct pf *pf)
{
	char *text = read_text("/proc/iomem"), *line, *save;
	char parent[64] = "", name[64];
	bool owned = false;
	uint64_t a, b;
	int depth, off;

	if (!text) {
		fail(pf, "iomem", "cannot read /proc/iomem: %s", strerror(errno));
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (depth = 0; line[depth] == ' '; depth++)
			;
		if (sscanf(line + depth, "%" SCNx64 "-%" SCNx64 " : %n", &a, &b, &off) != 2)
			continue;
		snprintf(name, sizeof(name), "%s", line + depth + off);
		if (depth == 0 && a <= pf->base && b >= pf->last)
			snprintf(parent, sizeof(parent), "%s", name);
		if (depth == 2 && a == pf->base && b == pf->last && !strcmp(name, "pdma") &&
		    !strcmp(parent, "Reserved"))
			owned = true;
	}
	free(text);
	if (strcmp(parent, "Reserved"))
		fail(pf, "iomem", "%#" PRIx64 "-%#" PRIx64 " is %s%s%s in /proc/iomem, not Reserved",
		     pf->base, pf->last, *parent ? "\"" : "", *parent ? parent : "not one resource",
		     *parent ? "\"" : "");
	else if (!owned)
		fail(pf, "iomem", "%#" PRIx64 "-%#" PRIx64 " is Reserved but not owned by pdma in /proc/iomem",
		     pf->base, pf->last);
}

static bool listed(const char *list, const char *bdf)
{
	size_t n = strlen(bdf);

	for (const char *s = list; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
		if (!strncmp(s, bdf, n) && (s[n] == ',' || !s[n]))
			return true;
	return false;
}

/* One device with a pdma-nvme record (its name scheme: nvme/BDF/state). */
static void check_nvme_device(struct pf *pf, const char *bdf)
{
	char path[PATH_MAX], *flag;
	bool on_cmdline = false;

	for (int i = 0; i < pf->ntok; i++)
		if (!strncmp(pf->tok[i], "vfio_pci.keep_alive=", 20) &&
		    listed(pf->tok[i] + 20, bdf))
			on_cmdline = true;
	if (!on_cmdline)
		fail(pf, "nvme", "%s has a pdma-nvme record but the next command line lacks vfio_pci.keep_alive=%s: the next vfio-pci resets it at open",
		     bdf, bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/keep_alive", bdf);
	flag = read_text(path);
	if (!flag)
		fail(pf, "nvme", "%s has a pdma-nvme record but %s is missing (%s): kexec will clear its Bus Master",
		     bdf, path, errno == ENOENT && access("/sys/bus/pci/devices/", F_OK) == 0 ?
		     "no such device, or a kernel without the keep-alive series" : strerror(errno));
	else if (flag[0] != '1')
		fail(pf, "nvme", "%s has a pdma-nvme record but its keep-alive flag is off: kexec will clear its Bus Master (pdma-nvme save sets it)",
		     bdf);
	free(flag);
}

static void check_nvme(struct pf *pf)
{
	struct pdma_entry_info e;
	uint32_t cursor = 0;
	char bdf[64];
	int ret, n;

	while (!(ret = pdma_list(pf->p, &cursor, &e))) {
		n = 0;
		if (sscanf(e.name, "nvme/%63[^/]/state%n", bdf, &n) == 1 && n &&
		    !e.name[n])
			check_nvme_device(pf, bdf);
	}
	if (ret != -ENOENT)
		fail(pf, "nvme", "cannot list %s: %s", pf->dev, strerror(-ret));
}

/* pdma-dump beside this program, else from PATH. */
static int run_pdma_dump(const char *dev)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
	int status;
	pid_t pid;

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		strcpy(slash + 1, "pdma-dump");
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		if (n > 0)
			execl(self, "pdma-dump", "--quiet", dev, (char *)NULL);
		execlp("pdma-dump", "pdma-dump", "--quiet", dev, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void check_table(struct pf *pf)
{
	int rc;

	if (pf->info.state_flags & PDMA_STATE_READONLY)
		fail(pf, "table", "pdma is read-only (state read-only-corrupt): the table is unusable; inspect it with pdma-dump %s",
		     pf->dev);
	rc = run_pdma_dump(pf->dev);
	if (rc == 127 || rc < 0)
		fail(pf, "table", "cannot run pdma-dump (install it beside pdmactl or in PATH)");
	else if (rc == 1)
		fail(pf, "table", "pdma-dump finds the table corrupt or inconsistent: run pdma-dump %s",
		     pf->dev);
	else if (rc)
		fail(pf, "table", "pdma-dump could not read %s (exit %d)", pf->dev, rc);
}

/* The range the current command line gives, when pdma is not loaded. */
static bool current_range(struct pf *pf)
{
	struct pf cur = { 0 };
	const char *b, *s;
	uint64_t st = 0, sz = 0;
	bool covered;

	cur.cmdline = read_text("/proc/cmdline");
	if (!cur.cmdline)
		return false;
	cur.cmdline[strcspn(cur.cmdline, "\n")] = 0;
	split_cmdline(&cur);
	b = last_param(&cur, "pdma.base");
	s = last_param(&cur, "pdma.size");
	if (!(b && s && parse_u64(b, &st) && parse_u64(s, &sz))) {
		cur.base = 1;
		cur.last = 0;
		scan_memmap(&cur, &covered, &st, &sz);
	}
	free(cur.cmdline);
	if (!sz)
		return false;
	pf->base = st;
	pf->last = st + sz - 1;
	return true;
}

static int preflight_usage(void)
{
	fprintf(stderr, "usage: pdmactl [-d DEV] preflight [--append \"CMDLINE\"] [--kexec-file] [--load KERNEL [--initrd FILE]]\n");
	return 2;
}

int pdma_preflight(const char *dev, int argc, char **argv)
{
	struct pf pf = { .dev = dev ? dev : PDMA_DEFAULT_PATH };
	const char *append = NULL;
	char *next;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--append") && i + 1 < argc)
			append = argv[++i];
		else if (!strcmp(argv[i], "--load") && i + 1 < argc)
			pf.load = argv[++i];
		else if (!strcmp(argv[i], "--initrd") && i + 1 < argc)
			pf.initrd = argv[++i];
		else if (!strcmp(argv[i], "--kexec-file"))
			pf.kexec_file = true;
		else
			return preflight_usage();
	}
	if (pf.initrd && !pf.load)
		return preflight_usage();
	next = append ? strdup(append) : read_text("/proc/cmdline");
	if (!next) {
		fprintf(stderr, "pdmactl: preflight: cannot read /proc/cmdline\n");
		return 2;
	}
	next[strcspn(next, "\n")] = 0;
	/* The loaded command line is the checked one, before splitting. */
	pf.cmdline = strdup(next);
	if (!pf.cmdline)
		return 2;
	split_cmdline(&pf);
	ret = pdma_open(pf.dev, &pf.p);
	if (!ret)
		ret = pdma_info(pf.p, &pf.info);
	if (ret) {
		fail(&pf, "module", "%s: %s: pdma is not loaded or not usable, nothing to preserve",
		     pf.dev, strerror(-ret));
		if (current_range(&pf))
			check_boot(&pf);
		goto out;
	}
	pf.base = pf.info.base;
	pf.last = pf.info.base + pf.info.size - 1;
	check_range(&pf);
	check_iomem(&pf);
	check_nvme(&pf);
	check_table(&pf);
	check_boot(&pf);
	check_kexec(&pf);
	if (!pf.problems && pf.load)
		load_next_kernel(&pf, next);
out:
	if (pf.p)
		pdma_close(pf.p);
	if (pf.problems)
		printf("preflight: %d problem%s; do not kexec\n", pf.problems,
		       pf.problems == 1 ? "" : "s");
	else
		printf("preflight: ok, range %#" PRIx64 "+%#" PRIx64 " (%s command line)\n",
		       pf.base, (uint64_t)pf.info.size, append ? "--append" : "current");
	free(pf.cmdline);
	free(next);
	return pf.problems ? 1 : 0;
}
