"""The ``kickit-edge`` command: :mod:`.main` parses and reports; each other module declares and runs a group of commands."""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
