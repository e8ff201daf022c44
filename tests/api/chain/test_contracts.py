"""Calldata and event decoding agree with the generic ABI codec."""

from __future__ import annotations

import json
import secrets
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from support.chain import BUILD

from ledger_api.chain.abi import ContractCodec, FunctionCodec, Log
from ledger_api.chain.contracts import Contracts, EarnOpArgs
from ledger_api.chain.manifest import Manifest
from ledger_api.chain.typed_data import gift_typed_data, recover_signer, sign_typed_data


def contracts() -> Contracts:
    ledger = json.loads((BUILD / "AllianceLedger.json").read_text())["abi"]
    badges = json.loads((BUILD / "AllianceBadges.json").read_text())["abi"]
    auctions = json.loads((BUILD / "AllianceAuctions.json").read_text())["abi"]
    return Contracts(
        Manifest.from_json(
            {
                "chain_id": 31337,
                "admin": "0x" + "11" * 20,
                "contracts": {
                    "AllianceLedger": {"address": "0x" + "22" * 20, "abi": ledger},
                    "AllianceBadges": {"address": "0x" + "33" * 20, "abi": badges},
                    "AllianceAuctions": {"address": "0x" + "44" * 20, "abi": auctions},
                },
            }
        )
    )


def test_earn_batch_calldata_matches_the_abi_encoder() -> None:
    codec = contracts()
    ops = [
        EarnOpArgs(
            i * 7 + 1, Account.create().address, i % 5, 100 + i, i * 1_000, secrets.token_bytes(32)
        )
        for i in range(60)
    ]
    fast = codec.earn_batch(ops).data
    generic = codec.ledger["earnBatch"].encode([op.as_tuple() for op in ops])
    assert fast == generic


def test_return_values_carry_every_address_in_eip55_form() -> None:
    """eth_abi decodes addresses in lower case; the gateway's views answer the checksum form
    (a new user's trial found the bid typed data's `escrow` in lower case): top-level, in
    arrays and in tuples, every other value as eth_abi decodes it."""
    auctions = ContractCodec(json.loads((BUILD / "AllianceAuctions.json").read_text())["abi"])
    vault = ContractCodec(json.loads((BUILD / "SettlementVault.json").read_text())["abi"])
    one, two = Account.create().address, Account.create().address
    assert auctions["escrowOf"].decode(encode(["address"], [one.lower()])) == (one,)
    held = auctions["heldBidders"].decode(encode(["address[]"], [[one.lower(), two.lower()]]))
    assert held == ((one, two),)
    assert vault["token"].decode(encode(["address", "uint256"], [one, 10**6])) == (one, 10**6)
    badges = ContractCodec(json.loads((BUILD / "AllianceBadges.json").read_text())["abi"])
    domain = badges["eip712Domain"]
    raw = (b"\x0f", "AllianceBadges", "1", 31337, two.lower(), bytes(32), (1, 2))
    assert domain.decode(encode(list(domain.output_types), raw)) == (*raw[:4], two, *raw[5:])
    nested = FunctionCodec("nested", bytes(4), (), ("(address,uint256)[]", "(bool,address[])"))
    value = [(one.lower(), 1), (two.lower(), 2)], (True, [two.lower()])
    answer = nested.decode(encode(list(nested.output_types), value))
    assert answer == (((one, 1), (two, 2)), (True, (two,)))


def test_points_earned_log_decodes_like_eth_abi() -> None:
    codec = contracts()
    member = Account.create().address
    topic = keccak(
        text="PointsEarned(uint256,address,uint64,uint8,uint256,uint256,bytes32,uint256)"
    )
    order_ref = secrets.token_bytes(32)
    log = Log(
        address="0x" + "22" * 20,
        topics=(
            topic,
            (7).to_bytes(32, "big"),
            bytes(12) + bytes.fromhex(member[2:]),
            (42).to_bytes(32, "big"),
        ),
        data=encode(
            ["uint8", "uint256", "uint256", "bytes32", "uint256"],
            [0, 1234, 12_345, order_ref, 1_700_000_000],
        ),
        block_number=1,
        block_hash="0x",
        tx_hash="0x",
        log_index=0,
    )
    event = codec.events.decode(log)
    assert event is not None and event.name == "PointsEarned"
    assert event.args == {
        "brand": 7,
        "member": member,
        "opId": 42,
        "kind": 0,
        "points": 1234,
        "spendCents": 12_345,
        "orderRef": order_ref,
        "releaseAt": 1_700_000_000,
    }


def test_custom_errors_decode_to_stable_codes() -> None:
    from ledger_api.chain.errors import domain_error, error_code

    codec = contracts()
    data = keccak(text="PointsInsufficientBalance(address,uint256,uint256,uint256)")[:4] + encode(
        ["address", "uint256", "uint256", "uint256"], ["0x" + "4a" * 20, 3, 10, 25]
    )
    decoded = codec.errors.decode(data)
    assert decoded is not None  # its address in EIP-55 form, as every answer gives one
    assert next(iter(decoded.args.values())) == to_checksum_address("0x" + "4a" * 20)
    error = domain_error(decoded)
    assert error.error_code == "insufficient_balance" and error.status == 422
    assert error.details["needed"] == 25
    assert error_code("LedgerOperationUsed") == "operation_used"
    assert error_code("AllianceBadgesSupplyExceeded") == "badge_supply_exceeded"


def test_custom_errors_say_chain_units_as_people_read_them() -> None:
    """A trial read `TierAlreadyReviewed(quarter=227)`: a revert's message says what it means,
    then names the contract's error with quarters, months, days, timestamps, micro-USD and
    durations in their units. A later trial read `details.minValue` in raw micro-USD from the
    chain and `details.starts_at` from the gateway's own check, for one code: `details` now
    use the gateway's vocabulary (snake_case, ISO 8601 times, labels, `*_micro_usd`)."""
    from ledger_api.chain.errors import domain_error

    codec = contracts()

    def revert(signature: str, types: list[str], values: list[Any]) -> Any:
        decoded = codec.errors.decode(keccak(text=signature)[:4] + encode(types, values))
        assert decoded is not None, signature
        return domain_error(decoded)

    member = "0x" + "4a" * 20
    reviewed = revert("TierAlreadyReviewed(address,uint256)", ["address", "uint256"], [member, 227])
    assert reviewed.message.startswith("the member was already reviewed this quarter (")
    assert reviewed.message.endswith("quarter=2026-Q4))"), reviewed.message
    assert reviewed.details["quarter"] == "2026-Q4" and reviewed.chain_args["quarter"] == 227
    expired = revert(
        "LedgerSignatureExpired(uint256,uint256)", ["uint256", "uint256"], [1_780_000_000, 2**255]
    )
    assert expired.message.endswith(
        f"(LedgerSignatureExpired(deadline=2026-05-28T20:26:40Z, nowTimestamp={2**255}))"
    ), expired.message
    # the deadline as signed (unix seconds); a block time out of range stays a number
    assert expired.details == {
        "chain_error": "LedgerSignatureExpired",
        "deadline": 1_780_000_000,
        "block_time": 2**255,
    }
    too_low = revert(
        "AuctionsBidTooLow(uint256,uint256,uint256)",
        ["uint256"] * 3,
        [4, 1_250_000, 2_000_000],
    )
    said = "AuctionsBidTooLow(auctionId=4, value=1.25 USD, minValue=2 USD)"
    assert too_low.message.startswith("the bid's value") and too_low.message.endswith(f"({said})")
    assert too_low.details == {
        "chain_error": "AuctionsBidTooLow",
        "auction_id": 4,
        "value_micro_usd": "1250000",  # decimal strings, as the auction reads give values
        "min_value_micro_usd": "2000000",
    }
    capped = revert(
        "LedgerDailyMintCapExceeded(uint256,uint256,uint256,uint256)",
        ["uint256"] * 4,
        [2, 20_787, 1_000, 1_500],
    )
    assert capped.message.endswith(
        "(LedgerDailyMintCapExceeded(brand=2, day=2026-11-30, cap=1000, requested=1500))"
    ), capped.message
    assert (capped.details["brand_id"], capped.details["day"]) == (2, "2026-11-30")
    assert capped.details["daily_cap_points"] == 1_000  # as the gateway's own check names it
    too_soon = revert("LedgerValueChangeTooSoon(uint256,uint256)", ["uint256", "uint256"], [3, 682])
    assert too_soon.message.endswith("fromMonth=2026-11))"), too_soon.message
    assert too_soon.details["from_month"] == "2026-11"
    closed = revert(
        "AuctionsNotOpen(uint256,uint256,uint256,uint256)",
        ["uint256"] * 4,
        [4, 1_780_000_000, 1_780_086_400, 1_780_090_000],
    )
    assert {k: closed.details[k] for k in ("starts_at", "ends_at", "block_time")} == {
        "starts_at": "2026-05-28T20:26:40Z",
        "ends_at": "2026-05-29T20:26:40Z",
        "block_time": "2026-05-29T21:26:40Z",
    }
    below = revert(
        "AuctionsBelowReserve(uint256,address,uint256,uint256)",
        ["uint256", "address", "uint256", "uint256"],
        [4, member, 500_000, 1_000_000],
    )
    assert (below.details["worth_micro_usd"], below.details["reserve_micro_usd"]) == (
        "500000",
        "1000000",
    )
    assert below.message.endswith("worth=0.5 USD, reserve=1 USD))"), below.message
    from ledger_api.chain.error_words import details_of

    # the keys the gateway's own refusals of the same codes use (a review: nothing_to_settle,
    # insufficient_balance, deposit_backs_debt and reversal_window_closed differed)
    assert details_of("VaultNothingToSettle", {"brandA": 2, "brandB": 3}) == {
        "chain_error": "VaultNothingToSettle",
        "debtor": 2,
        "creditor": 3,
    }
    assert details_of("PointsInsufficientBalance", {"balance": 5})["available"] == 5
    backs = details_of("VaultDepositBacksDebt", {"deposit": 9, "owedUnits": 7, "amount": 4})
    assert (backs["deposit_units"], backs["required_units"]) == ("9", "7"), backs
    closed_window = details_of("LedgerReversalWindowClosed", {"releaseAt": 1_780_000_000})
    assert closed_window["window_closed_at"] == "2026-05-28T20:26:40Z", closed_window
    below_unit = details_of("VaultBelowOneUnit", {"debtor": 1, "creditor": 2})
    assert (below_unit["debtor"], below_unit["creditor"]) == (1, 2), below_unit
    # the keys and forms of the gateway's own `insufficient_deposit` (token units, uint256)
    short = details_of("VaultInsufficientDeposit", {"brand": 3, "deposit": 5, "needed": 2**70})
    assert short == {
        "chain_error": "VaultInsufficientDeposit",
        "brand_id": 3,
        "deposit_units": "5",
        "needed_units": str(2**70),
    }
    losing = revert(
        "AuctionsNotWinning(uint256,address,uint8)", ["uint256", "address", "uint8"], [4, member, 2]
    )
    assert losing.details["bid_status"] == "settled", losing.details


def _sample(abi_type: str) -> Any:
    """A value of an error argument's ABI type (the test below encodes one of each)."""
    if abi_type == "address":
        return "0x" + "4a" * 20
    if abi_type == "string":
        return "x"
    if abi_type == "bool":
        return False
    if abi_type == "bytes":
        return b"x"
    if abi_type.startswith("bytes"):
        return b"\0" * int(abi_type[5:])
    assert abi_type.startswith(("uint", "int")), abi_type
    return 1


def test_every_contract_error_reads_in_the_gateways_vocabulary() -> None:
    """The whole kind: for every custom error of every contract in the manifest, its
    `details` keys are snake_case (no contract argument name leaks), and the message of a
    code with no error class of its own says what it means before the contract's words."""
    import re

    from ledger_api.chain.abi import ErrorRegistry
    from ledger_api.chain.error_words import SAYS
    from ledger_api.chain.errors import _CLASSES, domain_error

    deployed = (
        "AllianceLedger",
        "AllianceLedgerAdmin",
        "AllianceLedgerLens",
        "MembershipBadge",
        "AllianceBadges",
        "AlliancePolls",
        "EnterpriseAccounts",
        "AllianceAuctions",
        "SettlementVault",
    )
    registry = ErrorRegistry(
        json.loads((BUILD / f"{name}.json").read_text())["abi"] for name in deployed
    )
    specs = registry._specs
    assert len(specs) > 100, len(specs)
    for selector, spec in specs.items():
        values = [_sample(t) for t in spec.types]
        decoded = registry.decode(selector + encode(list(spec.types), values))
        assert decoded is not None, spec.name
        error = domain_error(decoded)
        for key in error.details:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", key), (spec.name, key)
        if spec.name not in _CLASSES and error.error_code in SAYS:
            assert error.message.startswith(SAYS[error.error_code]), (spec.name, error.message)
        assert error.message.endswith(")"), error.message


def test_typed_data_signature_recovers_the_member() -> None:
    member = Account.create()
    document = gift_typed_data(
        chain_id=31337,
        ledger="0x" + "22" * 20,
        member=member.address,
        to="0x" + "55" * 20,
        brand=1,
        amount=10,
        nonce=0,
        deadline=2**40,
    )
    assert recover_signer(document, sign_typed_data(document, member.key)) == member.address
    assert recover_signer(document, b"\x00" * 65) != member.address
