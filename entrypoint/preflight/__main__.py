from __future__ import annotations

from preflight.cli import main

raise SystemExit(main())
