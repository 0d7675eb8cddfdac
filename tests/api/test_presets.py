"""Presets as the gateway decides them before any dependency: the list it offers, an unknown name,
and the only-presets rule. (Their variants, end to end: tests/integration/test_presets.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import in_process_gateway
from tests.support.error_answers import answer_of, assert_error

CSV = b"S. No.,Product Name,Input Image Urls\n1,A,https://example.com/a.jpg\n"
A_FILE = {"file": ("p.csv", CSV, "text/csv")}
PRESETS = "thumb:400x400:webp:75,large:1600x1600:avif:50"


async def test_the_configured_presets_are_listed_whole(tmp_path: Path) -> None:
    async with in_process_gateway(tmp_path, presets=PRESETS) as (api, _):
        response = await api.get("/presets")

    assert response.status_code == 200
    assert response.json() == [
        {"name": "thumb", "width": 400, "height": 400, "format": "webp", "quality": 75},
        {"name": "large", "width": 1600, "height": 1600, "format": "avif", "quality": 50},
    ]


async def test_an_unknown_preset_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    async with in_process_gateway(tmp_path, presets=PRESETS) as (api, _):
        response = await api.post("/upload", files=A_FILE, data={"presets": "thumb,huge"})

    body = assert_error(answer_of(response), 400, "unknown_preset")
    assert body["known"] == ["thumb", "large"]
    assert "'huge'" in body["message"] and "'thumb'" not in body["message"]


async def test_with_no_presets_configured_every_name_is_unknown(tmp_path: Path) -> None:
    async with in_process_gateway(tmp_path, presets="") as (api, _):
        listed = await api.get("/presets")
        response = await api.post("/upload", files=A_FILE, data={"presets": "thumb"})

    assert listed.json() == []
    body = assert_error(answer_of(response), 400, "unknown_preset")
    assert body["known"] == []


async def test_only_presets_refuses_a_per_request_quality(tmp_path: Path) -> None:
    async with in_process_gateway(tmp_path, presets=PRESETS, only_presets=True) as (api, _):
        response = await api.post("/upload", files=A_FILE, data={"quality": "80", "presets": "thumb"})

    assert_error(answer_of(response), 400, "only_presets")


async def test_without_only_presets_a_quality_passes_the_preset_checks(tmp_path: Path) -> None:
    async with in_process_gateway(tmp_path, presets=PRESETS) as (api, _):
        response = await api.post(
            "/upload", files=A_FILE, data={"quality": "80", "presets": ["thumb", "large"]}
        )

    # Past every check the gateway makes alone: the next is the broker, unreachable in this tier.
    assert_error(answer_of(response), 503, "dependency_unavailable")
