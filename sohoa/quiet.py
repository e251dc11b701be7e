"""The libraries' Python warnings off (cryptography 51 warns on import that DSA is deprecated,
from pyHanko's imports): theirs to fix, not the operator's to read on every command. The CLI
calls it without -v, and so does every Dask worker it starts (sohoa.pipeline.plugin)."""

from __future__ import annotations

import warnings


def quiet_library_warnings() -> None:
    warnings.filterwarnings("ignore", module=r"(?!sohoa(\.|$))")
