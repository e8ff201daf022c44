"""Settlement through the API (issue 13 item 3): deposits, positions, settling, settlements,
withdrawal transactions for the brand's treasury (`usecases.settlement`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ledger_api.api.deps import (
    AnyWriteDep,
    BrandWriteDep,
    PrincipalDep,
    ReaderDep,
    SettingsDep,
)
from ledger_api.api.operations import ACCEPTED
from ledger_api.model import settlement as model
from ledger_api.model.fields import PathId
from ledger_api.usecases.settlement import SETTLEMENTS_LISTED, SettlementService

router = APIRouter(prefix="/v1/settlement", tags=["settlement"])


async def get_settlement(request: Request) -> SettlementService:
    service: SettlementService = request.app.state.settlement
    return service


SettlementDep = Annotated[SettlementService, Depends(get_settlement)]


@router.get(
    "/deposits/{brand_id}",
    summary="A brand's vault deposit, what it must keep for its debts, its treasury, positions",
)
async def deposit_view(
    brand_id: Annotated[PathId, Path()],
    who: PrincipalDep,
    read: ReaderDep,
    settlement: SettlementDep,
) -> model.DepositView:
    await run_in_threadpool(settlement.token_if_deployed)  # a chain read, once per process
    return await read(lambda session: settlement.deposit_view(session, who, int(brand_id)))


@router.post(
    "/deposits",
    status_code=202,
    responses=ACCEPTED,
    summary="Deposit settlement tokens from the brand's signer (approves, mints on dev chains)",
)
async def deposit(
    body: model.DepositRequest,
    write: BrandWriteDep,
    settlement: SettlementDep,
    settings: SettingsDep,
) -> JSONResponse:
    accepted = await settlement.deposit(write.ctx, body, settings.wait_max_s)
    return await write.answer(accepted)


@router.post(
    "/settle",
    status_code=202,
    responses=ACCEPTED,
    summary="Settle a net position from the debtor's deposit (the creditor brand or the admin)",
)
async def settle(
    body: model.SettleRequest,
    write: AnyWriteDep,
    settlement: SettlementDep,
) -> JSONResponse:
    return await write.answer(await settlement.settle(write.ctx, body))


@router.get("/settlements", summary="Settlements, newest first (the vault's events, indexed)")
async def settlements(
    who: PrincipalDep,
    read: ReaderDep,
    settlement: SettlementDep,
    limit: Annotated[int, Query(ge=1, le=SETTLEMENTS_LISTED)] = 100,
) -> model.SettlementsView:
    return await read(lambda session: settlement.settlements(session, who, limit))


@router.post(
    "/withdrawals/transaction",
    summary="The withdrawal transaction the brand's treasury signs (the gateway never signs it)",
)
async def withdrawal_transaction(
    body: model.WithdrawalRequest, who: PrincipalDep, settlement: SettlementDep
) -> model.WithdrawalView:
    return await run_in_threadpool(lambda: settlement.withdrawal(who, body))
