#!/usr/bin/env python3
"""Benchmark the edge runtime against a bare Starlette route, on the same uvicorn settings.

Scenarios, each against a fresh ``kickit-edge serve --snapshots DIR`` (or, for
(c), a bare Starlette app) under uvicorn with the same settings (httptools,
uvloop, no uvicorn access log, no server header, log level warning):

    (a) GET /v1/versions on the demo snapshot
    (b) GET /v1/versions on a 10,000-app snapshot: the same request as (a), to one app,
        so the two differ only in the size of the snapshot behind the lookup
    (b*) the same, cycling over every app and key of the 10,000: every request
        touches memory no recent one touched (worst-case locality), for reference
    (c) baseline: a bare Starlette route returning a constant body (the body of (a))
    (d) the 304 path: (a) with a matching If-None-Match
    (e) POST /v2/authenticate (one event line per request)
    (f) (a) while a new snapshot is published every second, counting answers
        that are neither 2xx nor 304, and socket errors
    (a+log) (a) with the access log on (the default of ``serve``), for reference

Each is reported as requests/s, p99 latency and the ratio to (c).

The load generator is wrk (``--install-wrk`` runs ``apt-get install -y wrk``
when it is missing); without wrk a small asyncio keep-alive load generator is
used instead. The server is pinned to CPU 0 and wrk to CPU 1 when ``taskset``
exists, so the two do not fight for a core.

    python scripts/bench_runtime.py [--duration 10] [--connections 32] [--apps 10000] [--work var/bench]

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


def serve_baseline(port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run("bench_runtime:baseline_app", factory=True, app_dir=str(SCRIPTS), host="127.0.0.1", port=port,
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
    if not (paths["big"] / "snapshot.json").exists():
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
    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, ready: str = "/health") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [c.replace("{port}", str(self.port)) for c in cmd]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(pinned(cmd, "0"), env={**os.environ, **(env or {})},
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


def edge(snapshots: Path, events: Path, workers: int, access_log: bool = False) -> Server:
    return Server([sys.executable, "-m", "kickit_edge.cli", "serve", "--snapshots", str(snapshots),
                   "--port", "{port}", "--workers", str(workers), "--events-dir", str(events),
                   "--access-log", "true" if access_log else "false", "--log-level", "warning"], ready="/ready")


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

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all scenarios; medians are reported")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for every server (default 1)")
    parser.add_argument("--apps", type=int, default=10000, help="apps in the big snapshot (default 10000)")
    parser.add_argument("--work", default=str(REPO / "var" / "bench"), help="working folder (kept for reuse)")
    parser.add_argument("--install-wrk", action="store_true", help="apt-get install wrk if it is missing")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.workers)
        return 0

    wrk = None if args.python_load else ensure_wrk(args.install_wrk)
    work = Path(args.work)
    paths = prepare(work, args.apps)
    events = work / "events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir()
    demo_token = base64.b64encode(DEMO_KEY.encode()).decode()

    def load(base: str, requests: list[tuple[str, str, dict[str, str], str]], name: str) -> Result:
        if wrk:
            return wrk_load(wrk, base, lua_requests(requests), args.duration, args.connections, name)
        return python_load(base, requests, args.duration, args.connections, name)

    def warm(base: str, requests: list[tuple[str, str, dict[str, str], str]]) -> None:
        # Long enough to send every request of the cycle at least once (the
        # big snapshot builds each app's index on its first request).
        seconds = 3 + len(requests) // 1000
        if wrk:
            wrk_load(wrk, base, lua_requests(requests), seconds, args.connections, "warm-up")
        else:
            python_load(base, requests, seconds, args.connections, "warm-up")

    versions = [("GET", DEMO_PATH, {"x-api-token": demo_token}, "")]
    user = json.dumps({"user_id": "user_12345", "platform": "ios", "app_version": "2.5.0",
                       "environment": "production"})
    # What an OpenFeature client sends at launch (the same client as (a): iOS 1.2.0, production).
    ofrep = json.dumps({"context": {"targetingKey": "user-1", "appVersion": "1.2.0", "platform": "ios",
                                    "environment": "production", "locale": "de-DE"}})
    ofrep_headers = {"X-API-Key": DEMO_KEY, "Content-Type": "application/json"}
    keys_file = work / f"keys-{args.apps}.tsv"
    big_requests = []
    for line in keys_file.read_text().splitlines():
        app_id, key = line.split("\t")
        path = f"/v1/versions?app_id={app_id}&app_version=2.5.0&platform=ios&environment=production"
        big_requests.append(("GET", path, {"x-api-token": base64.b64encode(key.encode()).decode()}, ""))
    live = work / "live"
    shutil.rmtree(live, ignore_errors=True)
    live.mkdir()
    shutil.copy(paths["demo"] / "snapshot.json", live / "snapshot.json")

    # Every server runs for the whole benchmark and the scenarios take turns,
    # round after round; each figure is the median of its rounds. Background
    # load on the machine then skews all scenarios alike instead of one.
    servers: list[Server] = []
    try:
        demo = edge(paths["demo"], events, args.workers)
        servers.append(demo)
        status, body, headers = demo.get(DEMO_PATH, {"x-api-token": demo_token})
        assert status == 200, (status, body)
        baseline = Server([sys.executable, str(Path(__file__).resolve()), "--serve-baseline", "{port}",
                           "--workers", str(args.workers)], env={"BENCH_BODY": body.decode()}, ready="/")
        servers.append(baseline)
        big = edge(paths["big"], events, args.workers)
        servers.append(big)
        following = edge(live, events, args.workers)
        servers.append(following)
        logging_on = edge(paths["demo"], events, args.workers, access_log=True)
        servers.append(logging_on)
        for server, requests in ((demo, versions), (baseline, [("GET", "/", {}, "")]), (big, big_requests),
                                 (following, versions), (logging_on, versions)):
            warm(server.base, requests)

        scenarios = {
            "a": ("(a) /v1/versions, demo snapshot", demo, versions),
            "b": (f"(b) /v1/versions, {args.apps}-app snapshot", big, big_requests[:1]),
            "b_all": (f"(b*) (b) cycling over all {args.apps} apps and keys", big, big_requests),
            "c": ("(c) bare Starlette, constant body", baseline, [("GET", "/", {"x-api-token": demo_token}, "")]),
            "d": ("(d) 304 path", demo, [("GET", DEMO_PATH, {"x-api-token": demo_token,
                                                            "If-None-Match": headers["etag"]}, "")]),
            "e": ("(e) POST /v2/authenticate", demo, [("POST", "/v2/authenticate", {
                "x-api-token": demo_token, "Content-Type": "application/json"}, user)]),
            "f": ("(f) (a) + republish every second", following, versions),
            "a_log": ("(a) with the access log on", logging_on, versions),
            "o": ("(o) POST /ofrep/v1/evaluate/flags/kickit.upgrade", demo, [
                ("POST", "/ofrep/v1/evaluate/flags/kickit.upgrade", ofrep_headers, ofrep)]),
            "o_bulk": ("(o*) POST /ofrep/v1/evaluate/flags, all four flags", demo, [
                ("POST", "/ofrep/v1/evaluate/flags", ofrep_headers, ofrep)]),
        }
        rounds: dict[str, list[Result]] = {key: [] for key in scenarios}
        published = 0
        for round_ in range(args.rounds):
            for key, (name, server, requests) in scenarios.items():
                stop = threading.Event()
                thread = None
                if key == "f":
                    def republish() -> None:
                        nonlocal published
                        sources = [paths["demo_b"] / "snapshot.json", paths["demo"] / "snapshot.json"]
                        while not stop.wait(1.0):
                            staged = live / ".staged"
                            shutil.copy(sources[published % 2], staged)
                            os.replace(staged, live / "snapshot.json")
                            published += 1

                    thread = threading.Thread(target=republish, daemon=True)
                    thread.start()
                before = cpu_seconds(server.process.pid)
                result = load(server.base, requests, name)
                result.cpu_us = (cpu_seconds(server.process.pid) - before) / max(result.requests, 1) * 1e6
                rounds[key].append(result)
                if thread is not None:
                    stop.set()
                    thread.join()
                print(f"round {round_ + 1}/{args.rounds} {name}: {result.rps:,.0f} req/s, "
                      f"{result.cpu_us:.1f} us CPU per request", file=sys.stderr)
        _, status_body, _ = following.get("/status")
        loads = json.loads(status_body)["loads"]
    finally:
        for server in servers:
            server.stop()

    results: dict[str, Result] = {}
    for key, runs in rounds.items():
        rps = sorted(r.rps for r in runs)[len(runs) // 2]
        p99 = sorted(r.p99_ms for r in runs)[len(runs) // 2]
        cpu = sorted(r.cpu_us for r in runs)[len(runs) // 2]
        results[key] = Result(runs[0].name, rps, p99, sum(r.requests for r in runs), sum(r.bad for r in runs),
                              runs[0].note, cpu)
    results["f"].note = f"{published} snapshots published during the runs, {loads} loads"
    base = results["c"]
    print(f"\nworkers={args.workers} connections={args.connections} duration={args.duration}s x {args.rounds} rounds "
          f"load={'wrk' if wrk else 'python'} cpus={os.cpu_count()}\n")
    print("| scenario | req/s | p99 ms | vs (c) | server CPU us/req | vs (c) by CPU | errors | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for key in ("a", "b", "b_all", "c", "d", "e", "f", "a_log", "o", "o_bulk"):
        r = results[key]
        print(f"| {r.name} | {r.rps:,.0f} | {r.p99_ms:.2f} | {r.rps / base.rps:.2f} | {r.cpu_us:.1f} | "
              f"{base.cpu_us / r.cpu_us:.2f} | {r.bad} | {r.note} |")
    a, b, e = results["a"], results["b"], results["e"]
    print("\nreq/s and p99 are medians of the rounds; CPU per request counts the server process only, so it holds")
    print("even when other processes share the machine (the CPU ratio is (c)'s CPU per request over the scenario's).")
    for label, by_rps, by_cpu in (
        ("(a)/(c) target >= 0.85", a.rps / base.rps, base.cpu_us / a.cpu_us),
        ("(b)/(c) target >= 0.85", b.rps / base.rps, base.cpu_us / b.cpu_us),
        ("(b)/(a) target 0.90-1.10", b.rps / a.rps, a.cpu_us / b.cpu_us),
        ("(e)/(c) target >= 0.60", e.rps / base.rps, base.cpu_us / e.cpu_us),
        ("(o)/(a) OFREP as cheap as the seed endpoint", results["o"].rps / a.rps, a.cpu_us / results["o"].cpu_us),
    ):
        print(f"{label}: {by_rps:.2f} by req/s, {by_cpu:.2f} by CPU")
    print(f"(f) errors: {results['f'].bad} (target 0)")
    if args.json:
        Path(args.json).write_text(json.dumps({k: vars(v) for k, v in results.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
