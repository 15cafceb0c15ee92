"""Running the admin process: check the config, publish once, serve with uvicorn."""

from __future__ import annotations

import copy
import logging
import logging.config
from typing import Any

from ..compiler.compile import compile_config
from ..compiler.builder import read_config
from ..compiler.publish import publish_snapshot
from .app import create_admin_app

__all__ = ["serve_admin"]

log = logging.getLogger("kickit_edge.admin")


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["kickit_edge"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve_admin(config: str, publish: str | None, host: str, port: int) -> None:
    """Serve the management API until interrupted. Raise ConfigError/ConfigTestFailure if the config is bad."""
    import uvicorn

    log_config = _log_config()
    logging.config.dictConfig(log_config)
    checked = read_config(config)
    if publish:
        compiled = compile_config(config)
        _, changed = publish_snapshot(compiled.data, publish)
        log.info("snapshot %s %s in %s", compiled.snapshot.id, "published" if changed else "unchanged", publish)
    if not checked.admin_tokens:
        log.warning("%s has no admin tokens, so every request answers 401; mint one with "
                    "kickit-edge keys new --admin NAME --config %s", config, config)
    app = create_admin_app(config, publish)
    # uvicorn's access log would write auth_token query values; ours filters them.
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=log_config, server_header=False)
