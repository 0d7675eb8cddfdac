"""Fetched bytes into stored outputs: each looked for under its content name, the missing ones
encoded from one decode and stored.

Bytes whose outputs are all stored already (the same image under another URL, or again next
week) are not decoded: only their JPEG's header is read, for the pixel size. Otherwise the bytes
are decoded once, whatever the number of presets, and only the missing outputs are encoded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime

from imgpipe.contract.presets import Preset
from imgpipe.state.database import SourceEntry
from processors.compress import CompressedImage, compress_image
from processors.content_address import source_digest
from processors.fetch import FetchedImage
from processors.image_outputs import ImageOutput, RowOutputs, StoredOutputs
from processors.metrics import COMPRESS_SECONDS, COMPRESSIONS


@dataclass(frozen=True)
class Compressor:
    """Where images are decoded and encoded: on `executor`, or (None) right here, blocking the
    loop for the few milliseconds it takes: Pillow releases the GIL, but a thread hop per image
    costs more than it gains when every core already runs a worker of its own (the thumbor model)."""

    executor: Executor | None
    max_image_pixels: int

    async def compress(
        self, data: bytes, quality: int, progressive: bool, missing: Sequence[ImageOutput]
    ) -> CompressedImage:
        presets = [output.preset for output in missing if output.preset is not None]
        with_main = any(output.preset is None for output in missing)
        arguments = (data, quality, self.max_image_pixels, progressive, presets, with_main)
        if self.executor is None:
            return compress_image(*arguments)
        return await asyncio.get_running_loop().run_in_executor(self.executor, compress_image, *arguments)


async def stored_outputs(
    compressor: Compressor, outputs: RowOutputs, answer: FetchedImage, data: bytes, request_id: str
) -> StoredOutputs:
    """Every output of `data` (the body of `answer`) stored, and the source cache's entry of it."""
    digest = source_digest(data)
    named = outputs.of(digest)
    sizes, (width, height) = await _encode_missing(compressor, outputs, data, named)
    entry = SourceEntry(
        etag=answer.validators.etag,
        last_modified=answer.validators.last_modified,
        source_sha256=digest,
        bytes_in=len(data),
        width=width,
        height=height,
        no_cache=answer.no_cache,
        fetched_at=datetime.now(UTC),
        validated_by=request_id,
    )
    return StoredOutputs(entry, named, sizes)


async def _encode_missing(
    compressor: Compressor, outputs: RowOutputs, data: bytes, named: Sequence[ImageOutput]
) -> tuple[list[int], tuple[int, int]]:
    """Every output stored, the missing ones from one decode of `data`: their sizes, and the
    source's pixel dimensions."""
    sizes = await outputs.sizes_here(named)
    missing = [output for output, size in zip(named, sizes, strict=True) if size is None]
    if not missing:
        return [size for size in sizes if size is not None], await outputs.stored_dimensions(named)
    with COMPRESS_SECONDS.time():
        compressed = await compressor.compress(data, outputs.quality, outputs.progressive, missing)
        encoded: dict[Preset | None, bytes] = {
            variant.preset: variant.data for variant in compressed.variants
        }
        if compressed.data is not None:
            encoded[None] = compressed.data
        await asyncio.gather(*(outputs.store(output, encoded[output.preset]) for output in missing))
    COMPRESSIONS.inc()
    made = [
        len(encoded[output.preset]) if size is None else size
        for output, size in zip(named, sizes, strict=True)
    ]
    return made, (compressed.width, compressed.height)
