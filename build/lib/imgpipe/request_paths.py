"""Where a request's files live: everything of one request is under processed_images/<request_id>/."""

from __future__ import annotations

from pathlib import Path

OUTPUT_CSV_NAME = "output.csv"


def request_dir(processed_images_dir: Path, request_id: str) -> Path:
    return processed_images_dir / request_id


def output_csv_path(processed_images_dir: Path, request_id: str) -> Path:
    return request_dir(processed_images_dir, request_id) / OUTPUT_CSV_NAME


def image_url(base_url: str, request_id: str, file_name: str) -> str:
    return f"{base_url}/processed_images/{request_id}/{file_name}"


def download_url(base_url: str, request_id: str) -> str:
    return f"{base_url}/download/{request_id}"


def status_url(base_url: str, request_id: str) -> str:
    return f"{base_url}/status/{request_id}"
