"""Review: comparing and explaining snapshots (``diff``, ``matrix``, ``explain``); never reads YAML itself."""
