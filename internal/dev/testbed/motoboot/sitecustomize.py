# Loaded by the moto_server that trailguard's test bed starts (testbed.Launch puts this folder first on its
# PYTHONPATH), before moto answers anything. It changes how fast moto answers, never what it answers.
import sys

# moto 5.2.1's server lists its own package folder (os.listdir, then a stat of every entry) twice for every request,
# to learn its service names: about 40 % of moto's time for a call, and moto answers calls one after another, so
# parallel calls wait for it. The list never changes while the server runs, so it is read once here.
#
# It also lists a response class's methods (inspect.getmembers) for every request, to find the action's handler;
# a class's methods do not change either, so each class is listed once.
try:
    import functools

    import moto.backends as _backends
    import moto.core.responses as _responses

    _modules = tuple(_backends.list_of_moto_modules())
    _backends.list_of_moto_modules = lambda: _modules
    _responses.method_names_from_class = functools.cache(_responses.method_names_from_class)
    print("trailguard-testbed: moto service list read once", file=sys.stderr, flush=True)
except Exception as e:  # another moto version: run it as it is
    print(f"trailguard-testbed: moto service list not cached: {e!r}", file=sys.stderr, flush=True)
