import sys

from geobench.cli import main

sys.exit(main())
