/* SPDX-License-Identifier: MIT */
/*
 * Module maps: which ELF objects a traced process had loaded, where, and with which
 * build-id, so its raw stack addresses can be symbolized after it is gone (analyzer/
 * symbolize.c) and a binary that changed since is detected.
 *
 * File: TRACE_DIR/<pid>.maps, text, one record per line, append-only (a line is written with
 * a single write() on an O_APPEND fd that is closed again at once; no fd is held):
 *
 *   fhmaps 1                                 format and version (first line)
 *   pid <pid> <ppid>
 *   stack <status>                           fh_stack_status(): "on" or "off: why"
 *   pystack <status>                         fh_pystack_status(): "on 3.11.2" or "off: why"
 *   mod <lo> <hi> <bias> <build-id> <path>   one loaded object
 *
 * Numbers after `pid` are decimal; lo, hi and bias are lowercase hex without 0x: [lo, hi) is
 * the span of the object's PT_LOAD segments in the process, bias is the load bias (dlpi_addr;
 * address in the file = address in the process - bias). build-id is lowercase hex or "-" when
 * the object has none. path is the rest of the line (may contain spaces; newlines become '?'):
 * the main program is its /proc/self/exe target, the vDSO is "[vdso]". A module appears once;
 * modules loaded later (dlopen) are appended. Readers treat the file as hostile and use, for an
 * address, the last `mod` line whose [lo, hi) holds it.
 *
 * The file is written lazily, at the first update before a stack is written: a process that
 * records no stack has no map (it has no address to symbolize). An exec'd process keeps its pid
 * and truncates the file at its first update; a fork child starts its own file at its first
 * update.
 */
#ifndef FH_MODMAP_H
#define FH_MODMAP_H

/* Remembers trace_dir (copied); the header and the loaded objects are written by the first
 * fh_modmap_update(). Call from the constructor or fh_start() after fh_stack_init() and
 * fh_pystack_init(). 0 or -errno. */
int fh_modmap_start(const char *trace_dir);

/* Appends objects loaded since the last call (cheap when nothing changed: glibc's load counter
 * is compared first). Call after dlopen and before writing a stack. Not async-signal-safe
 * (dl_iterate_phdr takes the loader lock). 0 or -errno. */
int fh_modmap_update(void);

#endif
