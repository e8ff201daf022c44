"""Response schemas of the program's reads beside the ledger: polls and enterprise accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ledger_api.model.fields import Deadline, EligibilityRef, Nonce, Signature
from ledger_api.model.schemas import Address, AsOf, Model


class PollView(Model):
    """A poll of AlliancePolls as the index knows it; tallies are live until `ends_at`."""

    poll_id: int
    brand_id: int = Field(description="0: opened by the alliance's admin")
    opener: str
    content_hash: str = Field(
        description="keccak-256 binding the question and options kept off chain"
    )
    option_count: int
    opened_at: datetime = Field(
        description="eligibility is fixed at this second (held strictly before it)"
    )
    starts_at: datetime
    ends_at: datetime
    eligibility: Literal["min_tier", "badge"]
    eligibility_ref: str = Field(
        description="the lowest tier (1-3) or the achievement badge type id"
    )
    status: Literal["scheduled", "open", "closed"]
    final: bool = Field(description="true from `ends_at`: the tallies no longer change")
    tallies: list[int] = Field(description="votes per option, option 0 first")
    votes: int
    as_of: AsOf


class EnterpriseView(Model):
    """An enterprise account: its bound employees (addresses only) and its own tier."""

    address: str
    employees: list[str]
    employee_count: int
    tier: int | None = Field(
        description="the enterprise's own tier on the ledger (None: no tier yet)"
    )
    enterprise_of: str | None = Field(
        description="when `address` is itself an employee: the enterprise it is bound to"
    )
    as_of: AsOf


class PollOpenRequest(Model):
    """A poll of the caller's brand; the question and option texts stay with the brand."""

    content_hash: str = Field(
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description="keccak-256 of the question and options as the brand publishes them",
    )
    option_count: int = Field(strict=True, ge=2, le=32)
    starts_at: int = Field(
        strict=True, ge=0, le=2**40 - 1, description="unix seconds (UTC), now or later"
    )
    ends_at: int = Field(
        strict=True, ge=1, le=2**40 - 1, description="unix seconds; at most 90 days after"
    )
    eligibility: Literal["min_tier", "badge"]
    eligibility_ref: EligibilityRef = Field(
        description="the lowest tier (1-3; else invalid_tier), or an achievement type id"
    )


class VoteTypedDataRequest(Model):
    voter: Address
    option: int = Field(strict=True, ge=0, le=31, description="0-based")
    deadline: Deadline | None = None


class VoteRequest(Model):
    voter: Address
    option: int = Field(strict=True, ge=0, le=31, description="0-based")
    deadline: Deadline
    signature: Signature


class VoteTypedDataResponse(Model):
    typed_data: dict[str, Any]
    deadline: int


class BindingTypedDataRequest(Model):
    enterprise: Address
    employee: Address
    deadline: Deadline | None = None


class BindingTypedDataResponse(Model):
    """Two documents: the enterprise signs `BindEmployee`, the employee its consent
    (`JoinEnterprise`); each with its own nonce."""

    enterprise_typed_data: dict[str, Any]
    enterprise_nonce: int
    employee_typed_data: dict[str, Any]
    employee_nonce: int
    deadline: int


class BindingRequest(Model):
    enterprise: Address
    employee: Address
    deadline: Deadline
    enterprise_nonce: Nonce
    enterprise_signature: Signature
    employee_nonce: Nonce
    employee_signature: Signature


class UnbindingTypedDataRequest(Model):
    enterprise: Address
    employee: Address
    deadline: Deadline | None = None


class UnbindingRequest(Model):
    enterprise: Address
    employee: Address
    nonce: Nonce
    deadline: Deadline
    signature: Signature


class LeaveTypedDataRequest(Model):
    employee: Address
    deadline: Deadline | None = None


class LeaveRequest(Model):
    employee: Address
    nonce: Nonce
    deadline: Deadline
    signature: Signature
