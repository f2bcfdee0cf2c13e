"""``python -m tadfuse``: the ``tadfuse`` command line."""

import sys

from tadfuse.cli import main

sys.exit(main())
