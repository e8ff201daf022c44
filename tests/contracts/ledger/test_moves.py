"""Member-authorised moves: gift, donate and redeem (same brand or cross-brand), either from the
member's own wallet or on the member's EIP-712 signature relayed by anyone.

Reentrancy: the ledger's points are ERC-6909, which has no receiver hooks (unlike ERC-1155's
onERC1155Received or ERC-721's onERC721Received), so no move calls out to a member or a receiver
contract; the only outbound call on any path is MembershipBadge.setTier, whose mint has no
callback either. There is no reentrancy surface to test, so no test tries to reenter.
"""

import pytest
from brownie import ZERO_ADDRESS

MAX_AMOUNT = 10**12
REF = b"\x0b" * 32


@pytest.fixture
def funded(earn, signer_a, signer_b, alice, bob):
    """alice holds 1,000 A points and bob 2,000 B points."""
    earn(signer_a, alice, cents=10_000)
    earn(signer_b, bob, cents=10_000)


# ------------------------------------------------------------------------------------------ gift


def test_signed_gift_relayed_by_anyone_moves_the_points(
    ledger, signing, funded, alice, bob, relayer, brand_a, events
):
    gift, sig = signing.gift(alice, bob, brand_a, 300)

    tx = ledger.giftWithSig(gift, sig, {"from": relayer})

    assert events.one(tx, "Transfer") == {
        "caller": relayer,
        "sender": alice,
        "receiver": bob,
        "id": brand_a,
        "amount": 300,
    }
    assert "PointsDonated" not in tx.events
    assert ledger.balanceOf(alice, brand_a) == 700
    assert ledger.balanceOf(bob, brand_a) == 300
    assert ledger.nonces(alice) == 1


def test_member_gifts_from_its_own_wallet_with_an_erc6909_transfer(
    ledger, funded, alice, bob, brand_a, events
):
    tx = ledger.transfer(bob, brand_a, 250, {"from": alice})

    assert events.one(tx, "Transfer")["amount"] == 250
    assert ledger.balanceOf(alice, brand_a) == 750
    assert ledger.balanceOf(bob, brand_a) == 250


def test_an_approved_spender_moves_only_what_the_member_allowed(
    ledger, funded, alice, bob, relayer, brand_a, errors
):
    ledger.approve(relayer, brand_a, 100, {"from": alice})
    ledger.transferFrom(alice, bob, brand_a, 60, {"from": relayer})

    assert ledger.allowance(alice, relayer, brand_a) == 40
    with errors.expect(ledger, "ERC6909InsufficientAllowance", relayer, 40, 41, brand_a):
        ledger.transferFrom(alice, bob, brand_a, 41, {"from": relayer})
    assert ledger.balanceOf(bob, brand_a) == 60


def test_gift_to_the_zero_address_reverts(ledger, signing, funded, alice, relayer, brand_a, errors):
    gift, sig = signing.gift(alice, ZERO_ADDRESS, brand_a, 10)
    with errors.expect(ledger, "ERC6909InvalidReceiver", ZERO_ADDRESS):
        ledger.giftWithSig(gift, sig, {"from": relayer})
    with errors.expect(ledger, "ERC6909InvalidReceiver", ZERO_ADDRESS):
        ledger.transfer(ZERO_ADDRESS, brand_a, 10, {"from": alice})


# ---------------------------------------------------------------------------------------- donate


def test_donation_goes_to_the_charity_pool(
    ledger, lens, funded, alice, charity, brand_a, events, to_plain
):
    account = to_plain(lens.brandAccount(brand_a))

    tx = ledger.donate(brand_a, 100, {"from": alice})

    assert events.one(tx, "PointsDonated") == {
        "member": alice,
        "pool": charity,
        "brand": brand_a,
        "amount": 100,
    }
    assert events.one(tx, "Transfer") == {
        "caller": alice,
        "sender": alice,
        "receiver": charity,
        "id": brand_a,
        "amount": 100,
    }
    assert ledger.balanceOf(charity, brand_a) == 100
    assert ledger.balanceOf(alice, brand_a) == 900
    assert to_plain(lens.brandAccount(brand_a)) == account  # still outstanding, now in the pool


def test_signed_gift_to_the_charity_pool_is_a_donation(
    ledger, signing, funded, alice, charity, relayer, brand_a, events
):
    gift, sig = signing.gift(alice, charity, brand_a, 40)
    tx = ledger.giftWithSig(gift, sig, {"from": relayer})

    assert events.one(tx, "PointsDonated") == {
        "member": alice,
        "pool": charity,
        "brand": brand_a,
        "amount": 40,
    }
    assert ledger.balanceOf(charity, brand_a) == 40


# ---------------------------------------------------------------------------------------- redeem


def test_redeem_at_the_issuing_brand_burns_points_without_any_debt(
    ledger, lens, funded, alice, brand_a, brand_b, brand_c, events, to_plain
):
    tx = ledger.redeem(brand_a, brand_a, 400, REF, {"from": alice})

    assert tx.return_value == 400 * 10_000
    assert events.one(tx, "PointsRedeemed") == {
        "member": alice,
        "brand": brand_a,
        "atBrand": brand_a,
        "amount": 400,
        "valueMicroUsd": 4_000_000,
        "orderRef": "0x" + REF.hex(),
    }
    assert events.one(tx, "Transfer") == {
        "caller": alice,
        "sender": alice,
        "receiver": ZERO_ADDRESS,
        "id": brand_a,
        "amount": 400,
    }
    assert ledger.balanceOf(alice, brand_a) == 600
    assert to_plain(lens.brandAccount(brand_a)) == (1_000, 400, 0, 600, 0)
    for brand in (brand_a, brand_b, brand_c):
        assert lens.netPosition(brand) == 0


def test_redeem_cross_brand_records_that_the_issuer_owes_the_redeeming_brand(
    ledger,
    lens,
    signing,
    funded,
    alice,
    bob,
    brand_a,
    brand_b,
    brand_c,
    signer_a,
    signer_b,
    signer_c,
    events,
):
    tx = signing.redeem_at(
        alice, brand_a, brand_b, 300, signer_b, ref=REF
    )  # A points at B: 300 x 0.01 USD

    value = 300 * 10_000
    assert tx.return_value == value
    assert events.one(tx, "PointsRedeemed")["atBrand"] == brand_b
    assert ledger.position(brand_a, brand_b) == value
    assert ledger.position(brand_b, brand_a) == -value
    assert ledger.position(brand_a, brand_a) == 0
    assert [lens.netPosition(b) for b in (brand_a, brand_b, brand_c)] == [-value, value, 0]

    signing.redeem_at(
        bob, brand_b, brand_c, 1_000, signer_c, ref=REF
    )  # B points at C: 1,000 x 0.005 USD
    signing.redeem_at(
        bob, brand_b, brand_a, 200, signer_a, ref=REF
    )  # B points at A: 200 x 0.005 USD
    assert ledger.position(brand_a, brand_b) == value - 1_000_000
    assert ledger.position(brand_b, brand_c) == 5_000_000
    nets = [lens.netPosition(b) for b in (brand_a, brand_b, brand_c)]
    assert nets == [-2_000_000, 2_000_000 - 5_000_000, 5_000_000]
    assert sum(nets) == 0


def test_signed_cross_brand_redeem_relayed_by_the_redeeming_brand(
    ledger, signing, funded, alice, signer_c, brand_a, brand_c, events
):
    r, sig = signing.redeem(alice, brand_a, brand_c, 250, ref=REF)

    tx = ledger.redeemWithSig(r, sig, {"from": signer_c})

    assert tx.return_value == 2_500_000
    ev = events.one(tx, "PointsRedeemed")
    assert (ev["member"], ev["brand"], ev["atBrand"], ev["amount"]) == (
        alice,
        brand_a,
        brand_c,
        250,
    )
    assert ledger.balanceOf(alice, brand_a) == 750
    assert ledger.position(brand_a, brand_c) == 2_500_000
    assert ledger.nonces(alice) == 1


@pytest.mark.parametrize("suspended", ["issuer", "redeeming brand"])
def test_redeem_involving_a_suspended_brand_reverts(
    ledger, admin, signing, signer_b, funded, alice, brand_a, brand_b, suspended, errors
):
    brand = brand_a if suspended == "issuer" else brand_b
    ledger.setBrandSuspended(brand, True, {"from": admin})
    with errors.expect(ledger, "LedgerBrandSuspended", brand):
        signing.redeem_at(alice, brand_a, brand_b, 10, signer_b, ref=REF)


def test_redeem_involving_an_unknown_brand_reverts(
    ledger, signing, signer_a, funded, alice, brand_a, errors
):
    with errors.expect(ledger, "LedgerNoBrandConsent", 9, signer_a):
        signing.redeem_at(alice, brand_a, 9, 10, signer_a, ref=REF)  # no signer acts for brand 9
    with errors.expect(ledger, "LedgerUnknownBrand", 9):
        signing.redeem_at(alice, 9, brand_a, 10, signer_a, ref=REF)


# ------------------------------------------------------------------------------------ amounts


@pytest.mark.parametrize("amount", [0, MAX_AMOUNT + 1])
def test_moves_of_zero_or_too_many_points_revert(
    ledger, signing, funded, alice, bob, relayer, brand_a, amount, errors
):
    with errors.expect(ledger, "LedgerInvalidAmount", amount):
        ledger.redeem(brand_a, brand_a, amount, REF, {"from": alice})
    with errors.expect(ledger, "LedgerInvalidAmount", amount):
        ledger.donate(brand_a, amount, {"from": alice})
    gift, sig = signing.gift(alice, bob, brand_a, amount)
    with errors.expect(ledger, "LedgerInvalidAmount", amount):
        ledger.giftWithSig(gift, sig, {"from": relayer})


def test_redeem_beyond_the_balance_reverts_with_member_brand_balance_and_need(
    ledger, funded, alice, brand_a, errors
):
    with errors.expect(ledger, "PointsInsufficientBalance", alice, brand_a, 1_000, 1_001):
        ledger.redeem(brand_a, brand_a, 1_001, REF, {"from": alice})


def test_gift_beyond_the_balance_reverts_with_member_brand_balance_and_need(
    ledger, signing, funded, alice, bob, relayer, brand_a, errors
):
    gift, sig = signing.gift(alice, bob, brand_a, 1_500)
    with errors.expect(ledger, "PointsInsufficientBalance", alice, brand_a, 1_000, 1_500):
        ledger.giftWithSig(gift, sig, {"from": relayer})


def test_donation_beyond_the_balance_reverts_with_member_brand_balance_and_need(
    ledger, funded, alice, bob, brand_a, brand_b, errors
):
    with errors.expect(ledger, "PointsInsufficientBalance", bob, brand_a, 0, 1):
        ledger.donate(brand_a, 1, {"from": bob})  # bob holds B points only
    with errors.expect(ledger, "PointsInsufficientBalance", alice, brand_a, 1_000, 2_000):
        ledger.donate(brand_a, 2_000, {"from": alice})


def test_insufficient_balance_reports_the_live_balance_across_several_lots(
    ledger, earn, signer_a, alice, brand_a, clock, errors
):
    clock.travel_to_month(clock.month() + 1, day=5)
    earn(signer_a, alice, cents=1_000)
    clock.travel_to_month(clock.month() + 1, day=5)
    earn(signer_a, alice, cents=2_000)
    assert ledger.balanceOf(alice, brand_a) == 300
    with errors.expect(ledger, "PointsInsufficientBalance", alice, brand_a, 300, 301):
        ledger.redeem(brand_a, brand_a, 301, REF, {"from": alice})


# -------------------------------------------------------------------------------- signatures


def test_eip712_domain_is_the_domain_members_sign(ledger, chain):
    # ERC-5267: (fields, name, version, chainId, verifyingContract, salt, extensions)
    _, name, version, chain_id, contract, _, _ = ledger.eip712Domain()
    assert (name, version, chain_id, contract) == ("AllianceLedger", "1", chain.id, ledger.address)


def test_gift_signature_cannot_be_replayed(
    ledger, signing, funded, alice, bob, relayer, brand_a, errors
):
    gift, sig = signing.gift(alice, bob, brand_a, 100)
    ledger.giftWithSig(gift, sig, {"from": relayer})

    with errors.expect(ledger, "InvalidAccountNonce", alice, 1):
        ledger.giftWithSig(gift, sig, {"from": relayer})
    assert ledger.balanceOf(bob, brand_a) == 100


def test_redeem_signature_cannot_be_replayed(
    ledger, signing, funded, alice, signer_b, brand_a, brand_b, errors
):
    r, sig = signing.redeem(alice, brand_a, brand_b, 100)
    ledger.redeemWithSig(r, sig, {"from": signer_b})

    with errors.expect(ledger, "InvalidAccountNonce", alice, 1):
        ledger.redeemWithSig(r, sig, {"from": signer_b})
    assert ledger.balanceOf(alice, brand_a) == 900
    assert ledger.position(brand_a, brand_b) == 1_000_000


def test_signature_with_a_future_nonce_reverts(
    ledger, signing, funded, alice, bob, relayer, brand_a, errors
):
    gift, sig = signing.gift(alice, bob, brand_a, 100, nonce=1)
    with errors.expect(ledger, "InvalidAccountNonce", alice, 0):
        ledger.giftWithSig(gift, sig, {"from": relayer})


def test_signature_is_valid_up_to_and_including_its_deadline(
    ledger, signing, funded, alice, bob, relayer, signer_b, brand_a, brand_b, clock
):
    deadline = clock.now() + 600
    gift, gift_sig = signing.gift(alice, bob, brand_a, 100, deadline=deadline)
    r, redeem_sig = signing.redeem(alice, brand_a, brand_b, 100, nonce=1, deadline=deadline)

    clock.next_block_at(deadline)
    assert ledger.giftWithSig(gift, gift_sig, {"from": relayer}).timestamp == deadline
    clock.next_block_at(deadline)
    assert ledger.redeemWithSig(r, redeem_sig, {"from": signer_b}).timestamp == deadline
    assert ledger.balanceOf(alice, brand_a) == 800


def test_expired_signature_reverts_with_its_deadline_and_the_block_time(
    ledger, signing, funded, alice, bob, relayer, brand_a, brand_b, clock, errors
):
    deadline = clock.now() + 600
    gift, gift_sig = signing.gift(alice, bob, brand_a, 100, deadline=deadline)
    r, redeem_sig = signing.redeem(alice, brand_a, brand_b, 100, deadline=deadline)

    clock.next_block_at(deadline + 1)
    with errors.expect(ledger, "LedgerSignatureExpired", deadline, deadline + 1):
        ledger.giftWithSig(gift, gift_sig, {"from": relayer})
    clock.next_block_at(deadline + 3_600)
    with errors.expect(ledger, "LedgerSignatureExpired", deadline, deadline + 3_600):
        ledger.redeemWithSig(r, redeem_sig, {"from": relayer})
    assert ledger.nonces(alice) == 0


def test_signature_by_someone_else_reverts(
    ledger, signing, funded, alice, bob, relayer, brand_a, brand_b, errors
):
    gift, sig = signing.gift(alice, bob, brand_a, 100, key=bob.private_key)
    with errors.expect(ledger, "LedgerInvalidSignature", alice):
        ledger.giftWithSig(gift, sig, {"from": relayer})
    r, sig = signing.redeem(alice, brand_a, brand_b, 100, key=bob.private_key)
    with errors.expect(ledger, "LedgerInvalidSignature", alice):
        ledger.redeemWithSig(r, sig, {"from": bob})
    assert ledger.balanceOf(alice, brand_a) == 1_000


def test_relayer_cannot_alter_a_signed_message(
    ledger, signing, funded, alice, bob, carol, relayer, brand_a, brand_b, errors
):
    gift, sig = signing.gift(alice, bob, brand_a, 100)
    for altered in (
        (gift[0], carol.address, *gift[2:]),  # another receiver
        (*gift[:3], 900, *gift[4:]),  # another amount
        (*gift[:5], gift[5] + 1),  # a later deadline
    ):
        with errors.expect(ledger, "LedgerInvalidSignature", alice):
            ledger.giftWithSig(altered, sig, {"from": relayer})
    r, sig = signing.redeem(alice, brand_a, brand_a, 100)
    with errors.expect(ledger, "LedgerInvalidSignature", alice):
        ledger.redeemWithSig(
            (r[0], r[1], brand_b, *r[3:]), sig, {"from": relayer}
        )  # moved cross-brand


def test_signature_for_another_chain_or_contract_reverts(
    ledger, vault, signing, funded, alice, bob, relayer, brand_a, errors
):
    for domain in ({"chain_id": 1}, {"verifying_contract": vault.address}):
        gift, sig = signing.gift(alice, bob, brand_a, 100, **domain)
        with errors.expect(ledger, "LedgerInvalidSignature", alice):
            ledger.giftWithSig(gift, sig, {"from": relayer})


def test_malformed_signature_reverts(ledger, signing, funded, alice, bob, relayer, brand_a, errors):
    gift, sig = signing.gift(alice, bob, brand_a, 100)
    for bad in (b"", sig[:64], bytes(65)):
        with errors.expect(ledger, "LedgerInvalidSignature", alice):
            ledger.giftWithSig(gift, bad, {"from": relayer})


# ------------------------------------------------------------------------------------- pause


def test_pause_blocks_every_value_move_and_rule_change(
    ledger,
    admin,
    earn,
    signing,
    funded,
    signer_a,
    signer_b,
    alice,
    bob,
    relayer,
    brand_a,
    brand_b,
    errors,
    events,
):
    signing.redeem_at(alice, brand_a, brand_b, 10, signer_b, ref=REF)  # something to settle
    tx = ledger.pause({"from": admin})
    assert events.one(tx, "Paused") == {"account": admin}
    assert ledger.paused()

    gift, gift_sig = signing.gift(alice, bob, brand_a, 10)
    r, redeem_sig = signing.redeem(alice, brand_a, brand_a, 10, nonce=0)  # any nonce: refused first
    blocked = [
        lambda: earn(signer_a, alice),
        lambda: earn.batch(signer_a, [earn.op(alice)]),
        lambda: ledger.giftWithSig(gift, gift_sig, {"from": relayer}),
        lambda: ledger.transfer(bob, brand_a, 10, {"from": alice}),
        lambda: ledger.donate(brand_a, 10, {"from": alice}),
        lambda: ledger.redeem(brand_a, brand_a, 10, REF, {"from": alice}),
        lambda: ledger.redeemWithSig(r, redeem_sig, {"from": relayer}),
        lambda: ledger.reviewTier(alice, {"from": relayer}),
        lambda: ledger.reviewTiers([alice], {"from": relayer}),
        lambda: ledger.settle(brand_a, brand_b, {"from": signer_b}),
        lambda: ledger.approve(bob, brand_a, 10, {"from": alice}),
        lambda: ledger.setOperator(bob, True, {"from": alice}),
        lambda: ledger.setEarnRule(brand_a, (20, 5, 3, 5, 20), {"from": admin}),
        lambda: ledger.setPointValue(brand_a, 20_000, {"from": admin}),
        lambda: ledger.setTierRule(1, (50_000, 3, 2), 500, {"from": admin}),
        lambda: ledger.setDailyMintCap(brand_a, 1, {"from": admin}),
        lambda: ledger.setCharityPool(bob, {"from": admin}),
        lambda: ledger.pause({"from": admin}),
    ]
    for call in blocked:
        with errors.expect(ledger, "EnforcedPause"):
            call()
    assert ledger.balanceOf(alice, brand_a) == 990  # views keep working

    ledger.unpause({"from": admin})
    ledger.giftWithSig(gift, gift_sig, {"from": relayer})
    ledger.redeem(brand_a, brand_a, 10, REF, {"from": alice})
    assert ledger.balanceOf(alice, brand_a) == 970
    with errors.expect(ledger, "ExpectedPause"):
        ledger.unpause({"from": admin})
