function C = daspack_compress(A, varargin)
%DASPACK_COMPRESS Compress a DAS array (time x channel) with daspack.
%   C = DASPACK_COMPRESS(A) compresses A losslessly into a uint8 column vector C.
%   A is int16, uint16, int32, single or double, 2-D with time along rows and channels along columns.
%   Floats are lossless too (every bit, NaN and Inf included) unless an error bound is given.
%
%   C = DASPACK_COMPRESS(A, Name, Value, ...) with options:
%     'AbsError'  maximum absolute error of every element (default 0 = lossless)
%     'BlockSize' [height width] of the tiles coded independently (default [0 0] = automatic)
%     'Levels'    wavelet levels in time and space (default 0)
%     'LpcOrder'  prediction order along time, 0..32 (default 2; the codec also tries other shapes per tile)
%     'Threads'   worker threads (default 0 = all cores); the output does not depend on it
%
%   Example:
%     A = int32(cumsum(randn(10000, 64)) * 100);
%     C = daspack_compress(A);
%     B = daspack_decompress(C);   % isequal(A, B)
%
%   HDF5 files written with filter 33000 (daspack's HDF5 plugin) are read by h5read when the environment variable
%   HDF5_PLUGIN_PATH names the directory of libh5daspack.so before MATLAB starts.
%
%   See also DASPACK_DECOMPRESS.
  p = inputParser;
  p.addParameter('AbsError', 0);
  p.addParameter('BlockSize', [0 0]);
  p.addParameter('Levels', 0);
  p.addParameter('LpcOrder', 2);
  p.addParameter('Threads', 0);
  p.parse(varargin{:});
  o = p.Results;
  bs = o.BlockSize;
  if ~isnumeric(bs) || numel(bs) ~= 2
    error('daspack:badArgument', 'BlockSize must be [height width]');
  end
  C = daspack_mex('compress', A, o.AbsError, bs(1), bs(2), o.Levels, o.LpcOrder, o.Threads);
end
