"""Fixtures of the ledger's tests: a brand with a return window, and a fresh quarter."""

import pytest


@pytest.fixture
def pending_c(ledger, admin, brand_c):
    """Brand C with a 14-day return window: its purchases are pending until it closes."""
    ledger.setReturnWindow(brand_c, 14, {"from": admin})
    return brand_c


@pytest.fixture
def quarter(clock):
    """The next quarter, on its 5th day (a quarter no test has counted in yet)."""
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, day=5)
    return q
