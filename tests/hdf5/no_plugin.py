"""Reading a daspack-filtered dataset without the plugin on HDF5_PLUGIN_PATH: a clear error, no crash.
Usage: no_plugin.py FILE"""
import sys

import h5py

h5py._errors.unsilence_errors()  # let HDF5 print its whole error stack to stderr, the test inspects it
with h5py.File(sys.argv[1], "r") as f:
    try:
        f["das_i16"][:]
    except OSError as e:
        print(f"raised OSError: {e}")
        sys.exit(0)
print("no error raised")
sys.exit(1)
