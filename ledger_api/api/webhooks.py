"""Webhook endpoints, their deliveries and the event feed (issue 12).

Management calls need no Idempotency-Key: creating answers the secret once (a replay could
not), and deleting or retrying again changes nothing more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import PrincipalDep, RuntimeDep
from ledger_api.model import webhooks as views
from ledger_api.model.fields import DeliveryId, WebhookId
from ledger_api.usecases.webhooks import WebhooksService

router = APIRouter(prefix="/v1", tags=["webhooks"])


async def get_webhooks(request: Request) -> WebhooksService:
    service: WebhooksService = request.app.state.webhooks
    return service


WebhooksDep = Annotated[WebhooksService, Depends(get_webhooks)]
EndpointId = Annotated[WebhookId, Path()]


@router.post("/webhooks", status_code=201, summary="Add an endpoint; answers its secret once")
async def create(
    body: views.WebhookCreate, who: PrincipalDep, service: WebhooksDep
) -> views.WebhookCreated:
    return await run_in_threadpool(service.create, who, body)


@router.get("/webhooks", summary="The caller's endpoints")
async def list_endpoints(who: PrincipalDep, service: WebhooksDep) -> views.WebhookList:
    return await run_in_threadpool(service.list, who)


@router.delete("/webhooks/{endpoint_id}", summary="Delete an endpoint")
async def delete(
    endpoint_id: EndpointId, who: PrincipalDep, service: WebhooksDep
) -> views.WebhookView:
    return await run_in_threadpool(service.delete, who, endpoint_id)


@router.post("/webhooks/{endpoint_id}/test", status_code=202, summary="Send a test event")
async def test(
    endpoint_id: EndpointId, who: PrincipalDep, service: WebhooksDep, runtime: RuntimeDep
) -> views.DeliveryView:
    delivery = await run_in_threadpool(service.test, who, endpoint_id)
    runtime.wake_webhooks()
    return delivery


@router.get("/webhooks/{endpoint_id}/deliveries", summary="Deliveries, newest first")
async def deliveries(
    endpoint_id: EndpointId,
    who: PrincipalDep,
    service: WebhooksDep,
    status: Annotated[
        views.DeliveryStatus | None, Query(description="only the deliveries in this status")
    ] = None,
    before: Annotated[
        str | None,
        Query(description="a page's `next_cursor`: the deliveries older than it"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> views.DeliveryList:
    """A page of the endpoint's deliveries, newest first (by event), in `status` if given:
    the dead ones to retry, the held ones of a disabled endpoint. `next_cursor`, passed as
    `before`, reads the next (older) page; null on the last. 422 `invalid_cursor` for a cursor
    that is not one."""
    return await run_in_threadpool(
        service.deliveries, who, endpoint_id, views.DeliveryQuery(status, before, limit)
    )


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Attempt a delivery again now",
)
async def retry(
    endpoint_id: EndpointId,
    delivery_id: Annotated[DeliveryId, Path()],
    who: PrincipalDep,
    service: WebhooksDep,
    runtime: RuntimeDep,
) -> views.DeliveryView:
    delivery = await run_in_threadpool(service.retry, who, endpoint_id, delivery_id)
    runtime.wake_webhooks()
    return delivery


@router.get("/events", summary="The event feed: events after a cursor, oldest first")
async def events(
    who: PrincipalDep,
    service: WebhooksDep,
    after: Annotated[str | None, Query(description="a cursor from a page")] = None,
    types: Annotated[str | None, Query(max_length=500, description="comma-separated")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> views.EventPage:
    return await run_in_threadpool(service.feed, who, after, types, limit)
