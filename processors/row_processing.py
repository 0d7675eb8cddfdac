"""One row, start to finish: every image fetched, compressed and stored, the outcome reported.

This is where the small units are put together; the Faust agent only moves messages in and out.
Each image of a row goes through the same steps, in this order (`_RowWork._produce`):

1. plan: the source cache says to reuse its outputs, revalidate them, or fetch
   (processors/source_plan.py, which holds the protocol with the other workers: claims, waiting
   for another worker's first fetch);
2. fetch: a conditional GET to revalidate, a plain GET otherwise, transient failures retried
   (processors/fetch.py, processors/fetch_retries.py);
3. outputs: after a `304`, the known outputs, nothing downloaded or compressed; after a `200`,
   the bytes' own, the missing ones encoded from one decode and stored
   (processors/output_encoding.py, processors/image_outputs.py);
4. write-back: what the source said goes back to the source cache, once;
5. outcome: the image's output URLs and its origin (`reused`, `revalidated`, `fetched`).

The same URL again in the same request is done once per worker (processors/shared_work.py): the
first occurrence goes through the steps, the others share its outcome (`reused`).

An image's outputs are its JPEG and one variant per preset the request asked for, each under its
own content name (processors/content_address.py): fetched bytes whose outputs are already stored
are not compressed again. The source cache's shortcuts (reuse, revalidate) serve only when every
one of them is stored; otherwise the source is fetched whole, decoded once, and only the missing
outputs are encoded: adding a preset to a catalogue done before computes just the new variants.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from imgpipe.config.destination_guard import DestinationGuard
from imgpipe.config.settings import FetchSettings, ImageSettings, LifecycleSettings
from imgpipe.contract.messages import ImageError, ImageOrigin, ImageOutcome, RowMessage, RowResult
from imgpipe.state.retention import DAY_S
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.output_periods import OutputPeriod
from processors.compress import ImageRejected
from processors.fetch import FetchedImage, FetchError, fetch_image, new_fetch_session
from processors.fetch_retries import FetchRetryPolicy, with_retries
from processors.image_outputs import RowOutputs, StoredOutputs
from processors.metrics import FETCH_SECONDS
from processors.output_encoding import Compressor, stored_outputs
from processors.shared_work import SharedWork
from processors.source_cache import SourceCache
from processors.source_plan import Fetch, Reuse, Revalidate, RowSources

# URLs whose outcome a worker keeps for the rest of their request: a request's repeated URLs
# are usually near each other, and the source cache catches the ones forgotten.
SHARED_OUTCOMES = 20_000


@dataclass(frozen=True)
class ImagePipeline:
    fetching: FetchSettings
    images: ImageSettings
    lifecycle: LifecycleSettings
    worker_id: str
    session: aiohttp.ClientSession
    guard: DestinationGuard
    compressor: Compressor
    storage: ObjectStorage
    source_cache: SourceCache | None  # None: IMGPIPE_SOURCE_CACHE=off
    shared: SharedWork[ImageOutcome]
    retries: FetchRetryPolicy
    # How long a claimed first fetch can take; a claim older than this lost its worker (killed
    # mid-fetch) and is not waited for.
    longest_first_fetch: timedelta


@asynccontextmanager
async def image_pipeline(
    fetching: FetchSettings,
    images: ImageSettings,
    lifecycle: LifecycleSettings,
    worker_id: str,
    executor: Executor | None,
    storage: ObjectStorage,
    source_cache: SourceCache | None,
) -> AsyncIterator[ImagePipeline]:
    """`executor` None: compress on the event loop's own thread (processors/output_encoding.py)."""
    guard = DestinationGuard(fetching.fetch_allowlist)
    session = new_fetch_session(guard, fetching.fetch_connect_timeout_s, fetching.fetch_timeout_s)
    retries = FetchRetryPolicy(
        fetching.fetch_retries, fetching.fetch_retry_base_s, fetching.fetch_retry_max_s
    )
    try:
        yield ImagePipeline(
            fetching,
            images,
            lifecycle,
            worker_id,
            session,
            guard,
            Compressor(executor, images.max_image_pixels),
            storage,
            source_cache,
            SharedWork(SHARED_OUTCOMES),
            retries,
            timedelta(seconds=retries.longest_s(fetching.fetch_timeout_s)),
        )
    finally:
        await session.close()


class _RowWork:
    """One row's images, and what they share: the pipeline, the row's message, where its outputs
    are stored, and the source cache as the row sees it (whose new entries are inserted together
    once the row is done)."""

    def __init__(self, pipeline: ImagePipeline, message: RowMessage) -> None:
        self.pipeline = pipeline
        self.message = message
        # Where the row's outputs are stored: the period of the request's retention it is done in.
        retention_s = message.retention_s or pipeline.lifecycle.retention_days * DAY_S
        self.outputs = RowOutputs(
            pipeline.storage,
            OutputPeriod.at(retention_s, datetime.now(UTC)),
            message.owner,
            message.quality,
            pipeline.images.jpeg_progressive,
            message.presets or (),
        )
        self.sources = RowSources(pipeline.source_cache, message, self.outputs, pipeline.longest_first_fetch)

    async def image(self, url: str) -> ImageOutcome:
        outcome, produced = await self.pipeline.shared.run(
            (self.message.request_id, url), lambda: self._produce(url)
        )
        if produced or outcome.output_url is None:
            return outcome
        return outcome.model_copy(update={"origin": ImageOrigin.REUSED})

    async def _produce(self, url: str) -> tuple[ImageOutcome, bool]:
        """The outcome of `url` for this request, and whether later occurrences may reuse it."""
        plan = await self.sources.plan(url)
        if isinstance(plan, Reuse):
            return self.outputs.outcome(url, plan.stored, ImageOrigin.REUSED), True
        try:
            answer = await self._fetch(url, plan)
            stored, origin = await self._outputs(plan, answer)
            await self.sources.write_back(url, plan, answer, stored)
        except (FetchError, ImageRejected) as error:
            await self.sources.write_back(url, plan, None, None)
            return ImageOutcome(input_url=url, error=ImageError(code=error.code, message=error.message)), True
        except Exception:
            # Storage or the database gave out mid-image: the row is tried again, by this worker or
            # another, which must not wait for a claim nobody is working on.
            await self.sources.write_back(url, plan, None, None)
            raise
        return self.outputs.outcome(url, stored, origin), not (answer.no_store or answer.no_cache)

    async def _fetch(self, url: str, plan: Revalidate | Fetch) -> FetchedImage:
        """A conditional GET to revalidate, a plain one otherwise; transient failures retried."""
        pipeline, fetching = self.pipeline, self.pipeline.fetching
        with FETCH_SECONDS.time():
            return await with_retries(
                lambda: fetch_image(
                    pipeline.session,
                    pipeline.guard,
                    url,
                    fetching.max_image_bytes,
                    fetching.max_redirects,
                    plan.validators,
                ),
                pipeline.retries,
            )

    async def _outputs(
        self, plan: Revalidate | Fetch, answer: FetchedImage
    ) -> tuple[StoredOutputs, ImageOrigin]:
        """Every output of what the source sent, stored: after a 304 the known ones, nothing
        downloaded or compressed; otherwise the fetched bytes', encoded unless already stored."""
        if answer.data is None:
            # fetch_image returns no body only to a conditional GET, sent only with a known output.
            assert isinstance(plan, Revalidate)
            return plan.stored, ImageOrigin.REVALIDATED
        stored = await stored_outputs(
            self.pipeline.compressor, self.outputs, answer, answer.data, self.message.request_id
        )
        return stored, ImageOrigin.FETCHED


async def process_row(pipeline: ImagePipeline, message: RowMessage) -> RowResult:
    started = time.perf_counter()
    work = _RowWork(pipeline, message)
    images = await asyncio.gather(*(work.image(url) for url in message.input_urls))
    await work.sources.insert_new()
    return RowResult(
        request_id=message.request_id,
        row=message.row,
        images=list(images),
        worker_id=pipeline.worker_id,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
