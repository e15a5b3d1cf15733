"""numcodecs codec ``"daspack"`` (also usable as a zarr v2 compressor).

>>> import numcodecs, daspack.numcodecs
>>> codec = numcodecs.get_codec({"id": "daspack", "abs_error": 0.0})

The codec is registered on import of this module (and through the ``numcodecs.codecs`` entry point). ``encode``
takes a chunk of any shape (folded to 2-D: leading axes into time); ``decode`` returns the flat decoded array, or
fills ``out`` when given (zarr passes the chunk's buffer and reshapes).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy
from numcodecs.registry import register_codec

from . import compress_data, decompress_data

__all__ = ["DASPack"]


class DASPack(Codec):
    """daspack as a numcodecs codec.

    Parameters: ``abs_error`` (0 = lossless), ``block_height``, ``block_width``, ``lx``, ``lt``, ``lpc_order``,
    ``lpc_space`` (None = the tuned defaults), ``threads`` (0 = all cores; not part of the stored config's effect
    on the output).
    """

    codec_id = "daspack"

    def __init__(
        self,
        abs_error: float = 0.0,
        block_height: Optional[int] = None,
        block_width: Optional[int] = None,
        lx: Optional[int] = None,
        lt: Optional[int] = None,
        lpc_order: Optional[int] = None,
        lpc_space: Optional[int] = None,
        threads: int = 0,
    ) -> None:
        self.abs_error = float(abs_error)
        self.block_height = block_height
        self.block_width = block_width
        self.lx = lx
        self.lt = lt
        self.lpc_order = lpc_order
        self.lpc_space = lpc_space
        self.threads = int(threads)

    def _params(self) -> dict:
        names = ("block_height", "block_width", "lx", "lt", "lpc_order", "lpc_space")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}

    def get_config(self) -> dict:
        cfg = {"id": self.codec_id, "abs_error": self.abs_error}
        cfg.update(self._params())
        if self.threads:
            cfg["threads"] = self.threads
        return cfg

    def encode(self, buf: Any) -> np.ndarray:
        a = buf if isinstance(buf, np.ndarray) else np.asarray(buf)
        return compress_data(a, abs_error=self.abs_error, threads=self.threads, **self._params())

    def decode(self, buf: Any, out: Any = None) -> Any:
        b = ensure_contiguous_ndarray(buf)
        dec = decompress_data(b, threads=self.threads).reshape(-1)
        if out is not None:
            return ndarray_copy(dec, out)
        return dec

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "id")
        return f"DASPack({args})"


register_codec(DASPack)
