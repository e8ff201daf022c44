"""Auctions of scarce rewards for points (issue 16 item 2): create, signed bids relayed, the
close of each winning bid, the refund of a winning bid left unsettled and of an escrow's points
beyond its bid; reads served from the index."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from ledger_api.api.deps import (
    BrandWriteDep,
    PrincipalDep,
    ReaderDep,
    SigningBrandDep,
)
from ledger_api.api.operations import ACCEPTED
from ledger_api.model.auctions import (
    AuctionCreateRequest,
    AuctionList,
    AuctionView,
    BidRequest,
    BidTypedDataRequest,
    BidTypedDataResponse,
    ReclaimRequest,
    SettlementRequest,
)
from ledger_api.model.fields import PathId
from ledger_api.usecases.auction_reads import AuctionReads
from ledger_api.usecases.auctions import AuctionsService

router = APIRouter(prefix="/v1/auctions", tags=["auctions"])
_reads = AuctionReads()


async def get_auctions(request: Request) -> AuctionsService:
    service: AuctionsService = request.app.state.auctions
    return service


AuctionsDep = Annotated[AuctionsService, Depends(get_auctions)]
AuctionIdPath = Annotated[PathId, Path()]


@router.post("", status_code=202, responses=ACCEPTED, summary="Create an auction of the brand")
async def create_auction(
    body: AuctionCreateRequest,
    write: BrandWriteDep,
    auctions: AuctionsDep,
) -> JSONResponse:
    return await write.answer(await auctions.create(write.ctx, body))


@router.post(
    "/{auction_id}/bids/typed-data",
    summary="EIP-712 data the member signs to bid: a ledger Gift to its escrow",
)
async def bid_typed_data(
    auction_id: AuctionIdPath,
    body: BidTypedDataRequest,
    who: SigningBrandDep,
    auctions: AuctionsDep,
) -> BidTypedDataResponse:
    return await auctions.bid_typed_data(who, int(auction_id), body)


@router.post(
    "/{auction_id}/bids",
    status_code=202,
    responses=ACCEPTED,
    summary="Relay a member-signed bid (its points go to its escrow)",
)
async def bid(
    auction_id: AuctionIdPath,
    body: BidRequest,
    write: BrandWriteDep,
    auctions: AuctionsDep,
) -> JSONResponse:
    return await write.answer(await auctions.bid(write.ctx, int(auction_id), body))


@router.post(
    "/{auction_id}/settlements",
    status_code=202,
    responses=ACCEPTED,
    summary="Close a winning bid: its next step (auction_redeem, then auction_settle)",
)
async def settle(
    auction_id: AuctionIdPath,
    body: SettlementRequest,
    write: BrandWriteDep,
    auctions: AuctionsDep,
) -> JSONResponse:
    return await write.answer(await auctions.settle(write.ctx, int(auction_id), body))


@router.post(
    "/{auction_id}/cancellations",
    status_code=202,
    responses=ACCEPTED,
    summary="Refund a winning bid still unsettled a week after the end (auction_cancel)",
)
async def cancel(
    auction_id: AuctionIdPath,
    body: SettlementRequest,
    write: BrandWriteDep,
    auctions: AuctionsDep,
) -> JSONResponse:
    return await write.answer(await auctions.cancel(write.ctx, int(auction_id), body))


@router.post(
    "/{auction_id}/reclaims",
    status_code=202,
    responses=ACCEPTED,
    summary="Return an escrow's points of a brand beyond its bid (auction_reclaim)",
)
async def reclaim(
    auction_id: AuctionIdPath,
    body: ReclaimRequest,
    write: BrandWriteDep,
    auctions: AuctionsDep,
) -> JSONResponse:
    return await write.answer(await auctions.reclaim(write.ctx, int(auction_id), body))


@router.post(
    "/{auction_id}/issuances",
    status_code=202,
    responses=ACCEPTED,
    summary="Issue a won badge its winner's wallet refused at the settlement (auction_issue_won)",
)
async def issue_won(
    auction_id: AuctionIdPath,
    body: SettlementRequest,
    write: BrandWriteDep,
    auctions: AuctionsDep,
) -> JSONResponse:
    return await write.answer(await auctions.issue_won(write.ctx, int(auction_id), body))


@router.get("", summary="Auctions (open by default), newest first, with their bids")
async def auctions_list(
    who: PrincipalDep,
    read: ReaderDep,
    status: Annotated[Literal["open", "ended", "all"], Query()] = "open",
) -> AuctionList:
    return await read(lambda session: _reads.auctions(session, who, status))


@router.get("/{auction_id}", summary="An auction: terms, bids by value, winners once ended")
async def auction(auction_id: AuctionIdPath, who: PrincipalDep, read: ReaderDep) -> AuctionView:
    return await read(lambda session: _reads.auction(session, who, int(auction_id)))
