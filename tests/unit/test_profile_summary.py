"""bench.profile_processors: py-spy's collapsed stacks read and shared out."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.profile_processors import busy_shares, read_collapsed


def test_collapsed_stacks_are_shared_out_by_package_and_function(tmp_path: Path) -> None:
    path = tmp_path / "processor-1.txt"
    path.write_text(
        "_run_once (asyncio/base_events.py);fetch_image (processors/fetch.py);send (aiohttp/client.py) 3\n"
        "_run_once (asyncio/base_events.py);compress_jpeg (processors/compress.py) 1\n"
    )
    stacks = read_collapsed(path)
    loop, fetch = "_run_once (asyncio/base_events.py)", "fetch_image (processors/fetch.py)"
    assert stacks == Counter(
        {
            (loop, fetch, "send (aiohttp/client.py)"): 3,
            (loop, "compress_jpeg (processors/compress.py)"): 1,
        }
    )
    packages, functions = busy_shares(stacks)
    assert packages == {"aiohttp": 0.75, "processors": 0.25}
    assert functions[loop] == 1.0
    assert functions[fetch] == 0.75
