#!/usr/bin/env python3
"""Benchmark the edge runtime, as users run it, against a bare Starlette route and a bare ASGI callable.

Every server runs under uvicorn with the same settings (httptools, uvloop, no
uvicorn access log, no server header). The edge runs ``kickit-edge serve
--snapshots DIR`` with its **default** settings unless a scenario says
otherwise: the access log is on and written, with every other log line, to the
server's stderr, which this script sends to a file. Each scenario prints the
settings it ran with.

    (floor) a bare ASGI callable returning a constant body: the floor of this stack
    (c)     baseline: a bare Starlette route returning a constant body (the body of (a))
    (a)     GET /v1/versions on the demo snapshot
    (a-off) (a) with --access-log false, for reference
    (a-slow), (a-stock), (a-router)  (a) without one part each, to price it: the fast path, bounded HTTP,
            ExactRoutes (see VARIANT)
    (b)     GET /v1/versions on a 10,000-app snapshot: the same request as (a), to one app,
            so the two differ only in the size of the snapshot behind the lookup
    (b*)    the same, cycling over every app and key of the 10,000 (worst-case locality)
    (d)     the 304 path: (a) with a matching If-None-Match
    (e)     POST /v2/authenticate (one event line per request)
    (g)     POST /api/v1/target-checks (one event line per request)
    (f)     (a) while a new snapshot is published every second, counting answers
            that are neither 2xx nor 304, and socket errors
    (o)     POST /ofrep/v1/evaluate/flags/kickit.upgrade: OpenFeature's question (a) asks
    (o*)    POST /ofrep/v1/evaluate/flags: all four OFREP flags at once

Scenarios take turns round after round; each ratio is the median of the
per-round ratios to (c) (or to the floor), so load from elsewhere on the
machine skews a round's scenarios alike. ``--apps 0`` skips (b) and (b*).
``--against REF`` also runs (a), (d), (e) and (g) on the code of a git ref
(``main``, say) in the same rounds and prints the CPU per request saved against
it per round: on a shared machine, a before/after taken in two runs differs by
more than most changes do.

The load generator is wrk (``--install-wrk`` runs ``apt-get install -y wrk``
when it is missing); without wrk a small asyncio keep-alive load generator is
used instead. The server is pinned to CPU 0 and wrk to CPU 1 when ``taskset``
exists, so the two do not fight for a core.

    python scripts/bench_runtime.py [--duration 10] [--rounds 7] [--connections 32] [--apps 10000] [--work var/bench]

The 10,000-app config comes from ``scripts/generate_config.py``; compiling it
takes a few minutes, so it is kept in ``--work`` and reused by later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
DEMO_KEY = "2d71d7ebb9e2c0ed.dd24791ce6985c826497ec3fdcb4126521deff88f613db6680eea15a0d9f9b01"
DEMO_PATH = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"
UVICORN_SETTINGS: dict[str, Any] = {"log_level": "warning", "access_log": False, "server_header": False,
                                    "lifespan": "on"}


# --- the baseline app (run by this script in a subprocess) --------------------------

def baseline_app() -> Any:
    """uvicorn factory: a bare Starlette route returning a constant body."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    body = os.environ.get("BENCH_BODY", '{"ok":true}').encode()

    async def constant(request: Any) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/", constant)])


def floor_app() -> Any:
    """uvicorn factory: a bare ASGI callable returning a constant body (no framework at all)."""
    body = os.environ.get("BENCH_BODY", '{"ok":true}').encode()
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    answer = {"type": "http.response.body", "body": body}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send(start)
        await send(answer)

    return app


def serve_baseline(port: int, workers: int, factory: str) -> None:
    import uvicorn

    uvicorn.run(f"bench_runtime:{factory}", factory=True, app_dir=str(SCRIPTS), host="127.0.0.1", port=port,
                workers=workers, **UVICORN_SETTINGS)


# --- preparation ----------------------------------------------------------------------

def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def ensure_wrk(install: bool) -> str | None:
    found = shutil.which("wrk")
    if found or not install:
        return found
    print("installing wrk ...", file=sys.stderr)
    try:
        run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
        run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot install wrk ({exc}); using the Python load generator", file=sys.stderr)
    return shutil.which("wrk")


def compile_into(config: Path, out: Path) -> None:
    run([sys.executable, "-m", "kickit_edge.cli", "compile", str(config), "--out", str(out)],
        stdout=subprocess.DEVNULL)


def prepare(work: Path, apps: int) -> dict[str, Path]:
    """Demo snapshots A and B (another message), and the big one; returns their folders."""
    work.mkdir(parents=True, exist_ok=True)
    paths = {"demo": work / "demo", "demo_b": work / "demo-b", "big": work / f"big-{apps}"}
    compile_into(REPO / "config", paths["demo"])
    config_b = work / "config-b"
    shutil.rmtree(config_b, ignore_errors=True)
    shutil.copytree(REPO / "config", config_b)
    demo = config_b / "apps" / "demo.yaml"
    demo.write_text(demo.read_text().replace("Please update to continue.", "Please update now."))
    compile_into(config_b, paths["demo_b"])
    big_config = work / f"config-{apps}"
    if apps and not (paths["big"] / "snapshot.json").exists():
        print(f"generating and compiling {apps} apps (once; kept in {work}) ...", file=sys.stderr)
        shutil.rmtree(big_config, ignore_errors=True)
        run([sys.executable, str(SCRIPTS / "generate_config.py"), str(big_config), "--apps", str(apps),
             "--keys-out", str(work / f"keys-{apps}.tsv")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        compile_into(big_config, paths["big"])
    return paths


# --- servers ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cmd: list[str], cpu: str) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else cmd


class Server:
    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, ready: str = "/health",
                 port: int | None = None, cwd: Path | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [c.replace("{port}", str(self.port)) for c in cmd]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(pinned(cmd, "0"), env={**os.environ, **(env or {})}, cwd=cwd,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"server failed to start: {self.log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(self.base + ready, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not become ready")
            time.sleep(0.1)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def edge(snapshots: Path, events: Path, workers: int, *extra: str, code: Path | None = None) -> Server:
    """``kickit-edge serve`` with its default settings, plus ``extra`` flags; stderr (the logs) goes to a file.

    ``code`` is a folder holding another ``kickit_edge`` package to run instead of this one.
    """
    return Server([sys.executable, "-m", "kickit_edge.cli", "serve", "--snapshots", str(snapshots.resolve()),
                   "--port", "{port}", "--workers", str(workers), "--events-dir", str(events.resolve()), *extra],
                  ready="/ready", cwd=code)


def export_code(ref: str, work: Path) -> Path:
    """The ``kickit_edge`` package as it is at git ``ref``, in a folder of ``work`` (``python -m`` runs it from there)."""
    folder = work / f"code-{re.sub(r'[^A-Za-z0-9._-]', '_', ref)}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "kickit_edge"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


DEFAULTS = "serve defaults: access log on, to a file"

# serve() with everything as it is but one part, to price that part in the same run:
# "slow": the bounded protocol without the fast path (every request through ASGI and Starlette);
# "protocol": uvicorn's own httptools protocol (no bounds, no fast path);
# "router": "slow" with Starlette's router dispatching every request (no ExactRoutes).
VARIANT = """
import os, sys, uvicorn
from kickit_edge.runtime import app, limits, server
from kickit_edge.settings import Settings
s = Settings.resolve(environ=os.environ)
if sys.argv[1] == "router":
    class Router:
        def __init__(self, app, routes): self.app = app
        async def __call__(self, scope, receive, send): await self.app(scope, receive, send)
    app.ExactRoutes = Router
uvicorn.run(server.APP_FACTORY, factory=True, host=s.host, port=s.port, workers=1, log_config=server.log_config(s.log_level),
            log_level=s.log_level, access_log=False, server_header=False, lifespan="on",
            http="httptools" if sys.argv[1] == "protocol" else limits.PROTOCOL,
            timeout_keep_alive=s.keep_alive_timeout, limit_concurrency=s.limit_concurrency,
            timeout_graceful_shutdown=s.shutdown_timeout)
"""


def variant_edge(snapshots: Path, events: Path, variant: str) -> Server:
    """``serve``'s defaults in one process, with ``variant`` ("slow", "protocol" or "router") swapped in."""
    from kickit_edge.settings import Settings

    port = free_port()
    env = Settings(port=port, snapshots=str(snapshots), events_dir=str(events)).to_environ()
    return Server([sys.executable, "-c", VARIANT, variant], env=env, ready="/ready", port=port)


# --- load ---------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    rps: float
    p99_ms: float
    requests: int
    bad: int  # answers neither 2xx nor 3xx, plus socket errors
    note: str = ""
    cpu_us: float = float("nan")  # server CPU time (user + system) per request, microseconds


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its direct children (uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid; fields[11], fields[12] are utime, stime
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def lua_requests(requests: list[tuple[str, str, dict[str, str], str]]) -> str:
    """A wrk script cycling over prebuilt requests (method, path, headers, body)."""
    def lua_str(text: str) -> str:
        return json.dumps(text)  # a JSON string literal is a valid Lua string literal here (ASCII)

    rows = ",\n".join(
        "{%s,%s,{%s},%s}" % (lua_str(m), lua_str(p), ",".join(f"[{lua_str(k)}]={lua_str(v)}" for k, v in h.items()),
                             lua_str(b) if b else "nil")
        for m, p, h, b in requests)
    return f"""
local specs = {{
{rows}
}}
local prepared = {{}}
local i = 0
init = function(args)
  for n, s in ipairs(specs) do prepared[n] = wrk.format(s[1], s[2], s[3], s[4]) end
end
request = function()
  i = i % #prepared + 1
  return prepared[i]
end
"""


def wrk_load(wrk: str, base: str, script: str, duration: int, connections: int, name: str) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(pinned([wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
                                      handle.name, base], "1"), capture_output=True, text=True, check=True)
    finally:
        os.unlink(handle.name)
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99[1]) * scale[p99[2]] if p99 else float("nan")
    bad = int(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        bad += sum(int(g) for g in m.groups())
    return Result(name, rps, p99_ms, requests, bad)


async def _python_load(host: str, port: int, raw: list[bytes], duration: int, connections: int) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    bad = 0
    stop_at = time.perf_counter() + duration

    async def one(offset: int) -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(host, port)
        i = offset
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(raw[i % len(raw)])
            i += 1
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            if not 200 <= status < 400:
                bad += 1
        writer.close()

    await asyncio.gather(*(one(n) for n in range(connections)))
    return len(latencies), bad, latencies


def python_load(base: str, requests: list[tuple[str, str, dict[str, str], str]], duration: int, connections: int,
                name: str) -> Result:
    host, port = base.removeprefix("http://").split(":")
    raw = []
    for method, path, headers, body in requests:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
        if body:
            lines.append(f"Content-Length: {len(body.encode())}")
        raw.append(("\r\n".join(lines) + "\r\n\r\n" + (body or "")).encode())
    started = time.perf_counter()
    count, bad, latencies = asyncio.run(_python_load(host, int(port), raw, duration, connections))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan")
    return Result(name, count / elapsed, p99, count, bad, "python load generator")


# --- scenarios ------------------------------------------------------------------------------

Requests = list[tuple[str, str, dict[str, str], str]]


@dataclass
class Scenario:
    name: str
    settings: str
    server: Server
    requests: Requests


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario and round (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of all scenarios; medians are reported")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for every server (default 1)")
    parser.add_argument("--apps", type=int, default=10000, help="apps in the big snapshot (default 10000; 0 skips it)")
    parser.add_argument("--work", default=str(REPO / "var" / "bench"), help="working folder (kept for reuse)")
    parser.add_argument("--install-wrk", action="store_true", help="apt-get install wrk if it is missing")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--against", metavar="REF", help="also run (a), (d), (e), (g) on the code of this git ref "
                        "(e.g. main), in the same rounds, and print the CPU per request this tree saves against it")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--factory", default="baseline_app", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def big_requests(work: Path, apps: int) -> Requests:
    out: Requests = []
    for line in (work / f"keys-{apps}.tsv").read_text().splitlines():
        app_id, key = line.split("\t")
        path = f"/v1/versions?app_id={app_id}&app_version=2.5.0&platform=ios&environment=production"
        out.append(("GET", path, {"x-api-token": base64.b64encode(key.encode()).decode()}, ""))
    return out


def start_servers(args: argparse.Namespace, paths: dict[str, Path], work: Path,
                  servers: list[Server]) -> dict[str, Scenario]:
    """Start every server (appending each to ``servers`` so the caller stops them) and name the scenarios."""
    events = work / "events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir()
    token = base64.b64encode(DEMO_KEY.encode()).decode()
    versions: Requests = [("GET", DEMO_PATH, {"x-api-token": token}, "")]

    def started(server: Server) -> Server:
        servers.append(server)
        return server

    demo = started(edge(paths["demo"], events, args.workers))
    status, body, headers = demo.get(DEMO_PATH, {"x-api-token": token})
    assert status == 200, (status, body)
    bare = [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", "{port}", "--workers",
            str(args.workers)]
    baseline = started(Server(bare, env={"BENCH_BODY": body.decode()}, ready="/"))
    floor = started(Server([*bare, "--factory", "floor_app"], env={"BENCH_BODY": body.decode()}, ready="/"))
    quiet = started(edge(paths["demo"], events, args.workers, "--access-log", "false"))
    slow = started(variant_edge(paths["demo"], events, "slow"))
    stock = started(variant_edge(paths["demo"], events, "protocol"))
    routed = started(variant_edge(paths["demo"], events, "router"))
    live = work / "live"
    shutil.rmtree(live, ignore_errors=True)
    live.mkdir()
    shutil.copy(paths["demo"] / "snapshot.json", live / "snapshot.json")
    following = started(edge(live, events, args.workers))
    user = json.dumps({"user_id": "user_12345", "platform": "ios", "app_version": "2.5.0",
                       "environment": "production"})
    target = json.dumps({"data": {"device": "iPhone15,2", "locale": "en_US"}})
    # What an OpenFeature client sends at launch: the client of (a), iOS 1.2.0 in production, in German.
    ofrep = json.dumps({"context": {"targetingKey": "user-1", "appVersion": "1.2.0", "platform": "ios",
                                    "environment": "production", "locale": "de-DE"}})
    ofrep_headers = {"X-API-Key": DEMO_KEY, "Content-Type": "application/json"}
    same = "same uvicorn settings as serve"
    scenarios = {
        "floor": Scenario("(floor) bare ASGI callable, constant body", same, floor, [("GET", "/", {}, "")]),
        "c": Scenario("(c) bare Starlette route, constant body", same, baseline, [("GET", "/", {}, "")]),
        "a": Scenario("(a) GET /v1/versions", DEFAULTS, demo, versions),
        "a_off": Scenario("(a-off) GET /v1/versions", "serve defaults but --access-log false", quiet, versions),
        "a_slow": Scenario("(a-slow) GET /v1/versions", "serve defaults but without the fast path (every request "
                           "through ASGI and Starlette), to price the fast path", slow, versions),
        "a_stock": Scenario("(a-stock) GET /v1/versions", "(a-slow) but uvicorn's own httptools protocol "
                            "(no head bound, no read deadlines), to price bounded HTTP", stock, versions),
        "a_router": Scenario("(a-router) GET /v1/versions", "(a-slow) but every request dispatched by "
                             "Starlette's router, to price ExactRoutes", routed, versions),
        "d": Scenario("(d) 304 path", DEFAULTS, demo, [("GET", DEMO_PATH, {
            "x-api-token": token, "If-None-Match": headers["etag"]}, "")]),
        "e": Scenario("(e) POST /v2/authenticate", DEFAULTS + ", one event per request", demo, [(
            "POST", "/v2/authenticate", {"x-api-token": token, "Content-Type": "application/json"}, user)]),
        "g": Scenario("(g) POST /api/v1/target-checks", DEFAULTS + ", one event per request", demo, [(
            "POST", "/api/v1/target-checks", {"X-API-KEY": DEMO_KEY, "X-KICKIT-APP-VERSION": "2.5.0",
                                              "X-KICKIT-PLATFORM": "ios", "Content-Type": "application/json"},
            target)]),
        "f": Scenario("(f) (a) + republish every second", DEFAULTS, following, versions),
        "o": Scenario("(o) POST /ofrep/v1/evaluate/flags/kickit.upgrade", DEFAULTS, demo, [
            ("POST", "/ofrep/v1/evaluate/flags/kickit.upgrade", ofrep_headers, ofrep)]),
        "o_bulk": Scenario("(o*) POST /ofrep/v1/evaluate/flags, all four flags", DEFAULTS, demo, [
            ("POST", "/ofrep/v1/evaluate/flags", ofrep_headers, ofrep)]),
    }
    if args.against:
        code = export_code(args.against, work)
        before = started(edge(paths["demo"], events, args.workers, code=code))
        for key in AGAINST:
            scenarios[f"{key}@"] = Scenario(f"{scenarios[key].name} @ {args.against}",
                                            f"{scenarios[key].settings}; the code of {args.against}", before,
                                            scenarios[key].requests)
    if args.apps:
        big = started(edge(paths["big"], events, args.workers))
        every = big_requests(work, args.apps)
        scenarios["b"] = Scenario(f"(b) /v1/versions, {args.apps}-app snapshot", DEFAULTS, big, every[:1])
        scenarios["b_all"] = Scenario(f"(b*) (b) cycling over all {args.apps} apps and keys", DEFAULTS, big, every)
    return scenarios


class Republisher:
    """Publishes the two demo snapshots in turn into ``live``, once a second, inside ``with``."""

    def __init__(self, paths: dict[str, Path], live: Path) -> None:
        self.sources = [paths["demo_b"] / "snapshot.json", paths["demo"] / "snapshot.json"]
        self.live = live
        self.published = 0
        self.active = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.active.wait()
            time.sleep(1.0)
            if self.active.is_set():
                staged = self.live / ".staged"
                shutil.copy(self.sources[self.published % 2], staged)
                os.replace(staged, self.live / "snapshot.json")
                self.published += 1

    def __enter__(self) -> Republisher:
        self.active.set()
        return self

    def __exit__(self, *exc: object) -> None:
        self.active.clear()


AGAINST = ("a", "d", "e", "g")  # the scenarios --against runs on the other code too


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(args: argparse.Namespace, scenarios: dict[str, Scenario], rounds: dict[str, list[Result]],
           wrk: str | None, note: str) -> dict[str, Any]:
    """Print the table: medians of rounds, and medians of per-round ratios to (c) and to the floor."""
    def ratio(key: str, to: str, of: str = "rps") -> float:
        return median([getattr(r, of) / getattr(b, of) for r, b in zip(rounds[key], rounds[to])])

    print(f"\nworkers={args.workers} connections={args.connections} duration={args.duration}s x {args.rounds} rounds "
          f"load={'wrk, 1 thread' if wrk else 'python'} cpus={os.cpu_count()}\n")
    print("| scenario | settings | req/s | vs (c) | vs floor | p99 ms | p99 vs (c) | server CPU us/req "
          "| vs (c) by CPU | vs floor by CPU | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    out: dict[str, Any] = {}
    for key, scenario in scenarios.items():
        runs = rounds[key]
        row = {"rps": median([r.rps for r in runs]), "vs_c": ratio(key, "c"), "vs_floor": ratio(key, "floor"),
               "p99_ms": median([r.p99_ms for r in runs]), "p99_vs_c": ratio(key, "c", "p99_ms"),
               "cpu_us": median([r.cpu_us for r in runs]), "errors": sum(r.bad for r in runs),
               # CPU per request, inverted: the share of the server's CPU the scenario needs, as a throughput ratio.
               "cpu_vs_c": 1 / ratio(key, "c", "cpu_us"), "cpu_vs_floor": 1 / ratio(key, "floor", "cpu_us")}
        out[key] = {"name": scenario.name, "settings": scenario.settings, **row}
        print(f"| {scenario.name} | {scenario.settings} | {row['rps']:,.0f} | {row['vs_c']:.2f} | "
              f"{row['vs_floor']:.2f} | {row['p99_ms']:.2f} | {row['p99_vs_c']:.2f} | {row['cpu_us']:.1f} | "
              f"{row['cpu_vs_c']:.2f} | {row['cpu_vs_floor']:.2f} | {row['errors']} |")
    print("\nreq/s and p99 are medians of rounds; ratios are medians of per-round ratios. CPU per request counts")
    print("the server process only, so it holds when other processes share the machine; 'by CPU' is the")
    print("baseline's CPU per request over the scenario's.")
    print(f"(f): {note}")
    cost = 1 - median([r.rps / b.rps for r, b in zip(rounds["a_slow"], rounds["a_stock"])])
    cpu_cost = median([r.cpu_us / b.cpu_us for r, b in zip(rounds["a_slow"], rounds["a_stock"])]) - 1
    print(f"bounded HTTP costs (a-slow) {cost:.1%} of (a-stock)'s req/s, {cpu_cost:.1%} more CPU per request "
          "(target <= 3%)")
    for label, key, other in (("the fast path", "a", "a_slow"), ("bounded HTTP", "a_slow", "a_stock"),
                              ("ExactRoutes", "a_slow", "a_router")):
        per_round = sorted(1 - r.cpu_us / b.cpu_us for r, b in zip(rounds[key], rounds[other]))
        print(f"{label}: ({key.replace('_', '-')}) against ({other.replace('_', '-')}), CPU per request saved per "
              f"round: {', '.join(f'{x:+.1%}' for x in per_round)} (the spread is the run-to-run noise)")
    for label, key, to, target in (("(a) vs (c)", "a", "c", 0.85), ("(a) vs floor", "a", "floor", 0.65),
                                   ("(d) vs (c)", "d", "c", 0.90), ("(e) vs (c)", "e", "c", 0.75),
                                   ("(g) vs (c)", "g", "c", 0.75)):
        by = "c" if to == "c" else "floor"
        print(f"target {label} >= {target}: {out[key][f'vs_{by}']:.2f} by req/s, {out[key][f'cpu_vs_{by}']:.2f} by CPU")
    o_rps = median([r.rps / b.rps for r, b in zip(rounds["o"], rounds["a"])])
    o_cpu = median([b.cpu_us / r.cpu_us for r, b in zip(rounds["o"], rounds["a"])])
    print(f"OFREP (o) vs (a), as cheap as the seed endpoint it restates: {o_rps:.2f} by req/s, {o_cpu:.2f} by CPU")
    for key in AGAINST if args.against else ():
        per_round = sorted(1 - r.cpu_us / b.cpu_us for r, b in zip(rounds[key], rounds[f"{key}@"]))
        print(f"({key}) against {args.against}: CPU per request saved per round: "
              f"{', '.join(f'{x:+.1%}' for x in per_round)}, median {median(per_round):+.1%}")
    worst = max(out[key]["p99_vs_c"] for key in ("a", "d", "e", "g"))
    print(f"target p99 <= 1.5x (c): worst {worst:.2f}; (f) errors: {out['f']['errors']} (target 0)")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.workers, args.factory)
        return 0
    wrk = None if args.python_load else ensure_wrk(args.install_wrk)
    work = Path(args.work)
    paths = prepare(work, args.apps)

    def load(base: str, requests: Requests, seconds: int, name: str) -> Result:
        if wrk:
            return wrk_load(wrk, base, lua_requests(requests), seconds, args.connections, name)
        return python_load(base, requests, seconds, args.connections, name)

    servers: list[Server] = []
    try:
        scenarios = start_servers(args, paths, work, servers)
        for scenario in scenarios.values():
            # Long enough to send every request of the cycle at least once.
            load(scenario.server.base, scenario.requests, 3 + len(scenario.requests) // 1000, "warm-up")
        rounds: dict[str, list[Result]] = {key: [] for key in scenarios}
        republisher = Republisher(paths, work / "live")
        for round_ in range(args.rounds):
            for key, scenario in scenarios.items():
                pid = scenario.server.process.pid
                before = cpu_seconds(pid)
                if key == "f":
                    with republisher:
                        result = load(scenario.server.base, scenario.requests, args.duration, scenario.name)
                else:
                    result = load(scenario.server.base, scenario.requests, args.duration, scenario.name)
                result.cpu_us = (cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6
                rounds[key].append(result)
                print(f"round {round_ + 1}/{args.rounds} {scenario.name}: {result.rps:,.0f} req/s, "
                      f"{result.cpu_us:.1f} us CPU per request", file=sys.stderr)
        _, status_body, _ = scenarios["f"].server.get("/status")
        note = f"{republisher.published} snapshots published during the runs, {json.loads(status_body)['loads']} loads"
    finally:
        for server in servers:
            server.stop()
    out = report(args, scenarios, rounds, wrk, note)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
