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
    """

    epoch: int
    iterations: int
    shuffle_seed: object
    random_states: tuple

    def get_config(self):
        return {"epoch": self.epoch, "iterations": self.iterations,
                "shuffle_seed": self.shuffle_seed,
                "random_state": [list(pair) for pair in self.random_states]}

    @classmethod
    def from_config(cls, config):
        """The state of ``get_config()``'s dict; ``ValueError`` naming the bad field."""
        if not isinstance(config, dict) or set(config) != {"epoch", "iterations",
                                                           "shuffle_seed", "random_state"}:
            keys = sorted(config) if isinstance(config, dict) else type(config).__name__
            raise ValueError("must be an object with exactly the keys epoch, iterations, "
                             f"shuffle_seed and random_state; received {keys}")
        epoch = _int(config["epoch"], "epoch", 1 << 31)
        iterations = _int(config["iterations"], "iterations", 1 << 63)
        seed = config["shuffle_seed"]
        seed = None if seed is None else _int(seed, "shuffle_seed", _U32)
        states = config["random_state"]
        if not isinstance(states, list) or not 1 <= len(states) <= MAX_RANKS:
            raise ValueError(f"random_state must be a list of 1 to {MAX_RANKS} [hi, lo] pairs")
        pairs = []
        for i, pair in enumerate(states):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"random_state[{i}] must be a [hi, lo] pair of uint32")
            pairs.append(tuple(_int(v, f"random_state[{i}]", _U32) for v in pair))
        return cls(epoch, iterations, seed, tuple(pairs))


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
    training data its shuffle seed and first epoch index."""
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
    if resumed:
        _restore_random_state(state, parallel)
    if isinstance(data, ArrayBatches) and data.shuffle:
        stored = state.shuffle_seed if resumed else None
        if parallel is not None:
            data.seed = parallel.shared_seed(stored)
        elif stored is not None:  # a data-parallel run continued by one process
            data.seed = stored
        data.epoch = initial_epoch


def _restore_random_state(state, parallel):
    size, rank = (1, 0) if parallel is None else (parallel.size, parallel.rank)
    if len(state.random_states) != size:
        warnings.warn(
            f"The recorded training state holds the random states of {len(state.random_states)} "
            f"process(es) but this run has {size}: the shuffle order is continued, the "
            "random numbers of Dropout and other random layers are not.", stacklevel=4)
        return
    hi, lo = state.random_states[rank]
    mx.random.seed(hi * _U32 + lo)  # (seeding with a 64-bit value sets the key to it)


def record(model, epochs_done, data, parallel=None):
    """Called by ``fit`` at the end of every epoch (a collective when data-parallel:
    every rank's random state is gathered)."""
    key = mx.random.state[0]
    if parallel is not None:
        key = mx.distributed.all_gather(key[None], group=parallel.group)
    pairs = np.array(key, dtype=np.uint32).reshape(-1, 2)
    seed = data.seed if isinstance(data, ArrayBatches) and data.shuffle else None
    model._resume_state = ResumeState(
        int(epochs_done), _iterations(model), seed,
        tuple((int(hi), int(lo)) for hi, lo in pairs))
