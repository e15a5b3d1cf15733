"""zarr v3 array-to-bytes codec ``"daspack"`` (registered through the ``zarr.codecs`` entry point).

>>> import zarr, daspack.zarr3
>>> z = zarr.create_array(store={}, shape=(1000, 64), chunks=(500, 64), dtype="int32",
...                       serializer=daspack.zarr3.DASPackCodec())

It replaces zarr's ``bytes`` serializer: each chunk is coded as one daspack stream (leading axes folded into time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Optional

import numpy as np
from zarr.abc.codec import ArrayBytesCodec
from zarr.core.buffer import Buffer, NDBuffer
from zarr.core.common import parse_named_configuration

from . import _SUPPORTED, compress_data, decompress_data

if TYPE_CHECKING:
    from zarr.core.array_spec import ArraySpec

__all__ = ["DASPackCodec"]

_INT_FIELDS = ("block_height", "block_width", "lx", "lt", "lpc_order", "lpc_space")


@dataclass(frozen=True)
class DASPackCodec(ArrayBytesCodec):
    """daspack as a zarr v3 ``array -> bytes`` codec. ``abs_error`` 0 is lossless; integer parameters left as
    None take the tuned defaults."""

    is_fixed_size = False

    abs_error: float = 0.0
    block_height: Optional[int] = None
    block_width: Optional[int] = None
    lx: Optional[int] = None
    lt: Optional[int] = None
    lpc_order: Optional[int] = None
    lpc_space: Optional[int] = None

    def __init__(self, *, abs_error: float = 0.0, **params: Optional[int]) -> None:
        unknown = set(params) - set(_INT_FIELDS)
        if unknown:
            raise TypeError(f"unknown daspack parameter(s): {', '.join(sorted(unknown))}")
        object.__setattr__(self, "abs_error", float(abs_error))
        for k in _INT_FIELDS:
            v = params.get(k)
            object.__setattr__(self, k, None if v is None else int(v))

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "DASPackCodec":
        _, config = parse_named_configuration(data, "daspack", require_configuration=False)
        return cls(**(config or {}))

    def to_dict(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {"abs_error": self.abs_error}
        for k in _INT_FIELDS:
            v = getattr(self, k)
            if v is not None:
                config[k] = v
        return {"name": "daspack", "configuration": config}

    def validate(self, *, shape: Any, dtype: Any, chunk_grid: Any) -> None:
        """Rejects, at array creation, dtypes daspack cannot store (it needs int16, uint16, int32, float32 or
        float64) and bad parameter values."""
        native = np.dtype(dtype.to_native_dtype())
        if native.kind not in "iuf" or native.newbyteorder("=") not in _SUPPORTED:
            raise TypeError(f"daspack cannot store dtype {native}: use int16, uint16, int32, float32 or float64")
        if not (np.isfinite(self.abs_error) and self.abs_error >= 0):
            raise ValueError(f"abs_error must be finite and >= 0, got {self.abs_error}")
        compress_data(np.zeros((4, 4), dtype=native.newbyteorder("=")), abs_error=self.abs_error, **self._params())

    def _params(self) -> Dict[str, int]:
        return {k: getattr(self, k) for k in _INT_FIELDS if getattr(self, k) is not None}

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: "ArraySpec") -> NDBuffer:
        stream = np.asarray(chunk_bytes.as_numpy_array()).view(np.uint8)
        arr = decompress_data(stream, shape=chunk_spec.shape)
        native = chunk_spec.dtype.to_native_dtype()
        if arr.dtype != native:
            arr = arr.astype(native)
        return chunk_spec.prototype.nd_buffer.from_numpy_array(arr)

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: "ArraySpec") -> NDBuffer:
        return self._decode_sync(chunk_bytes, chunk_spec)

    def _encode_sync(self, chunk_array: NDBuffer, chunk_spec: "ArraySpec") -> Optional[Buffer]:
        arr = chunk_array.as_numpy_array()
        packed = compress_data(arr, abs_error=self.abs_error, **self._params())
        return chunk_spec.prototype.buffer.from_array_like(packed)

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: "ArraySpec") -> Optional[Buffer]:
        return self._encode_sync(chunk_array, chunk_spec)

    def compute_encoded_size(self, input_byte_length: int, _chunk_spec: "ArraySpec") -> int:
        raise NotImplementedError("daspack streams have no fixed size")


def _register() -> None:
    try:
        from zarr.registry import register_codec

        register_codec("daspack", DASPackCodec)
    except Exception:  # pragma: no cover
        pass


_register()
