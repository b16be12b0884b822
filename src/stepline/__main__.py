"""``python -m stepline``: the same command line as the ``stepline`` console script."""

from __future__ import annotations

import sys

from stepline.cli import main

if __name__ == "__main__":
    sys.exit(main())
