% BUILD  Builds the daspack MEX file (daspack_mex) against an installed libdaspack.
%   MATLAB: run `build` in this folder (uses mex). GNU Octave: octave-cli --eval "cd matlab; build"
%   (uses mkoctfile --mex). The library is found through pkg-config (`pkg-config --cflags --libs daspack`), so
%   install it first: cargo cinstall --release -p daspack-capi --prefix /usr/local (see the README), or set
%   PKG_CONFIG_PATH to a prefix's lib/pkgconfig.
[st, cflags] = system('pkg-config --cflags daspack');
[st2, libs] = system('pkg-config --libs daspack');
if st ~= 0 || st2 ~= 0
  error('daspack:build', 'pkg-config cannot find daspack: install libdaspack (cargo cinstall) or set PKG_CONFIG_PATH');
end
args = [strsplit(strtrim(cflags)), strsplit(strtrim(libs))];
args = args(~cellfun(@isempty, args));
if exist('OCTAVE_VERSION', 'builtin')
  [out, status] = system(['mkoctfile --mex ' strjoin(args, ' ') ' daspack_mex.c']);
  disp(out);
  if status ~= 0
    error('daspack:build', 'mkoctfile failed');
  end
else
  mex(args{:}, 'daspack_mex.c');
end
