"""Enterprise accounts: bindings, unbindings and leavings the accounts sign, relayed by a brand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ledger_api.api.deps import BrandWriteDep, SigningBrandDep
from ledger_api.api.operations import ACCEPTED
from ledger_api.model import schemas
from ledger_api.model.program import (
    BindingRequest,
    BindingTypedDataRequest,
    BindingTypedDataResponse,
    LeaveRequest,
    LeaveTypedDataRequest,
    UnbindingRequest,
    UnbindingTypedDataRequest,
)
from ledger_api.usecases.enterprises import EnterprisesService

router = APIRouter(prefix="/v1/enterprises", tags=["polls and enterprises"])


async def get_enterprises(request: Request) -> EnterprisesService:
    service: EnterprisesService = request.app.state.enterprises
    return service


EnterprisesDep = Annotated[EnterprisesService, Depends(get_enterprises)]


@router.post(
    "/bindings/typed-data",
    summary="EIP-712 data the enterprise and the employee (its consent) sign to bind",
)
async def binding_typed_data(
    body: BindingTypedDataRequest, who: SigningBrandDep, service: EnterprisesDep
) -> BindingTypedDataResponse:
    return await service.binding_typed_data(who, body)


@router.post(
    "/bindings",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay a binding signed by the enterprise and consented to by the employee",
)
async def bind(
    body: BindingRequest,
    write: BrandWriteDep,
    service: EnterprisesDep,
) -> JSONResponse:
    return await write.answer(await service.bind(write.ctx, body))


@router.post("/unbindings/typed-data", summary="EIP-712 data the enterprise signs to unbind")
async def unbinding_typed_data(
    body: UnbindingTypedDataRequest, who: SigningBrandDep, service: EnterprisesDep
) -> schemas.TypedDataResponse:
    return await service.unbinding_typed_data(who, body)


@router.post(
    "/unbindings",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay an unbinding the enterprise signed",
)
async def unbind(
    body: UnbindingRequest,
    write: BrandWriteDep,
    service: EnterprisesDep,
) -> JSONResponse:
    return await write.answer(await service.unbind(write.ctx, body))


@router.post("/leaves/typed-data", summary="EIP-712 data an employee signs to leave")
async def leave_typed_data(
    body: LeaveTypedDataRequest, who: SigningBrandDep, service: EnterprisesDep
) -> schemas.TypedDataResponse:
    return await service.leave_typed_data(who, body)


@router.post(
    "/leaves",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay an employee's signed leaving (it leaves alone)",
)
async def leave(
    body: LeaveRequest,
    write: BrandWriteDep,
    service: EnterprisesDep,
) -> JSONResponse:
    return await write.answer(await service.leave(write.ctx, body))
