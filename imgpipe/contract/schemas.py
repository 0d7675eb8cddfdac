"""The published JSON Schemas of imgpipe's topics, generated from the message models.

`python -m imgpipe.contract` rewrites schemas/; a test fails when the committed files drift from
the models, so consumers in any language can rely on them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from imgpipe.contract.topics import TOPICS

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"

TOPIC_MODELS: dict[str, type[BaseModel]] = {topic.name: topic.model for topic in TOPICS}


def schema_path(topic: str) -> Path:
    return SCHEMAS_DIR / f"{topic}.schema.json"


def render_schema(topic: str) -> str:
    schema = TOPIC_MODELS[topic].model_json_schema(mode="serialization")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{topic}.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas() -> list[Path]:
    SCHEMAS_DIR.mkdir(exist_ok=True)
    written = []
    for topic in TOPIC_MODELS:
        path = schema_path(topic)
        path.write_text(render_schema(topic))
        written.append(path)
    return written
