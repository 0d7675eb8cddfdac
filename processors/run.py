"""`imgpipe processor` and `python -m processors`: run one processor worker in this process."""

from __future__ import annotations

from imgpipe.runtime.faust_worker import run_worker
from imgpipe.storage.startup import settings_for_service
from processors.app import create_processor_app
from processors.image_memory import keep_freed_memory
from processors.variants import EncoderMissing, require_encoders


def run_processor() -> None:
    settings = settings_for_service("processor")
    try:
        require_encoders(settings.presets)
    except EncoderMissing as missing:
        # One clear line instead of a failure at the first image that asks for the preset.
        raise SystemExit(f"imgpipe processor: {missing}; remove the preset from IMGPIPE_PRESETS") from None
    keep_freed_memory()
    run_worker(create_processor_app(settings), settings.process)
