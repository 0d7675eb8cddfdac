"""An image's outputs in one row: their content names, where they are stored, what the row reports.

An image's outputs are its JPEG and one variant per preset its request asked for, each under its
own content name (processors/content_address.py), stored in the period of the request's
retention the row is done in (imgpipe/storage/output_periods.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from imgpipe.contract.messages import ImageOrigin, ImageOutcome, ImageVariant
from imgpipe.contract.presets import OutputFormat, Preset
from imgpipe.state.database import SourceEntry
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.output_periods import OutputPeriod
from processors.content_address import content_name, variant_name
from processors.metrics import VARIANTS_ENCODED
from processors.storage import copy_stored, store_image, stored_dimensions, stored_size


@dataclass(frozen=True)
class ImageOutput:
    """One file an image gets: its JPEG (no preset) or a preset's variant, by content name."""

    name: str
    preset: Preset | None = None

    @property
    def format(self) -> OutputFormat:
        return OutputFormat.JPEG if self.preset is None else self.preset.format


@dataclass(frozen=True)
class StoredOutputs:
    """Every output of one source's bytes, stored: what the source cache says of the bytes, and
    each output's size, in the order of `RowOutputs.of`."""

    entry: SourceEntry
    outputs: Sequence[ImageOutput]
    sizes: Sequence[int]


@dataclass(frozen=True)
class RowOutputs:
    """What one row's images are stored as: the request's owner, quality and presets, the
    worker's progressive setting, and the period the row is done in."""

    storage: ObjectStorage
    period: OutputPeriod
    owner: str | None
    quality: int
    progressive: bool
    presets: Sequence[Preset]

    def of(self, source_sha256: str) -> list[ImageOutput]:
        """The source's outputs: its JPEG, then a variant per preset in the request's order."""
        jpeg = ImageOutput(content_name(self.owner, source_sha256, self.quality, self.progressive))
        variants = [
            ImageOutput(variant_name(self.owner, source_sha256, preset), preset) for preset in self.presets
        ]
        return [jpeg, *variants]

    def key(self, output: ImageOutput, period: OutputPeriod | None = None) -> str:
        return (period or self.period).image_key(output.name, output.format)

    async def sizes_here(self, outputs: Sequence[ImageOutput]) -> list[int | None]:
        """Each output's size when it is stored in this row's period."""
        return await _each(self._size_here, outputs)

    async def sizes_here_or_copied(self, outputs: Sequence[ImageOutput]) -> list[int | None]:
        """Each output's size in this row's period, copied from the period before if it was
        stored there, so that a request reusing a known output holds it in its own period
        (imgpipe/storage/output_periods.py). Only for outputs the source cache knows: for fetched
        bytes, a copy attempt would cost every new image a storage request for a rare saving."""
        return await _each(self._size_here_or_copied, outputs)

    async def _size_here(self, output: ImageOutput) -> int | None:
        return await stored_size(self.storage, self.key(output))

    async def _size_here_or_copied(self, output: ImageOutput) -> int | None:
        bytes_out = await self._size_here(output)
        if bytes_out is None and await copy_stored(
            self.storage, self.key(output, self.period.previous), self.key(output)
        ):
            bytes_out = await self._size_here(output)
        return bytes_out

    async def store(self, output: ImageOutput, data: bytes) -> None:
        await store_image(self.storage, self.key(output), data, output.format.media_type)
        if output.preset is not None:
            VARIANTS_ENCODED.labels(output.format.value).inc()

    async def stored_dimensions(self, outputs: Sequence[ImageOutput]) -> tuple[int, int]:
        """The source's pixel size, read from its stored JPEG's header (outputs[0])."""
        return await stored_dimensions(self.storage, self.key(outputs[0]))

    def outcome(self, url: str, stored: StoredOutputs, origin: ImageOrigin) -> ImageOutcome:
        entry, outputs, sizes = stored.entry, stored.outputs, stored.sizes
        variants = [
            ImageVariant(
                preset=output.preset.name,
                format=output.preset.format,
                width=width,
                height=height,
                bytes_out=size,
                output_url=self.storage.public_url(self.key(output)),
            )
            for output, size in zip(outputs[1:], sizes[1:], strict=True)
            if output.preset is not None
            for width, height in [output.preset.fitted_size(entry["width"], entry["height"])]
        ]
        return ImageOutcome(
            input_url=url,
            output_url=self.storage.public_url(self.key(outputs[0])),
            bytes_in=entry["bytes_in"],
            bytes_out=sizes[0],
            width=entry["width"],
            height=entry["height"],
            origin=origin,
            variants=variants or None,
        )


async def _each(
    size_of: Callable[[ImageOutput], Awaitable[int | None]], outputs: Sequence[ImageOutput]
) -> list[int | None]:
    """`size_of` every output, at once: an image's outputs are looked up together."""
    return list(await asyncio.gather(*(size_of(output) for output in outputs)))
