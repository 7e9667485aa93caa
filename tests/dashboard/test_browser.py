"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver).

It loads the page while orders flow, sees the counts move, finds the dead letter, is refused
a replay with the wrong token, replays with the right one through the button, searches a
journey, sends events through the send form, and shows a dead letter whose message carried no
time as of unknown age. The screenshot goes to ``BEEHIVE_DASHBOARD_SCREENSHOT`` when set (the
README's ``docs/dashboard.png`` is made that way), else to the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from beehive.queues.base import UNKNOWN_TIME
from tests.dashboard.live import LiveHost, live_host
from tests.dashboard.shop import placed
from tests.required import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOKEN = "browser-test-token"
WAIT = 20.0
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1400",
    "--force-device-scale-factor=1",
)


def _browser_problem() -> str | None:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return f"{CHROMIUM} or {CHROMEDRIVER} missing (scripts/_debian.sh installs them)"
    if shutil.which("chromium") is None and not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not executable"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[object]:
    problem = _browser_problem()
    if problem is not None:
        unavailable(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log"))
    browser = webdriver.Chrome(options=options, service=service)
    try:
        yield browser
    finally:
        browser.quit()


async def _stream(live: LiveHost, pushed: list[str], stop: asyncio.Event) -> None:
    """Orders at a steady pace, so the counts move while the page watches."""
    n = 0
    while not stop.is_set():
        batch = [placed(f"order-{n + i}") for i in range(4)]
        await live.operator.push_batch(batch)
        pushed += [e.id for e in batch]
        n += len(batch)
        await asyncio.sleep(0.15)


def _waiting(browser: object) -> Any:
    """A wait for a page that redraws its tables every second: an element redrawn between
    finding and using it is stale, and the condition is tried again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException])  # type: ignore[arg-type]


def _click(browser: object, selector: str) -> None:
    """Click what ``selector`` finds (found again if it was redrawn: nothing was clicked)."""
    from selenium.webdriver.common.by import By

    def clicked(browser: object) -> bool:
        browser.find_element(By.CSS_SELECTOR, selector).click()  # type: ignore[attr-defined]
        return True

    _waiting(browser).until(clicked)


def _number(browser: object, selector: str) -> int:
    from selenium.webdriver.common.by import By

    text: str = browser.find_element(By.CSS_SELECTOR, selector).text  # type: ignore[attr-defined]
    return int(text) if text.strip().isdigit() else -1


def test_the_dashboard_live_in_chromium(driver: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown

    browser = driver
    wait = _waiting(browser)
    payment = '#actors tr[data-name="Payment@OrderPlaced-Payment"] td.succeeded'

    with live_host(token=TOKEN) as live:
        declined = placed("order-declined", declined=True)
        live.call(live.operator.push(declined))
        pushed: list[str] = [declined.id]
        stop = asyncio.Event()
        streaming = asyncio.run_coroutine_threadsafe(_stream(live, pushed, stop), live.loop)

        browser.get(live.url)  # type: ignore[attr-defined]

        # The counts move.
        wait.until(lambda b: _number(b, payment) > 0)
        first = wait.until(lambda b: _number(b, payment))  # > 0 by now: found again if redrawn
        wait.until(lambda b: _number(b, payment) > first)
        # The network is drawn, and its actors annotated live.
        wait.until(
            shown.text_to_be_present_in_element(
                (By.CSS_SELECTOR, '#network g.actor[data-actor="Payment"] text.stat'), "✗ 1"
            )
        )
        # The dead letter is listed, with the actor's reason.
        row = f'#dead-letters tr[data-id="{declined.id}"]'
        wait.until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, row), "card declined"))
        live.call(_stop(stop))
        streaming.result(WAIT)
        live.call(live.operator.wait_idle(WAIT))
        wait.until(lambda b: _number(b, payment) == len(pushed) - 1)

        # The journey search says there is no journal.
        browser.find_element(By.ID, "correlation-id").send_keys("order-declined")  # type: ignore[attr-defined]
        browser.find_element(By.CSS_SELECTOR, "#journey-form button").click()  # type: ignore[attr-defined]
        wait.until(shown.text_to_be_present_in_element((By.ID, "journey-result"), "not configured"))
        token = browser.find_element(By.ID, "token")  # type: ignore[attr-defined]
        token.send_keys(TOKEN)
        _screenshot(browser, tmp_path)

        # A wrong token is refused, and nothing moves.
        token.clear()
        token.send_keys("not-the-token")
        _click(browser, f"{row} button.replay")
        wait.until(
            shown.text_to_be_present_in_element((By.ID, "replay-status"), "wrong or missing token")
        )
        assert len(live.call(live.operator.dead_letters("OrderPlaced-Payment"))) == 1

        token.clear()
        token.send_keys(TOKEN)

        # The right token replays it into its subscription, where it now succeeds.
        _click(browser, f"{row} button.replay")
        wait.until(shown.text_to_be_present_in_element((By.ID, "replay-status"), "replayed"))
        wait.until(shown.invisibility_of_element_located((By.CSS_SELECTOR, row)))
        live.call(live.operator.wait_idle(WAIT))
        wait.until(lambda b: _number(b, payment) == len(pushed))
        assert live.call(live.operator.dead_letters("OrderPlaced-Payment")) == []
        shipped = live.host.stats()["Shipping@OrderPacked-Shipping"].succeeded
        assert shipped == len(pushed)

        # The send form: a body failing the event's model is refused with why, then one
        # that fits is sent twice and runs through the chain.
        kind = browser.find_element(By.ID, "send-type")  # type: ignore[attr-defined]
        body = browser.find_element(By.ID, "send-body")  # type: ignore[attr-defined]
        count = browser.find_element(By.ID, "send-count")  # type: ignore[attr-defined]
        send = browser.find_element(By.CSS_SELECTOR, "#send-form button")  # type: ignore[attr-defined]
        kind.send_keys("OrderPlaced")
        body.clear()
        body.send_keys('{"declined": "maybe"}')
        send.click()
        wait.until(
            shown.text_to_be_present_in_element((By.ID, "send-status"), "order_id: Field required")
        )
        body.clear()
        body.send_keys('{"order_id": "from-the-form"}')
        count.clear()
        count.send_keys("2")
        send.click()
        wait.until(shown.text_to_be_present_in_element((By.ID, "send-status"), "sent 2"))
        live.call(live.operator.wait_idle(WAIT))
        wait.until(lambda b: _number(b, payment) == len(pushed) + 2)
        shipped = live.host.stats()["Shipping@OrderPacked-Shipping"].succeeded
        assert shipped == len(pushed) + 2

        # A dead letter whose message carried no time has an unknown age, not 0 s.
        timeless = placed("order-timeless", declined=True).model_copy(
            update={"timestamp": UNKNOWN_TIME}
        )
        live.call(live.operator.push(timeless))
        age = f'#dead-letters tr[data-id="{timeless.id}"] td:first-child'
        wait.until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, age), "unknown"))


async def _stop(stop: asyncio.Event) -> None:
    stop.set()


def _screenshot(browser: object, tmp_path: Path) -> None:
    target = Path(os.environ.get("BEEHIVE_DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(target))  # type: ignore[attr-defined]
