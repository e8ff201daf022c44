"""Reads of the polls and the enterprise accounts, served from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ledger_api.api.deps import MemberDep, PrincipalDep, ReaderDep
from ledger_api.model.fields import PathId
from ledger_api.model.program import EnterpriseView, PollView
from ledger_api.usecases.program_reads import ProgramReads

router = APIRouter(prefix="/v1", tags=["reads"])
_reads = ProgramReads()


@router.get("/polls/{poll_id}", summary="A poll: window, eligibility and live (then final) tallies")
async def poll(poll_id: Annotated[PathId, Path()], who: PrincipalDep, read: ReaderDep) -> PollView:
    return await read(lambda session: _reads.poll(session, who, int(poll_id)))


@router.get(
    "/enterprises/{address}",
    summary="An enterprise account's bound employees and its own tier",
)
async def enterprise(address: MemberDep, who: PrincipalDep, read: ReaderDep) -> EnterpriseView:
    return await read(lambda session: _reads.enterprise(session, who, address))
