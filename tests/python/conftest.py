import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("DASPACK_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "data" / "das"


def corpus_files():
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("*.npy"))


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(7)
