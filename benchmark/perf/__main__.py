"""``python -m geobench.perf``: see :mod:`geobench.perf`."""
import sys

from geobench.perf.cli import main

sys.exit(main())
