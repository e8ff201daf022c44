"""EnterpriseAccounts: binding needs the employee's own signed consent, unbinding and leaving,
employees keep their own points and tier, the enterprise's view, and the one pause."""

import pytest
from brownie import ZERO_ADDRESS

from tests.contracts.program.conftest import SILVER


@pytest.fixture(scope="module")
def acme(accounts):
    """The enterprise: a member account with its own key (it signs in bindWithSig)."""
    return accounts.add()


@pytest.fixture
def consent(enterprise_accounts, typed, clock):
    def _sign(enterprise, employee, key=None, nonce=None, deadline=None, primary="JoinEnterprise"):
        signer = employee if primary == "JoinEnterprise" else enterprise
        message = {
            "enterprise": enterprise.address,
            "employee": employee.address,
            "nonce": enterprise_accounts.nonces(signer) if nonce is None else nonce,
            "deadline": clock.now() + 3_600 if deadline is None else deadline,
        }
        sig = typed.sign(
            enterprise_accounts,
            "EnterpriseAccounts",
            primary,
            typed.PAIR,
            message,
            key or signer.private_key,
        )
        return message["nonce"], message["deadline"], sig

    return _sign


def test_enterprise_binds_an_employee_who_consented(
    enterprise_accounts, consent, acme, alice, events
):
    nonce, deadline, sig = consent(acme, alice)
    tx = enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    assert events.one(tx, "EmployeeBound") == {
        "enterprise": acme.address,
        "employee": alice.address,
    }
    assert enterprise_accounts.enterpriseOf(alice) == acme
    assert enterprise_accounts.employeeCount(acme) == 1
    assert list(enterprise_accounts.employeesOf(acme, 0, 10)) == [alice.address]
    assert enterprise_accounts.nonces(alice) == nonce + 1


def test_binding_without_the_employees_own_signature_is_refused(
    enterprise_accounts, consent, acme, alice, bob, errors
):
    nonce, deadline, by_bob = consent(acme, alice, key=bob.private_key)
    with errors.expect(enterprise_accounts, "EnterpriseInvalidSignature", alice):
        enterprise_accounts.bind(alice, nonce, deadline, by_bob, {"from": acme})
    # a consent given to acme does not bind the employee to anyone else
    nonce, deadline, sig = consent(acme, alice)
    with errors.expect(enterprise_accounts, "EnterpriseInvalidSignature", alice):
        enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": bob})
    assert enterprise_accounts.enterpriseOf(alice) == ZERO_ADDRESS


def test_consent_is_used_once_and_expires(enterprise_accounts, consent, acme, alice, clock, errors):
    nonce, deadline, sig = consent(acme, alice)
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    enterprise_accounts.leave({"from": alice})
    with errors.expect(enterprise_accounts, "InvalidAccountNonce", alice, nonce + 1):
        enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    nonce, deadline, sig = consent(acme, alice, deadline=clock.now() + 10)
    clock.next_block_at(deadline + 1)
    with errors.expect(enterprise_accounts, "EnterpriseSignatureExpired", deadline, deadline + 1):
        enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})


def test_relayed_binding_needs_both_signatures(
    enterprise_accounts, consent, acme, alice, bob, relayer, errors
):
    e_nonce, deadline, e_sig = consent(acme, alice, primary="BindEmployee")
    m_nonce, _, m_sig = consent(acme, alice, deadline=deadline)
    _, _, forged = consent(
        acme, alice, primary="BindEmployee", key=bob.private_key, deadline=deadline
    )
    with errors.expect(enterprise_accounts, "EnterpriseInvalidSignature", acme):
        enterprise_accounts.bindWithSig(
            acme, alice, deadline, e_nonce, forged, m_nonce, m_sig, {"from": relayer}
        )
    with errors.expect(enterprise_accounts, "EnterpriseInvalidSignature", alice):
        enterprise_accounts.bindWithSig(
            acme, alice, deadline, e_nonce, e_sig, m_nonce, e_sig, {"from": relayer}
        )
    tx = enterprise_accounts.bindWithSig(
        acme, alice, deadline, e_nonce, e_sig, m_nonce, m_sig, {"from": relayer}
    )
    assert tx.events["EmployeeBound"]["employee"] == alice


def test_enterprise_unbinds_and_only_its_own_employees(
    enterprise_accounts, consent, acme, alice, bob, errors, events
):
    nonce, deadline, sig = consent(acme, alice)
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    with errors.expect(enterprise_accounts, "EnterpriseNotBound", alice, bob):
        enterprise_accounts.unbind(alice, {"from": bob})
    tx = enterprise_accounts.unbind(alice, {"from": acme})
    assert events.one(tx, "EmployeeUnbound") == {
        "enterprise": acme.address,
        "employee": alice.address,
    }
    assert enterprise_accounts.enterpriseOf(alice) == ZERO_ADDRESS
    assert enterprise_accounts.employeeCount(acme) == 0


def test_unbinding_by_the_enterprises_signature(
    enterprise_accounts, consent, typed, acme, alice, relayer, clock
):
    nonce, deadline, sig = consent(acme, alice)
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    e_nonce, deadline, e_sig = consent(acme, alice, primary="UnbindEmployee")
    enterprise_accounts.unbindWithSig(acme, alice, e_nonce, deadline, e_sig, {"from": relayer})
    assert enterprise_accounts.enterpriseOf(alice) == ZERO_ADDRESS


def test_employee_leaves_alone_directly_or_by_signature(
    enterprise_accounts, consent, typed, acme, alice, bob, relayer, clock, events, errors
):
    for employee in (alice, bob):
        nonce, deadline, sig = consent(acme, employee)
        enterprise_accounts.bind(employee, nonce, deadline, sig, {"from": acme})
    tx = enterprise_accounts.leave({"from": alice})
    assert events.one(tx, "EmployeeLeft") == {"enterprise": acme.address, "employee": alice.address}
    message = {
        "employee": bob.address,
        "nonce": enterprise_accounts.nonces(bob),
        "deadline": clock.now() + 600,
    }
    sig = typed.sign(
        enterprise_accounts,
        "EnterpriseAccounts",
        "LeaveEnterprise",
        typed.LEAVE,
        message,
        bob.private_key,
    )
    enterprise_accounts.leaveWithSig(
        bob, message["nonce"], message["deadline"], sig, {"from": relayer}
    )
    assert enterprise_accounts.employeeCount(acme) == 0
    with errors.expect(enterprise_accounts, "EnterpriseNotBound", alice, ZERO_ADDRESS):
        enterprise_accounts.leave({"from": alice})


def test_one_enterprise_per_employee_and_no_nesting(
    enterprise_accounts, consent, acme, alice, bob, carol, errors
):
    nonce, deadline, sig = consent(acme, alice)
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    nonce, deadline, sig = consent(bob, alice)
    with errors.expect(enterprise_accounts, "EnterpriseAlreadyBound", alice, acme):
        enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": bob})
    nonce, deadline, sig = consent(alice, carol)  # an employee binds others
    with errors.expect(enterprise_accounts, "EnterpriseInvalidAccount", alice):
        enterprise_accounts.bind(carol, nonce, deadline, sig, {"from": alice})
    nonce, deadline, sig = consent(bob, acme)  # an enterprise becomes an employee
    with errors.expect(enterprise_accounts, "EnterpriseInvalidAccount", acme):
        enterprise_accounts.bind(acme, nonce, deadline, sig, {"from": bob})


def test_employees_keep_their_points_and_tier_and_the_enterprise_sees_its_own(
    enterprise_accounts, consent, ledger, tiers, earn, signer_a, brand_a, acme, alice, bob, to_plain
):
    tiers.reach(alice, SILVER)
    earn(signer_a, acme, cents=20_000)
    before = (ledger.balanceOf(alice, brand_a), ledger.tierOf(alice))
    for employee in (alice, bob):
        nonce, deadline, sig = consent(acme, employee)
        enterprise_accounts.bind(employee, nonce, deadline, sig, {"from": acme})
    assert (ledger.balanceOf(alice, brand_a), ledger.tierOf(alice)) == before
    assert to_plain(enterprise_accounts.enterpriseStatus(acme)) == (2, 0)
    assert ledger.balanceOf(acme, brand_a) == 2_000
    assert list(enterprise_accounts.employeesOf(acme, 1, 5)) == [bob.address]
    assert list(enterprise_accounts.employeesOf(acme, 5, 5)) == []


def test_the_ledgers_pause_stops_binding_and_leaving(
    enterprise_accounts, consent, ledger, admin, acme, alice, errors
):
    nonce, deadline, sig = consent(acme, alice)
    ledger.pause({"from": admin})
    with errors.expect(enterprise_accounts, "EnforcedPause"):
        enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    ledger.unpause({"from": admin})
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    ledger.pause({"from": admin})
    with errors.expect(enterprise_accounts, "EnforcedPause"):
        enterprise_accounts.leave({"from": alice})


def test_a_stale_unbind_signature_does_not_undo_a_later_binding(
    enterprise_accounts, consent, acme, alice, relayer, errors
):
    """A hostile review of 2026-12-06: the direct `unbind` and `bind` left the enterprise's nonce as
    it was, so an `UnbindEmployee` it signed and never relayed still unbound the employee's next
    binding. Each of them now uses the enterprise's nonce, as its signed forms do."""
    nonce, deadline, sig = consent(acme, alice)
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    stale_nonce, stale_deadline, stale = consent(
        acme, alice, primary="UnbindEmployee"
    )  # not relayed
    enterprise_accounts.unbind(alice, {"from": acme})  # acme unbinds directly instead
    assert enterprise_accounts.nonces(acme) == stale_nonce + 1
    nonce, deadline, sig = consent(acme, alice)  # alice joins acme again, with a fresh consent
    enterprise_accounts.bind(alice, nonce, deadline, sig, {"from": acme})
    assert enterprise_accounts.nonces(acme) == stale_nonce + 2
    with errors.expect(enterprise_accounts, "InvalidAccountNonce", acme, stale_nonce + 2):
        enterprise_accounts.unbindWithSig(
            acme, alice, stale_nonce, stale_deadline, stale, {"from": relayer}
        )
    assert enterprise_accounts.enterpriseOf(alice) == acme
