"""The Kickfolio management API: a separate process that edits the YAML config (the edge never imports it)."""
