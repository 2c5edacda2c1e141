"""`python -m _preflight_probe`: run one probe session (see the package docstring)."""

import os
import sys

from _preflight_probe.session import main

code = main()
# Leave at once, without the interpreter's teardown of Django and the project's modules
# (a fifth of a second the host would wait for): the session closed its connections and
# its pipes, and nothing the probe did needs an exit handler.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
