"""Where a request's objects live in storage, and the URLs clients are given.

Everything of one request is under the key prefix `<request_id>/`: the accepted input CSV with its
offset index, and the output CSV. Output images are shared by every request that produced the same
output, under their period (imgpipe/storage/output_periods.py); those of release 8261b3e (layout
1), stored before periods, under `images/<first two digits of the content name>/<content name>.jpg`
(processors/content_address.py), served and deleted still.
"""

from __future__ import annotations

OUTPUT_CSV_NAME = "output.csv"
INPUT_SPOOL_NAME = "input.csv"


CONTENT_IMAGES_PREFIX = "images"


def content_image_key(content_name: str) -> str:
    # Fanned out over 256 directories by the name's first two hex digits: on the file backend one
    # directory would hold every output ever stored, and ext4 without `large_dir` stops a
    # directory at about 10 million names.
    return f"{CONTENT_IMAGES_PREFIX}/{content_name[:2]}/{content_name}.jpg"


def output_csv_key(request_id: str) -> str:
    return f"{request_id}/{OUTPUT_CSV_NAME}"


def input_spool_key(request_id: str) -> str:
    return f"{request_id}/{INPUT_SPOOL_NAME}"


def download_url(base_url: str, request_id: str) -> str:
    return f"{base_url}/download/{request_id}"


def status_url(base_url: str, request_id: str) -> str:
    return f"{base_url}/status/{request_id}"
