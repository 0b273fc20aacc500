"""Where the real, public, anonymised government-message data lives (read at test and benchmark time,
never copied into the project): ``$HOTLINE_SHARED_DATA``, else ``../shared/data`` beside the checkout,
else ``/work/shared/data`` (the development and CI machines)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def gov_messages_dir() -> Path:
    candidates = [Path(os.environ["HOTLINE_SHARED_DATA"])] if os.environ.get("HOTLINE_SHARED_DATA") else []
    candidates += [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for base in candidates:
        if (base / "gov_messages").is_dir():
            return base / "gov_messages"
    return candidates[0] / "gov_messages"
