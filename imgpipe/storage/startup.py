"""Before a service starts: the store must be usable, or the service stops with one clear line.

Settings that cannot work (a missing bucket, refused credentials) end the process at once; a
store that does not answer yet is waited for, as the broker and the database are.
"""

from __future__ import annotations

import asyncio

from imgpipe.retrying import until_available
from imgpipe.storage.base import ObjectStorage, StorageMisconfigured


def require_usable_storage(storage: ObjectStorage, service: str) -> None:
    try:
        asyncio.run(until_available(storage.check, "checking the storage"))
    except StorageMisconfigured as problem:
        raise SystemExit(f"imgpipe {service}: cannot start: {problem}") from None
