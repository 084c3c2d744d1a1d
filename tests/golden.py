"""The one golden-file check: tests/golden/KIND/NAME is the expected text, rewritten when UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_ROOT = Path(__file__).resolve().parent / "golden"


def check_golden(kind: str, name: str, text: str) -> None:
    """Compare `text` with tests/golden/KIND/NAME (NAME with its suffix), or rewrite the file when
    UPDATE_GOLDEN=1 (review the diff before committing it)."""
    path = GOLDEN_ROOT / kind / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} differs from {path}"
