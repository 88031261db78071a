"""``python -m coverage.cli``: the ``circle15`` command."""

from . import console_main

console_main()
