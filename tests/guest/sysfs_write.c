// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs_write: write a string to a file as a chosen kind of user, and report
 * what the kernel answered, for permission and bad-value tests.
 *
 *   sysfs_write [--uid N] [--drop-cap-sys-admin] PATH VALUE
 *
 * --uid N               setgid(N) and setuid(N) first (drops every
 *                       capability: an ordinary user)
 * --drop-cap-sys-admin  stay root (owner, CAP_DAC_OVERRIDE) but remove
 *                       CAP_SYS_ADMIN from the effective and permitted sets
 *
 * VALUE is written as given, in one write(), with no newline added.
 * Prints one JSON line: {"uid":N,"cap_sys_admin":0|1,"open":R,"write":R}
 * with R "OK" or the errno name ("EACCES"), "write" null if open failed.
 * Exit: 0 reported (whatever the kernel answered), 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"

static const char *result(int err)
{
	return err ? strerrorname_np(err) : "OK";
}

int main(int argc, char **argv)
{
	int i, fd, uid = -1, drop = 0, admin, open_err = 0, write_err = 0;
	const char *path, *value;
	ssize_t n;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--uid") && i + 1 < argc)
			uid = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--drop-cap-sys-admin"))
			drop = 1;
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr,
			"usage: sysfs_write [--uid N] [--drop-cap-sys-admin] PATH VALUE\n");
		return 2;
	}
	path = argv[i];
	value = argv[i + 1];

	if (uid >= 0 && (setgroups(0, NULL) || setgid(uid) || setuid(uid))) {
		fprintf(stderr, "sysfs_write: setuid %d: %s\n", uid, strerror(errno));
		return 2;
	}
	if (drop && cap_clear(CAP_SYS_ADMIN, CAPS_EFFECTIVE | CAPS_PERMITTED)) {
		fprintf(stderr, "sysfs_write: capset: %s\n", strerror(errno));
		return 2;
	}
	admin = cap_effective(CAP_SYS_ADMIN);
	if (admin < 0) {
		fprintf(stderr, "sysfs_write: capget: %s\n", strerror(errno));
		return 2;
	}

	fd = open(path, O_WRONLY);
	if (fd < 0) {
		open_err = errno;
	} else {
		n = write(fd, value, strlen(value));
		if (n < 0)
			write_err = errno;
		else if ((size_t)n != strlen(value))
			write_err = EIO;
		close(fd);
	}
	printf("{\"uid\":%d,\"cap_sys_admin\":%d,\"open\":\"%s\",", (int)getuid(),
	       admin,
	       result(open_err));
	if (open_err)
		printf("\"write\":null}\n");
	else
		printf("\"write\":\"%s\"}\n", result(write_err));
	return 0;
}
