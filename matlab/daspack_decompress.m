function A = daspack_decompress(C, varargin)
%DASPACK_DECOMPRESS Decompress a daspack stream made by DASPACK_COMPRESS.
%   A = DASPACK_DECOMPRESS(C) restores the array: class (int16, uint16, int32, single, double) and size come
%   from the stream. C is the uint8 vector DASPACK_COMPRESS returned (or the bytes of a file written by
%   `daspack compress --format stream`). A corrupt or truncated C raises an error with identifier daspack:corrupt.
%
%   A = DASPACK_DECOMPRESS(C, 'Threads', N) uses N worker threads (default 0 = all cores).
%
%   See also DASPACK_COMPRESS.
  p = inputParser;
  p.addParameter('Threads', 0);
  p.parse(varargin{:});
  A = daspack_mex('decompress', C, p.Results.Threads);
end
