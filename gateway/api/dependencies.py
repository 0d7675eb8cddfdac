"""What route functions receive: the parts of the settings the API reads, database, storage and
row publisher, set up once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request
from pymongo.asynchronous.database import AsyncDatabase

from gateway.api.api_keys import ApiKeys
from gateway.api.upload_rate import UploadRate
from gateway.publishing.row_publisher import RowPublisher
from gateway.publishing.unfinished_work import UnfinishedWork
from imgpipe.config.settings import ImageSettings, LifecycleSettings, UploadLimits
from imgpipe.state.database import Document
from imgpipe.storage.base import ObjectStorage


@dataclass
class GatewayState:
    images: ImageSettings  # the JPEG quality and the presets an upload may name
    limits: UploadLimits
    lifecycle: LifecycleSettings  # when a request counts as stalled, and when it expires
    base_url: str  # of the URLs handed to clients
    db: AsyncDatabase[Document]
    producer: AIOKafkaProducer
    publisher: RowPublisher
    api_keys: ApiKeys
    storage: ObjectStorage
    unfinished: UnfinishedWork
    upload_rate: UploadRate


def gateway_state(request: Request) -> GatewayState:
    return cast(GatewayState, request.app.state.gateway)


State = Annotated[GatewayState, Depends(gateway_state)]


def image_settings(request: Request) -> ImageSettings:
    """For a route that reads only the configuration: it asks no dependency, so never answers 503."""
    return cast(GatewayState, request.app.state.gateway).images


ImageSettingsOnly = Annotated[ImageSettings, Depends(image_settings)]
