"""The brand administration runs in AllianceLedgerAdmin by delegatecall from the ledger's fallback
(README, "Bytecode budget"): on the ledger's storage, roles and pause, with the ledger's events;
the administration contract itself refuses everyone, and an unknown call to the ledger reverts."""

import brownie
import pytest
import rlp
from brownie import AllianceLedgerAdmin, web3
from eth_utils import keccak, to_checksum_address

ADMIN_ROLE = "0x" + "00" * 32


@pytest.fixture
def administration(ledger):
    """The AllianceLedgerAdmin the ledger created in its constructor (the ledger's nonce 1)."""
    address = to_checksum_address(keccak(rlp.encode([bytes.fromhex(ledger.address[2:]), 1]))[12:])
    assert len(web3.eth.get_code(address)) > 0
    return AllianceLedgerAdmin.at(address)


def test_administration_events_come_from_the_ledger(ledger, admin, brand_c, events):
    tx = ledger.setBrandSuspended(brand_c, True, {"from": admin})
    assert events.one(tx, "BrandSuspensionChanged", ledger) == {"brand": brand_c, "suspended": True}
    assert not ledger.isBrandActive(brand_c)


def test_the_administration_contract_called_directly_refuses_even_the_admin(
    administration, admin, signer_c, errors
):
    with errors.expect(administration, "AccessControlUnauthorizedAccount", admin, ADMIN_ROLE):
        administration.setBrandSuspended(1, True, {"from": admin})
    with errors.expect(administration, "AccessControlUnauthorizedAccount", signer_c, ADMIN_ROLE):
        administration.setPointValue(1, 1, {"from": signer_c})


def test_an_unknown_call_to_the_ledger_reverts_without_data(ledger, outsider):
    with brownie.reverts():
        outsider.transfer(ledger, 0, data="0xdeadbeef")
    with brownie.reverts():
        outsider.transfer(ledger, 1)  # no ether accepted either
