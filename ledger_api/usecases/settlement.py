"""Settlement through the API (issue 13 item 3): deposits, settling a position, withdrawals.

The rules are the SettlementVault's (issue 10): a deposit is collateral; `settle(debtor,
creditor)` pays the net position in whole token units, for what they are worth, from the
debtor's deposit to the creditor's and clears that much of the position on the ledger (what
is worth less than a unit stays owed: `payable`); only the brand's
treasury key withdraws, never below what the brand owes (`requiredDeposit`).

- **Deposit** (brand key): the brand's signer deposits. Before the deposit it needs the tokens
  and the vault's allowance: on a development chain (the manifest's `TestUSD` is the vault's
  token) it mints what it lacks; elsewhere a short balance is `insufficient_tokens` (the brand
  funds its signer). An allowance short of the amount is raised first by an `approve` of the
  amount. Those steps are operations of their own, queued under the request's
  Idempotency-Key with the suffixes `#mint` and `#approve`, and the route waits for each to be
  confirmed before it queues the deposit (a retry with the same key replays them). One deposit
  of a brand at a time: while a step of another is queued or submitted, a new one is refused
  with `deposit_in_progress` (409) before it reads the funds, and again by the intake, which
  also refuses a step when another deposit's step was stored after that read
  (`background/deposit_flow.py`: an `approve` sets the allowance, so two in flight failed).
- **Settle**: a brand key settles what is owed to its own brand (its signer calls the vault);
  the admin key settles any pair (the admin's key, or the multisig's transaction in the answer).
- **Withdrawal**: the gateway holds no treasury key, so it queues nothing: the answer is the
  transaction the treasury signs and sends (`{"to", "data", "value", "chain_id"}`, as the
  multisig admin's `admin_transaction`), after the checks the vault makes.

Reads come from the index (`idx_vault_brands`, `idx_positions`, `idx_settlements`); the token
and its units per USD are the vault's immutables, read from the chain once.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.access.audit import AuditAction, note
from ledger_api.background.deposit_flow import (
    DepositClaim,
    claim_funds_read,
    other_deposit_step,
)
from ledger_api.background.intake import Accepted, Draft
from ledger_api.background.multisig import admin_transaction
from ledger_api.chain.abi import checksum
from ledger_api.db.models import (
    IdempotencyRecord,
    IdxBrand,
    IdxPosition,
    IdxSettlement,
    IdxVaultBrand,
    Signer,
)
from ledger_api.domain import OpKind, OpStatus, utc_datetime
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import (
    BrandForbidden,
    ChainRejected,
    DepositBacksDebt,
    DepositInProgress,
    InsufficientDeposit,
    InsufficientTokens,
    InvalidRequest,
    NothingToSettle,
    NotSupported,
    SettlementBelowOneUnit,
    TreasuryNotSet,
    Unavailable,
    UnknownBrand,
)
from ledger_api.model import settlement as model
from ledger_api.model.payloads import (
    SettlementDepositPayload,
    SettlePayload,
    TokenApprovePayload,
    TokenMintPayload,
)
from ledger_api.model.schemas import PositionView

from .context import BrandDirectory, BrandInfo, RequestContext, draft, refuse_while_paused
from .reads import ReadsService

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime
    from ledger_api.usecases.status import StatusService

SETTLEMENTS_LISTED = 1000


def to_units(value_micro_usd: int, units_per_usd: int) -> int:
    """Micro-USD to token units rounded up: what a debt needs in the deposit behind it (the
    vault's `requiredDeposit`)."""
    return -(-value_micro_usd * units_per_usd // 1_000_000)


def payable(owed_micro_usd: int, units_per_usd: int) -> tuple[int, int]:
    """What the vault's `settle` pays of a debt: (value settled in micro-USD, token units).

    Whole units for what they are worth: the units the debt holds rounded down, the value they
    are worth rounded down, then the fewest units worth that value. (0, 0) below one unit
    (the vault's `VaultBelowOneUnit`); the rest of the debt stays owed."""
    whole = owed_micro_usd * units_per_usd // 1_000_000
    value = whole * 1_000_000 // units_per_usd
    return value, to_units(value, units_per_usd)


def owed_by(session: Session, brand: int) -> list[PositionView]:
    """The brand's open net positions (as debtor or creditor) from the index."""
    rows = session.scalars(
        select(IdxPosition)
        .where(or_(IdxPosition.brand_lo == brand, IdxPosition.brand_hi == brand))
        .where(IdxPosition.amount_micro_usd != "0")
        .order_by(IdxPosition.brand_lo, IdxPosition.brand_hi)
    )
    found = []
    for row in rows:
        amount = row.amount_micro_usd
        debtor, creditor = (
            (row.brand_lo, row.brand_hi) if amount > 0 else (row.brand_hi, row.brand_lo)
        )
        found.append(
            PositionView(
                debtor_brand_id=debtor, creditor_brand_id=creditor, amount_micro_usd=abs(amount)
            )
        )
    return found


#: a deposit's preparing steps, by the suffix of their Idempotency-Key
_STEPS = {OpKind.TOKEN_MINT: "mint", OpKind.TOKEN_APPROVE: "approve"}


def _sub_key(key: str, step: str) -> str:
    """The Idempotency-Key of a deposit's preparing step (`#mint`, `#approve`)."""
    sub = f"{key}#{step}"
    return sub if len(sub) <= 255 else hashlib.sha256(sub.encode()).hexdigest() + f"#{step}"


class SettlementService:
    def __init__(self, runtime: Runtime, status: StatusService) -> None:
        self.rt = runtime
        self.status = status
        self.brands = BrandDirectory(runtime.db)
        self._token: model.TokenView | None = None

    # -------------------------------------------------------------------- token

    def token(self) -> model.TokenView:
        """The vault's token and units per USD (immutable: read from the chain once);
        `NotSupported` when no vault is deployed."""
        if self._token is None:
            contracts = self.rt.contracts()
            call = contracts.vault_call("token")
            assert contracts.vault is not None
            answer = self.rt.chain().call(call.to, call.data)
            address, units = contracts.vault["token"].decode(answer)
            address = checksum(address)
            self._token = model.TokenView(
                address=address,
                units_per_usd=int(units),
                mintable=address == contracts.test_token_address,
            )
        return self._token

    def token_if_deployed(self) -> model.TokenView | None:
        """The token, or None when the deployment has no vault (positions are then cleared
        off chain by the admin)."""
        return self.token() if self.rt.contracts().vault is not None else None

    def _token_read(self, function: str, *args: object) -> int:
        contracts = self.rt.contracts()
        call = contracts.token_call(self.token().address, function, *args)
        (value,) = contracts.token[function].decode(self.rt.chain().call(call.to, call.data))
        return int(value)

    # -------------------------------------------------------------------- reads

    def deposit_view(self, session: Session, who: Principal, brand: int) -> model.DepositView:
        if not who.is_admin and who.ledger_brand_id != brand:
            raise BrandForbidden("a brand key reads its own deposit only")
        as_of, _ = ReadsService._as_of(session)
        token = self.token_if_deployed()
        positions = owed_by(session, brand)
        row = session.get(IdxVaultBrand, brand)
        if row is None and not positions and not _known_brand(session, brand):
            raise UnknownBrand(brand_id=brand)
        deposit = row.deposit if row else 0
        required = _required(positions, brand, token.units_per_usd) if token else 0
        return model.DepositView(
            brand_id=brand,
            deposit_units=str(deposit),
            required_units=str(required),
            withdrawable_units=str(max(0, deposit - required)),
            deposited_units=str(row.deposited if row else 0),
            withdrawn_units=str(row.withdrawn if row else 0),
            treasury=row.treasury if row else None,
            positions=positions,
            token=token,
            as_of=as_of,
        )

    def settlements(self, session: Session, who: Principal, limit: int) -> model.SettlementsView:
        """Settlements newest first; a brand key sees those its brand is part of."""
        as_of, _ = ReadsService._as_of(session)
        query = select(IdxSettlement)
        if not who.is_admin:
            brand = who.ledger_brand_id or -1
            query = query.where(or_(IdxSettlement.debtor == brand, IdxSettlement.creditor == brand))
        rows = session.scalars(
            query.order_by(IdxSettlement.block_number.desc(), IdxSettlement.log_index.desc()).limit(
                min(limit, SETTLEMENTS_LISTED)
            )
        )
        return model.SettlementsView(
            settlements=[
                model.SettlementView(
                    debtor_brand_id=r.debtor,
                    creditor_brand_id=r.creditor,
                    value_micro_usd=str(r.value_micro_usd),
                    token_amount=str(r.token_amount),
                    tx_hash=r.tx_hash,
                    block_number=r.block_number,
                    settled_at=utc_datetime(r.timestamp),
                )
                for r in rows
            ],
            as_of=as_of,
        )

    # ------------------------------------------------------------------ deposit

    async def deposit(
        self, ctx: RequestContext, req: model.DepositRequest, wait_s: float
    ) -> Accepted:
        """Queues the deposit once the signer holds the tokens and the allowance (see the
        module's docstring); `insufficient_tokens` on a chain where nobody may mint,
        `deposit_in_progress` while another deposit of the brand is not final."""
        own = await run_in_threadpool(lambda: self.brands.own(ctx.principal))
        brand = own.onboarded()
        signer, balance, allowance, claim = await run_in_threadpool(
            lambda: self._signer_funds(ctx, own)
        )
        token = self.token()
        amount = req.amount_units
        if balance < amount:
            if not token.mintable:
                raise InsufficientTokens(
                    signer=signer, token=token.address, balance=str(balance), needed=str(amount)
                )
            mint = TokenMintPayload(token=token.address, to=signer, amount=str(amount - balance))
            claim = await self._prepare(ctx, own, OpKind.TOKEN_MINT, mint, claim, wait_s)
        if allowance < amount:
            vault = self.rt.contracts().vault_address
            assert vault is not None
            approve = TokenApprovePayload(token=token.address, spender=vault, amount=str(amount))
            claim = await self._prepare(ctx, own, OpKind.TOKEN_APPROVE, approve, claim, wait_s)
        payload = SettlementDepositPayload(brand=brand, amount=str(amount))
        return await self.rt.intake.submit(
            draft(ctx, OpKind.SETTLEMENT_DEPOSIT, own, payload, deposit=claim)
        )

    def _signer_funds(
        self, ctx: RequestContext, own: BrandInfo
    ) -> tuple[str, int, int, DepositClaim]:
        """The brand's signer, its token balance and the vault's allowance from it, read while
        no other deposit of the brand is in flight (`DepositInProgress` 409 otherwise: its
        balance and allowance would be about to change), with what the read saw (the intake
        checks again: `background/deposit_flow.py`)."""
        keys = [ctx.idempotency_key, *(_sub_key(ctx.idempotency_key, s) for s in _STEPS.values())]
        with self.rt.db.read() as session:
            # before the token's mint and approval, which the pause does not stop (a request
            # stored before it gets its answer from the intake)
            if session.get(IdempotencyRecord, (ctx.principal.scope, ctx.idempotency_key)) is None:
                refuse_while_paused(session, "the vault takes no deposit")
            claim = claim_funds_read(session.connection(), ctx.principal.scope, keys)
            busy = other_deposit_step(session.connection(), own.row_id, claim=claim)
            if busy is not None:
                raise DepositInProgress(operation_id=busy)
            signer = session.scalar(
                select(Signer.address)
                .where(Signer.brand_id == own.row_id, Signer.active.is_(True))
                .order_by(Signer.id.desc())
            )
        if signer is None:
            raise UnknownBrand("the brand has no signer")
        vault = self.rt.contracts().vault_address
        return (
            signer,
            self._token_read("balanceOf", signer),
            self._token_read("allowance", signer, vault),
            claim,
        )

    async def _prepare(
        self,
        ctx: RequestContext,
        own: BrandInfo,
        kind: OpKind,
        payload: TokenMintPayload | TokenApprovePayload,
        claim: DepositClaim,
        wait_s: float,
    ) -> DepositClaim:
        """Queues a preparing step under its own key and waits until it is confirmed; the
        claim with that step among the deposit's own."""
        step = _STEPS[kind]
        sub = replace(ctx, idempotency_key=_sub_key(ctx.idempotency_key, step))
        accepted = await self.rt.intake.submit(draft(sub, kind, own, payload, deposit=claim))
        assert accepted.operation_uid is not None
        final = await self.status.status(ctx.principal, accepted.operation_uid, wait_s)
        if final.status == OpStatus.FAILED.value and final.error is not None:
            raise ChainRejected(
                final.error.code,
                f"the deposit's {step} step failed: {final.error.message}",
                operation_id=final.operation_id,
            )
        if final.status != OpStatus.CONFIRMED.value:
            raise Unavailable(
                f"the deposit's {step} step is not confirmed yet: retry with the same "
                "Idempotency-Key",
                operation_id=final.operation_id,
            )
        return claim.with_step(accepted.operation_uid)

    # ------------------------------------------------------------------- settle

    async def settle(self, ctx: RequestContext, req: model.SettleRequest) -> Accepted:
        def check() -> Draft:
            who = ctx.principal
            own = None if who.is_admin else self.brands.own(who)
            if own is not None:
                creditor = own.onboarded()
                if req.creditor not in (None, creditor):
                    raise BrandForbidden("a brand settles what is owed to its own brand")
            elif req.creditor is None:  # a field left out, not a right missing (a trial: 403)
                raise InvalidRequest("creditor: the admin key names both brands", field="creditor")
            else:
                creditor = LedgerBrandId(req.creditor)
            debtor = LedgerBrandId(req.debtor)
            if debtor == creditor:  # never owed: a request's shape (a trial: 409 nothing owed)
                raise InvalidRequest("debtor: a brand owes itself nothing", field="debtor")
            with self.rt.db.read() as session:
                self._check_settleable(session, debtor, creditor)
            payload = SettlePayload(debtor=debtor, creditor=creditor)
            audit = None  # the admin's settling is audited; a creditor's is its own operation
            if who.is_admin:
                action = AuditAction.SETTLEMENT_REQUESTED
                pair = {"debtor": int(debtor), "creditor": int(creditor)}
                audit = note(who, action, target=f"{debtor}->{creditor}", **pair)
            return draft(ctx, OpKind.SETTLE, own, payload, audit=audit)

        prepared = await run_in_threadpool(check)
        accepted = await self.rt.intake.submit(prepared)
        if prepared.brand_row_id is not None or self.rt.settings.admin_signs:
            return accepted
        transaction = admin_transaction(self.rt.contracts(), prepared.payload)
        return replace(accepted, body={**accepted.body, "admin_transaction": transaction})

    def _check_settleable(self, session: Session, debtor: int, creditor: int) -> None:
        """What the vault would refuse, read from the index: a brand the ledger never had
        (404 `unknown_brand`, as the deposit and liability reads; it said nothing owed, a
        trial), nothing owed, a debt worth less than one token unit, a short deposit."""
        for brand in (debtor, creditor):
            if not _known_brand(session, brand):
                raise UnknownBrand(brand_id=brand)
        lo, hi = min(debtor, creditor), max(debtor, creditor)
        row = session.get(IdxPosition, (lo, hi)) if debtor != creditor else None
        amount = row.amount_micro_usd if row else 0
        owed = amount if debtor == lo else -amount
        if owed <= 0:
            raise NothingToSettle(debtor=debtor, creditor=creditor, owed_micro_usd=max(owed, 0))
        units_per_usd = self.token().units_per_usd
        value, units = payable(owed, units_per_usd)
        if value == 0:
            raise SettlementBelowOneUnit(
                debtor=debtor,
                creditor=creditor,
                owed_micro_usd=owed,
                units_per_usd=units_per_usd,
            )
        vault = session.get(IdxVaultBrand, debtor)
        deposit = vault.deposit if vault else 0
        if deposit < units:
            raise InsufficientDeposit(
                brand_id=debtor, deposit_units=str(deposit), needed_units=str(units)
            )

    # --------------------------------------------------------------- withdrawal

    def withdrawal(self, who: Principal, req: model.WithdrawalRequest) -> model.WithdrawalView:
        """The treasury's transaction, after the vault's own checks (from the index)."""
        if who.is_admin:
            if req.brand_id is None:
                raise BrandForbidden("the admin names the brand (brand_id)")
            brand = req.brand_id
        else:
            brand = self.brands.own(who).onboarded()
            if req.brand_id not in (None, brand):
                raise BrandForbidden("a brand key withdraws from its own deposit only")
        with self.rt.db.read() as session:
            view = self.deposit_view(session, who, brand)
            if view.token is None:
                raise NotSupported("no SettlementVault in the deployment manifest")
            refuse_while_paused(session, "the vault's withdraw would revert")
        if view.treasury is None:
            raise TreasuryNotSet(brand_id=brand)
        deposit, withdrawable = int(view.deposit_units), int(view.withdrawable_units)
        if deposit < req.amount_units:
            raise InsufficientDeposit(
                brand_id=brand, deposit_units=str(deposit), needed_units=str(req.amount_units)
            )
        if withdrawable < req.amount_units:
            raise DepositBacksDebt(
                brand_id=brand, deposit_units=str(deposit), required_units=view.required_units
            )
        contracts = self.rt.contracts()
        call = contracts.vault_call("withdraw", brand, req.amount_units, req.to)
        return model.WithdrawalView(
            brand_id=brand,
            treasury=view.treasury,
            amount_units=str(req.amount_units),
            to=req.to,
            transaction=model.TransactionView(
                to=call.to, data="0x" + call.data.hex(), value="0", chain_id=contracts.chain_id
            ),
            deposit_units=view.deposit_units,
            withdrawable_units=view.withdrawable_units,
        )


def _required(positions: list[PositionView], brand: int, units_per_usd: int) -> int:
    """The vault's `requiredDeposit`: each debt of `brand` in token units, rounded up."""
    return sum(
        to_units(p.amount_micro_usd, units_per_usd) for p in positions if p.debtor_brand_id == brand
    )


def _known_brand(session: Session, brand: int) -> bool:
    return session.get(IdxBrand, brand) is not None
