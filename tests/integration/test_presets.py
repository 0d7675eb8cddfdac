"""Presets end to end, on the real broker, database and both storages: each variant is made from
the same decode as the JPEG, lands in its own CSV column and is served as its format; the JPEG
stays what it was; nothing is encoded twice, and a new preset on an old catalogue costs only its
variants."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from imgpipe.contract.topics import EVENTS, RESULTS
from tests.support.helpers import product_csv, read_csv, read_topic, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack
from tests.support.worker_metrics import processors_total

pytestmark = pytest.mark.integration

# The default IMGPIPE_PRESETS: a 400 px WebP and a 1600 px AVIF.
PRESETS = ("thumb", "large")
PILLOW_FORMATS = {"webp": "WEBP", "avif": "AVIF", "jpeg": "JPEG"}
# Mean difference per channel, in levels of 255, between a variant and Pillow's own Lanczos
# resize of the source: lossy coding at these qualities stays well below it, wrong colours
# (an unconverted profile, swapped channels) or a misplaced crop far above.
COLOUR_TOLERANCE = 6.0


@pytest.fixture(scope="module", params=["stack", "s3_stack"])
def any_stack(request: pytest.FixtureRequest) -> RunningStack:
    """Each test that takes it runs on the file storage and on S3 (SeaweedFS)."""
    stack: RunningStack = request.getfixturevalue(request.param)
    return stack


def _sources(image_server: LocalHttpServer, prefix: str, seed: int) -> dict[str, bytes]:
    """Sources larger than the thumbnail's box both ways, and one smaller (never enlarged); new
    content for each `seed`, as outputs are found stored by their content."""
    sources = {
        f"/{prefix}/landscape.jpg": photo_like_image(640, 480, seed=seed),
        f"/{prefix}/portrait.png": photo_like_image(300, 500, seed=seed + 1, image_format="PNG"),
        f"/{prefix}/small.jpg": photo_like_image(120, 90, seed=seed + 2),
    }
    return {image_server.add(path, Resource(data, "image/jpeg")): data for path, data in sources.items()}


def _fitted(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The variant's size, computed here independently: inside the box, never larger."""
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _upload_and_wait(stack: RunningStack, rows: list[tuple[str, str, list[str]]], **form: Any) -> str:
    response = upload(stack.base_url, product_csv(rows), **form)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    assert wait_finished(stack.base_url, request_id)["status"] in ("completed", "completed_with_errors")
    return request_id


def _table(stack: RunningStack, request_id: str) -> list[list[str]]:
    return read_csv(httpx.get(f"{stack.base_url}/download/{request_id}", timeout=30).text)


def _mean_difference(variant: Image.Image, source: bytes) -> float:
    with Image.open(io.BytesIO(source)) as original:
        reference = original.convert("RGB").resize(variant.size, Image.Resampling.LANCZOS)
    return sum(ImageStat.Stat(ImageChops.difference(variant.convert("RGB"), reference)).mean) / 3


def test_each_preset_gets_a_column_of_variants_in_its_format_size_and_colours(
    any_stack: RunningStack, image_server: LocalHttpServer
) -> None:
    sources = _sources(image_server, f"presets-{any_stack.base_url[-5:]}", seed=3_100)
    urls = list(sources)
    missing = image_server.url("/presets/missing.jpg")
    rows = [("1", "Two photos", [urls[0], missing, urls[1]]), ("2", "A small one", [urls[2]])]
    configured = {preset["name"]: preset for preset in httpx.get(f"{any_stack.base_url}/presets").json()}

    request_id = _upload_and_wait(any_stack, rows, presets="thumb,large")
    # One fetch per source, whatever the number of presets.
    fetched = [path for path in image_server.requests if image_server.url(path) in sources]
    assert sorted(fetched) == sorted(set(fetched)) and len(fetched) == len(sources)

    status = httpx.get(f"{any_stack.base_url}/status/{request_id}", timeout=30).json()
    assert status["presets"] == [configured[name] for name in PRESETS]
    table = _table(any_stack, request_id)
    assert table[0][3:] == ["Output Image Urls", "Output Image Urls (thumb)", "Output Image Urls (large)"]
    for row, (_, _, inputs) in zip(table[1:], rows, strict=True):
        columns = [cell.split(",") for cell in row[3:]]
        for index, url in enumerate(inputs):
            if url == missing:  # a failed image leaves its place empty in every column
                assert [column[index] for column in columns] == ["", "", ""]
                continue
            with Image.open(io.BytesIO(sources[url])) as original:
                size = original.size
            for name, column in zip(PRESETS, columns[1:], strict=True):
                preset = configured[name]
                served = httpx.get(column[index], timeout=30)
                assert served.status_code == 200
                assert served.headers["content-type"] == f"image/{preset['format']}"
                with Image.open(io.BytesIO(served.content)) as variant:
                    assert variant.format == PILLOW_FORMATS[preset["format"]]
                    assert variant.size == _fitted(size, (preset["width"], preset["height"]))
                    assert "exif" not in variant.info and "icc_profile" not in variant.info
                    assert _mean_difference(variant, sources[url]) < COLOUR_TOLERANCE


def test_a_variant_is_served_with_an_etag_and_ranges(
    any_stack: RunningStack, image_server: LocalHttpServer
) -> None:
    url = image_server.add(
        f"/presets/serving-{any_stack.base_url[-5:]}.jpg", Resource(photo_like_image(500, 300, seed=3_400))
    )
    request_id = _upload_and_wait(any_stack, [("1", "Served", [url])], presets="large")
    variant_url = _table(any_stack, request_id)[1][4]
    whole = httpx.get(variant_url, timeout=30)

    ranged = httpx.get(variant_url, headers={"Range": "bytes=0-9"}, timeout=30)
    again = httpx.get(variant_url, headers={"If-None-Match": whole.headers["etag"]}, timeout=30)

    assert variant_url.endswith(".avif") and whole.headers["content-type"] == "image/avif"
    assert ranged.status_code == 206 and ranged.content == whole.content[:10]
    assert ranged.headers["content-range"] == f"bytes 0-9/{len(whole.content)}"
    assert again.status_code == 304


def test_the_jpeg_is_the_same_with_presets_or_without(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    urls = list(_sources(image_server, "presets-same-jpeg", seed=3_200))
    rows = [("1", "Same", urls)]

    plain = _table(stack, _upload_and_wait(stack, rows))
    with_presets = _table(stack, _upload_and_wait(stack, rows, presets="thumb,large"))

    assert with_presets[1][3] == plain[1][3]  # the same content names: the same JPEGs
    assert plain[0] == ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]


def _encoded(stack: RunningStack) -> dict[str, float]:
    """What the processors have decoded (`compressions`) and encoded per variant format so far."""
    return {
        "compressions": processors_total(stack, "imgpipe_compressions_total"),
        **{
            output_format: processors_total(stack, "imgpipe_variants_encoded_total", format=output_format)
            for output_format in ("webp", "avif")
        },
    }


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def test_a_reupload_encodes_nothing_and_a_new_preset_only_its_variants(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    urls = list(_sources(image_server, "presets-catalogue", seed=3_300))
    rows = [(str(n + 1), f"Product {n}", [url]) for n, url in enumerate(urls)]
    first = _encoded(stack)
    _upload_and_wait(stack, rows, presets="thumb")
    after_first = _encoded(stack)
    assert _delta(first, after_first) == {"compressions": 3, "webp": 3, "avif": 0}

    _upload_and_wait(stack, rows, presets="thumb")
    after_again = _encoded(stack)
    assert _delta(after_first, after_again) == {"compressions": 0, "webp": 0, "avif": 0}

    request_id = _upload_and_wait(stack, rows, presets="thumb,large")
    # Each source decoded once more, for its AVIF only: the JPEG and the WebP are found stored.
    assert _delta(after_again, _encoded(stack)) == {"compressions": 3, "webp": 0, "avif": 3}
    assert all(row[5].endswith(".avif") for row in _table(stack, request_id)[1:])


def test_the_completion_event_and_results_carry_the_presets_and_variants(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    url = image_server.add(
        "/presets/event.jpg", Resource(photo_like_image(800, 600, seed=3_500), "image/jpeg")
    )
    request_id = _upload_and_wait(stack, [("1", "Evented", [url])], presets="large,thumb")
    bootstrap = stack.settings.kafka_bootstrap_servers

    [event] = asyncio.run(
        read_topic(bootstrap, EVENTS, lambda value: value.get("request_id") == request_id, 1)
    )
    [result] = asyncio.run(
        read_topic(bootstrap, RESULTS, lambda value: value.get("request_id") == request_id, 1)
    )

    assert event["presets"] == ["large", "thumb"]
    [image] = result["images"]
    assert [(v["preset"], v["format"], v["width"], v["height"]) for v in image["variants"]] == [
        ("large", "avif", 800, 600),
        ("thumb", "webp", 400, 300),
    ]
    assert all(v["bytes_out"] == len(httpx.get(v["output_url"]).content) for v in image["variants"])
