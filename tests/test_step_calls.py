"""How fit/evaluate/predict call their compiled steps (``engine/step.py``,
``engine/step_calls.py``): step signatures, the shortcut for a batch like the last,
overlapped steps on a GPU, and logs read in the step's own sync."""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers, utils
from test_training import mnist_model


def test_step_signature_separates_row_changes_from_shape_changes():
    from mlxfunctional.engine.step import batch_signature

    x = [mx.zeros((10, 4))]
    full = (x, None, None, mx.arange(8))
    short = (x, None, None, mx.arange(2))
    rows_a, feats_a = batch_signature(full)
    rows_b, feats_b = batch_signature(short)
    assert (rows_a, rows_b) == (8, 2) and feats_a == feats_b
    other = ([mx.zeros((3, 5))], None, None, None)
    assert batch_signature(other)[1] != feats_a


def test_step_cache_signature_reuses_a_data_set_only_while_it_is_the_same_one():
    from mlxfunctional.engine.step import StepCache, batch_signature

    cache = StepCache()
    x, y = [mx.zeros((10, 4))], [mx.zeros((10,), dtype=mx.int32)]
    batches = [(x, y, None, mx.arange(8)), (x, y, None, mx.arange(3))]
    assert cache.signature(batches) == tuple(batch_signature(b) for b in batches)
    # Other arrays (a new list, as a new fit call makes) get their own signature.
    x2 = [mx.zeros((10, 6))]
    assert cache.signature([(x2, y, None, mx.arange(8))])[0][1] \
        == batch_signature((x2, y, None, None))[1] != batch_signature(batches[0])[1]
    # Batches without indices are their own arrays: never taken from the kept one.
    own = ([mx.zeros((5, 4))], [mx.zeros((5,), dtype=mx.int32)], None, None)
    assert cache.signature([own]) == (batch_signature(own),)
    cache.forget_data()
    assert cache._data is None
    # fit forgets it at the end of the call: the data set is not kept alive by the model.
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(mx.zeros((16, 4)), mx.zeros((16, 2)), batch_size=4, verbose=0)
    assert model._step_cache._data is None and model._step_cache._last is None


def test_step_cache_repeats_the_last_entry_only_for_a_batch_like_the_last():
    from mlxfunctional.engine.step import StepCache

    cache = StepCache()
    state = {"w": mx.zeros((3,))}
    cache.bind("train", [state])

    def step(batches):
        x, y, _, idx = batches[0]
        state["w"] = state["w"] + x[0][idx].sum()
        return None

    x, y = [mx.ones((10, 3))], [mx.zeros((10,))]
    batches = [(x, y, None, mx.arange(4))]
    key = ("train", None, cache.signature(batches))
    cache.call(key, step, batches)
    cache.remember(key, batches)
    fn = cache.repeat("train", [(x, y, None, mx.arange(4, 8))])
    assert fn is cache._entries[key][0]
    # another mode, row count, data set, or several batches: looked up as usual
    assert cache.repeat("test", [(x, y, None, mx.arange(4))]) is None
    assert cache.repeat("train", [(x, y, None, mx.arange(2))]) is None
    assert cache.repeat("train", [([mx.ones((10, 3))], y, None, mx.arange(4))]) is None
    assert cache.repeat("train", batches * 2) is None
    assert cache.repeat("train", [(x, y, None, None)]) is None
    done = cache.completed
    cache.call_repeat(fn, [(x, y, None, mx.arange(4, 8))])
    assert cache.completed == done + 1 and float(state["w"].sum()) == 3 * (12 + 12)
    # other containers bound (a new optimizer, a recompile) drop it, as their entries
    cache.bind("train", [{"w": mx.zeros((3,))}])
    assert cache.repeat("train", [(x, y, None, mx.arange(4))]) is None


def test_overlapped_steps_give_the_same_weights():
    # The GPU path (async_eval one step ahead) must compute exactly what the sync one does.
    rng = np.random.default_rng(0)
    x = rng.random((64, 784)).astype("float32")
    y = rng.integers(0, 10, 64)
    results = []
    for overlap in (False, True):
        utils.set_random_seed(9)
        model = mnist_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model._overlap_steps = overlap
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append((model.get_weights(), history.history["loss"]))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]


def test_overlapped_steps_wait_for_the_previous_step(monkeypatch):
    # The GPU path runs at most one step ahead: each train call waits for the previous
    # step's state (the default steps log nothing, so waiting on their logs waited on
    # nothing and let the host queue the whole epoch).
    from mlxfunctional.engine import step_calls

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784)).astype("float32"), rng.integers(0, 10, 64)
    model = mnist_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model._overlap_steps = True
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # (traces outside the record)
    waits, queued = [], []
    real = step_calls.mx

    class Recorder:
        def __getattr__(self, name):
            return getattr(real, name)

        def async_eval(self, *args):
            queued.append({id(a) for a in step_calls.state_arrays(list(args))})
            return real.async_eval(*args)

        def eval(self, *args):
            waits.append({id(a) for a in step_calls.state_arrays(list(args))})
            return real.eval(*args)

    monkeypatch.setattr(step_calls, "mx", Recorder())
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(queued) == 4
    # steps 2-4 each waited for exactly what the step before them queued
    assert waits[:3] == queued[:3] and all(waits[:3])
    assert model._in_flight is None  # (no state held after the call)


@pytest.mark.parametrize("overlap", [False, True])
def test_logs_read_per_batch_come_from_the_steps_own_sync(monkeypatch, overlap):
    # train_on_batch and a callback reading every batch's logs: the logs are evaluated
    # with the step's state, one sync per step, and equal a separate reading; also when
    # steps overlap host work (reading a step's logs waits for it anyway).
    from mlxfunctional.engine import step_calls

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784)).astype("float32"), rng.integers(0, 10, 64)
    model = mnist_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model._overlap_steps = overlap
    model.train_on_batch(x[:16], y[:16])  # (traces outside the record)
    evals = []
    real = step_calls.mx

    class Recorder:
        def __getattr__(self, name):
            return getattr(real, name)

        def eval(self, *args):
            evals.append(args)
            return real.eval(*args)

    monkeypatch.setattr(step_calls, "mx", Recorder())
    loss, acc = model.train_on_batch(x[:16], y[:16])
    assert len(evals) == 1
    assert model.get_metrics_result()["loss"].item() == pytest.approx(loss, abs=0)

    seen = []

    class PerBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((logs["loss"], model.get_metrics_result()["loss"].item()))

    evals.clear()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[PerBatch()])
    assert len(seen) == 4 and all(a == b for a, b in seen)
    assert len(evals) == 4 + 1  # one per step, and the epoch's logs


def test_a_quiet_epoch_calls_the_settled_step_directly_and_trains_alike(monkeypatch):
    # With no batch hooks (one process, one batch per call), fit calls the settled
    # compiled step itself for every batch like the last (rows of the same data set);
    # the first batch and a short last one go through _train_call. Its weights and losses equal those of the general
    # loop (forced here by a callback with a batch hook).
    from mlxfunctional.engine.step_calls import StepCalls

    rng = np.random.default_rng(0)  # (MLX arrays: the step gathers each batch's rows)
    x = mx.array(rng.random((70, 784)).astype("float32"))
    y = mx.array(rng.integers(0, 10, 70).astype("int32"))
    real = StepCalls._train_call
    calls = []

    def counting(self, batches, *args, **kwargs):
        calls.append(int(batches[0][3].shape[0]))
        return real(self, batches, *args, **kwargs)

    monkeypatch.setattr(StepCalls, "_train_call", counting)

    class Hook(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pass

    results = []
    for hooks in ([], [Hook()]):
        utils.set_random_seed(4)
        model = mnist_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
        calls.clear()
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=hooks)
        results.append((model.get_weights(), history.history["loss"], list(calls),
                        model._step_cache.completed))
    (quiet_w, quiet_loss, quiet_calls, quiet_done), (w, loss, general_calls, done) = results
    for a, b in zip(quiet_w, w):
        np.testing.assert_array_equal(a, b)
    assert quiet_loss == loss
    # the call's first batch, then each epoch's short last one (the second epoch's first
    # batch is like the last full one of the first)
    assert quiet_calls == [16, 6, 6]
    assert general_calls == [16, 16, 16, 16, 6] * 2
    assert quiet_done == done == 10  # every batch counted as a completed call
