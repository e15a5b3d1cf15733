"""Type stubs of :mod:`daspack`."""

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._daspack import DASPackError as DASPackError

__version__: str
FILTER_ID: int
PARAM_NAMES: Tuple[str, ...]

_Buffer = Union[bytes, bytearray, memoryview, np.ndarray]

def compress_data(
    array: npt.ArrayLike,
    abs_error: float = 0.0,
    threads: int = 0,
    *,
    block_height: int = ...,
    block_width: int = ...,
    lx: int = ...,
    lt: int = ...,
    lpc_order: int = ...,
    lpc_space: int = ...,
) -> npt.NDArray[np.uint8]: ...
def decompress_data(buffer: _Buffer, shape: Optional[Sequence[int]] = None, threads: int = 0) -> np.ndarray: ...
def read_header(buffer: _Buffer) -> Dict[str, Any]: ...
def default_params() -> Dict[str, Any]: ...
def release_buffers() -> None: ...
def get_filter() -> int: ...
def h5_compression(
    abs_error: float = 0.0,
    block_height: int = 0,
    block_width: int = 0,
    lx: int = 0,
    lt: int = 0,
    lpc_order: Optional[int] = None,
    tailcut_permille: int = 0,
) -> Dict[str, Any]: ...
def plugin_path() -> Optional[str]: ...
def register_hdf5_filter() -> bool: ...
