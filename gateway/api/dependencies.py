"""What route functions receive: settings, database, storage and row publisher, set up once."""

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
from imgpipe.config.settings import Settings
from imgpipe.state.database import Document
from imgpipe.storage.base import ObjectStorage


@dataclass
class GatewayState:
    settings: Settings
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


def gateway_settings(request: Request) -> Settings:
    """For a route that reads only the configuration: it asks no dependency, so never answers 503."""
    return cast(GatewayState, request.app.state.gateway).settings


SettingsOnly = Annotated[Settings, Depends(gateway_settings)]
