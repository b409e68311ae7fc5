/* SPDX-License-Identifier: MIT */
/*
 * The lock table's storage; its code is inline in locktab.h, since it runs on every
 * uncontended threading.Lock acquire and release. Size: 2^11 sets of two 40-byte entries,
 * 160 KiB of zeroed .bss (the direct-mapped table it replaced had as many entries).
 */
#include "locktab.h"

struct fh_lt_set fh_lt[1u << FH_LT_BITS];
