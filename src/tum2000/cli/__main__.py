"""``python -m tum2000.cli``: the same as the ``tum2000`` command."""

import sys

from tum2000.cli import main

sys.exit(main())
