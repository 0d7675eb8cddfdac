"""Small ICC profiles written from their published definitions, and the colour math to check against.

No profile file is downloaded or committed: Adobe RGB (1998), ProPhoto RGB and Display P3 are
matrix/TRC profiles defined by their primaries, white point and tone curve, and a CMYK profile is
a lookup table computed from a simple ink model. `srgb_reference` converts RGB pixels to sRGB by
the textbook formulas, independently of LittleCMS.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
Vector = tuple[float, float, float]

D65: tuple[float, float] = (0.3127, 0.3290)
D50: tuple[float, float] = (0.3457, 0.3585)
D50_XYZ: Vector = (0.9642, 1.0, 0.8249)  # the ICC profile connection space's white

BRADFORD: Matrix = (
    (0.8951, 0.2664, -0.1614),
    (-0.7502, 1.7135, 0.0367),
    (0.0389, -0.0685, 1.0296),
)


def _multiply(a: Matrix, b: Matrix) -> Matrix:
    rows = [tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3)]
    return rows[0], rows[1], rows[2]  # type: ignore[return-value]


def _apply(m: Matrix, v: Vector) -> Vector:
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


def invert(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def _xyz(xy: tuple[float, float]) -> Vector:
    x, y = xy
    return (x / y, 1.0, (1 - x - y) / y)


def rgb_to_xyz(primaries: Sequence[tuple[float, float]], white: tuple[float, float]) -> Matrix:
    """The linear RGB → XYZ matrix of a colour space (the standard derivation, as in SMPTE RP 177)."""
    columns = [_xyz(p) for p in primaries]
    unscaled: Matrix = (
        (columns[0][0], columns[1][0], columns[2][0]),
        (columns[0][1], columns[1][1], columns[2][1]),
        (columns[0][2], columns[1][2], columns[2][2]),
    )
    scale = _apply(invert(unscaled), _xyz(white))
    rows = [tuple(unscaled[r][c] * scale[c] for c in range(3)) for r in range(3)]
    return rows[0], rows[1], rows[2]  # type: ignore[return-value]


def bradford(source: tuple[float, float], target: tuple[float, float]) -> Matrix:
    """Chromatic adaptation from one white point to another."""
    cone_source, cone_target = _apply(BRADFORD, _xyz(source)), _apply(BRADFORD, _xyz(target))
    scale: Matrix = (
        (cone_target[0] / cone_source[0], 0.0, 0.0),
        (0.0, cone_target[1] / cone_source[1], 0.0),
        (0.0, 0.0, cone_target[2] / cone_source[2]),
    )
    return _multiply(invert(BRADFORD), _multiply(scale, BRADFORD))


def srgb_decode(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def srgb_encode(v: float) -> float:
    return v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


@dataclass(frozen=True)
class RgbSpace:
    name: str
    primaries: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    white: tuple[float, float]
    decode: Callable[[float], float]  # encoded value (0-1) → linear light
    gamma: float | None  # a pure power curve, or None for the sRGB curve


SRGB = RgbSpace("sRGB", ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), D65, srgb_decode, None)
ADOBE_RGB = RgbSpace(
    "Adobe RGB (1998)", ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), D65, lambda v: v ** (563 / 256), 563 / 256
)
PROPHOTO = RgbSpace(
    "ProPhoto RGB", ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)), D50, lambda v: v**1.8, 1.8
)
DISPLAY_P3 = RgbSpace("Display P3", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), D65, srgb_decode, None)


def srgb_reference(space: RgbSpace, pixels: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """`pixels` of `space` in sRGB: decode, to XYZ, adapt the white, to linear sRGB, clip, encode."""
    to_srgb = _multiply(
        invert(rgb_to_xyz(SRGB.primaries, SRGB.white)),
        _multiply(bradford(space.white, SRGB.white), rgb_to_xyz(space.primaries, space.white)),
    )
    converted = []
    for pixel in pixels:
        linear = _apply(
            to_srgb,
            (space.decode(pixel[0] / 255), space.decode(pixel[1] / 255), space.decode(pixel[2] / 255)),
        )
        r, g, b = (round(srgb_encode(min(1.0, max(0.0, v))) * 255) for v in linear)
        converted.append((r, g, b))
    return converted


# --- ICC writing (version 2.1 layout, which LittleCMS and every viewer read) ---


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: Vector) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * (4 + 4 + 2 + 1 + 67)


def _curve(space: RgbSpace) -> bytes:
    if space.gamma is not None:
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(space.gamma * 256))
    samples = [round(space.decode(i / 1023) * 65535) for i in range(1024)]
    return b"curv\0\0\0\0" + struct.pack(f">I{len(samples)}H", len(samples), *samples)


def _profile(
    device_class: bytes, colour_space: bytes, pcs: bytes, tags: Sequence[tuple[bytes, bytes]]
) -> bytes:
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        padded = data + b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + device_class
        + colour_space
        + pcs
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(_s15(v) for v in D50_XYZ)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def rgb_profile(space: RgbSpace) -> bytes:
    """A matrix/TRC display profile: colorants adapted to the D50 connection space (Bradford)."""
    to_pcs = _multiply(bradford(space.white, D50), rgb_to_xyz(space.primaries, space.white))
    colorants = [(to_pcs[0][c], to_pcs[1][c], to_pcs[2][c]) for c in range(3)]
    curve = _curve(space)
    return _profile(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", _text_description(space.name)),
            (b"wtpt", _xyz_tag(D50_XYZ)),
            (b"rXYZ", _xyz_tag(colorants[0])),
            (b"gXYZ", _xyz_tag(colorants[1])),
            (b"bXYZ", _xyz_tag(colorants[2])),
            (b"rTRC", curve),
            (b"gTRC", curve),
            (b"bTRC", curve),
            (b"cprt", b"text\0\0\0\0No copyright, use freely\0"),
        ],
    )


def gray_profile(gamma: float) -> bytes:
    """A grayscale display profile with a pure power curve (as Photoshop's "Gray Gamma 1.8" and "2.2")."""
    return _profile(
        b"mntr",
        b"GRAY",
        b"XYZ ",
        [
            (b"desc", _text_description(f"Gray Gamma {gamma}")),
            (b"wtpt", _xyz_tag(D50_XYZ)),
            (b"kTRC", b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))),
            (b"cprt", b"text\0\0\0\0No copyright, use freely\0"),
        ],
    )


# Each ink's reflectance of red, green and blue light (linear), and black's.
_INKS: tuple[Vector, ...] = ((0.05, 0.55, 0.9), (0.85, 0.1, 0.5), (0.95, 0.9, 0.08), (0.04, 0.04, 0.04))
CMYK_GRID = 9


def _cmyk_to_pcs(cmyk: Sequence[float]) -> Vector:
    """Reflected light of paper under inks (dot gain: coverage^0.7), as D50 XYZ."""
    reflectance = [1.0, 1.0, 1.0]
    for coverage, ink in zip(cmyk, _INKS, strict=True):
        for channel in range(3):
            reflectance[channel] *= 1 - coverage**0.7 * (1 - ink[channel])
    to_pcs = _multiply(bradford(D65, D50), rgb_to_xyz(SRGB.primaries, SRGB.white))
    x, y, z = _apply(to_pcs, (reflectance[0], reflectance[1], reflectance[2]))
    return x, y, z


def cmyk_profile() -> bytes:
    """An output (printer) profile with only the CMYK → PCS table (A2B0) that reading needs."""
    steps = [i / (CMYK_GRID - 1) for i in range(CMYK_GRID)]
    clut: list[int] = []
    for c in steps:
        for m in steps:
            for y in steps:
                for k in steps:
                    # XYZ in the 16-bit lut encoding: 1.0 is 0x8000.
                    clut.extend(min(0xFFFF, round(v * 0x8000)) for v in _cmyk_to_pcs((c, m, y, k)))
    identity = [round(i * 65535 / 255) for i in range(256)]
    lut = (
        b"mft2\0\0\0\0"
        + struct.pack(">BBBB", 4, 3, CMYK_GRID, 0)
        + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
        + struct.pack(">HH", 256, 2)
        + struct.pack(f">{4 * 256}H", *(identity * 4))
        + struct.pack(f">{len(clut)}H", *clut)
        + struct.pack(">6H", 0, 65535, 0, 65535, 0, 65535)
    )
    return _profile(
        b"prtr",
        b"CMYK",
        b"XYZ ",
        [
            (b"desc", _text_description("Test CMYK ink model")),
            (b"wtpt", _xyz_tag(_cmyk_to_pcs((0, 0, 0, 0)))),
            (b"A2B0", lut),
            (b"cprt", b"text\0\0\0\0No copyright, use freely\0"),
        ],
    )
