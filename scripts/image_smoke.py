"""The image's smoke test, run inside the built image by scripts/image.sh.

Compiles the demo config, starts the edge as the image's entrypoint would,
waits for /ready, asks a seed request, then stops it with SIGTERM and expects
a clean exit. Standard library only: the image holds nothing else to test with.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

DEMO_KEY = "2d71d7ebb9e2c0ed.dd24791ce6985c826497ec3fdcb4126521deff88f613db6680eea15a0d9f9b01"
BASE = "http://127.0.0.1:8000"


def fail(message: str) -> None:
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def main() -> None:
    subprocess.run(["kickit-edge", "compile", "/tmp/config", "--out", "/tmp/snapshots"], check=True)
    os.makedirs("/tmp/events", exist_ok=True)
    server = subprocess.Popen(["kickit-edge", "serve", "--snapshots", "/tmp/snapshots", "--events-dir", "/tmp/events"])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{BASE}/ready", timeout=2) as answer:
                    print(f"/ready -> {answer.status}", flush=True)
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    fail("the edge did not become ready within 30 s")
                time.sleep(0.2)
        token = base64.b64encode(DEMO_KEY.encode()).decode()
        query = "app_id=demo&app_version=1.2.0&platform=ios&environment=production"
        request = urllib.request.Request(f"{BASE}/v1/versions?{query}", headers={"x-api-token": token})
        with urllib.request.urlopen(request, timeout=5) as answer:
            body = json.loads(answer.read())
        print(f"/v1/versions -> {body}", flush=True)
        if body.get("force_update") is not True or body.get("platform") != "ios":
            fail(f"unexpected answer {body}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            fail("the edge did not exit within 15 s of SIGTERM")
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status
    # tells a supervisor why it stopped: both 0 and "killed by SIGTERM" are clean.
    if code not in (0, -signal.SIGTERM):
        fail(f"the edge exited with {code} after SIGTERM")
    print("smoke test passed", flush=True)


if __name__ == "__main__":
    main()
