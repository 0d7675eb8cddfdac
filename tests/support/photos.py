"""Deterministic photo-like images: smooth gradients, shapes and fine grain, like a product photo.

The same seed gives the same bytes on every machine and run (the grain comes from Python's seeded
random, not Pillow's unseeded noise), so a benchmark compares like with like.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter


def photo_like_image(width: int, height: int, seed: int, image_format: str = "JPEG") -> bytes:
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    image = Image.blend(image, tint, 0.4)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(max(2, width // 12), max(3, width // 3))
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + size, y + size * rng.uniform(0.5, 1.5)), fill=color)
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    grain = grain.filter(ImageFilter.GaussianBlur(0.8)).convert("RGB")
    image = Image.blend(image, grain, 0.12)
    output = io.BytesIO()
    image.save(output, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return output.getvalue()
