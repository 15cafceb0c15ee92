"""Editing config files in place: round-trip YAML edits that keep comments, used by ``keys new`` and the admin API."""

# Apple's public lookup API that ``releases sync`` reads: here, not in .releases, so that the
# command line can show it in its help without importing the editing machinery.
APP_STORE_LOOKUP = "https://itunes.apple.com/lookup"
