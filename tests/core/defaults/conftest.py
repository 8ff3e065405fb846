"""Defaults tests share the engine's small synthetic sessions (tests/core/session_fixtures.py)."""
import sys
from pathlib import Path

folder = Path(__file__).resolve().parents[1]
if str(folder) not in sys.path:
    sys.path.insert(0, str(folder))
