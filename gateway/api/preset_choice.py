"""The presets an upload asks for, by name, from those the configuration defines."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.api.errors import ApiError
from imgpipe.contract.presets import Preset


def chosen_presets(fields: Sequence[str], known: Sequence[Preset]) -> list[Preset]:
    """The presets named by the upload's `presets` fields, each a name or names separated by
    commas (`presets=thumb,large` or the field twice, as the web page's checkboxes send it), in
    the order first named; a name given twice counts once."""
    by_name = {preset.name: preset for preset in known}
    names = list(dict.fromkeys(name.strip() for field in fields for name in field.split(",") if name.strip()))
    unknown = [name for name in names if name not in by_name]
    if unknown:
        listed = ", ".join(by_name) or "none are configured"
        raise ApiError(
            400,
            "unknown_preset",
            f"unknown preset(s) {', '.join(repr(name[:40]) for name in unknown)}; known presets: {listed}",
            known=list(by_name),
        )
    return [by_name[name] for name in names]


def refuse_parameters_beside_presets(quality: str | None) -> None:
    """With IMGPIPE_ONLY_PRESETS an upload may only name presets, as imgproxy's only-presets mode:
    the output of every request is then what the operator configured."""
    if quality is not None:
        raise ApiError(
            400,
            "only_presets",
            "this deployment allows only its presets: leave out `quality` and name presets instead",
        )
