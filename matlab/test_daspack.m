% TEST_DASPACK  Round trips and error checks of the MEX wrapper; exits non-zero on any failure (Octave CI).
1;
function s = ifelse_str(ok)
  if ok, s = 'ok'; else, s = 'FAIL'; end
end
failures = 0;
rand('seed', 1); randn('seed', 1);
cases = {int16(round(cumsum(randn(3000, 17)) * 50)), ...
         int32(round(cumsum(randn(2000, 40)) * 1000)), ...
         uint16(30000 + round(cumsum(randn(500, 3)) * 20)), ...
         single(cumsum(randn(700, 9))), ...
         cumsum(randn(400, 5)), ...
         int32(7), zeros(0, 4, 'int16'), int32(round(cumsum(randn(5000, 1)) * 10))};
for i = 1:numel(cases)
  A = cases{i};
  C = daspack_compress(A);
  B = daspack_decompress(C);
  ok = isequal(class(A), class(B)) && isequal(size(A), size(B)) && isequal(A, B);
  fprintf('%-8s %-12s lossless round trip: %s (ratio %.2f)\n', class(A), mat2str(size(A)), ...
         ifelse_str(ok), numel(A) * numel(typecast(A(1:min(1,end)), 'uint8')) / max(1, numel(C)));
  failures = failures + ~ok;
end
% Error bound on floats and integers.
A = cumsum(randn(1000, 20));
C = daspack_compress(A, 'AbsError', 0.01, 'Threads', 2, 'BlockSize', [256 8]);
B = daspack_decompress(C);
ok = max(abs(A(:) - B(:))) <= 0.01; failures = failures + ~ok;
fprintf('double AbsError 0.01: max error %.4g: %s\n', max(abs(A(:) - B(:))), ifelse_str(ok));
A = int32(round(cumsum(randn(1000, 20)) * 100));
B = daspack_decompress(daspack_compress(A, 'AbsError', 3, 'LpcOrder', 4, 'Levels', 1));
ok = max(abs(double(A(:)) - double(B(:)))) <= 3; failures = failures + ~ok;
fprintf('int32 AbsError 3: %s\n', ifelse_str(ok));
% Errors are reported, never a crash.
bad = {@() daspack_compress(int8([1 2 3])), @() daspack_compress(complex(1, 2)), ...
       @() daspack_decompress(uint8([1 2 3 4 5])), @() daspack_decompress(int32(5)), ...
       @() daspack_compress(int32(1), 'LpcOrder', 99), @() daspack_compress(ones(2, 2, 2))};
C = daspack_compress(int32(round(cumsum(randn(300, 4)) * 100)));
C(end - 2) = bitxor(C(end - 2), uint8(64));
bad{end + 1} = @() daspack_decompress(C);
for i = 1:numel(bad)
  try
    bad{i}();
    fprintf('error case %d: no error raised: FAIL\n', i); failures = failures + 1;
  catch err
    fprintf('error case %d raised %s: %s\n', i, err.identifier, strtok(err.message, char(10)));
  end
end
fprintf('%d passed, %d failed\n', numel(cases) + 2 + numel(bad) - failures, failures);
exit(failures > 0);

