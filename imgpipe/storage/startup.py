"""Before a service starts: its settings must be valid and its store usable, or it stops with one
clear line on stderr, not a traceback.

Settings that cannot work (a missing bucket, refused credentials) end the process at once; a
store that does not answer yet is waited for, as the broker and the database are.

`python -m imgpipe.storage.startup` checks once and prints `ok`, `unavailable: …` or
`misconfigured: …`: devstack waits for a new S3 server with it, in a process of its own.

Both leave with os._exit: obstore 0.12.1 can abort the interpreter's teardown (exit status 134)
once one of its errors was caught (docs/architecture.md, Notes), which would hide the exit status.
"""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import ValidationError

from imgpipe.config.settings import Settings, get_settings
from imgpipe.runtime.retrying import until_available
from imgpipe.storage.base import ObjectStorage, StorageMisconfigured, StorageUnavailable
from imgpipe.storage.factory import open_storage


def _leave(line: str, status: int) -> None:
    print(line, file=sys.stderr if status else sys.stdout, flush=True)
    os._exit(status)


def require_usable_storage(storage: ObjectStorage, service: str) -> None:
    try:
        asyncio.run(until_available(storage.check, "checking the storage"))
    except StorageMisconfigured as problem:
        _leave(f"imgpipe {service}: cannot start: {problem}", 1)


def settings_for_service(service: str) -> Settings:
    """The settings `service` starts with, once they are valid and the store they name is usable."""
    try:
        settings = get_settings()
    except ValidationError as invalid:
        problems = "; ".join(
            f"IMGPIPE_{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in invalid.errors()
        )
        raise SystemExit(f"imgpipe {service}: invalid settings: {problems}") from None
    require_usable_storage(open_storage(settings.storage, settings.base_url), service)
    return settings


def main() -> None:
    try:
        settings = Settings()
        asyncio.run(open_storage(settings.storage, settings.base_url).check())
    except StorageUnavailable as problem:
        _leave(f"unavailable: {problem}", 2)
    except StorageMisconfigured as problem:
        _leave(f"misconfigured: {problem}", 1)
    _leave("ok", 0)


if __name__ == "__main__":
    main()
