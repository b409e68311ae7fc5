#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes trace files in the preload's formats (preload/fhtrace_format.h, docs/FORMATS.md) for
the reader's tests and benchmarks: normal ones, and crafted ones that once cost the analyzer far
more work than their bytes.

    gen_trace.py OUT KIND SIZE_KB

KIND: normal    one thread of CALL records, each with a 3-record native stack (v2)
      gaps      record size 4096, one empty chunk per thread whose stream starts far ahead
                (each thread once got a zeroed stream of up to 65,536 records)
      stacks    every CALL record points at its own stack record that never ends (no LAST
                flag): each stack once cost a scan of 1,024 records
      pystr     Python stack frames, each naming its own string record whose chunks never come
      v1        a version 1 file of CALL records
Python 3 standard library only."""
import struct
import sys

HEADER_SIZE = 4096
REC = 64
ALIGN = 4096
MAX_SLOTS = 16383
CHUNK_MAGIC = 0x4B4E4843
T_CALL, T_STR, T_STACK, T_CHUNK = 1, 2, 6, 7
STK_NATIVE, STK_PY, STK_PYSTR, STK_LAST = 1, 2, 3, 0x40
F_DONE = 0x1


def proc_header(rec_size=REC, pid=4242, next_off=0):
    h = struct.pack("<8sIIIIQQiiIIqqq256s", b"FHTRACE2", 2, 2, HEADER_SIZE, rec_size, next_off,
                    1 << 20, pid, 1, 0, 64, 1_000_000_000, 1_700_000_000_000_000_000, 1_000_000_000,
                    b"/usr/bin/python3")
    return h.ljust(HEADER_SIZE, b"\0")


def v1_header(n, pid=4242):
    h = struct.pack("<8sIIIIQQQQiiiIqqq256sII", b"FHTRACE1", 1, 1, HEADER_SIZE, REC, n, n, n, 0,
                    pid, 1, pid, 1, 1_000_000_000, 1_700_000_000_000_000_000, 1_000_000_000,
                    b"/usr/bin/python3", 64, 0)
    return h.ljust(HEADER_SIZE, b"\0")


def chunk(off, tid, seq, first, nslots, rec_size=REC):
    c = struct.pack("<BBHIQiIQQQIIQ", T_CHUNK, 0, 0, CHUNK_MAGIC, off, tid, seq, first, nslots, 0,
                    0, 0, 0)
    return c.ljust(rec_size, b"\0")


def call(slot_start_ns, stack_ref=0, call_id=0):
    # read() on fd 3, 1 ms, returned 10
    return struct.pack("<BBHiqqqiIqqq", T_CALL, F_DONE, call_id, 3, slot_start_ns,
                       slot_start_ns + 1_000_000, 10, 0, stack_ref, -1, 0, 0)


def stack(owner, kind, entries, last):
    n = len(entries)
    if kind == STK_PY:
        body = b"".join(struct.pack("<iI", line, s) for line, s in entries)
    else:
        body = b"".join(struct.pack("<Q", pc) for pc in entries)
    return struct.pack("<BBBBI", T_STACK, STK_LAST if last else 0, kind, n, owner) + \
        body.ljust(56, b"\0")


def v2_file(records, tid=4242):
    """One thread; records (64-byte each) split into chunks."""
    out = bytearray(proc_header())
    first = 0
    seq = 0
    while first < len(records) or seq == 0:
        part = records[first:first + MAX_SLOTS]
        off = len(out)
        out += chunk(off, tid, seq, first, len(part))
        out += b"".join(part)
        pad = -len(out) % ALIGN
        out += b"\0" * pad
        first += len(part)
        seq += 1
        if not part:
            break
    return bytes(out)


def normal(nbytes):
    recs = []
    while len(recs) * REC < nbytes:
        i = len(recs)
        recs.append(call(1_000_000_000 + i * 10_000, stack_ref=i + 1))
        recs.append(stack(i, STK_NATIVE, [0x401000 + k for k in range(7)], False))
        recs.append(stack(i, STK_NATIVE, [0x402000 + k for k in range(7)], True))
    return v2_file(recs)


def stacks(nbytes):
    # Pairs: a call whose stack_ref is the next slot; that stack record belongs to another owner
    # and never has LAST, so the old reader scanned 1,024 slots for each call.
    recs = []
    while len(recs) * REC < nbytes:
        i = len(recs)
        recs.append(call(1_000_000_000 + i * 10_000, stack_ref=i + 1))
        recs.append(stack(i, STK_NATIVE, [0x401000], False))
    return v2_file(recs)


def pystr(nbytes):
    # Each call has one PY stack record of 7 frames, each naming its own PYSTR record (no strings
    # follow): the old reader scanned 1,024 slots per distinct string record.
    recs = []
    while len(recs) * REC < nbytes:
        i = len(recs)
        recs.append(call(1_000_000_000 + i * 10_000, stack_ref=i + 1))
        recs.append(stack(i, STK_PY, [(10 + k, i + 2 + k) for k in range(7)], True))
        for k in range(7):
            recs.append(stack(i + 2 + k, STK_PYSTR, [], False))
    return v2_file(recs)


def gaps(nbytes):
    rs = 4096
    out = bytearray(proc_header(rec_size=rs))
    tid = 1000
    while len(out) < nbytes:
        out += chunk(len(out), tid, 0, 65535 - 1, 0, rec_size=rs)
        tid += 1
    return bytes(out)


def v1(nbytes):
    n = max(1, nbytes // REC)
    recs = [call(1_000_000_000 + i * 10_000) for i in range(n)]
    return v1_header(n) + b"".join(recs)


KINDS = {"normal": normal, "stacks": stacks, "pystr": pystr, "gaps": gaps, "v1": v1}


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in KINDS:
        sys.exit(__doc__)
    data = KINDS[sys.argv[2]](int(sys.argv[3]) * 1024)
    with open(sys.argv[1], "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
