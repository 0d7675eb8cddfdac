"""API keys, kept only as SHA-256 digests.

A request's owner is a short id derived from the digest, so neither MongoDB nor the logs ever
hold a key.
"""

from __future__ import annotations

import hashlib


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self._owners = {_digest(key): _digest(key)[:16] for key in keys}

    @property
    def enabled(self) -> bool:
        return bool(self._owners)

    def owner_of(self, presented: str | None) -> str | None:
        return self._owners.get(_digest(presented)) if presented else None
