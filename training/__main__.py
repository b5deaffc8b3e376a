"""``python -m training``: see :mod:`training.cli.main`."""

import sys

from training.cli.main import main

sys.exit(main())
