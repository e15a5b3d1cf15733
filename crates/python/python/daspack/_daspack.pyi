"""Type stubs of the compiled module ``daspack._daspack`` (use the wrappers in :mod:`daspack`)."""

from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

class DASPackError(ValueError): ...

def compress(
    array: np.ndarray,
    rows: int,
    cols: int,
    abs_error: float = 0.0,
    threads: int = 0,
    block_height: Optional[int] = None,
    block_width: Optional[int] = None,
    lx: Optional[int] = None,
    lt: Optional[int] = None,
    lpc_order: Optional[int] = None,
    lpc_space: Optional[int] = None,
) -> npt.NDArray[np.uint8]: ...
def decompress(stream: npt.NDArray[np.uint8], threads: int = 0) -> Tuple[np.ndarray, int, int]: ...
def read_header(stream: npt.NDArray[np.uint8]) -> Dict[str, Any]: ...
def default_params() -> Dict[str, Any]: ...
def h5_filter_class() -> int: ...
def release_buffers() -> None: ...
