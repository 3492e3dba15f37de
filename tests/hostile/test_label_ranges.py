"""Labels checked once per call, not in every step (``index_bounds.known_rows``).

``fit``/``evaluate`` on arrays of several batches find the labels' range once per call;
a compiled step for in-range labels leaves the per-step check out, and is never used
for data out of range. The tally counts batches only in steps that check something.
"""

import warnings

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, losses, metrics
from mlxfunctional.engine.index_bounds import IndexRangeWarning

from .test_indices import index_warnings


def _sites_named(name):
    from mlxfunctional.engine import index_bounds

    return [s for s in index_bounds._SITES if name in s[0]]


def four_classes(loss="sparse_categorical_crossentropy", metrics=None):
    """Dense softmax over 4 classes from 3 features, compiled with SGD."""
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(4, activation="softmax")(inputs))
    model.compile("sgd", loss, metrics=metrics)
    return model


@pytest.mark.parametrize("label_shape,kind", [((), "numpy"), ((1,), "numpy"), ((), "mlx")])
def test_labels_checked_once_per_call_stay_checked_when_the_data_changes(label_shape, kind):
    # fit/evaluate on arrays check the labels once per call, on the whole data set, and
    # the compiled step leaves the check out (index_bounds.known_rows): a loss whose
    # labels are never counted never registers its site. The step traced so must not
    # serve data whose labels are out of range: it is traced again, with the check.
    name = f"scce_once_{len(label_shape)}_{kind}"
    data = (lambda a: a) if kind == "numpy" else mx.array  # (host slices; device gathers)
    model = four_classes(losses.SparseCategoricalCrossentropy(name=name),
                         [metrics.SparseCategoricalAccuracy(name=f"acc_{name}"),
                          metrics.SparseTopKCategoricalAccuracy(2, name=f"top2_{name}")])
    rng = np.random.default_rng(5)
    x = rng.random((32, 3), dtype=np.float32)
    y = rng.integers(0, 4, (32,) + label_shape).astype(np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexRangeWarning)
        model.fit(data(x), data(y), batch_size=8, epochs=2, verbose=0,
                  validation_data=(data(x), data(y)))
    assert _sites_named(name) == []  # (the loss and both metrics: the old code counted them)
    traces = model._step_cache.traces
    bad = y.copy()
    bad.reshape(-1)[19] = 4  # batch 3, without shuffling
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = model.fit(data(x), data(bad), batch_size=8, epochs=1, shuffle=False,
                            verbose=0, validation_data=(data(x), data(bad)))
        model.evaluate(data(x), data(bad), batch_size=8, verbose=0)
    got = index_warnings(record)
    assert [t.split(":")[0] for t in got] == ["Epoch 1", "Epoch 1, validation", "evaluate"]
    assert all(f'3 out-of-range indices, the first in batch 3: loss "{name}": valid labels '
               "are 0 to 3" in t for t in got), got  # (the loss and both metrics)
    assert np.isnan(history.history["loss"][0])
    assert model._step_cache.traces > traces
    # Good labels again: no warning, whichever step serves them.
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexRangeWarning)
        assert np.isfinite(model.fit(data(x), data(y), batch_size=8, verbose=0)
                           .history["loss"][0])


def test_labels_are_checked_in_the_dtype_the_steps_see():
    # float64 labels just under 4 round to 4.0 in the float32 batches: out of range for
    # 4 classes, though the numpy labels' own maximum is in range.
    model = four_classes()
    x = np.random.default_rng(6).random((16, 3), dtype=np.float32)
    y = np.zeros(16)
    y[5] = 4 - 1e-12
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    (text,) = index_warnings(record)
    assert "valid labels are 0 to 3" in text


def test_train_on_batch_keeps_the_check_in_a_step_of_its_own():
    # One batch per call: finding the labels' range would cost about what checking them
    # in the step does, so train_on_batch keeps the check, and its compiled step is kept
    # apart from fit's (which leaves it out), so neither traces the other's again.
    model = four_classes()
    rng = np.random.default_rng(7)
    x = rng.random((32, 3), dtype=np.float32)
    y = rng.integers(0, 4, 32).astype(np.int32)
    model.fit(x, y, batch_size=8, shuffle=False, verbose=0)  # (slices: batches of 8 rows)
    traces = model._step_cache.traces
    for _ in range(3):
        model.train_on_batch(x[:8], y[:8])
        model.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    assert model._step_cache.traces == traces + 1
    # Whether data vouches depends on the data set, not on how many of its batches a
    # call takes: a warm-up call of one step shares the full call's compiled step.
    model.fit(x, y, batch_size=4, steps_per_epoch=1, shuffle=False, verbose=0)
    traces = model._step_cache.traces
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    assert model._step_cache.traces == traces
    bad = y[:8].copy()
    bad[2] = 9
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.train_on_batch(x[:8], bad)
    (text,) = index_warnings(record)
    assert text.startswith("train_on_batch: 1 out-of-range index") and "0 to 3" in text


def test_steps_with_nothing_to_check_leave_the_tally_alone():
    # The tally counts batches only in steps that check something (the increment then
    # fuses into the count's kernel; alone it cost 1.5-1.9% of the guide MLP's epoch).
    # Read from a callback inside the epoch: with a vouched data set nothing is checked.
    from mlxfunctional.engine import index_bounds

    seen = []

    class Peek(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(int(np.array(index_bounds.TALLY["counts"])[0]))

    model = four_classes()
    rng = np.random.default_rng(8)
    x = rng.random((32, 3), dtype=np.float32)
    y = rng.integers(0, 4, 32).astype(np.int32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Peek()])
    assert seen == [0]
    # With an Embedding (ids are checked in every step) the 4 batches are counted.
    ids = keras.Input((2,), dtype="int32")
    emb = layers.Flatten()(layers.Embedding(10, 3)(ids))
    model = keras.Model(ids, layers.Dense(4, activation="softmax")(emb))
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(rng.integers(0, 10, (32, 2)).astype(np.int32), y, batch_size=8, verbose=0,
              callbacks=[Peek()])
    assert seen == [0, 4]
