"""Which URLs of an upload appear in more than one of its rows, told to the processors with each row.

Two workers reaching the same new URL at once would both fetch it, so the processors claim a new
URL's first fetch in the source cache (processors/row_processing.py). A claim costs two database
writes (its insert, then the entry replacing it) where an unclaimed URL costs one batched insert:
so only the URLs that can meet another worker are claimed. A URL repeated within one row never
does (one worker does the whole row, and does each URL once); a URL in several rows may.

The gateway reads every row before publishing any, so it can tell. Memory stays bounded whatever
the upload: two Bloom filters of the same size, "seen in a row" and "seen in another row too",
each URL setting three bits in each. A URL whose three bits other URLs happen to have set may be
taken as repeated (a claim it did not need); a repeated URL is never taken as unique. Python's
`hash` of a string is salted per process, which is fine: the filter is built and read by the
same gateway process, and never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# One bit in each filter per this many bytes of upload: a URL takes about 60 bytes of CSV, so
# each URL has 30 bits or more. Measured: of 3,000,000 distinct URLs (a 34 MB filter pair), 0.007%
# taken as repeated, against 2.2% with one bit per URL; of 200,000 uploads of 25 URLs (the
# smallest pair), 3 with any URL taken as repeated, against 7,223. The three bits cost the
# gateway about 1 µs more per URL.
UPLOAD_BYTES_PER_BIT = 2
MIN_BITS = 1 << 13

# A bit: the byte it is in, and the mask that picks it out of that byte.
_Bit = tuple[int, int]


class RepeatedUrls:
    def __init__(self, upload_bytes: int) -> None:
        bits = max(MIN_BITS, 1 << (upload_bytes // UPLOAD_BYTES_PER_BIT).bit_length())
        self._mask = bits - 1
        self._seen = bytearray(bits // 8)
        self._repeated = bytearray(bits // 8)

    def _bits(self, url: str) -> tuple[_Bit, _Bit, _Bit]:
        """The URL's three bits: one hash, its two halves combined (Kirsch and Mitzenmacher's
        double hashing, as good as three hashes for a Bloom filter)."""
        digest = hash(url)
        step = (digest >> 32) | 1
        mask = self._mask
        return _bit(digest & mask), _bit((digest + step) & mask), _bit((digest + 2 * step) & mask)

    def add_row(self, urls: Iterable[str]) -> None:
        for url in set(urls):
            bits = self._bits(url)
            _set(self._repeated if _all_set(self._seen, bits) else self._seen, bits)

    def positions_in(self, urls: Sequence[str]) -> list[int]:
        """The positions in `urls` (one row's, after every row was added) of the URLs that may
        appear in other rows too."""
        return [index for index, url in enumerate(urls) if _all_set(self._repeated, self._bits(url))]


def _bit(slot: int) -> _Bit:
    return slot >> 3, 1 << (slot & 7)


def _all_set(filter_: bytearray, bits: tuple[_Bit, _Bit, _Bit]) -> bool:
    (a, a_mask), (b, b_mask), (c, c_mask) = bits
    return bool(filter_[a] & a_mask and filter_[b] & b_mask and filter_[c] & c_mask)


def _set(filter_: bytearray, bits: tuple[_Bit, _Bit, _Bit]) -> None:
    for byte, mask in bits:
        filter_[byte] |= mask
