"""sohoa serve in a real browser: the server started on 127.0.0.1 by `sohoa serve`, driven by
Selenium with Debian's chromium through /usr/bin/chromedriver (Selenium Manager is never
asked for a browser). An officer signs in, searches without diacritics, opens a record and
downloads its PDF, whose signature pyHanko validates; an auditor's dashboard shows the
numbers of `sohoa coverage --format json`."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sohoa.records.search import fold
from tests.conftest import invoke
from tests.serving import running_server

pytestmark = pytest.mark.slow
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "browser-test-password"


@pytest.fixture
def server(workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    for args in (("init",), ("sample", "scans", "--records", "3", "--seed", "1"),
                 ("run", "scans", "--batch", "box-001", "--workers", "2"),
                 ("inventory", "import", "scans/_inventory.csv")):  # fmt: skip
        done = invoke(*args)
        assert done.exit_code == 0, (args, done.output)
    env = {"SOHOA_USER_PASSWORD": PASSWORD}
    assert invoke("user", "add", "officer1", "--role", "officer", env=env).exit_code == 0
    assert invoke("user", "add", "auditor1", "--role", "auditor", env=env).exit_code == 0
    with running_server() as base:
        yield base


@pytest.fixture
def browser(tmp_path: Path):
    if not CHROMEDRIVER.exists():
        pytest.skip("Debian's chromium-driver is not installed ('make system-deps' installs it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
    })  # fmt: skip
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.downloads = downloads
    driver.implicitly_wait(30)  # a loaded CI machine renders slowly: find_element waits
    try:
        yield driver
    finally:
        driver.quit()


def _sign_in(driver, base: str, name: str) -> None:
    """Sign in and wait until the browser has left the sign-in page: the click returns before
    the POST (a memory-hard password hash) has answered, so reading the URL at once races."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    try:
        WebDriverWait(driver, 60).until(lambda d: not d.current_url.endswith("/login"))
    except TimeoutException:
        page = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{name} is still on the sign-in page: {page[:500]}") from None


def _wait_for_file(folder: Path, seconds: float = 30) -> Path:
    """The downloaded PDF once Chromium has finished it. Chromium first puts an empty file
    under the final name and writes to a .crdownload beside it, renamed over it at the end:
    a CI run read the empty placeholder."""
    for _ in range(int(seconds * 10)):
        files = list(folder.iterdir())
        done = [p for p in files if p.suffix == ".pdf" and p.stat().st_size > 0]
        if done and not any(p.suffix == ".crdownload" for p in files):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no PDF downloaded into {folder}: {list(folder.iterdir())}")


def test_officer_finds_reads_and_downloads_and_auditor_sees_coverage(
    server: str, browser, workdir: Path
) -> None:
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from selenium.webdriver.common.by import By

    rows = [json.loads(line) for line in invoke("export").output.splitlines()]
    wanted = next(r for r in rows if r["state"] in ("archived", "needs_review"))
    title = wanted["dossier"]["Title"]
    _sign_in(browser, server, "officer1")
    assert browser.current_url.endswith("/search")
    box = browser.find_element(By.ID, "q")
    box.send_keys(fold(title))  # typed without diacritics
    browser.find_element(By.ID, "find").click()
    browser.find_element(By.CSS_SELECTOR, "li.hit")  # waits for the results page
    hits = browser.find_elements(By.CSS_SELECTOR, "li.hit")
    assert wanted["record_id"] in [h.get_attribute("data-record") for h in hits]
    link = next(h for h in hits if h.get_attribute("data-record") == wanted["record_id"])
    link.find_element(By.CSS_SELECTOR, "a.hit-title").click()
    assert browser.find_element(By.ID, "record-id").text == wanted["record_id"]
    assert browser.find_element(By.ID, "record-title").text == title
    assert browser.find_element(By.ID, "test-key").is_displayed()  # signed with the TEST key
    browser.find_element(By.ID, "download").click()
    pdf = _wait_for_file(browser.downloads)
    assert pdf.read_bytes() == Path(wanted["output"]).read_bytes()
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(workdir / "sohoa-data/keys/test-signer.pem"))],
        allow_fetching=False,
    )
    [signature] = PdfFileReader(io.BytesIO(pdf.read_bytes()), strict=False).embedded_signatures
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()

    _sign_in(browser, server, "auditor1")
    assert browser.current_url.endswith("/dashboard")
    expected = json.loads(invoke("coverage", "--format", "json").output)
    [total] = expected["rows"]
    text = {id_: browser.find_element(By.ID, id_).text
            for id_ in ("headline-percent", "headline-digitized", "headline-items")}  # fmt: skip
    assert text == {"headline-percent": f"{total['percent']:.1f}",
                    "headline-digitized": str(total["digitized"]),
                    "headline-items": str(total["items"])}  # fmt: skip
    by = json.loads(invoke("coverage", "--by", "procedure", "--format", "json").output)
    shown = {
        bar.get_attribute("data-key"): (int(bar.get_attribute("data-items")),
                                        int(bar.get_attribute("data-digitized")))
        for bar in browser.find_elements(By.CSS_SELECTOR, "#by-procedure tr.bar")
    }  # fmt: skip
    assert shown == {r["procedure"] or "": (r["items"], r["digitized"]) for r in by["rows"]}
    assert browser.find_element(By.ID, "test-signed").is_displayed()
