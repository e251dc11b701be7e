"""Screenshots of `sohoa serve`'s pages into docs/ (web-*.png, 256 colours like docs/report.png).

Run from a demo folder (`make demo`) with a server on 127.0.0.1: it adds one user per role
if missing, signs in with Debian's chromium through /usr/bin/chromedriver (Selenium
Manager never downloads a browser here), and saves each page.

    python tools/web_screenshots.py --base http://127.0.0.1:8080 --out docs
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMEDRIVER = "/usr/bin/chromedriver"
USERS = {"officer": "shot-officer", "auditor": "shot-auditor", "operator": "shot-operator",
         "admin": "shot-admin"}  # fmt: skip
PASSWORD = "screenshot-password"


def browser(width: int = 1280, height: int = 1000) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 f"--window-size={width},{height}"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def sign_in(driver: webdriver.Chrome, base: str, name: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()


def save(driver: webdriver.Chrome, path: Path, height: int | None = None) -> None:
    """The whole page (up to `height` px), quantized to 256 colours."""
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(height or full, full) + 20)
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    shot.quantize(256).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--sohoa", default="sohoa", help="the sohoa command (for the users)")
    parser.add_argument("--query", default="dang ky khai sinh")
    args = parser.parse_args()
    env = {**os.environ, "SOHOA_USER_PASSWORD": PASSWORD}
    for role, name in USERS.items():
        subprocess.run([args.sohoa, "user", "add", name, "--role", role], env=env,
                       capture_output=True)  # fmt: skip  (exists already: fine)
    args.out.mkdir(parents=True, exist_ok=True)
    driver = browser()
    try:
        driver.get(f"{args.base}/login")
        save(driver, args.out / "web-login.png", 500)
        sign_in(driver, args.base, USERS["officer"], PASSWORD)
        driver.get(f"{args.base}/search?q={args.query}")
        save(driver, args.out / "web-search.png", 1400)
        driver.find_element(By.CSS_SELECTOR, "a.hit-title").click()
        driver.execute_script("document.querySelectorAll('img').forEach(i => i.loading='eager')")
        driver.implicitly_wait(2)
        save(driver, args.out / "web-record.png", 1800)
        record = driver.find_element(By.ID, "record-id").text
        sign_in(driver, args.base, USERS["auditor"], PASSWORD)
        pages = (("/dashboard", "web-dashboard.png", None),
                 ("/coverage/unscanned", "web-unscanned.png", 900),
                 ("/verification", "web-verification.png", 1200),
                 (f"/records/{record}/events", "web-events.png", 900))  # fmt: skip
        for page, name, height in pages:
            driver.get(args.base + page)
            save(driver, args.out / name, height)
        sign_in(driver, args.base, USERS["operator"], PASSWORD)
        for page, name in (("/batches", "web-batches.png"), ("/failures", "web-failures.png")):
            driver.get(args.base + page)
            save(driver, args.out / name, 700)
        sign_in(driver, args.base, USERS["admin"], PASSWORD)
        driver.get(f"{args.base}/admin/access")
        save(driver, args.out / "web-access-log.png", 800)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
