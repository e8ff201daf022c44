"""Request and response shapes of the webhook and event-feed API (issue 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger_api.model.schemas import Model


class WebhookCreate(Model):  # unknown fields refused (422), as on every other route
    url: str = Field(max_length=2000, description="http(s) URL the events are POSTed to")
    event_types: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="event types to receive (empty: all of the caller's scope); unknown ones: "
        "422 `invalid_event_type` with the known ones in `details.known`",
        # a type the gateway knows: the generated example (`["example"]`) was refused (a trial)
        examples=[["points.earned", "operation.failed"]],
    )


class WebhookView(BaseModel):
    id: str
    url: str
    event_types: list[str]
    brand_id: int | None = Field(description="the owner's brand (null: the admin, all events)")
    status: str = Field(description="active, disabled (failing continuously) or deleted")
    disabled_reason: str | None = None
    created_at: datetime


class WebhookCreated(WebhookView):
    secret: str = Field(description="whsec_...: shown once, never again")


class WebhookList(BaseModel):
    webhooks: list[WebhookView]


class DeliveryView(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str = Field(
        description="pending, delivered, dead (retries exhausted) or held (pending for a "
        "disabled endpoint: not attempted until a retry re-enables the endpoint)"
    )
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


#: a delivery's status as listed (`held`: pending for a disabled endpoint, never stored)
DeliveryStatus = Literal["pending", "held", "delivered", "dead"]


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """A page of an endpoint's deliveries: in `status` (None: all), older than the cursor
    `before` (a page's `next_cursor`; None: from the newest), at most `limit` of them."""

    status: DeliveryStatus | None = None
    before: str | None = None
    limit: int = 100


class DeliveryList(BaseModel):
    deliveries: list[DeliveryView]
    next_cursor: str | None = Field(
        default=None, description="pass as `before` for the next (older) page; null: the last"
    )


class EventView(BaseModel):
    id: str
    type: str
    timestamp: datetime
    brands: list[int]
    data: dict[str, Any]
    cursor: str


class EventPage(BaseModel):
    events: list[EventView]
    next_cursor: str | None = Field(description="pass as `after` for the next page")
    has_more: bool = Field(
        description="more events were there after this page when it was read: read on at once; "
        "false: the feed's end for now (later events come after `next_cursor`)"
    )
