"""Enterprise account operations the accounts sign and a brand relays: binding (the
enterprise's `BindEmployee` and the employee's consent `JoinEnterprise`), unbinding (the
enterprise's `UnbindEmployee`) and leaving (the employee's `LeaveEnterprise`).

Nonces are EnterpriseAccounts' own (one sequence per address); the gateway checks each
signature against the contract's current nonce before the 202. Two requests signed with the
same nonce both pass that check while the first is in flight: the second then fails on chain
with `signature_replayed`. Whether the accounts may be bound (one enterprise per employee, no
nesting) is the contract's to decide (`enterprise_already_bound`, `enterprise_invalid_account`,
`enterprise_not_bound`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.background.intake import Accepted, Draft
from ledger_api.chain.typed_data import enterprise_typed_data
from ledger_api.domain import OpKind
from ledger_api.errors import (
    ChainRejected,
    InvalidNonce,
    NotSupported,
    SignatureExpired,
    SignatureReplayed,
)
from ledger_api.model import schemas
from ledger_api.model.payloads import (
    EnterpriseBindPayload,
    EnterpriseLeavePayload,
    EnterpriseUnbindPayload,
)
from ledger_api.model.program import (
    BindingRequest,
    BindingTypedDataRequest,
    BindingTypedDataResponse,
    LeaveRequest,
    LeaveTypedDataRequest,
    UnbindingRequest,
    UnbindingTypedDataRequest,
)

from .checks import Checks
from .context import BrandDirectory, RequestContext, draft

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime


class EnterprisesService:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.brands = BrandDirectory(runtime.db)
        self.checks = Checks(runtime)

    # ----------------------------------------------------------------- helpers

    def _nonce(self, account: str) -> int:
        contracts = self.rt.contracts()
        call = contracts.enterprise_call("nonces", account)
        assert contracts.enterprises is not None  # enterprise_call raised otherwise
        (nonce,) = contracts.enterprises["nonces"].decode(self.rt.chain().call(call.to, call.data))
        return int(nonce)

    def _document(self, primary: str, message: dict[str, Any]) -> dict[str, Any]:
        contracts = self.rt.contracts()
        if contracts.enterprises_address is None:
            raise NotSupported("the EnterpriseAccounts contract is not in the deployment manifest")
        return enterprise_typed_data(
            primary,
            chain_id=contracts.chain_id,
            enterprises=contracts.enterprises_address,
            message=message,
        )

    def _check(self, primary: str, signer: str, signature: str, message: dict[str, Any]) -> None:
        """`signer` signed `primary(message)` (`Checks.signed`: by ERC-1271 for an account with
        code), in time, with its current nonce."""
        deadline = int(message["deadline"])
        if deadline < self.checks.now():
            raise SignatureExpired(deadline=deadline)
        self.checks.deadline_in_reach(deadline)
        self.checks.signed(self._document(primary, message), signer, signature)
        current, nonce = self._nonce(signer), int(message["nonce"])
        if nonce < current:
            raise SignatureReplayed(member=signer, nonce=nonce, next_nonce=current)
        if nonce > current:
            raise InvalidNonce(member=signer, nonce=nonce, next_nonce=current)

    @staticmethod
    def _two_accounts(enterprise: str, employee: str) -> None:
        """`enterprise_invalid_account` (422) for an enterprise named as its own employee, as
        the contract refuses it: its two signatures took the same nonce, so the chain said
        `signature_replayed` instead, after the 202 (a trial)."""
        if enterprise.lower() == employee.lower():
            raise ChainRejected(
                "enterprise_invalid_account",
                "an enterprise cannot be its own employee",
                account=employee,
            )

    @staticmethod
    def _pair(enterprise: str, employee: str, nonce: int, deadline: int) -> dict[str, Any]:
        return {
            "enterprise": enterprise,
            "employee": employee,
            "nonce": nonce,
            "deadline": deadline,
        }

    # -------------------------------------------------------------- operations

    async def binding_typed_data(
        self, who: Principal, req: BindingTypedDataRequest
    ) -> BindingTypedDataResponse:
        def build() -> BindingTypedDataResponse:
            self.brands.own(who)
            self._two_accounts(req.enterprise, req.employee)
            deadline = self.checks.deadline(req.deadline)
            e_nonce, m_nonce = self._nonce(req.enterprise), self._nonce(req.employee)
            return BindingTypedDataResponse(
                enterprise_typed_data=self._document(
                    "BindEmployee", self._pair(req.enterprise, req.employee, e_nonce, deadline)
                ),
                enterprise_nonce=e_nonce,
                employee_typed_data=self._document(
                    "JoinEnterprise", self._pair(req.enterprise, req.employee, m_nonce, deadline)
                ),
                employee_nonce=m_nonce,
                deadline=deadline,
            )

        return await run_in_threadpool(build)

    async def bind(self, ctx: RequestContext, req: BindingRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self._two_accounts(req.enterprise, req.employee)
            pair = (req.enterprise, req.employee)
            self._check(
                "BindEmployee",
                req.enterprise,
                req.enterprise_signature,
                self._pair(*pair, req.enterprise_nonce, req.deadline),
            )
            self._check(
                "JoinEnterprise",
                req.employee,
                req.employee_signature,
                self._pair(*pair, req.employee_nonce, req.deadline),
            )
            payload = EnterpriseBindPayload(**req.model_dump())
            return draft(ctx, OpKind.ENTERPRISE_BIND, own, payload, member=req.employee)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    async def unbinding_typed_data(
        self, who: Principal, req: UnbindingTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            self.brands.own(who)
            deadline = self.checks.deadline(req.deadline)
            nonce = self._nonce(req.enterprise)
            message = self._pair(req.enterprise, req.employee, nonce, deadline)
            document = self._document("UnbindEmployee", message)
            return schemas.TypedDataResponse(typed_data=document, nonce=nonce, deadline=deadline)

        return await run_in_threadpool(build)

    async def unbind(self, ctx: RequestContext, req: UnbindingRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            message = self._pair(req.enterprise, req.employee, req.nonce, req.deadline)
            self._check("UnbindEmployee", req.enterprise, req.signature, message)
            payload = EnterpriseUnbindPayload(**req.model_dump())
            return draft(ctx, OpKind.ENTERPRISE_UNBIND, own, payload, member=req.employee)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    async def leave_typed_data(
        self, who: Principal, req: LeaveTypedDataRequest
    ) -> schemas.TypedDataResponse:
        def build() -> schemas.TypedDataResponse:
            self.brands.own(who)
            deadline = self.checks.deadline(req.deadline)
            nonce = self._nonce(req.employee)
            message = {"employee": req.employee, "nonce": nonce, "deadline": deadline}
            document = self._document("LeaveEnterprise", message)
            return schemas.TypedDataResponse(typed_data=document, nonce=nonce, deadline=deadline)

        return await run_in_threadpool(build)

    async def leave(self, ctx: RequestContext, req: LeaveRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            message = {"employee": req.employee, "nonce": req.nonce, "deadline": req.deadline}
            self._check("LeaveEnterprise", req.employee, req.signature, message)
            payload = EnterpriseLeavePayload(**req.model_dump())
            return draft(ctx, OpKind.ENTERPRISE_LEAVE, own, payload, member=req.employee)

        return await self.rt.intake.submit(await run_in_threadpool(check))
