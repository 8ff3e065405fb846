"""``python -m alabel.dashboard.cli``: the same as the ``alabel`` command."""
import sys

from . import main

sys.exit(main())
