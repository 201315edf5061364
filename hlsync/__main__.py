from __future__ import annotations

from hlsync.entry import main

raise SystemExit(main())
