"""Which URLs of an upload appear in more than one of its rows, told to the processors with each row.

Two workers reaching the same new URL at once would both fetch it, so the processors claim a new
URL's first fetch in the source cache (processors/source_plan.py). A claim costs two database
writes (its insert, then the entry replacing it) where an unclaimed URL costs one batched insert:
so only the URLs that can meet another worker are claimed. A URL repeated within one row never
does (one worker does the whole row, and does each URL once); a URL in several rows may.

The gateway reads every row before publishing any, so it can tell. Memory stays bounded whatever
the upload: two bitmaps indexed by the URL's hash, "seen in a row" and "seen in another row too".
A URL whose slot another URL shares may be taken as repeated (a claim it did not need); a
repeated URL is never taken as unique. Python's `hash` of a string is salted per process, which
is fine: the filter is built and read by the same gateway process, and never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# One bit in each bitmap per this many bytes of upload: a URL takes about 60 bytes of CSV, so a
# CSV of distinct URLs fills a bitmap to about 1/30, and about 2% of them are taken as repeated
# (measured: 2.2% of 3,000,000). Each costs its row a claim it did not need, about 1 ms of the
# database's CPU: 0.02 ms per image on average. Setting three bits per URL instead took that to
# 0.007%, but cost the gateway 1.5 µs per URL, a tenth of its ingestion rate.
UPLOAD_BYTES_PER_BIT = 2
# Small uploads get room enough that a needless claim is rare: of 200,000 uploads of 25 URLs,
# 7,223 took a URL as repeated with 8 Kbit; with 1 Mbit (256 KB for the pair, briefly), 67.
MIN_BITS = 1 << 20


class RepeatedUrls:
    def __init__(self, upload_bytes: int) -> None:
        bits = max(MIN_BITS, 1 << (upload_bytes // UPLOAD_BYTES_PER_BIT).bit_length())
        self._mask = bits - 1
        self._seen = bytearray(bits // 8)
        self._repeated = bytearray(bits // 8)

    def _slot(self, url: str) -> tuple[int, int]:
        slot = hash(url) & self._mask
        return slot >> 3, 1 << (slot & 7)

    def add_row(self, urls: Iterable[str]) -> None:
        for url in set(urls):
            byte, bit = self._slot(url)
            if self._seen[byte] & bit:
                self._repeated[byte] |= bit
            else:
                self._seen[byte] |= bit

    def positions_in(self, urls: Sequence[str]) -> list[int]:
        """The positions in `urls` (one row's, after every row was added) of the URLs that may
        appear in other rows too."""
        return [index for index, url in enumerate(urls) if self._is_repeated(url)]

    def _is_repeated(self, url: str) -> bool:
        byte, bit = self._slot(url)
        return bool(self._repeated[byte] & bit)
