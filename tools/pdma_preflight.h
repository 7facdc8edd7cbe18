/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PDMA_PREFLIGHT_H
#define PDMA_PREFLIGHT_H

/**
 * pdma_preflight() - `pdmactl preflight`: check a servicing kexec before it.
 * @dev: the pdma device, NULL for the default
 * @argc: arguments after "preflight"
 * @argv: them
 *
 * Return: the exit status: 0 ready, 1 a problem, 2 usage.
 */
int pdma_preflight(const char *dev, int argc, char **argv);

#endif
