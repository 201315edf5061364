from __future__ import annotations

from hlsync.cli import main

raise SystemExit(main())
