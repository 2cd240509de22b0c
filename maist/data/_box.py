"""The compiled kernel behind preprocess.seed on packed 4-bit records.

PIL's BOX reduction gives each input pixel to exactly one output pixel, the one whose
span holds the pixel's centre, with weight 1 / (pixels in that span). A 128x127 ->
28x28 reduction is therefore whole-number sums over 28 row bins x 28 column bins,
scaled once at the end. The kernel reads each packed byte once and adds its two nibbles
into the column sums of the byte's row bin (a 64-byte row is two SIMD vectors); then,
per row bin, a running sum over the columns gives every column bin as a difference of
two running sums. About 8 KB in and 3 KB out per image, nothing else: numpy's version
of the same arithmetic materialises nibble planes and runs skinny matrix products, at
about 8x the time.

Importing this module compiles the kernel for the one signature it is called with
(numba, eagerly: the cost lands at import, not inside the first chunk's timing) and
caches the machine code beside this file (or under NUMBA_CACHE_DIR). The first import
on a machine takes about 2 s; later ones about 0.6 s, mostly numba's own start-up.
"""

from __future__ import annotations

import numba
import numpy as np

_BYTES_RO = numba.types.Array(numba.uint8, 1, "C", readonly=True)  # a read-only mapped file
_INDEX = numba.types.Array(numba.int64, 1, "C")
_SIGNATURE = numba.void(_BYTES_RO, numba.int64, numba.int64, _INDEX, _INDEX,
                        numba.float32[:, ::1], numba.uint8[:, ::1], numba.uint8[:, ::1],
                        numba.float32[:, :, ::1])


@numba.njit(_SIGNATURE, nogil=True, cache=True)
def box_sum_packed(buf, n, stride, row_bin, col_end, inv, high, low, out):
    """out[i] = the box sums of image i's pixels, times inv.

    buf:     uint8 (>= (n-1)*stride + H*half,): image i's packed bytes start at i*stride,
             row after row, half = W/2 bytes a row, the left pixel in the high nibble
    row_bin: int64 (H,): the output row each input row belongs to (non-decreasing)
    col_end: int64 (out_w,): output column j sums input columns col_end[j-1] .. col_end[j]-1
    inv:     float32 (out_h, out_w): 1 / (pixels in the bin x max level)
    high, low: uint8 (out_h, half) scratch for a row bin's column sums: a bin may span
             at most 255 // 15 = 17 rows (ETL's span 4-5; the caller checks)
    out:     float32 (n, out_h, out_w), written
    """
    out_h, half = high.shape
    out_w = inv.shape[1]
    height = row_bin.shape[0]
    pairs = np.zeros(half + 1, np.int64)  # pairs[q]: sum of a row bin's columns 0 .. 2q-1
    for i in range(n):
        high[:] = 0
        low[:] = 0
        base = i * stride
        for r in range(height):
            h = high[row_bin[r]]
            lo = low[row_bin[r]]
            row = buf[base + r * half : base + (r + 1) * half]
            for b in range(half):  # vectorised: whole rows of bytes at a time
                v = row[b]
                h[b] += v >> 4  # pixel 2b, the left one
                lo[b] += v & 0x0F  # pixel 2b + 1
        for rb in range(out_h):
            h = high[rb]
            lo = low[rb]
            s = 0
            for b in range(half):
                s += np.int64(h[b]) + np.int64(lo[b])
                pairs[b + 1] = s
            before = 0  # sum of the columns left of column bin j
            for j in range(out_w):
                x = col_end[j]
                upto = pairs[x >> 1]
                if x & 1:  # the bin ends between a byte's two pixels
                    upto += h[x >> 1]
                out[i, rb, j] = np.float32(upto - before) * inv[rb, j]
                before = upto
