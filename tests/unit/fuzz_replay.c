// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal stand-in for the libFuzzer driver: runs the fuzz target once on
 * each file named on the command line, so that the corpus can be replayed
 * with gcc's sanitizers (and without clang).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;

		if (!fp) {
			perror(argv[i]);
			return 1;
		}
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		buf = malloc(len ? len : 1);
		if (!buf || fread(buf, 1, len, fp) != (size_t)len) {
			fprintf(stderr, "%s: read error\n", argv[i]);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		n++;
	}
	printf("# fuzz_replay: %d inputs\n", n);
	return 0;
}
