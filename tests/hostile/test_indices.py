"""Out-of-range ids, labels and indices never reach MLX's unchecked gathers (issue 13, item 1).

Before: ``Embedding`` read garbage for id 100 and crashed the process for id 2e9
(also through ``mlxf predict``); ``sparse_categorical_crossentropy`` gave
arbitrary losses or aborted. Now (``engine/index_bounds.py``): an eager call raises
an ``IndexOutOfRangeError`` naming the layer/loss, the value and the valid range;
inside a compiled function the result is defined (zero embeddings, NaN losses,
clamped ``take``) and compared here with numpy; fit/evaluate warn once per epoch.
"""

import os
import subprocess
import sys
import warnings

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, losses, metrics, ops
from mlxfunctional.engine.index_bounds import IndexOutOfRangeError, IndexRangeWarning

BAD_IDS = [10, -1, 2_000_000_000]  # for a 10-row table


def softmax_log(logits):
    z = logits.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# -- Embedding -------------------------------------------------------------------------

@pytest.mark.parametrize("bad", BAD_IDS + [2.0e9, 2**33])
def test_embedding_eager_call_raises_naming_layer_value_and_range(bad):
    emb = layers.Embedding(10, 3, name="words")
    ids = mx.array([[1, bad]], dtype=mx.int64 if bad == 2**33 else None)
    with pytest.raises(IndexOutOfRangeError) as info:
        emb(ids)
    text = str(info.value)
    assert 'Embedding "words"' in text and f"id {int(bad)} " in text
    assert "valid ids are 0 to 9" in text
    assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)


def test_embedding_in_range_ids_match_numpy():
    emb = layers.Embedding(10, 3)
    ids = np.array([[0, 9], [3, 3]], np.int32)
    np.testing.assert_array_equal(np.array(emb(ids)), np.array(emb.embeddings)[ids])


def test_embedding_compiled_gives_zero_vectors_for_bad_ids():
    emb = layers.Embedding(10, 3)
    emb.build()
    ids = np.array([3, 10, -1, 2_000_000_000, 0, 9], np.int32)
    got = np.array(mx.compile(lambda i: emb(i))(mx.array(ids)))
    table = np.array(emb.embeddings)
    ok = (ids >= 0) & (ids < 10)
    want = np.where(ok[:, None], table[np.where(ok, ids, 0)], 0.0)
    np.testing.assert_array_equal(got, want)


# -- sparse categorical crossentropy: function, class, op ------------------------------

LOGITS = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)


@pytest.mark.parametrize("bad", [4, -1, 2_000_000_000])
def test_sparse_crossentropy_eager_raises(bad):
    labels = np.array([0, 1, bad, 3, 2])
    with pytest.raises(IndexOutOfRangeError, match=rf"sparse_categorical_crossentropy: "
                       rf"label {bad} is out of range; valid labels are 0 to 3"):
        losses.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True)
    with pytest.raises(IndexOutOfRangeError, match=rf'loss "my_loss": label {bad} is out'):
        losses.SparseCategoricalCrossentropy(from_logits=True, name="my_loss")(labels, LOGITS)
    with pytest.raises(IndexOutOfRangeError, match=f"label {bad} is out of range"):
        ops.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True)


def test_sparse_crossentropy_compiled_is_nan_for_bad_labels_only():
    labels = np.array([0, 4, -1, 3, 2_000_000_000], np.int32)
    fn = mx.compile(lambda t, p: losses.sparse_categorical_crossentropy(t, p, from_logits=True))
    got = np.array(fn(mx.array(labels), mx.array(LOGITS)))
    ok = (labels >= 0) & (labels < 4)
    want = np.where(ok, -softmax_log(LOGITS)[np.arange(5), np.where(ok, labels, 0)], np.nan)
    np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
    assert np.isnan(got).tolist() == (~ok).tolist()


def test_ignore_class_is_not_out_of_range_but_other_labels_are():
    scce = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    labels = np.array([0, -1, 1, 3, 2])
    want = -softmax_log(LOGITS)[[0, 2, 3, 4], [0, 1, 3, 2]].mean()
    np.testing.assert_allclose(float(scce(labels, LOGITS)), want, rtol=1e-5)
    with pytest.raises(IndexOutOfRangeError, match="label 7"):
        scce(np.array([0, -1, 7, 3, 2]), LOGITS)


# -- sparse metrics ----------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: metrics.SparseCategoricalAccuracy(name="acc"),
    lambda: metrics.SparseTopKCategoricalAccuracy(k=2, name="acc"),
    lambda: metrics.SparseCategoricalCrossentropy(from_logits=True, name="acc"),
])
@pytest.mark.parametrize("bad", [4, -1, 2_000_000_000])
def test_sparse_metric_eager_update_raises(make, bad):
    with pytest.raises(IndexOutOfRangeError, match=rf'metric "acc": label {bad} is out of '
                       r"range; valid labels are 0 to 3"):
        make().update_state(np.array([[0], [bad], [1], [2], [3]]), LOGITS)


def test_sparse_metrics_compiled_count_bad_labels_as_misses():
    labels = np.array([0, 9, 1, -1, 3], np.int32)
    ok = (labels >= 0) & (labels < 4)
    safe = np.where(ok, labels, 0)
    rank = (LOGITS > LOGITS[np.arange(5), safe][:, None]).sum(-1)

    def fn(t, p):
        from mlxfunctional import metric_functions as mf
        return (mf.sparse_categorical_accuracy(t, p), mf.sparse_top_k_categorical_accuracy(t, p, 2),
                ops.in_top_k(t, p, 2))

    acc, top2, in_top = (np.array(a) for a in mx.compile(fn)(mx.array(labels), mx.array(LOGITS)))
    np.testing.assert_array_equal(acc, (ok & (LOGITS.argmax(-1) == labels)).astype(np.float32))
    np.testing.assert_array_equal(top2, (ok & (rank < 2)).astype(np.float32))
    np.testing.assert_array_equal(in_top, ok & (rank < 2))


# -- ops ---------------------------------------------------------------------------------

X = np.arange(24, dtype=np.float32).reshape(4, 6)


@pytest.mark.parametrize("op, args", [
    ("take", (np.array([0, 6]), 1)),
    ("take", (np.array([-7]), 1)),
    ("take", (np.array([2_000_000_000]), None)),
    ("take", (mx.array([2**33], dtype=mx.int64), 1)),  # (not wrapped to 0 by an int32 cast)
    ("take_along_axis", (np.array([[0], [1], [6], [2]]), 1)),
    ("take_along_axis", (np.array([[0, 1, 2, 3, 4, -9]]), 0)),
])
def test_ops_take_eager_raises(op, args):
    with pytest.raises(IndexOutOfRangeError, match=f"{op}: index .* is out of range"):
        getattr(ops, op)(X, *args)


def test_ops_take_compiled_clamps_like_numpy_clip_mode():
    idx = np.array([0, 5, 6, -1, -6, -7, 2_000_000_000], np.int32)
    got = mx.compile(lambda x, i: ops.take(x, i, axis=1))(mx.array(X), mx.array(idx))
    wrapped = np.where(idx < 0, idx + 6, idx)
    np.testing.assert_array_equal(np.array(got), np.take(X, np.clip(wrapped, 0, 5), axis=1))
    along = np.array([[0, 7], [-1, 3], [2_000_000_000, -100], [5, 1]], np.int32)
    got = mx.compile(lambda x, i: ops.take_along_axis(x, i, axis=1))(mx.array(X),
                                                                     mx.array(along))
    wrapped = np.where(along < 0, along + 6, along)
    np.testing.assert_array_equal(np.array(got),
                                  np.take_along_axis(X, np.clip(wrapped, 0, 5), axis=1))


def test_ops_one_hot_gives_zero_rows_for_bad_labels():
    labels = np.array([0, 3, 4, -1, 2_000_000_000], np.int32)
    want = (labels[:, None] == np.arange(4)).astype(np.float32)
    np.testing.assert_array_equal(np.array(ops.one_hot(labels, 4)), want)
    got = mx.compile(lambda t: ops.one_hot(t, 4))(mx.array(labels))
    np.testing.assert_array_equal(np.array(got), want)


def test_ops_scatter_does_not_wrap_int64_indices_into_range():
    # 2**32 + 1 cast to int32 is 1: before, it silently wrote row 1.
    with pytest.raises(IndexError, match="out of range"):
        ops.scatter(mx.array([[2**32 + 1]], dtype=mx.int64), np.array([5.0], np.float32), (3,))


# -- fit / evaluate / predict ---------------------------------------------------------------

@pytest.fixture
def model():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((2,), dtype="int32", name="ids")
    x = layers.Flatten()(layers.Embedding(10, 4, name="emb")(inputs))
    m = keras.Model(inputs, layers.Dense(3, activation="softmax", name="out")(x))
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def data(n=32):
    rng = np.random.default_rng(2)
    return rng.integers(0, 10, (n, 2)).astype(np.int32), rng.integers(0, 3, n).astype(np.int32)


def index_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, IndexRangeWarning)]


def test_fit_warns_once_per_epoch_naming_layer_range_and_batch(model):
    # (A compiled step keeps no bad value: a kernel per step saved; see _count.)
    x, y = data()
    x[13, 1] = 100  # batch 2 of 4 (batch size 8, no shuffle)
    x[30, 0] = -5  # batch 4: the same epoch, no second warning
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    got = index_warnings(record)
    assert len(got) == 2, got
    for epoch, text in enumerate(got, 1):
        assert text.startswith(f"Epoch {epoch}: 2 out-of-range indices, the first in batch 2")
        assert 'batch 2: Embedding "emb": valid ids are 0 to 9. Inside fit' in text
    # Defined result: zero vectors, finite loss and weights.
    assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_fit_bad_labels_give_nan_loss_but_finite_weights(model):
    x, y = data()
    y[20] = 3
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    (text,) = index_warnings(record)
    assert text.startswith("Epoch 1: 2 out-of-range indices, the first in batch 3")  # loss+metric
    assert 'loss "sparse_categorical_crossentropy": valid labels are 0 to 2' in text
    assert np.isnan(history.history["loss"][0])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # The same labels, minus the bad one, train as before: the process is healthy.
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexRangeWarning)
        y[20] = 2
        assert np.isfinite(model.fit(x, y, batch_size=8, verbose=0).history["loss"][0])


def test_fit_in_range_data_gives_no_warning(model):
    x, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexRangeWarning)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y))
        model.evaluate(x, y, batch_size=8, verbose=0)


def test_fit_uncompiled_and_short_last_batch_warn_instead_of_raising(model):
    model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=False)
    x, y = data(20)
    x[18, 0] = 2_000_000_000  # in the short last batch (rows 16..19), run uncompiled
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    (text,) = index_warnings(record)
    assert "first in batch 3" in text and "id 2000000000" in text


class CompiledLookup(keras.layers.Layer):
    """Looks rows up through its own mx.compile'd function (a user's transformation)."""

    def build(self, input_shape):
        self.table = mx.arange(12, dtype=mx.float32).reshape(4, 3)
        self.lookup = mx.compile(lambda table, ids: ops.take(table, ids, axis=0))

    def call(self, ids):
        return mx.sum(self.lookup(self.table, ids), axis=1)


def test_a_users_own_compile_inside_an_eager_step_does_not_poison_the_tally():
    # In an eager step (jit_compile=False) the user's own mx.compile traces the lookup:
    # the tally is not captured there, so a count would leave a tracer in it and
    # every later step would fail. Such an index is clamped, not counted.
    inputs = keras.Input((2,), dtype="int32")
    model = keras.Model(inputs, layers.Dense(1)(CompiledLookup()(inputs)))
    model.compile("sgd", "mse", jit_compile=False)
    x = np.array([[0, 1], [3, 9]], np.int32)  # 9 reads row 3 (clamped)
    got = model.predict(x, verbose=0)
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    sums = np.stack([rows[[0, 1]].sum(0), rows[[3, 3]].sum(0)])
    np.testing.assert_allclose(got, np.array(model.layers[-1](mx.array(sums))), rtol=1e-6)
    history = model.fit(np.tile(x % 4, (4, 1)), np.zeros((8, 1), np.float32), batch_size=4,
                        verbose=0)  # (the step's own state is sound: it trains)
    assert np.isfinite(history.history["loss"][0])
    assert np.isfinite(model.predict(x, verbose=0)).all()


def test_validation_and_evaluate_warn_once(model):
    x, y = data()
    bad_x = x.copy()
    bad_x[3, 0] = 10
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_data=(bad_x, y))
        model.evaluate(bad_x, y, batch_size=8, verbose=0)
    got = index_warnings(record)
    assert len(got) == 2, got
    assert got[0].startswith("Epoch 1, validation: 1 out-of-range index, the first in batch 1")
    assert got[1].startswith("evaluate: 1 out-of-range index")


def test_predict_raises_naming_the_batch(model):
    x, _ = data()
    x[17, 1] = 2_000_000_000
    with pytest.raises(IndexOutOfRangeError, match=r'Embedding "emb": id 2000000000 is out '
                       r"of range; valid ids are 0 to 9 \(predict, batch 3\)"):
        model.predict(x, batch_size=8, verbose=0)
    x[17, 1] = 1
    assert np.isfinite(model.predict(x, batch_size=8, verbose=0)).all()


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_int64_ids_that_an_int32_cast_would_wrap_are_refused(model):
    # Defect: numpy's cast wrapped 2**32 + 1 to 1, a valid id of the wrong row.
    x, y = data()
    x = x.astype(np.int64)
    x[3, 1] = 2**32 + 1
    with pytest.raises(ValueError, match=r"values from 0 to 4294967297, which do not fit "
                       r"its dtype int32"):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match="do not fit its dtype int32"):
        model.fit(x, y, verbose=0)


def test_mlxf_predict_exits_4_with_one_line(tmp_path, model):
    # Defect: the process died of SIGSEGV (exit -11), with no message.
    model.save(tmp_path / "m.mlxf")
    np.save(tmp_path / "ids.npy", np.array([[1, 2], [3, 2_000_000_000]], np.int32))
    done = subprocess.run([sys.executable, "-m", "mlxfunctional.cli", "predict", "m.mlxf",
                           "ids.npy"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=ROOT))  # (this checkout's package)
    assert done.returncode == 4, (done.returncode, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlxf: error: "), done.stderr
    assert 'Embedding "emb": id 2000000000 is out of range; valid ids are 0 to 9' in lines[0]


# -- integer keys of x[...] on symbolic tensors (kept in model files) --------------------

def test_getitem_int_key_is_checked_against_the_real_shape():
    # Defect: MLX does not check an int index: x[1] of a batch of 1 read past the end
    # (x[-11] of 10 elements crashes the process).
    x = keras.Input((3,), name="x")
    model = keras.Model(x, [x[1], x[:, -3]])
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    first, last = model(data)
    np.testing.assert_array_equal(np.array(first), data[1])
    np.testing.assert_array_equal(np.array(last), data[:, -3])
    with pytest.raises(IndexOutOfRangeError, match=r'GetItem "get_item": index 1 is out of '
                       r"range for axis 0 of size 1; valid indices are -1 to 0"):
        model(data[:1])


def test_getitem_key_from_a_hostile_config_raises_instead_of_reading_memory():
    x = keras.Input((3,), name="x")
    config = keras.Model(x, x[0]).get_config()
    config["layers"][1]["config"]["key"] = -2_000_000_000  # (on the batch axis, size unknown)
    model = keras.Model.from_config(config)
    with pytest.raises(IndexOutOfRangeError, match="index -2000000000 is out of range"):
        model.predict(np.ones((4, 3), np.float32), verbose=0)
    config["layers"][1]["config"]["key"] = [{"slice": [None, None, None]}, 2_000_000_000]
    with pytest.raises(ValueError):  # (axis 1 has a known size: refused when rebuilt)
        keras.Model.from_config(config)


def test_auc_with_nan_predictions_never_scatters_out_of_bounds():
    # Defect: a NaN prediction became bucket index -2**31 in the scatter-add that
    # counts evenly spaced thresholds (AUC's default), a write far outside the
    # buckets. Now a NaN exceeds no threshold, as numpy's comparison says.
    from mlxfunctional.metrics_confusion import confusion_counts
    y_true = np.array([1, 0, 1, 0, 1, 1], np.float32)
    y_pred = np.array([0.9, np.nan, 0.3, 0.6, np.nan, 0.0], np.float32)
    thresholds = [-1e-7] + [i / 10 for i in range(1, 10)] + [1 + 1e-7]
    got = confusion_counts(["tp", "fp", "tn", "fn"], y_true, y_pred, thresholds,
                           thresholds_distributed_evenly=True)
    with np.errstate(invalid="ignore"):
        above = y_pred[None, :] > np.array(thresholds, np.float32)[:, None]
    label = y_true[None, :] == 1
    want = {"tp": (above & label).sum(1), "fp": (above & ~label).sum(1),
            "tn": (~above & ~label).sum(1), "fn": (~above & label).sum(1)}
    for key in want:
        np.testing.assert_array_equal(np.array(got[key]), want[key], err_msg=key)
    auc = metrics.AUC(num_thresholds=11)
    auc.update_state(y_true, y_pred)
    assert np.isfinite(float(auc.result()))


def test_steps_per_execution_counts_every_site_and_names_the_first_batch():
    # Several batches per compiled call, two sites (an id, then a label two batches
    # later): the count covers both, the batch and the layer are the first one's.
    inputs = keras.Input((2,), dtype="int32")
    x = layers.Flatten()(layers.Embedding(10, 4, name="emb")(inputs))
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(x))
    model.compile("sgd", "sparse_categorical_crossentropy", steps_per_execution=4)
    x, y = data(64)
    x[8 * 5 + 3, 1] = 55  # batch 6 (the second compiled call)
    y[8 * 7 + 1] = 7  # batch 8
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    (text,) = index_warnings(record)
    assert text.startswith('Epoch 1: 2 out-of-range indices, the first in batch 6: '
                           'Embedding "emb": valid ids are 0 to 9.'), text


def test_the_warning_names_the_site_after_hundreds_of_others(model):
    # The tally packs the first bad site's number into an int64 field: a process that
    # has met hundreds of sites (many models, many layers) must still name the right one.
    from mlxfunctional.engine import index_bounds

    for i in range(300):
        index_bounds._site((f"layer {i}", "id", 0, 9, None))
    x, y = data()
    x[13, 1] = 100
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    (text,) = index_warnings(record)
    assert 'the first in batch 2: Embedding "emb": valid ids are 0 to 9' in text, text
