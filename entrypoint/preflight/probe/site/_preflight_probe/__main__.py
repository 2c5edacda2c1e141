"""`python -m _preflight_probe`: run one probe session (see the package docstring)."""

import sys

from _preflight_probe.session import main

sys.exit(main())
