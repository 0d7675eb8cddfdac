"""The requests an aggregator has counted lately, remembered between batches of results.

A batch then costs its row writes and one insert of the next state, and no reads of the request.
A remembered state may be stale (another instance counted meanwhile): moving the state from it
fails on the unique version `_id` and re-reads (imgpipe/state/request_state.py), so it is only a hint.
"""

from __future__ import annotations

from collections import OrderedDict

from imgpipe.state.database import RequestDocument
from imgpipe.state.request_state import RequestState

KNOWN_REQUESTS = 10_000


class KnownRequests:
    def __init__(self, capacity: int = KNOWN_REQUESTS) -> None:
        self._capacity = capacity
        self._known: OrderedDict[str, tuple[RequestDocument, RequestState]] = OrderedDict()

    def get(self, request_id: str) -> tuple[RequestDocument, RequestState] | None:
        known = self._known.get(request_id)
        if known is not None:
            self._known.move_to_end(request_id)
        return known

    def remember(self, request: RequestDocument, state: RequestState) -> None:
        self._known[request["_id"]] = (request, state)
        self._known.move_to_end(request["_id"])
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)

    def forget(self, request_id: str) -> None:
        self._known.pop(request_id, None)
