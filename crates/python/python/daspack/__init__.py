"""daspack: lossless and fixed-accuracy compression of DAS and other sensor arrays.

>>> import numpy as np, daspack
>>> a = (np.arange(4000, dtype=np.int32).reshape(1000, 4) % 97) - 48
>>> packed = daspack.compress_data(a)              # lossless: abs_error=0
>>> np.array_equal(daspack.decompress_data(packed), a)
True

Arrays are 2-D (time x channel); 1-D arrays are one channel ``(n, 1)``; higher ranks fold their leading axes into
time (pass ``shape=`` to :func:`decompress_data` to restore them). Supported dtypes: int16, uint16, int32, float32,
float64. ``abs_error=E > 0`` guarantees ``|decoded - original| <= E`` for every element.

Integrations: :mod:`daspack.numcodecs` (numcodecs / zarr v2 codec ``"daspack"``), :mod:`daspack.zarr3` (zarr v3
array-to-bytes codec ``"daspack"``) and :func:`h5_compression` (HDF5 filter 33000: ``import daspack`` registers it
with h5py, and :func:`plugin_path` is the directory of the bundled plugin for other HDF5 programs).
"""

from __future__ import annotations

import os
import struct
import sys
from typing import Any, Dict, Optional, Sequence

import numpy as np

from . import _daspack
from ._daspack import DASPackError

__all__ = [
    "DASPackError",
    "FILTER_ID",
    "PARAM_NAMES",
    "compress_data",
    "decompress_data",
    "read_header",
    "default_params",
    "release_buffers",
    "get_filter",
    "h5_compression",
    "plugin_path",
    "register_hdf5_filter",
]

__version__: str = _daspack.__version__

#: HDF5 filter id registered for DASPack.
FILTER_ID = 33000

#: Codec parameters accepted as keyword arguments by :func:`compress_data`.
PARAM_NAMES = ("block_height", "block_width", "lx", "lt", "lpc_order", "lpc_space")

_SUPPORTED = (np.dtype(np.int16), np.dtype(np.uint16), np.dtype(np.int32), np.dtype(np.float32), np.dtype(np.float64))


def default_params() -> Dict[str, Any]:
    """The tuned default parameters (``0`` block sizes mean: chosen from the array shape)."""
    return dict(_daspack.default_params())


def _as_2d(array: Any) -> np.ndarray:
    """A C-contiguous, native-endian 2-D view (or copy) of ``array`` in a supported dtype."""
    if isinstance(array, np.ndarray):
        a = array
    else:
        try:
            a = np.asarray(array)
        except Exception as e:  # pragma: no cover - numpy's own message is clear enough
            raise TypeError(f"cannot convert {type(array).__name__} to a numpy array: {e}") from e
    dt = a.dtype
    if dt.kind not in "iuf" or dt.newbyteorder("=") not in _SUPPORTED:
        raise TypeError(
            f"unsupported dtype {dt}: daspack stores int16, uint16, int32, float32 and float64"
        )
    if not dt.isnative:
        a = a.astype(dt.newbyteorder("="))
    if a.ndim == 0:
        raise ValueError("cannot compress a 0-d array")
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    elif a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    return np.ascontiguousarray(a)


def compress_data(array: Any, abs_error: float = 0.0, threads: int = 0, **params: int) -> np.ndarray:
    """Compresses an array into a daspack stream (returned as a 1-D ``uint8`` array).

    Parameters
    ----------
    array:
        int16, uint16, int32, float32 or float64 array; 1-D is one channel, 2-D is (time, channel), higher ranks
        fold their leading axes into time. Non-contiguous and big-endian input is copied first.
    abs_error:
        maximum absolute error per element; ``0`` (default) is lossless for every dtype, floats included.
    threads:
        worker threads; ``0`` uses all cores. The output does not depend on it.
    **params:
        ``block_height``, ``block_width`` (tile size, 0 = automatic), ``lx``, ``lt`` (wavelet levels along
        channels / time), ``lpc_order`` (0..32), ``lpc_space`` (0..8). Unknown names raise ``TypeError``.

    Raises
    ------
    TypeError: unsupported dtype or unknown parameter. ValueError (``DASPackError``): bad parameter values,
    NaN/inf with ``abs_error > 0``, values that cannot be stored within the bound.
    """
    unknown = sorted(set(params) - set(PARAM_NAMES))
    if unknown:
        raise TypeError(f"unknown daspack parameter(s): {', '.join(unknown)} (accepted: {', '.join(PARAM_NAMES)})")
    checked = {}
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{k} must be an integer, got {type(v).__name__}")
        checked[k] = int(v)
    try:
        abs_error = float(abs_error)
    except (TypeError, ValueError) as e:
        raise TypeError(f"abs_error must be a number, got {type(abs_error).__name__}") from e
    if not (np.isfinite(abs_error) and abs_error >= 0):
        raise ValueError(f"abs_error must be finite and >= 0, got {abs_error}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be an integer >= 0, got {threads!r}")
    a = _as_2d(array)
    rows, cols = a.shape
    return _daspack.compress(a, rows, cols, abs_error, int(threads), **checked)


def _as_stream(buffer: Any) -> np.ndarray:
    if isinstance(buffer, np.ndarray):
        b = np.ascontiguousarray(buffer).reshape(-1)
        return b.view(np.uint8) if b.dtype != np.uint8 else b
    try:
        return np.frombuffer(buffer, dtype=np.uint8)
    except (TypeError, ValueError) as e:
        raise TypeError(f"expected a bytes-like object or numpy array, got {type(buffer).__name__}: {e}") from e


def decompress_data(buffer: Any, shape: Optional[Sequence[int]] = None, threads: int = 0) -> np.ndarray:
    """Decompresses a daspack stream (bytes, bytearray, memoryview or uint8 array).

    The dtype and the 2-D shape ``(rows, cols)`` come from the stream. ``shape``, when given, must hold the same
    number of elements and is used to reshape the result (``ValueError`` otherwise). Corrupt or truncated streams
    raise ``DASPackError`` (a ``ValueError``).
    """
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be an integer >= 0, got {threads!r}")
    stream = _as_stream(buffer)
    flat, rows, cols = _daspack.decompress(stream, int(threads))
    if shape is None:
        return flat.reshape(rows, cols)
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape) or int(np.prod(shape, dtype=np.int64)) != flat.size:
        raise ValueError(f"shape {shape} does not match the {rows} x {cols} = {flat.size} elements of the stream")
    return flat.reshape(shape)


def read_header(buffer: Any) -> Dict[str, Any]:
    """The header of a stream without decoding it: ``dtype``, ``rows``, ``cols``, ``shape``, ``block_height``,
    ``block_width``, ``abs_error``, ``mode``, ``tiles``, ``version``."""
    return dict(_daspack.read_header(_as_stream(buffer)))


def release_buffers() -> None:
    """Frees the buffers that compression and decompression keep for their next calls: at most one set per worker
    thread that has coded at once, each the size its largest tile needed (for a tile of 1024 x 1024 int32, about
    15 MB). Later calls make them again."""
    _daspack.release_buffers()


def get_filter() -> int:
    """The HDF5 filter id of DASPack (33000)."""
    return FILTER_ID


def h5_compression(
    abs_error: float = 0.0,
    block_height: int = 0,
    block_width: int = 0,
    lx: int = 0,
    lt: int = 0,
    lpc_order: Optional[int] = None,
    tailcut_permille: int = 0,
) -> Dict[str, Any]:
    """Keyword arguments for h5py's ``create_dataset``: ``dict(compression=33000, compression_opts=(...))``.

    ``compression_opts`` follows the DASPack cd_values convention ``(block_height, block_width, lx, lt, lpc_order,
    tailcut_permille[, abs_error_lo, abs_error_hi])``: the error bound, when non-zero, is an IEEE-754 double split
    into two 32-bit words, low word first. ``tailcut_permille`` is accepted for compatibility with DASPack and
    ignored by the daspack filter. Block sizes 0 choose from the chunk shape.

    ``import daspack`` registers the filter with h5py; other programs find the bundled plugin in
    :func:`plugin_path` (on ``HDF5_PLUGIN_PATH``).
    """
    if lpc_order is None:
        lpc_order = int(_daspack.default_params()["lpc_order"])
    words = []
    for name, v in (
        ("block_height", block_height),
        ("block_width", block_width),
        ("lx", lx),
        ("lt", lt),
        ("lpc_order", lpc_order),
        ("tailcut_permille", tailcut_permille),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) <= 0xFFFFFFFF:
            raise ValueError(f"{name} must be an integer in 0..2**32-1, got {v!r}")
        words.append(int(v))
    abs_error = float(abs_error)
    if not (np.isfinite(abs_error) and abs_error >= 0):
        raise ValueError(f"abs_error must be finite and >= 0, got {abs_error}")
    if abs_error > 0:
        lo, hi = struct.unpack("<II", struct.pack("<d", abs_error))
        words += [lo, hi]
    return {"compression": FILTER_ID, "compression_opts": tuple(words)}


# --- HDF5 plugin -------------------------------------------------------------------------------------------------

_PLUGIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")
if sys.platform == "win32":
    _PLUGIN_NAME = "h5daspack.dll"
elif sys.platform == "darwin":
    _PLUGIN_NAME = "libh5daspack.dylib"
else:
    _PLUGIN_NAME = "libh5daspack.so"
# HDF5's built-in plugin directory, searched only while HDF5_PLUGIN_PATH is unset: kept when we set the variable.
if sys.platform == "win32":
    _HDF5_DEFAULT_PLUGIN_DIR = os.path.expandvars("%ALLUSERSPROFILE%\\hdf5\\lib\\plugin")
else:
    _HDF5_DEFAULT_PLUGIN_DIR = "/usr/local/hdf5/lib/plugin"


def plugin_path() -> Optional[str]:
    """Directory holding the bundled HDF5 filter plugin ``libh5daspack.so``, for ``HDF5_PLUGIN_PATH`` (h5dump,
    h5repack, MATLAB, C programs), or None when this build has none.

    ``import daspack`` already adds it to ``os.environ["HDF5_PLUGIN_PATH"]`` (inherited by child processes) and
    registers the filter with h5py's HDF5 directly."""
    return _PLUGIN_DIR if os.path.isfile(os.path.join(_PLUGIN_DIR, _PLUGIN_NAME)) else None


def _extend_plugin_path() -> None:
    """Appends :func:`plugin_path` to ``HDF5_PLUGIN_PATH`` (after the user's directories, before HDF5's default
    one when the variable was unset), unless it is HDF5's "no plugins" value ``::``."""
    d = plugin_path()
    if d is None or os.environ.get("DASPACK_NO_HDF5_PLUGIN_PATH"):
        return
    current = os.environ.get("HDF5_PLUGIN_PATH")
    if current is None:
        os.environ["HDF5_PLUGIN_PATH"] = os.pathsep.join([d, _HDF5_DEFAULT_PLUGIN_DIR])
    elif current.strip() != "::":
        paths = [p for p in current.split(os.pathsep) if p]
        if d not in paths:
            os.environ["HDF5_PLUGIN_PATH"] = os.pathsep.join(paths + [d])


def register_hdf5_filter() -> bool:
    """Registers filter 33000 with h5py's HDF5, from the filter compiled into this module (it needs no file on
    ``HDF5_PLUGIN_PATH``). ``import daspack`` calls it when h5py is installed; True when h5py can now read and
    write daspack datasets. Registering again is harmless (HDF5 replaces the class)."""
    try:
        import h5py
    except ImportError:
        return False
    h5py.h5z.register_filter(_daspack.h5_filter_class())
    return bool(h5py.h5z.filter_avail(FILTER_ID))


def _register_hdf5() -> None:
    _extend_plugin_path()
    if os.environ.get("DASPACK_NO_H5PY_REGISTER"):
        return
    import importlib.util

    if "h5py" not in sys.modules and importlib.util.find_spec("h5py") is None:
        return
    try:
        register_hdf5_filter()
    except Exception as e:  # a broken h5py must not break daspack
        import warnings

        warnings.warn(f"daspack: could not register HDF5 filter 33000 with h5py: {e}", RuntimeWarning, stacklevel=2)


_register_hdf5()


def _register_numcodecs() -> None:
    """Registers :class:`daspack.numcodecs.DASPack` with numcodecs when numcodecs is installed."""
    import importlib.util

    if importlib.util.find_spec("numcodecs") is None:
        return
    try:
        from . import numcodecs as _nc  # noqa: F401  (registers on import)
    except Exception:  # pragma: no cover - a broken numcodecs must not break daspack
        pass


_register_numcodecs()
