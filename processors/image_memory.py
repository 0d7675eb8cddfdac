"""Keep memory freed by one image for the next, instead of handing it back to the system.

glibc serves a large allocation (from 128 KB) with a fresh mapping and unmaps it when freed, so
every image's pixel buffers (about 3 MB for a 1024x768 photo, and the decoder's and encoder's
own) are mapped afresh and every page faulted in: 1,384 page faults per photo. Served from the
heap and kept there, the next image reuses the same pages. Measured on the benchmark machine, a
virtual machine where a fresh page is dear (its host takes back memory the guest leaves free):
4.4 ms of CPU per photo instead of 7.3 ms. On any machine it saves the kernel clearing those
pages for every image.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt's parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's largest: allocations under 32 MB come from the heap. Pillow allocates an image in
# blocks of at most 16 MB, so even a large image's pixels are reused.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
# Free memory at the top of the heap is given back past this much: what a few large images
# leave behind stays for the next ones, and no more.
TRIM_THRESHOLD_BYTES = 128 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Set this process's allocator so; False where the C library is not glibc (nothing changes)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
