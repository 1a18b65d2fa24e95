# Loaded by the moto_server that trailguard's test bed starts (testbed.Launch puts this folder first on its
# PYTHONPATH), before moto answers anything. It changes how fast moto answers, never what it answers.
import sys

# moto 5.2.1's server lists its own package folder (os.listdir, then a stat of every entry) twice for every request,
# to learn its service names: about 40 % of moto's time for a call, and moto answers calls one after another, so
# parallel calls wait for it. The list never changes while the server runs, so it is read once here.
#
#
# It also lists a response class's methods (inspect.getmembers) for every request, to find the action's handler;
# a class's methods do not change either, so each class is listed once.
#
# Its response serializer looks for every member of every shape in an answer under each of its possible aliases,
# working the aliases out anew each time: for DynamoDB's AttributeValue, a union of ten members, that is most of the
# 50 ms moto takes to scan a handful of registry items. The aliases depend only on the member, its shape and that
# shape's parent (all fixed by the service model), and on the answering object's class and its Meta (moto's
# explicit aliases), so they are worked out once for each.
def _aliases_once(get_possible_keys):
    known = {}

    def cached(self, context):
        obj, shape = context.obj, context.shape
        key = (type(self), tuple(self.alias_providers), context.key, shape, getattr(shape, "parent", None),
               type(obj), getattr(obj, "Meta", None))
        keys = known.get(key)
        if keys is None:
            keys = known[key] = tuple(get_possible_keys(self, context))
        return iter(keys)

    return cached


try:
    import functools

    import moto

    if moto.__version__ != "5.2.1":  # the patches read moto 5.2.1's internals
        raise RuntimeError(f"moto {moto.__version__}, not 5.2.1")

    import moto.backends as _backends
    import moto.core.responses as _responses
    import moto.core.serialize as _serialize

    _modules = tuple(_backends.list_of_moto_modules())
    _backends.list_of_moto_modules = lambda: _modules
    _responses.method_names_from_class = functools.cache(_responses.method_names_from_class)
    for _picker in (_serialize.AttributePicker, _serialize.XFormedAttributePicker):
        _picker.get_possible_keys = _aliases_once(_picker.__dict__["get_possible_keys"])
    print("trailguard-testbed: moto sped up", file=sys.stderr, flush=True)
except Exception as e:  # another moto version: run it as it is
    print(f"trailguard-testbed: moto not sped up: {e!r}", file=sys.stderr, flush=True)
