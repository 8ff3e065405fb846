"""Loop tests share the engine's small synthetic sessions (tests/core/session_fixtures.py)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
