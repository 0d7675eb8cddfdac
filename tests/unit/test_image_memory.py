"""A processor keeps the memory one image freed for the next (processors/image_memory.py).

Each case runs in a fresh interpreter, since the allocator setting lasts as long as the process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.paths import ROOT
from tests.support.photos import photo_like_image

_PAGE_FAULTS_PER_PHOTO = """
import resource
from pathlib import Path
from processors.compress import compress_jpeg
from processors.image_memory import keep_freed_memory
if {keep}:
    assert keep_freed_memory()
photos = [path.read_bytes() for path in sorted(Path({directory!r}).glob("*.jpg"))]
for photo in photos:  # codecs set up, first allocations made
    compress_jpeg(photo, 50, 100_000_000, False)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for photo in photos * 4:
    compress_jpeg(photo, 50, 100_000_000, False)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 12)
"""


def _page_faults_per_photo(keep: bool, photos: Path) -> float:
    # Only the compressing in the measured process: making the photos there would leave its
    # allocator tuned by the making.
    script = _PAGE_FAULTS_PER_PHOTO.format(keep=keep, directory=str(photos))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_photos_compressed_one_after_another_reuse_their_memory(tmp_path: Path) -> None:
    for seed in range(3):
        (tmp_path / f"{seed}.jpg").write_bytes(photo_like_image(1024, 768, seed=seed))
    # A 1024x768 photo's buffers take hundreds of pages of 4 KB: mapped afresh per photo without
    # the setting, reused with it.
    assert _page_faults_per_photo(keep=False, photos=tmp_path) > 300
    assert _page_faults_per_photo(keep=True, photos=tmp_path) < 20
