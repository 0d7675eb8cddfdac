"""With the API open, all uploads share one owner's limits, and an upload over one is refused with
429 before the file is read or any dependency is asked. (Each limit of a key, on real servers:
tests/integration/test_upload_limits.py.)"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from tests.api.conftest import in_process_gateway
from tests.support.error_answers import answer_of, assert_error

CSV = b"S. No.,Product Name,Input Image Urls\n1,A,https://example.com/a.jpg\n"
REFUSED_OPEN = ("imgpipe_uploads_refused_total", {"owner": "open", "limit": "max_unfinished_requests"})


def _refusals() -> float:
    return REGISTRY.get_sample_value(*REFUSED_OPEN) or 0.0


async def test_with_the_api_open_every_client_counts_against_one_set_of_limits(tmp_path: Path) -> None:
    refused_before = _refusals()
    async with in_process_gateway(tmp_path, max_unfinished_requests=2) as (api, state):
        # Two requests in flight, whoever sent them: the open API knows no one apart.
        state.unfinished.accepted("earlier-1", None, 10)
        state.unfinished.accepted("earlier-2", None, 10)
        response = await api.post("/upload", files={"file": ("p.csv", CSV, "text/csv")})

    # 429, not the 503 of the unreachable broker and storage: refused before asking them.
    body = assert_error(answer_of(response), 429, "too_many_unfinished_requests")
    assert {name: body[name] for name in ("limit", "value", "usage")} == {
        "limit": "max_unfinished_requests",
        "value": 2,
        "usage": 2,
    }
    assert body["message"].startswith("the open API (all uploads together) is at its limit of 2")
    assert response.headers["retry-after"] == "10"
    assert _refusals() == refused_before + 1
