// SPDX-License-Identifier: GPL-2.0
/*
 * run_as: run a command as a lesser caller, for the permission tests of
 * the tools (what a service user, or root in a container, gets).
 *
 *   run_as [--uid N] [--drop-cap-sys-rawio] CMD [ARG...]
 *
 * --uid N               setgroups(0), setgid(N) and setuid(N): an ordinary
 *                       user, with no capability
 * --drop-cap-sys-rawio  stay root (owner, CAP_DAC_OVERRIDE) but without
 *                       CAP_SYS_RAWIO: dropped from the bounding set too,
 *                       else the exec of CMD as root would get it back
 *
 * Then execvp(CMD). Exit: CMD's, or 2 with a message on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "caps.h"

static int die(const char *what)
{
	fprintf(stderr, "run_as: %s: %s\n", what, strerror(errno));
	return 2;
}

static int drop_rawio(void)
{
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_RAWIO, 0, 0, 0))
		return die("PR_CAPBSET_DROP CAP_SYS_RAWIO");
	if (cap_clear(CAP_SYS_RAWIO, CAPS_EFFECTIVE | CAPS_PERMITTED | CAPS_INHERITABLE))
		return die("capset");
	return 0;
}

int main(int argc, char **argv)
{
	int i, uid = -1;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--uid") && i + 1 < argc) {
			uid = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--drop-cap-sys-rawio")) {
			if (drop_rawio())
				return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: run_as [--uid N] [--drop-cap-sys-rawio] CMD [ARG...]\n");
		return 2;
	}
	if (uid >= 0 && (setgroups(0, NULL) || setgid(uid) || setuid(uid)))
		return die("setuid");
	execvp(argv[i], argv + i);
	return die(argv[i]);
}
