"""Every piece of mutable module-level state in the package, in one place.

What a process remembers between calls is held here (the registry's tables are
listed here and stay in ``registry.py``), so it can be read, and reset, in one file.
A leaf: it imports nothing from the package. Each value is read and changed only
through the module named beside it; the others never touch it.

Session state, reset by ``clear_session()`` (``keras.backend.clear_session``):

- ``name_uids``: per base name, how many layers took it: the first Dense is
  ``dense``, the next ``dense_1`` (``backend.unique_name``).

Settings, kept by ``clear_session()`` as Keras keeps them:

- ``floatx``: the default float type (``backend.floatx``/``set_floatx``).
- ``epsilon``: the fuzz factor Keras code reads with ``keras.config.epsilon()``
  (``backend.epsilon``/``set_epsilon``).
- ``interactive_logging``: True prints progress bars and messages to the terminal;
  False sends them to the ``mlxfunctional`` Python logger, one line each
  (``config.enable/disable_interactive_logging``, read by ``progbar.py``).
- ``dtype_policy``: the global ``DTypePolicy`` of new layers, None for ``floatx()``
  in both roles (``dtype_policies.set_dtype_policy``; ``keras.mixed_precision``).

Scopes: set on entering a ``with`` block and restored on leaving it, even on an error,
so between calls they are at their initial value; ``clear_session()`` leaves them.

- ``tracing``: True while a layer runs on placeholders for its output shapes
  (``engine/trace.py``).
- ``training_stack``: the ``training`` flag of the calls in progress, innermost last,
  which nested layers inherit (``engine/call_context.py``).
- ``forward_passes``: one counter, of the outermost layer calls so far; the losses a
  layer adds in ``call`` belong to the pass that added them (``engine/call_context.py``).
- ``data_parallel``: the ``DataParallel`` of the ``fit``/``evaluate``/``predict``
  running now, innermost last (``distribute.py``).
- ``name_scopes``: the names of the open ``keras.name_scope`` blocks and of the layers
  being built or called, innermost last: the path of the variables created now
  (``"sequential/dense/kernel"``; ``scopes.py``, ``engine/variables.py``).
- ``loss_shards``: in a data-parallel train step, this process's share of the global
  batch, by which losses are scaled (``engine/global_batch.py``).
- ``index_recording``: one value, ``"compiled"`` or ``"eager"`` while a step of
  fit/evaluate/predict runs (else None): an out-of-range index is then counted in
  ``index_tally`` instead of raising (``engine/index_bounds.py``).
- ``index_callers``: the losses and metrics being called, innermost last, named in
  errors about their labels (``engine/index_bounds.py``).
- ``index_tally``: the out-of-range indices counted by the steps of fit's epoch (of
  evaluate, of a predict batch) in progress, put back when it ends: arrays every
  step captures as state, so counting costs no sync (``engine/index_bounds.py``).
- ``index_batch_counted``: one value, True once a site of the batch being run (or
  traced) in a step has counted into ``index_tally`` (``engine/index_bounds.py``).
- ``index_known``: the targets of the step being run (or traced) that were gathered
  from a data set whose values are checked once per call instead of in every step
  (``engine/index_bounds.py``); emptied when the call ends.

Caches, which change no result and so outlive ``clear_session()``:

- ``launched_data_parallel``: the ``DataParallel`` of the group ``mlx.launch`` started
  (``mx.distributed.init()`` returns a new group object at each call) (``distribute.py``).
- ``group_data_parallels``: one ``DataParallel`` per group passed as
  ``fit(distribute=group)``: compiled steps are kept per ``DataParallel``
  (``distribute.py``).
- ``index_sites``: the description of every place that counted an out-of-range
  index (the tally holds its number) (``engine/index_bounds.py``).
- ``call_flags``: per layer class, which of ``training``/``mask``/``**kwargs`` its
  ``call`` takes (``engine/layer.py``).

Elsewhere, for a reason:

- the registry's tables (``registry.py``): built-in classes and functions, the user's
  ``register_serializable`` registrations, and the thread-local stack of
  ``custom_object_scope``; registrations last for the process, as in Keras.
- ``_blas.loaded``/``_blas.reason``: which BLAS the package loaded, set once at import.
- MLX's own global random state (``mx.random.state``) belongs to MLX; model files
  save it for exact resume (``engine/resume_state.py``).

No state follows which weights were loaded last: ``vgg19.preprocess_input`` takes its
``mode`` as an argument.
"""

import os
from collections import defaultdict

name_uids = defaultdict(int)
floatx = "float32"
epsilon = 1e-7
interactive_logging = True
flash_attention = None  # None: use the fused attention kernel where it applies; False: never
traceback_filtering = True  # recorded only: tracebacks are never filtered here
# Caps on every fit's epochs and every call's steps per epoch (debugging long scripts);
# KERAS_MAX_EPOCHS / KERAS_MAX_STEPS_PER_EPOCH set them for a whole run, as in Keras.
max_epochs = int(os.environ["KERAS_MAX_EPOCHS"]) if os.environ.get("KERAS_MAX_EPOCHS") else None
max_steps_per_epoch = (int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"])
                       if os.environ.get("KERAS_MAX_STEPS_PER_EPOCH") else None)
dtype_policy = None

tracing = False
training_stack = [None]
forward_passes = [0]
data_parallel = []
loss_shards = []
name_scopes = []
index_recording = [None]
index_callers = []
index_tally = {}
index_known = {}
index_batch_counted = [False]

launched_data_parallel = []
group_data_parallels = []
call_flags = {}
index_sites = []


def clear_session():
    """Resets the session's state: layer names start again at ``dense``, ``dense_1``...

    Settings (``floatx``), registrations and caches are kept, as Keras keeps them.
    """
    name_uids.clear()
