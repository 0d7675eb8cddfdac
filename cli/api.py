"""The gateway's REST API as the CLI uses it: upload, status, the status event stream, download."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from imgpipe.contract.errors import CodedError


class ApiProblem(CodedError[str]):
    """The gateway said no (4xx/5xx): its JSON error, ready to show."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", "http_error"), body.get("message", f"HTTP {status_code}"))
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class GatewayClient:
    base_url: str
    api_key: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": "http_error", "message": response.text[:500]}
            raise ApiProblem(response.status_code, body)
        return response

    def upload(self, csv_path: Path, presets: Sequence[str] = ()) -> dict[str, Any]:
        with csv_path.open("rb") as file:
            response = httpx.post(
                f"{self.base_url}/upload",
                files={"file": (csv_path.name, file, "text/csv")},
                data={"presets": list(presets)},
                headers=self._headers(),
                timeout=600,
            )
        body: dict[str, Any] = self._checked(response).json()
        return body

    def status(self, request_id: str) -> dict[str, Any]:
        return self._status(request_id, {})

    def status_with_rows(self, request_id: str, offset: int, limit: int | None) -> dict[str, Any]:
        """The status and one page of row details: `limit` rows from `offset` (0-based), or the
        gateway's default page size when `limit` is None."""
        params: dict[str, str | int] = {"rows": "true", "offset": offset}
        if limit is not None:
            params["limit"] = limit
        return self._status(request_id, params)

    def _status(self, request_id: str, params: dict[str, str | int]) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base_url}/status/{request_id}", params=params, headers=self._headers(), timeout=30
        )
        body: dict[str, Any] = self._checked(response).json()
        return body

    def status_events(self, request_id: str) -> Iterator[dict[str, Any]]:
        """Each status the gateway streams, until the request finishes."""
        url = f"{self.base_url}/status/{request_id}/events"
        with httpx.stream(
            "GET", url, headers=self._headers(), timeout=httpx.Timeout(30, read=None)
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._checked(response)
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line.removeprefix("data: "))

    def download(self, request_id: str, destination: Path) -> None:
        response = httpx.get(f"{self.base_url}/download/{request_id}", headers=self._headers(), timeout=600)
        temporary = destination.with_name(f".{destination.name}.part")
        temporary.write_bytes(self._checked(response).content)
        temporary.replace(destination)
