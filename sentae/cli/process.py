"""Process-wide settings of the ``sentae`` command (not of the library: a program that imports sentae keeps its own).

glibc returns freed blocks of more than its mmap threshold (at most 32 MB) to the kernel at once, and trims the top
of the heap past twice that. Decoding and evaluation free and allocate buffers of that size at every step (the
logits of a batch: 256 sentences x 10,000 words are 10 MB in fp32), so each step's fresh buffer is handed back by
the kernel page by page: `sentae sample -n 5000` on the common PTB model took 220,000-370,000 page faults and about
0.3-0.5 s of system time that way. Keeping up to 256 MB of freed memory in the heap takes that out.
"""
from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 64 << 20  # blocks below this come from the heap, so they can be reused when freed
TRIM_THRESHOLD = 256 << 20  # free memory at the top of the heap kept before returning it to the kernel
TOP_PAD = 64 << 20  # grow the heap in steps of this much, not page by page


def retain_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse. Skipped where the user set a ``MALLOC_*`` variable (theirs
    wins) and off Linux; returns whether the settings took."""
    if not sys.platform.startswith("linux") or any(name.startswith("MALLOC_") for name in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return all(mallopt(param, value) == 1 for param, value in settings)
