"""kickit-edge: upgrade and maintenance checks for mobile apps, compiled from YAML in git."""

__version__ = "0.1.0"
