"""keras.random: each distribution against scipy.stats, seeds, and seed generators
inside compiled training steps (their key is part of the model state)."""

import mlx.core as mx
import numpy as np
import pytest
from scipy import stats

import mlxfunctional as keras
from mlxfunctional import random

N = 20000


def ks_pvalue(sample, cdf):
    return stats.kstest(np.asarray(sample, dtype=np.float64).ravel(), cdf).pvalue


# (name, draw(seed), the scipy distribution it must follow, a nearby wrong one).
CONTINUOUS = [
    ("normal", lambda s: random.normal((N,), mean=2.0, stddev=3.0, seed=s),
     stats.norm(2.0, 3.0), stats.norm(2.0, 3.3)),
    ("uniform", lambda s: random.uniform((N,), minval=-1.0, maxval=4.0, seed=s),
     stats.uniform(-1.0, 5.0), stats.uniform(-1.0, 5.3)),
    ("truncated_normal", lambda s: random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=s),
     stats.truncnorm(-2, 2, loc=1.0, scale=2.0), stats.norm(1.0, 2.0)),
    ("gamma_small_alpha", lambda s: random.gamma((N,), alpha=0.4, seed=s),
     stats.gamma(0.4), stats.gamma(0.44)),
    ("gamma", lambda s: random.gamma((N,), alpha=3.5, seed=s),
     stats.gamma(3.5), stats.gamma(3.7)),
    ("beta", lambda s: random.beta((N,), alpha=2.0, beta=5.0, seed=s),
     stats.beta(2.0, 5.0), stats.beta(2.0, 5.5)),
]


@pytest.mark.parametrize("name,draw,dist,wrong", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_distributions_match_scipy(name, draw, dist, wrong):
    sample = np.array(draw(7))
    assert sample.shape == (N,) and sample.dtype == np.float32
    assert ks_pvalue(sample, dist.cdf) > 1e-3
    # The test has power: a distribution a few percent off is rejected.
    assert ks_pvalue(sample, wrong.cdf) < 1e-3
    np.testing.assert_allclose(sample.mean(), dist.mean(), rtol=0.05, atol=0.03)
    np.testing.assert_allclose(sample.std(), dist.std(), rtol=0.05)


def test_gamma_and_beta_broadcast_array_parameters():
    alpha = np.array([0.5, 2.0, 9.0], np.float32)
    sample = np.array(random.gamma((N, 3), alpha=alpha, seed=3))
    for j, a in enumerate(alpha):
        assert ks_pvalue(sample[:, j], stats.gamma(a).cdf) > 1e-3
    b = np.array(random.beta((N, 2), alpha=np.array([1.0, 3.0]), beta=2.0, seed=4))
    assert ks_pvalue(b[:, 0], stats.beta(1.0, 2.0).cdf) > 1e-3
    assert ks_pvalue(b[:, 1], stats.beta(3.0, 2.0).cdf) > 1e-3


def chi2_pvalue(values, probs):
    counts = np.bincount(np.asarray(values).ravel(), minlength=len(probs))
    probs = np.asarray(probs, np.float64)
    return stats.chisquare(counts, probs / probs.sum() * counts.sum()).pvalue


def test_randint_is_uniform_on_the_half_open_range():
    x = np.array(random.randint((N,), minval=3, maxval=9, seed=1))
    assert x.dtype == np.int32 and x.min() == 3 and x.max() == 8
    assert chi2_pvalue(x - 3, [1 / 6] * 6) > 1e-3
    assert np.array(random.randint((4,), 0, 5, dtype="uint8", seed=1)).dtype == np.uint8


def test_binomial_matches_scipy_pmf():
    x = np.array(random.binomial((N,), counts=12, probabilities=0.3, seed=5))
    assert x.dtype == np.float32 and np.all(x == np.round(x))
    pmf = stats.binom(12, 0.3).pmf(np.arange(13))
    assert chi2_pvalue(x.astype(int)[x < 9], pmf[:9] / pmf[:9].sum()) > 1e-3
    # Per-element counts and probabilities broadcast; a count of 0 gives 0.
    y = np.array(random.binomial((N, 3), counts=np.array([0, 5, 40]),
                                 probabilities=np.array([0.5, 0.9, 0.25]), seed=6))
    assert np.all(y[:, 0] == 0)
    np.testing.assert_allclose(y[:, 1].mean(), 4.5, rtol=0.02)
    np.testing.assert_allclose(y[:, 2].var(), 40 * 0.25 * 0.75, rtol=0.05)


def test_categorical_follows_the_softmax_of_the_logits():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], np.float32))
    x = np.array(random.categorical(logits, N, seed=2))
    assert x.shape == (2, N) and x.dtype == np.int32
    for row in range(2):
        assert chi2_pvalue(x[row], np.exp(logits[row])) > 1e-3
    with pytest.raises(ValueError, match=r"\(batch_size, num_classes\)"):
        random.categorical(np.zeros(3), 1)


def test_dropout_zeroes_the_rate_and_scales_the_rest():
    x = mx.full((200, 100), 2.0)
    y = np.array(random.dropout(x, 0.3, seed=1))
    assert set(np.unique(y)) <= {0.0, np.float32(2.0 / 0.7)}
    np.testing.assert_allclose((y == 0).mean(), 0.3, atol=0.01)
    np.testing.assert_allclose(y.mean(), 2.0, rtol=0.02)  # expectation kept
    # noise_shape (None, 1): whole rows are kept or dropped.
    rows = np.array(random.dropout(x, 0.5, noise_shape=(None, 1), seed=2))
    assert np.all((rows == 0).all(axis=1) | (rows != 0).all(axis=1))
    with pytest.raises(ValueError, match="rate"):
        random.dropout(x, 1.0)


def test_shuffle_permutes_along_the_axis():
    x = np.arange(60).reshape(6, 10)
    a = np.array(random.shuffle(mx.array(x), axis=1, seed=3))
    assert not np.array_equal(a, x)
    np.testing.assert_array_equal(np.sort(a, axis=1), x)
    perm = a[0] - x[0, 0]
    np.testing.assert_array_equal(a, x[:, perm])  # one permutation for every row


def test_dtypes_default_to_floatx_and_ints_are_refused_for_floats():
    assert random.normal((2,)).dtype == mx.float32
    assert random.uniform((2,), dtype="bfloat16").dtype == mx.bfloat16
    previous = keras.config.floatx()
    try:
        keras.config.set_floatx("float16")
        assert random.gamma((2,), 2.0).dtype == mx.float16
    finally:
        keras.config.set_floatx(previous)
    with pytest.raises(ValueError, match="randint"):
        random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer dtype"):
        random.randint((2,), 0, 3, dtype="float32")


@pytest.mark.parametrize("fn", [
    lambda s: random.normal((5,), seed=s), lambda s: random.uniform((5,), seed=s),
    lambda s: random.truncated_normal((5,), seed=s), lambda s: random.randint((5,), 0, 99, seed=s),
    lambda s: random.gamma((5,), 1.5, seed=s), lambda s: random.beta((5,), 1.0, 2.0, seed=s),
    lambda s: random.binomial((5,), 20, 0.5, seed=s),
    lambda s: random.categorical(np.zeros((1, 50)), 5, seed=s),
    lambda s: random.dropout(mx.ones((20,)), 0.5, seed=s),
    lambda s: random.shuffle(mx.arange(20), seed=s),
])
def test_an_int_seed_repeats_and_a_generator_advances(fn):
    np.testing.assert_array_equal(np.array(fn(11)), np.array(fn(11)))
    assert not np.array_equal(np.array(fn(11)), np.array(fn(12)))
    gen = random.SeedGenerator(11)
    first, second = np.array(fn(gen)), np.array(fn(gen))
    assert not np.array_equal(first, second)
    # A generator with the same seed replays the same stream.
    again = random.SeedGenerator(11)
    np.testing.assert_array_equal(np.array(fn(again)), first)
    np.testing.assert_array_equal(np.array(fn(again)), second)


def test_unseeded_calls_follow_the_global_state():
    mx.random.seed(5)
    a = np.array(random.normal((4,)))
    b = np.array(random.normal((4,)))
    assert not np.array_equal(a, b)
    mx.random.seed(5)
    np.testing.assert_array_equal(np.array(random.normal((4,))), a)


def test_seed_generator_config_and_bad_seeds():
    gen = random.SeedGenerator(42, name="gen")
    clone = random.SeedGenerator.from_config(gen.get_config())
    np.testing.assert_array_equal(np.array(clone.state), np.array(gen.state))
    keras.utils.set_random_seed(3)
    drawn = random.SeedGenerator().get_config()["seed"]
    keras.utils.set_random_seed(3)
    assert random.SeedGenerator().get_config()["seed"] == drawn  # set_random_seed covers it
    with pytest.raises(ValueError, match="SeedGenerator"):
        random.normal((2,), seed="7")
    with pytest.raises(ValueError, match="seed"):
        random.SeedGenerator(1.5)


def test_a_free_generator_advances_under_an_explicit_mx_compile_capture():
    gen = random.SeedGenerator(9)

    def step():
        return random.uniform((8,), seed=gen)

    compiled = mx.compile(step, inputs=gen.state_tree, outputs=gen.state_tree)
    draws = [np.array(compiled()) for _ in range(3)]
    assert not np.array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[1], draws[2])
    eager = random.SeedGenerator(9)
    np.testing.assert_array_equal(draws[0], np.array(random.uniform((8,), seed=eager)))


class MaskCounter(keras.Layer):
    """Adds each training step's dropout keep-mask (of a fixed ones input) to a
    non-trainable weight, so the masks of successive compiled steps can be compared."""

    def __init__(self, seed, private=False, **kwargs):
        super().__init__(**kwargs)
        self.private = private
        if isinstance(seed, int) and seed < 0:
            seed = None
        elif not isinstance(seed, int):
            seed = random.SeedGenerator(seed[0])
        if private:
            self._gen = seed
        else:
            self.gen = seed

    def build(self, input_shape):
        self.kept = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                    trainable=False, name="kept")

    def call(self, inputs, training=None):
        if not training:
            return inputs
        seed = self._gen if self.private else self.gen
        mask = random.dropout(mx.ones(inputs.shape[1:]), 0.5, seed=seed) > 0
        self.kept = self.kept + mask.astype(mx.float32)
        return inputs * mask


def fit_and_count(seed, private=False, steps=4):
    inputs = keras.Input((64,))
    counter = MaskCounter(seed, private=private)
    outputs = keras.layers.Dense(1)(counter(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")  # jit_compile=True: the compiled step
    x = np.ones((8 * steps, 64), np.float32)
    model.fit(x, np.zeros((8 * steps, 1), np.float32), batch_size=8, epochs=1,
              shuffle=False, verbose=0)
    return np.array(counter.kept), counter


@pytest.mark.parametrize("private", [False, True])
def test_a_layers_seed_generator_advances_on_every_compiled_step(private):
    kept, counter = fit_and_count((3,), private=private)
    # A mask repeated on all 4 steps would leave only 0s and 4s.
    assert not np.all(np.isin(kept, [0.0, 4.0]))
    np.testing.assert_allclose(kept.mean(), 2.0, atol=0.5)
    # The generator's key is state, not a weight.
    assert [w.shape for w in counter.weights] == [(64,)]
    assert "_state" not in str(counter.parameters())


def test_unseeded_calls_advance_on_every_compiled_step():
    kept, _ = fit_and_count(-1)
    assert not np.all(np.isin(kept, [0.0, 4.0]))


def test_an_int_seed_repeats_its_mask_on_every_compiled_step():
    kept, _ = fit_and_count(5)  # Keras' semantics of an int seed: the same numbers
    assert np.all(np.isin(kept, [0.0, 4.0]))
    assert 0 < kept.mean() < 4


def test_a_models_seed_generator_advances_in_a_custom_compiled_train_step():
    # The pattern of Keras' GAN examples: the model holds the generator and its
    # train_step draws from it (the draw is logged, so each step's value is seen).
    class Noisy(keras.Functional):
        def train_step(self, data):
            logs = super().train_step(data)
            return {**logs, "draw": random.uniform((), seed=self.seed_generator)}

    inputs = keras.Input((3,))
    model = Noisy(inputs, keras.layers.Dense(1)(inputs))
    model.seed_generator = random.SeedGenerator(4)
    model.compile("sgd", "mse")
    draws = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            draws.append(float(logs["draw"]))

    model.fit(np.ones((32, 3), np.float32), np.ones((32, 1), np.float32), batch_size=8,
              verbose=0, callbacks=[Record()])
    assert len(draws) == 4 and len(set(draws)) == 4
    replay = random.SeedGenerator(4)
    np.testing.assert_allclose(draws, [float(random.uniform((), seed=replay)) for _ in range(4)])
