"""Where a training run stands after an epoch, so that a resumed run continues it bit for bit.

Besides the weights and the optimizer state, two things decide what the next
epoch of ``fit`` does: the order the samples are shuffled in, and MLX's
global random state (``mx.random.state``), from which Dropout and the other
random layers draw inside the compiled step.

- The shuffle order. On one process each epoch draws its permutation from
  ``mx.random`` like everything else, so the random state alone decides it
  (and ``keras.utils.set_random_seed`` fixes a whole run). Data-parallel,
  the ranks' random states differ, so rank 0 draws a shuffle seed at the
  start of ``fit`` and shares it, and epoch ``e``'s order depends only on
  ``(seed, e)`` (``ArrayBatches``): every rank, and a resumed run that knows
  the seed, shuffles epoch ``e`` the same way.
- At the end of every epoch (after validation, before the callbacks'
  ``on_epoch_end``, so before ``ModelCheckpoint`` saves) ``fit`` records a
  :class:`ResumeState` on the model: epochs done, optimizer steps done, the
  shuffle seed and each rank's random state. ``model.save`` writes it and
  ``load_model`` reads it back onto the model; loading applies nothing.
- ``fit(initial_epoch=k)`` applies it only when it belongs to that point:
  ``k`` equals the epochs done and the optimizer has taken exactly the
  recorded number of steps (a checkpoint written mid-epoch, or a model trained
  further since, does not qualify). Then the seed is reused and
  ``mx.random.state`` is set to the recorded one. Otherwise the run goes on
  from the random state as it is (data-parallel, with a new shuffle seed);
  with ``k > 0`` a warning says so.

Mid-epoch (``BackupAndRestore(save_freq=N)``): ``fit`` keeps a :class:`Progress`
on the model -- the epoch, the batches done in it and the random key the
epoch started from (before its shuffle order was drawn) -- at the cost of two
integer assignments per step; :func:`capture` turns it into a ``ResumeState``
with ``step`` > 0 only when a callback asks (a device sync). A run resumed from
it puts the epoch's starting key back, draws the same shuffle order, passes
over the ``step`` batches already trained without training on them, then puts
the key of that point back and goes on (:class:`Skip`): the weights follow the
uninterrupted run bit for bit. The metrics of the resumed epoch average only
the batches trained after the resume.
"""

import dataclasses
import warnings

import mlx.core as mx
import numpy as np

from .data_adapter import ArrayBatches

MAX_RANKS = 1 << 16  # random states one file may list (one per data-parallel rank)
_U32 = 1 << 32


@dataclasses.dataclass(frozen=True)
class ResumeState:
    """The state of a training run at the end of an epoch.

    Args:
        epoch: epochs done (1-based, as ``ModelCheckpoint``'s ``{epoch}``): the
            ``initial_epoch`` that continues the run.
        iterations: optimizer steps done at that point.
        shuffle_seed: the seed of the shuffle orders of a data-parallel run
            (None: the orders came from the random state, or were not shuffled).
        random_states: ``mx.random.state`` of each rank, as ``(hi, lo)`` uint32
            pairs (one pair for a single process).
        step: batches of epoch ``epoch`` (0-based index: the next epoch) already
            trained -- 0 for the end of an epoch, > 0 for a mid-epoch state.
        epoch_random_states: with ``step`` > 0, the ranks' keys when that epoch
            started (its shuffle order is drawn from them).
    """

    epoch: int
    iterations: int
    shuffle_seed: object
    random_states: tuple
    step: int = 0
    epoch_random_states: tuple = ()

    def get_config(self):
        config = {"epoch": self.epoch, "iterations": self.iterations,
                  "shuffle_seed": self.shuffle_seed,
                  "random_state": [list(pair) for pair in self.random_states]}
        if self.step:  # (end-of-epoch states keep the form older readers know)
            config["step"] = self.step
            config["epoch_random_state"] = [list(p) for p in self.epoch_random_states]
        return config

    @classmethod
    def from_config(cls, config):
        """The state of ``get_config()``'s dict; ``ValueError`` naming the bad field."""
        base = {"epoch", "iterations", "shuffle_seed", "random_state"}
        if not isinstance(config, dict) or set(config) not in (
                base, base | {"step", "epoch_random_state"}):
            keys = sorted(config) if isinstance(config, dict) else type(config).__name__
            raise ValueError("must be an object with exactly the keys epoch, iterations, "
                             "shuffle_seed and random_state (and, mid-epoch, step and "
                             f"epoch_random_state); received {keys}")
        epoch = _int(config["epoch"], "epoch", 1 << 31)
        iterations = _int(config["iterations"], "iterations", 1 << 63)
        seed = config["shuffle_seed"]
        seed = None if seed is None else _int(seed, "shuffle_seed", _U32)
        pairs = _pairs(config["random_state"], "random_state")
        if "step" not in config:
            return cls(epoch, iterations, seed, pairs)
        step = _int(config["step"], "step", 1 << 63)
        if step == 0:
            raise ValueError("step must be > 0 (an end-of-epoch state has no step)")
        epoch_pairs = _pairs(config["epoch_random_state"], "epoch_random_state")
        if len(epoch_pairs) != len(pairs):
            raise ValueError("epoch_random_state and random_state must list as many ranks")
        return cls(epoch, iterations, seed, pairs, step, epoch_pairs)


def _pairs(states, field):
    if not isinstance(states, list) or not 1 <= len(states) <= MAX_RANKS:
        raise ValueError(f"{field} must be a list of 1 to {MAX_RANKS} [hi, lo] pairs")
    pairs = []
    for i, pair in enumerate(states):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"{field}[{i}] must be a [hi, lo] pair of uint32")
        pairs.append(tuple(_int(v, f"{field}[{i}]", _U32) for v in pair))
    return tuple(pairs)


def _int(value, field, bound):
    if type(value) is not int or not 0 <= value < bound:
        raise ValueError(f"{field} must be an integer in [0, {bound}); received {value!r}")
    return value


def _iterations(model):
    step = getattr(model.optimizer, "state", {}).get("step")
    return None if step is None else int(step.item())


def for_save(model):
    """The model's ``ResumeState`` as a dict for its file, or None when it has none or
    its weights are no longer those of the recorded point (e.g. a mid-epoch save)."""
    state = getattr(model, "_resume_state", None)
    if state is None or getattr(model, "optimizer", None) is None or \
            _iterations(model) != state.iterations:
        return None
    return state.get_config()


def begin(model, data, initial_epoch, parallel=None):
    """Called by ``fit`` before its first epoch: puts back the model's recorded state
    when it belongs to ``initial_epoch`` (see the module's docstring), and gives the
    training data its shuffle seed and first epoch index. Returns a :class:`Skip`
    for the first epoch when the state is a mid-epoch one, else None."""
    state = getattr(model, "_resume_state", None)
    resumed = state is not None and state.epoch == initial_epoch and \
        state.iterations == _iterations(model)
    if state is not None and not resumed and initial_epoch > 0:
        warnings.warn(
            f"fit(initial_epoch={initial_epoch}): the training state the model carries "
            f"was recorded after epoch {state.epoch} and {state.iterations} optimizer steps "
            f"(now {_iterations(model)}), so it is not put back: the shuffle order and the "
            "random numbers differ from those of an uninterrupted run. Resume from the "
            f"checkpoint written at the end of epoch {initial_epoch}.", stacklevel=3)
    skip = None
    if resumed and state.step:
        skip = Skip(state.step, state.epoch_random_states, state.random_states, parallel)
    elif resumed:
        _restore_random_state(state.random_states, parallel)
    if isinstance(data, ArrayBatches) and data.shuffle:
        stored = state.shuffle_seed if resumed else None
        if parallel is not None:
            data.seed = parallel.shared_seed(stored)
        elif stored is not None:  # a data-parallel run continued by one process
            data.seed = stored
        data.epoch = initial_epoch
    return skip


def _restore_random_state(random_states, parallel):
    size, rank = (1, 0) if parallel is None else (parallel.size, parallel.rank)
    if len(random_states) != size:
        warnings.warn(
            f"The recorded training state holds the random states of {len(random_states)} "
            f"process(es) but this run has {size}: the shuffle order is continued, the "
            "random numbers of Dropout and other random layers are not.", stacklevel=4)
        return
    hi, lo = random_states[rank]
    mx.random.seed(hi * _U32 + lo)  # (seeding with a 64-bit value sets the key to it)


class Skip:
    """How the first epoch of a run resumed mid-epoch starts (see the module's
    docstring): ``fit`` calls ``epoch_begins()`` where the epoch's shuffle order is
    about to be drawn, passes over ``steps`` batches, then calls ``skipped()``."""

    def __init__(self, steps, epoch_random_states, random_states, parallel):
        self.steps = steps
        self._epoch_states, self._states = epoch_random_states, random_states
        self._parallel = parallel

    def epoch_begins(self):
        _restore_random_state(self._epoch_states, self._parallel)

    def skipped(self):
        _restore_random_state(self._states, self._parallel)


class Progress:
    """Where ``fit`` is within an epoch (kept on the model as ``_fit_progress``)."""

    def __init__(self, data, parallel):
        self.data, self.parallel = data, parallel
        self.epoch, self.step, self.epoch_key = 0, 0, None

    def epoch_begins(self, epoch):
        self.epoch, self.step = epoch, 0
        self.epoch_key = mx.random.state[0]  # (a reference: nothing is computed here)


def capture(model):
    """The ``ResumeState`` of the point ``fit`` has reached mid-epoch (after the
    last finished batch), for a callback's ``on_train_batch_end``; a collective when
    data-parallel (every rank must call it). None outside ``fit``."""
    progress = getattr(model, "_fit_progress", None)
    if progress is None or progress.epoch_key is None:
        return None
    if progress.step == 0:  # nothing trained yet in this epoch: its start is the point
        return getattr(model, "_resume_state", None)
    data, parallel = progress.data, progress.parallel
    seed = data.seed if isinstance(data, ArrayBatches) and data.shuffle else None
    return ResumeState(int(progress.epoch), _iterations(model), seed,
                       _key_pairs(mx.random.state[0], parallel), int(progress.step),
                       _key_pairs(progress.epoch_key, parallel))


def _key_pairs(key, parallel):
    if parallel is not None:
        key = mx.distributed.all_gather(key[None], group=parallel.group)
    pairs = np.array(key, dtype=np.uint32).reshape(-1, 2)
    return tuple((int(hi), int(lo)) for hi, lo in pairs)


def record(model, epochs_done, data, parallel=None):
    """Called by ``fit`` at the end of every epoch (a collective when data-parallel:
    every rank's random state is gathered)."""
    seed = data.seed if isinstance(data, ArrayBatches) and data.shuffle else None
    model._resume_state = ResumeState(int(epochs_done), _iterations(model), seed,
                                      _key_pairs(mx.random.state[0], parallel))
