"""Polls (open, signed votes relayed) and enterprise accounts; reads served from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from ledger_api.api.deps import (
    BrandWriteDep,
    MemberDep,
    PrincipalDep,
    ReaderDep,
    SigningBrandDep,
)
from ledger_api.api.operations import ACCEPTED
from ledger_api.model.fields import PathId
from ledger_api.model.program import (
    EnterpriseView,
    PollOpenRequest,
    PollView,
    VoteRequest,
    VoteTypedDataRequest,
    VoteTypedDataResponse,
)
from ledger_api.usecases.program import PollsService
from ledger_api.usecases.program_reads import ProgramReads

router = APIRouter(prefix="/v1", tags=["polls and enterprises"])
_reads = ProgramReads()


async def get_polls(request: Request) -> PollsService:
    service: PollsService = request.app.state.polls
    return service


PollsDep = Annotated[PollsService, Depends(get_polls)]
PollIdPath = Annotated[PathId, Path()]


@router.post(
    "/polls", status_code=202, responses=ACCEPTED, summary="Open a poll of the caller's brand"
)
async def open_poll(
    body: PollOpenRequest,
    write: BrandWriteDep,
    polls: PollsDep,
) -> JSONResponse:
    return await write.answer(await polls.open_poll(write.ctx, body))


@router.post("/polls/{poll_id}/votes/typed-data", summary="EIP-712 data the member signs to vote")
async def vote_typed_data(
    poll_id: PollIdPath, body: VoteTypedDataRequest, who: SigningBrandDep, polls: PollsDep
) -> VoteTypedDataResponse:
    return await polls.vote_typed_data(who, int(poll_id), body)


@router.post(
    "/polls/{poll_id}/votes",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay a member-signed vote (one per member and poll)",
)
async def vote(
    poll_id: PollIdPath,
    body: VoteRequest,
    write: BrandWriteDep,
    polls: PollsDep,
) -> JSONResponse:
    return await write.answer(await polls.vote(write.ctx, int(poll_id), body))


@router.get("/polls/{poll_id}", summary="A poll: window, eligibility and live (then final) tallies")
async def poll(poll_id: PollIdPath, who: PrincipalDep, read: ReaderDep) -> PollView:
    return await read(lambda session: _reads.poll(session, who, int(poll_id)))


@router.get(
    "/enterprises/{address}",
    summary="An enterprise account's bound employees and its own tier",
)
async def enterprise(address: MemberDep, who: PrincipalDep, read: ReaderDep) -> EnterpriseView:
    return await read(lambda session: _reads.enterprise(session, who, address))
