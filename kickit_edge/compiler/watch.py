"""Dev mode's compiler half: recompile a config folder on every change and publish into a folder.

``kickit-edge serve --config DIR`` runs a :class:`ConfigWatcher` in a thread of
the CLI process and points the ordinary runtime at the folder it publishes
into, so the runtime never reads YAML, even in dev mode. A config that does
not compile (or whose config tests fail) publishes nothing: its diagnostics are
reported and the last good snapshot stays published and served.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError, ConfigTestFailure, OperatorError
from .compile import compile_config
from .publish import publish_snapshot
from .source import is_config_path

__all__ = ["ConfigWatcher"]

Report = Callable[[str], None]

def _is_config_file(_change: object, path: str) -> bool:
    # By name only: a change in a hidden folder costs a compile that changes nothing.
    return is_config_path(os.path.basename(path))


class ConfigWatcher:
    """Compiles ``config_dir`` into ``out_dir`` now (:meth:`compile`) and on each change (:meth:`start`)."""

    def __init__(self, config_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], report: Report) -> None:
        self.config_dir = Path(config_dir)
        self.out_dir = Path(out_dir)
        self.report = report
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not self.config_dir.is_dir():
            raise OperatorError(f"config folder {str(self.config_dir)!r} not found: run from the folder that holds "
                                "config/, or pass --config DIR (or --snapshots DIR to serve published snapshots)")

    def compile(self) -> bool:
        """Compile and publish once; report the outcome. True if a snapshot is published."""
        try:
            compiled = compile_config(str(self.config_dir))
            _, changed = publish_snapshot(compiled.data, self.out_dir, verified=compiled.snapshot)
        except (ConfigError, ConfigTestFailure) as error:
            self.report("\n".join(error.report("still serving the last good snapshot (if any)")))
            return False
        except OperatorError as error:
            self.report(f"error: {error}")
            return False
        snapshot = compiled.snapshot
        if changed:
            self.report(f"compiled {self.config_dir}: snapshot {snapshot.id} ({len(compiled.config.apps)} apps, "
                        f"{len(compiled.results)} config tests passed)")
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="kickit-config-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        from watchfiles import watch

        for _changes in watch(self.config_dir, watch_filter=_is_config_file, stop_event=self._stop,
                              debounce=300, raise_interrupt=False):
            self.compile()
