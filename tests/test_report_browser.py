"""The report in a real browser: headless Chromium opens it offline, without console errors,
with every image decoded and no request other than the file itself and its data: URIs.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``:
JSON messages ending in NUL on file descriptors 3 and 4), which needs nothing beyond the
standard library. Run as a script to check any report and keep its screenshot:

    python tests/test_report_browser.py results/report.html results/report.png
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--remote-debugging-pipe",
)  # fmt: skip
WIDTH = 1280
MAX_HEIGHT = 16000  # Chromium's limit for one capture is about 16k pixels
IMAGES = "JSON.stringify(Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth]))"


class DevTools:
    """A headless Chromium and its DevTools pipe; events are kept in ``events``."""

    def __init__(self, exe: str, profile: str, timeout: float = 60):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser reads commands on fd 3 and writes replies on fd 4. Our ends move above
        # 100 first, so the shell's redirections cannot overwrite one with the other (bash:
        # dash takes single-digit descriptors only).
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (to_browser_r, from_browser_w)]
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{high[0]} 4>&{high[1]}', exe, *FLAGS,
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=high,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for fd in high:
            os.close(fd)
        self.deadline = time.monotonic() + timeout
        self.events: list[dict] = []
        self._buffer = b""
        self._id = 0

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        command = {"id": self._id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._to_browser, json.dumps(command).encode() + b"\0")
        while True:
            message = self._message()
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            message = self._message()
            self.events.append(message)
            if message.get("method") == method:
                return message

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=15)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


@dataclass
class PageCheck:
    """What the browser saw: images (alt, loaded, natural width), console errors, requests."""

    images: list[list] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    height: int = 0


def _sort_event(event: dict, check: PageCheck) -> None:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        check.errors.append(params["exceptionDetails"].get("text", "exception"))
    elif method == "Runtime.consoleAPICalled":
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
        (check.errors if params["type"] in ("error", "assert") else check.warnings).append(text)
    elif method == "Log.entryAdded":
        entry = params["entry"]
        text = f"{entry['source']}: {entry['text']}"
        (check.errors if entry["level"] == "error" else check.warnings).append(text)
    elif method == "Network.requestWillBeSent":
        check.requests.append(params["request"]["url"])


def inspect(exe: str, page: Path, screenshot: Path) -> PageCheck:
    """Open ``page`` in headless Chromium at 1280 px wide; check it and save a full-page PNG."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = DevTools(exe, profile)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.call(f"{domain}.enable", session=session)
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            browser.wait_for("Page.loadEventFired")
            images = browser.call(
                "Runtime.evaluate", {"expression": IMAGES, "returnByValue": True}, session
            )["result"]["value"]
            size = browser.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
            height = min(int(size["height"]), MAX_HEIGHT)
            shot = browser.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True,
                 "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}},
                session,
            )  # fmt: skip
        finally:
            browser.close()
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    check = PageCheck(images=json.loads(images), height=height)
    for event in browser.events:
        _sort_event(event, check)
    return check


def find_chromium() -> str | None:
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def install_chromium() -> str:
    """Debian's ``chromium`` package, when we may install it (root and apt-get)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    for step in ([], ["apt-get", "update", "-q"]):  # stale package lists: update, then retry
        if step:
            subprocess.run(step, env=env, capture_output=True, timeout=600)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode == 0 and find_chromium():
            return find_chromium()
    pytest.skip(f"apt-get install chromium failed: {done.stderr.strip()[-300:]}")


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = find_chromium()
    if exe:
        return exe
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            "headless Chromium is not installed and this test can install it only as root "
            "with apt-get (Debian: apt-get install chromium)"
        )
    return install_chromium()


def assert_renders_cleanly(check: PageCheck, n_images: int) -> None:
    assert check.errors == [], check.errors
    assert len(check.images) == n_images
    broken = [alt for alt, complete, width in check.images if not (complete and width > 0)]
    assert broken == [], f"images that did not load: {broken}"
    external = [url for url in check.requests if not url.startswith(("file:", "data:"))]
    assert external == [], external
    assert check.height > 2000  # the whole report laid out, not an error page


def test_report_opens_in_headless_chromium(chromium, tmp_path):
    from fake_results import config, render, write_results

    from mlpcompare.presenting import figures

    results = tmp_path / "results"
    cfg = config(framework_overrides={"torch": {"lr": 0.01}})
    keys = write_results(results, cfg, diverged={("keras", 1)})
    page = results / "report.html"
    page.write_text(render(results, cfg, keys))
    check = inspect(chromium, page, results / "report.png")
    assert_renders_cleanly(check, n_images=3 + len(figures.FIGURES))  # EDA + the registry
    assert (results / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_a_blocked_request_would_be_caught(chromium, tmp_path):
    """The check is not blind: an external image is refused by the page's policy and reported."""
    from mlpcompare.presenting.report import CONTENT_SECURITY_POLICY

    page = tmp_path / "bad.html"
    page.write_text(
        f'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" '
        f'content="{CONTENT_SECURITY_POLICY}"><img alt="remote" src="http://192.0.2.1/x.png">'
    )
    check = inspect(chromium, page, tmp_path / "bad.png")
    assert check.errors and "remote" in [alt for alt, _, width in check.images if width == 0]


if __name__ == "__main__":
    exe = find_chromium() or sys.exit("chromium not found")
    report_page = Path(sys.argv[1])
    shot_path = Path(sys.argv[2]) if len(sys.argv) > 2 else report_page.with_suffix(".png")
    result = inspect(exe, report_page, shot_path)
    print(json.dumps(result.__dict__, indent=1))
    print(f"screenshot: {shot_path}")
