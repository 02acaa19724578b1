"""``python -m geobench.perf``: see :mod:`geobench.perf`."""
import sys

from .cli import main

sys.exit(main())
