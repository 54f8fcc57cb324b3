"""``python -m gateway`` is ``imagegate``."""

import sys

from gateway.cli import main

sys.exit(main())
