from __future__ import annotations

from preflight.action.main import main

raise SystemExit(main())
