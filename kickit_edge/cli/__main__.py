"""``python -m kickit_edge.cli``: the same as the ``kickit-edge`` command."""

import sys

from .main import main

sys.exit(main())
