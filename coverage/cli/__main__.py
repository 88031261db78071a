"""``python -m coverage.cli``: the ``circle15`` command."""

import sys

from . import main

sys.exit(main())
