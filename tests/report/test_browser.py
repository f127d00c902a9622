"""The HTML report opens in headless Chromium with no console error and no network request.

Chromium runs with a loopback proxy that records every request it makes; the page must make
none (Chromium's own calls to its Google services are told apart by host). A control page
with a script error and a remote image shows that the check does catch both.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.report.render import render
from tests.report.scenario import hostile_report

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
# CI sets MAINTBOT_TEST_REQUIRE_CHROMIUM=1 so a missing browser fails instead of skipping.
REQUIRED = os.environ.get("MAINTBOT_TEST_REQUIRE_CHROMIUM") == "1"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not REQUIRED, reason="needs Chromium on PATH (apt-get install -y chromium)"
)


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    if CHROMIUM is None:
        pytest.fail("MAINTBOT_TEST_REQUIRE_CHROMIUM=1 but no Chromium on PATH")


BROWSER_OWN_HOSTS = ("google.com", "gvt1.com", "googleapis.com", "gstatic.com")


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_CONNECT = do_POST = do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[int, list[str]]]:
    """A loopback proxy that answers 404 to everything and remembers what was asked."""
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def open_in_chromium(page: Path, proxy_port: int, profile: Path) -> list[str]:
    """Loads ``page`` headless; returns the console messages Chromium logged."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            f"--proxy-server=http://127.0.0.1:{proxy_port}",
            "--proxy-bypass-list=<-loopback>",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "</html>" in done.stdout  # the page was loaded and rendered
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def page_requests(seen: list[str]) -> list[str]:
    def host(entry: str) -> str:
        return (urlsplit(entry).hostname or entry.split(":")[0]).lower()

    return [e for e in seen if not host(e).endswith(BROWSER_OWN_HOSTS)]


def test_html_report_needs_no_network_and_logs_no_error(tmp_path, proxy):
    port, seen = proxy
    page = tmp_path / "report.html"
    page.write_text(render(hostile_report(), "html"), encoding="utf-8")
    console = open_in_chromium(page, port, tmp_path / "profile")
    assert console == []
    assert page_requests(seen) == []


def test_the_check_catches_errors_and_requests(tmp_path, proxy):
    port, seen = proxy
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://example.com/x.png">'
        "<script>notDefined()</script></body></html>"
    )
    console = open_in_chromium(page, port, tmp_path / "profile")
    assert any("notDefined" in line for line in console)
    assert "http://example.com/x.png" in page_requests(seen)
