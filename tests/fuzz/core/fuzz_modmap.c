/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the module map parser (core/modmap_read.c, format in
 * preload/modmap.h): any bytes must parse or fail cleanly, and every module kept must be
 * well-formed (lo < hi, strings present) and findable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "modmap_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_modmap m;
	int bad = 0;

	if (modmap_parse((const char *)data, size, &m, &bad) == 0) {
		for (size_t i = 0; i < m.nmods; i++) {
			if (m.mods[i].lo >= m.mods[i].hi || !m.mods[i].path)
				abort();
			if (!modmap_find(&m, m.mods[i].lo))
				abort();
		}
	}
	modmap_free(&m);
	return 0;
}
