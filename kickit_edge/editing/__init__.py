"""Editing config files in place: round-trip YAML edits that keep comments, used by ``keys new`` and the admin API."""
