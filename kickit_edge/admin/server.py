"""Running the admin process: check the config, publish once, serve with uvicorn."""

from __future__ import annotations

import logging
import logging.config

from ..compiler.compile import compile_config
from ..compiler.builder import read_config
from ..compiler.publish import publish_snapshot
from ..runtime.accesslog import AccessLogWriter
from ..runtime.limits import BoundedProtocol, HttpLimits, json_answer
from ..runtime.logformat import log_config as make_log_config
from ..runtime.metrics import Exposition, Recorder, serve_metrics
from ..settings import AdminSettings
from .app import create_admin_app
from .errors import BadRequest, error_body
from .gitlog import GitOptions

__all__ = ["serve_admin"]

log = logging.getLogger("kickit_edge.admin")


class AdminProtocol(BoundedProtocol):
    """The edge's bounded HTTP, answering in the Kickfolio error shape (no --limit-concurrency here: no 503)."""

    TOO_LARGE = json_answer(431, error_body(BadRequest("the request head (request line and headers) is too large")))
    TIMEOUT = json_answer(408, error_body(BadRequest("the request was not received in time")))
    INVALID = json_answer(400, error_body(BadRequest("the request is not valid HTTP")))


def serve_admin(settings: AdminSettings) -> None:
    """Serve the management API until interrupted. Raise ConfigError/ConfigTestFailure if the config is bad,
    OperatorError if the git setup cannot work."""
    import uvicorn

    config, publish = settings.config, settings.publish
    git = GitOptions(settings.git_email_domain, settings.git_branch, settings.git_remote, settings.git_push_delay)

    log_config = make_log_config("info", settings.log_format)
    logging.config.dictConfig(log_config)
    checked = read_config(config)
    recorder = Recorder()
    access = AccessLogWriter(name="kickit_edge.admin.access", json=settings.log_format == "json")
    # Before publishing: it finishes a write a crash cut off.
    app = create_admin_app(config, publish, access=access, git=git, recorder=recorder,
                           metrics_on_main_port=settings.metrics_port is None, cors_origins=settings.cors_origin)
    if publish:
        compiled = compile_config(config)
        _, changed = publish_snapshot(compiled.data, publish)
        log.info("snapshot %s %s in %s", compiled.snapshot.id, "published" if changed else "unchanged", publish)
    if not checked.admin_tokens:
        log.warning("%s has no admin tokens, so every request answers 401; mint one with "
                    "kickit-edge keys new --admin NAME --config %s", config, config)
    if settings.metrics_port is not None:
        serve_metrics(Exposition(recorder, None), settings.host, settings.metrics_port)
    # uvicorn's access log would write auth_token query values; ours filters them.
    AdminProtocol.limits = HttpLimits.of(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_config=log_config,
                server_header=False, http=AdminProtocol, timeout_graceful_shutdown=settings.shutdown_timeout)
