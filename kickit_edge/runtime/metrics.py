"""Prometheus metrics of the edge and the admin: counted in plain ints, summed over workers on scrape.

A request costs a few dict increments in :class:`Measure` (no lock, no
``prometheus_client`` call): each process keeps its counts in a
:class:`Recorder`. Every :data:`PUBLISH_INTERVAL` seconds (and just before it
answers a scrape) a worker writes them to ``<folder>/<pid>.json``; a scrape,
in whichever worker or in the supervisor's own metrics listener
(``--metrics-port``), reads every file and answers the sum, so ``--workers N``
shows the whole server, not one random worker. The folder is made fresh by
each start of ``serve``. Counters of a worker that died stay in the sum (a
counter never goes back); gauges and process metrics are of live workers.

``kickit_snapshot_info{revision,digest}`` counts the live workers serving that
snapshot; ``kickit_snapshot_loaded_timestamp_seconds`` is the oldest load among
them (alert on its age). The text format itself is ``prometheus_client``'s.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import Runtime

from .eventlog import _alive
from .sources import Source
from .wire import VERDICT_KEY

__all__ = ["Recorder", "Measure", "MetricsEndpoint", "Exposition", "BUCKETS", "FOLDER_ENV", "metrics_answer", "serve_metrics",
           "edge_figures", "route_labels"]

log = logging.getLogger("kickit_edge.metrics")

# The workers' shared folder travels to them in this variable (set by ``serve``, not by operators).
FOLDER_ENV = "KICKIT_WORKER_METRICS_DIR"
PUBLISH_INTERVAL = 1.0
BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
OTHER_ROUTE = "other"
_PROCESS = ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
            "process_open_fds", "process_start_time_seconds", "process_max_fds")

Sample = dict[str, Any]


class Recorder:
    """This process's counts; ``extra`` adds the snapshot, source and event figures at publish time."""

    def __init__(self, extra: Callable[[], Sample] | None = None) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.verdicts: dict[tuple[str, str], int] = {}
        # Per route: one count per bucket (not cumulative), then the +Inf count, then the sum of seconds.
        self.durations: dict[str, list[float]] = {}
        self.extra = extra

    def observe(self, route: str, status: int, verdict: str | None, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        if verdict is not None:
            vkey = (route, verdict)
            self.verdicts[vkey] = self.verdicts.get(vkey, 0) + 1
        counts = self.durations.get(route)
        if counts is None:
            counts = self.durations[route] = [0.0] * (len(BUCKETS) + 2)
        counts[bisect_left(BUCKETS, seconds)] += 1  # the first bucket whose bound is >= seconds
        counts[-1] += seconds

    def sample(self) -> Sample:
        """The counts as plain JSON values, with this process's metrics."""
        out: Sample = {
            "pid": os.getpid(),
            "requests": [[route, status, n] for (route, status), n in list(self.requests.items())],
            "verdicts": [[route, verdict, n] for (route, verdict), n in list(self.verdicts.items())],
            "durations": {route: list(counts) for route, counts in list(self.durations.items())},
            "process": {s.name: s.value for m in ProcessCollector(registry=None).collect() for s in m.samples},
        }
        if self.extra is not None:
            out.update(self.extra())
        return out


def edge_figures(runtime: Runtime, source: Source) -> Callable[[], Sample]:
    """The edge's snapshot, source and event figures, read from the objects that count them."""

    def figures() -> Sample:
        state, commit, active = runtime.state, runtime.events, runtime.state.current
        return {
            "reloads": {"loaded": state.loads, "rejected": state.rejections, "unchanged": state.unchanged},
            "poll_failures": getattr(source, "failed_polls", 0),
            "events_written": commit.written if commit is not None else 0,
            "event_write_failures": commit.failures if commit is not None else 0,
            "snapshot": active and {"revision": active.snapshot.revision, "digest": active.snapshot.digest,
                                    "loaded_at": active.loaded_at},
        }

    return figures


def route_labels(routes: Sequence[BaseRoute]) -> Callable[[str], str]:
    """A request path's ``route`` label: its route's path template, or ``other`` (bounded label values)."""
    exact = frozenset(r.path for r in routes if isinstance(r, Route) and "{" not in r.path)
    templated = [(r.path_regex, r.path) for r in routes if isinstance(r, Route) and "{" in r.path]

    def label(path: str) -> str:
        if path in exact:
            return path
        for regex, template in templated:
            if regex.match(path):
                return template
        return OTHER_ROUTE

    return label


class Exposition:
    """The text a scrape gets: this process's counts, or the sum of every worker's file in ``folder``."""

    def __init__(self, recorder: Recorder | None, folder: str | None) -> None:
        self.recorder = recorder
        self.folder = Path(folder) if folder else None

    def publish(self) -> None:
        if self.recorder is None or self.folder is None:
            return
        path = self.folder / f"{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        # A rename without atomicfile's fsyncs: a scrape must never see half a file, but the
        # counts are rewritten every second and mean nothing after a crash, so durability
        # is not worth a disk flush per worker per second.
        try:
            temporary.write_text(json.dumps(self.recorder.sample()))
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("cannot publish metrics to %s: %s", self.folder, exc)

    def samples(self) -> list[Sample]:
        if self.folder is None:
            return [self.recorder.sample()] if self.recorder is not None else []
        self.publish()
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a worker's file being replaced, or gone: the next scrape has it
        return out

    def collect(self) -> Iterator[Metric]:
        return iter(_families(self.samples()))

    def render(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return generate_latest(registry)

    async def follow(self, stop: asyncio.Event) -> None:
        """Publish this worker's counts every :data:`PUBLISH_INTERVAL` seconds until ``stop``."""
        while not stop.is_set():
            await asyncio.to_thread(self.publish)  # reading /proc and writing a file: off the event loop
            try:
                await asyncio.wait_for(stop.wait(), PUBLISH_INTERVAL)
            except TimeoutError:
                pass
        self.publish()


def _summed(samples: Iterable[Sample], key: str, width: int) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    for sample in samples:
        for row in sample.get(key, ()):
            labels = tuple(row[:width])
            out[labels] = out.get(labels, 0) + row[width]
    return out


def _counter(name: str, doc: str, label: str, values: dict[str, int] | int) -> CounterMetricFamily:
    if isinstance(values, int):
        return CounterMetricFamily(name, doc, value=values)
    family = CounterMetricFamily(name, doc, labels=[label])
    for value, n in sorted(values.items()):
        family.add_metric([value], n)
    return family


def _histogram(samples: list[Sample]) -> HistogramMetricFamily:
    family = HistogramMetricFamily("kickit_request_duration_seconds", "Time to answer a request, by route",
                                   labels=["route"])
    summed: dict[str, list[float]] = {}
    for sample in samples:
        for route, counts in sample.get("durations", {}).items():
            total = summed.setdefault(route, [0.0] * len(counts))
            for i, n in enumerate(counts):
                total[i] += n
    for route, counts in sorted(summed.items()):
        running, buckets = 0.0, []
        for bound, n in zip((*map(str, BUCKETS), "+Inf"), counts[:-1]):
            running += n
            buckets.append((bound, running))
        family.add_metric([route], buckets, counts[-1])
    return family


def _snapshot_families(live: list[Sample]) -> list[Metric]:
    info = GaugeMetricFamily("kickit_snapshot_info", "Live workers serving this snapshot",
                             labels=["revision", "digest"])
    serving: dict[tuple[str, str], int] = {}
    loaded: list[float] = []
    for sample in live:
        snapshot = sample.get("snapshot")
        if snapshot:
            key = (snapshot["revision"] or "", snapshot["digest"])
            serving[key] = serving.get(key, 0) + 1
            loaded.append(snapshot["loaded_at"])
    for labels, n in sorted(serving.items()):
        info.add_metric(list(labels), n)
    out: list[Metric] = [info]
    if loaded:
        out.append(GaugeMetricFamily("kickit_snapshot_loaded_timestamp_seconds",
                                     "When the oldest snapshot a live worker serves was loaded (Unix time)",
                                     value=min(loaded)))
    return out


def _process_families(live: list[Sample]) -> list[Metric]:
    out: list[Metric] = []
    for name in _PROCESS:
        values = [s["process"][name] for s in live if name in s.get("process", {})]
        if not values:
            continue
        value = min(values) if name == "process_start_time_seconds" else sum(values)
        kind = CounterMetricFamily if name.endswith("_total") else GaugeMetricFamily
        out.append(kind(name, f"{name.removeprefix('process_')} of the live workers (summed; start: earliest)",
                        value=value))
    return out


def _families(samples: list[Sample]) -> list[Metric]:
    live = [s for s in samples if s.get("pid") == os.getpid() or _alive(int(s.get("pid", 0)))]
    requests = _summed(samples, "requests", 2)
    family = CounterMetricFamily("kickit_requests_total", "Requests answered, by route and status",
                                 labels=["route", "status"])
    for (route, status), n in sorted(requests.items()):
        family.add_metric([route, str(status)], n)
    verdicts = CounterMetricFamily("kickit_verdicts_total", "Check answers, by route and verdict",
                                   labels=["route", "verdict"])
    for (route, verdict), n in sorted(_summed(samples, "verdicts", 2).items()):
        verdicts.add_metric([route, verdict], n)
    reloads: dict[str, int] = {}
    for sample in samples:
        for result, n in sample.get("reloads", {}).items():
            reloads[result] = reloads.get(result, 0) + n
    out: list[Metric] = [family, verdicts, _histogram(samples)]
    if any("reloads" in s for s in samples):
        out += [
            _counter("kickit_snapshot_reloads", "Snapshots offered by the source, by result", "result", reloads),
            _counter("kickit_source_poll_failures", "Failed reads of the snapshot source", "",
                     sum(s.get("poll_failures", 0) for s in samples)),
            _counter("kickit_events_written", "Events written to the event log", "",
                     sum(s.get("events_written", 0) for s in samples)),
            _counter("kickit_event_write_failures", "Events that could not be written", "",
                     sum(s.get("event_write_failures", 0) for s in samples)),
            *_snapshot_families(live),
        ]
    return out + _process_families(live)


async def metrics_answer(exposition: Exposition, send: Send) -> None:
    body = await asyncio.to_thread(exposition.render)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", CONTENT_TYPE_LATEST.encode("ascii")), (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class MetricsEndpoint:
    """``GET /metrics`` as a route."""

    def __init__(self, exposition: Exposition) -> None:
        self.exposition = exposition

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await metrics_answer(self.exposition, send)


class Measure:
    """ASGI middleware: counts each request into ``recorder``; answers ``GET /metrics`` if ``exposition``.

    The edge's access log counts as it logs (one wrapper, not two); this is for when it is off, and for the admin.
    """

    def __init__(self, app: ASGIApp, recorder: Recorder, route_of: Callable[[str], str],
                 exposition: Exposition | None = None) -> None:
        self.app = app
        self.recorder = recorder
        self.route_of = route_of
        self.exposition = exposition

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.exposition is not None and scope["path"] == "/metrics" and scope["method"] in ("GET", "HEAD"):
            await metrics_answer(self.exposition, send)
            return
        started = time.perf_counter()
        status, verdict = 500, None

        async def watch(message: Message) -> None:
            nonlocal status, verdict
            if message["type"] == "http.response.start":
                status = message["status"]
                verdict = message.get(VERDICT_KEY)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.recorder.observe(self.route_of(scope["path"]), status, verdict, time.perf_counter() - started)


def serve_metrics(exposition: Exposition, host: str, port: int) -> threading.Thread:
    """Answer ``GET /metrics`` on ``host:port`` from a thread of this process (the metrics listener)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404, "only /metrics is served here")
                return
            body = exposition.render()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes are not access-logged

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="kickit-metrics", daemon=True)
    thread.start()
    return thread
