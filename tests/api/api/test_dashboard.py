"""The membership health dashboard (`/dashboard`, issue 13 item 1) in a real headless browser:
it loads with no console error and nothing from outside the gateway, takes the key in the
page (kept in sessionStorage, never in a URL), and shows the tier distribution and the
liability of a seeded program. The screenshot is written to build/dashboard.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from support.chain import ROOT
from support.dashboard import Seeded, ServingGateway, brand_key, chromium, seed_program

SCREENSHOT = ROOT / "build" / "dashboard.png"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServingGateway, Seeded]]:
    with ServingGateway(tmp_path) as gateway:
        yield gateway, seed_program(gateway.database_url, members=400, brands=3)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    yield driver
    driver.quit()


def _state(driver: WebDriver, wanted: str, timeout: float = 120) -> None:
    """Waits until the page says `wanted` (or a final state: then the assertion says which)."""
    WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: (
            d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in (wanted, "failed")
        )
    )
    state = driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")
    message = driver.find_element(By.ID, "message").text
    assert state == wanted, f"page state {state}: {message}"


def _table(driver: WebDriver, table_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def _console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_dashboard_shows_the_seeded_programs_tiers_and_liability(
    served: tuple[ServingGateway, Seeded], browser: WebDriver
) -> None:
    gateway, seeded = served
    admin_key = gateway.env["LEDGER_ADMIN_API_KEY"]
    browser.get(f"{gateway.base_url}/dashboard")
    _state(browser, "needs-key")
    browser.find_element(By.ID, "api-key").send_keys(admin_key)
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
    _state(browser, "ready")

    tiers = {row[0]: int(row[1].replace(",", "")) for row in _table(browser, "tier-table")}
    assert tiers == seeded.tiers
    assert sum(tiers.values()) == seeded.members
    liability = browser.find_element(By.ID, "kpi-liability").text
    assert liability == f"${seeded.outstanding_value_micro_usd / 1e6:,.2f}"
    assert browser.find_element(By.ID, "kpi-liability-points").text == (
        f"{seeded.outstanding:,} points"
    )
    brands = _table(browser, "brand-table")
    assert [row[0] for row in brands] == ["Brand 1", "Brand 2", "Brand 3", "All"]
    assert brands[-1][5] == f"{seeded.outstanding:,}"
    assert browser.find_element(By.ID, "kpi-index-lag").text == "chain unreachable"

    # the key lives in this tab's sessionStorage, never in a URL
    assert admin_key not in browser.current_url
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(r.startswith(gateway.base_url) for r in resources), resources
    assert all(admin_key not in r for r in resources)
    assert (
        browser.execute_script("return sessionStorage.getItem('ledger.dashboard.apiKey')")
        == admin_key
    )

    # a reload draws again with the stored key
    browser.refresh()
    _state(browser, "ready")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    assert _console_errors(browser) == []


def test_a_brand_key_shows_its_own_brand_and_its_pairs(
    served: tuple[ServingGateway, Seeded], browser: WebDriver
) -> None:
    gateway, seeded = served
    key = brand_key(gateway.database_url, 2)
    browser.get(f"{gateway.base_url}/dashboard")
    _state(browser, "needs-key")
    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
    _state(browser, "ready")
    assert browser.find_element(By.ID, "scope").text == "Brand 2"
    brands = _table(browser, "brand-table")
    assert [row[0] for row in brands] == ["Brand 2"]
    assert brands[0][5] == f"{seeded.outstanding_by_brand[2]:,}"
    liability = seeded.outstanding_by_brand[2] * 10_000 / 1e6
    assert browser.find_element(By.ID, "kpi-liability").text == f"${liability:,.2f}"
    # the flow matrix: brand 2's row and column hold figures, the others' pairs are blank
    cells = browser.find_elements(By.CSS_SELECTOR, "#flow-matrix tr")
    assert len(cells) == 4  # header + brands 1..3, each in a pair with brand 2
    brand_1 = [td.text for td in cells[1].find_elements(By.TAG_NAME, "td")]
    assert brand_1[1] != "0" and brand_1[2] == "0"  # at brand 2: shown; at brand 3: not its
    signers = _table(browser, "signer-table")
    assert signers == []
    assert _console_errors(browser) == []


def test_a_refused_key_asks_again_and_forgets_it(
    served: tuple[ServingGateway, Seeded], browser: WebDriver
) -> None:
    gateway, _ = served
    browser.get(f"{gateway.base_url}/dashboard")
    _state(browser, "needs-key")
    browser.find_element(By.ID, "api-key").send_keys("not-a-key")
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
    WebDriverWait(browser, 60, poll_frequency=0.1).until(
        lambda d: "refused" in d.find_element(By.ID, "message").text
    )
    assert (
        browser.execute_script("return sessionStorage.getItem('ledger.dashboard.apiKey')") is None
    )
    # the 401 itself is the only console error (the browser logs a failed fetch)
    assert all("401" in e["message"] for e in _console_errors(browser))


def test_the_page_and_its_assets_need_no_key_and_allow_only_the_gateway(
    served: tuple[ServingGateway, Seeded],
) -> None:
    gateway, _ = served
    page = httpx.get(f"{gateway.base_url}/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace(gateway.base_url, "").split("<body")[0]
    for name in ("dashboard.js", "dashboard.css", "chart.umd.min.js"):
        asset = httpx.get(f"{gateway.base_url}/dashboard/assets/{name}")
        assert asset.status_code == 200, name
    missing = httpx.get(f"{gateway.base_url}/dashboard/assets/..%2Fdashboard.py")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
