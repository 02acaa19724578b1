"""The bad-input catalogue as a whole: enough cases, unique ids across all case modules."""
from __future__ import annotations

from pathlib import Path

from test_checkpoints import CHECKPOINTS
from test_coords_and_names import COORDS, NAMES
from test_data_faults import DATA
from test_heads_and_encoders import HEADS_ENCODERS

CASES = COORDS + NAMES + DATA + CHECKPOINTS + HEADS_ENCODERS
CASE_MODULES = {"test_checkpoints.py", "test_coords_and_names.py", "test_data_faults.py",
                "test_heads_and_encoders.py"}


def test_catalogue_is_large_enough():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 25
    # every module that runs catalogue cases is counted above
    this = Path(__file__).resolve()
    runners = {p.name for p in this.parent.glob("test_*.py") if p != this and "run_case(" in p.read_text()}
    assert runners == CASE_MODULES
