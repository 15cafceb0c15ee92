"""The adoption page on a phone, in a real browser: headless Chromium lays it out 390 pixels wide without a sideways scroll.

A headless window is at least 500 pixels wide, so the page is opened in a
390x844 frame of a small host page, whose script (the page itself runs none)
measures how wide the page's content is. Skipped, with the reason, where
Chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kickit_edge.cli import main

from .test_conversion import events  # noqa: F401  (the fixture)
from .test_impact import snapshot  # noqa: F401  (the fixture)

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--allow-file-access-from-files",
         "--window-size=500,900", "--virtual-time-budget=5000"]
PHONE = (390, 844)
HOST = """<!doctype html><html><body style="margin:0">
<iframe id="phone" src="{page}" style="width:{w}px;height:{h}px;border:0"></iframe>
<script>
document.getElementById("phone").onload = function () {{
  var page = this.contentDocument;
  document.body.setAttribute("data-width", Math.max(page.documentElement.scrollWidth, page.body.scrollWidth));
  document.body.setAttribute("data-frame", this.contentWindow.innerWidth);
}};
</script></body></html>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_adoption_page_fits_a_phone_screen(events, snapshot, tmp_path, frozen_now):  # noqa: F811
    page = tmp_path / "adoption.html"
    assert main(["events", "adoption", "--events-dir", str(events), "--snapshot", str(snapshot),
                 "--since", "2026-10-25", "--format", "html", "--out", str(page)]) == 0
    host = tmp_path / "phone.html"
    host.write_text(HOST.format(page=page.name, w=PHONE[0], h=PHONE[1]))
    dom = chromium(tmp_path, "--dump-dom", host.as_uri()).stdout
    frame, width = re.search(r'data-frame="(\d+)"', dom), re.search(r'data-width="(\d+)"', dom)
    assert frame is not None and width is not None, dom[:500]
    assert int(frame[1]) == PHONE[0]
    # Nothing wider than the phone: the chart scales down, the tables scroll inside their box.
    assert int(width[1]) <= PHONE[0]
    shot = tmp_path / "phone.png"
    chromium(tmp_path, f"--screenshot={shot}", host.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 1000
