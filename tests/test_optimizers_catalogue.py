"""Adafactor, Ftrl, Lamb, Muon and LossScaleOptimizer: several update steps against
float64 numpy implementations written from the published rules, Keras 3.15's test
numbers, slot names, configs, saved state, and training inside fit."""

import math

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as mf
from mlxfunctional import optimizers
from tests._optimizer_reference import GRADS, W0, _adam, assert_close, run

RNG = np.random.default_rng(5)


# -- numpy references (float64, one weight at a time) ----------------------------------------

def np_adafactor(ws, grads_seq, lr=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, weight_decay=None):
    ws = [w.astype(np.float64) for w in ws]
    state = [{} for _ in ws]
    rms = lambda x: math.sqrt(float(np.mean(x * x)))
    for step, grads in enumerate(grads_seq):
        t = step + 1
        for i, g in enumerate(grads):
            g = g.astype(np.float64)
            w = ws[i] * (1 - weight_decay * lr) if weight_decay else ws[i]
            s = state[i]
            rho = min(lr, 1 / math.sqrt(t))
            alpha = max(epsilon_2, rms(w)) * rho
            G = g * g + epsilon_1
            b = 1 - t ** beta_2_decay
            if w.ndim >= 2:
                s["r"] = b * s.get("r", 0.0) + (1 - b) * G.mean(axis=-1)
                s["c"] = b * s.get("c", 0.0) + (1 - b) * G.mean(axis=-2)
                v = np.einsum("...i,...j->...ij", s["r"] / s["r"].mean(-1, keepdims=True),
                              s["c"])
            else:
                v = s["v"] = b * s.get("v", 0.0) + (1 - b) * G
            u = g / np.sqrt(v)
            u = u / max(1.0, rms(u) / clip_threshold)
            ws[i] = w - alpha * u
    return ws


def np_ftrl(ws, grads_seq, lr=0.001, power=-0.5, init=0.1, l1=0.0, l2=0.0, shrink=0.0,
            beta=0.0):
    ws = [w.astype(np.float64) for w in ws]
    n = [np.full(w.shape, init) for w in ws]
    z = [np.zeros(w.shape) for w in ws]
    p = -power
    for grads in grads_seq:
        for i, g in enumerate(grads):
            g = g.astype(np.float64)
            w = ws[i]
            n_new = n[i] + g * g
            sigma = (n_new ** p - n[i] ** p) / lr
            z[i] = z[i] + g + 2 * shrink * w - sigma * w
            l2_eff = l2 + beta / (2 * lr)
            denom = n_new ** p / lr + 2 * l2_eff
            # The closed-form minimizer: 0 inside the L1 dead zone, else shrunk z.
            ws[i] = np.where(np.abs(z[i]) <= l1, 0.0, -(z[i] - np.sign(z[i]) * l1) / denom)
            n[i] = n_new
    return ws


def np_lamb(ws, grads_seq, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None):
    ws = [w.astype(np.float64) for w in ws]
    m = [np.zeros(w.shape) for w in ws]
    v = [np.zeros(w.shape) for w in ws]
    for step, grads in enumerate(grads_seq):
        t = step + 1
        for i, g in enumerate(grads):
            g = g.astype(np.float64)
            w = ws[i] * (1 - weight_decay * lr) if weight_decay else ws[i]
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g * g
            u = (m[i] / (1 - beta_1 ** t)) / (np.sqrt(v[i] / (1 - beta_2 ** t)) + epsilon)
            wn, un = np.linalg.norm(w), np.linalg.norm(u)
            ratio = wn / un if wn > 0 and un > 0 else 1.0
            ws[i] = w - ratio * lr * u
    return ws


def np_newton_schulz(x, steps, a=3.4445, b=-4.7750, c=2.0315):
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        A = x @ x.T
        x = a * x + (b * A + c * A @ A) @ x
    return x.T if tall else x


def np_muon(ws, grads_seq, lr=0.001, momentum=0.95, nesterov=True, rms_rate=0.2, ns_steps=5,
            weight_decay=0.004, adam_weight_decay=0.004, adam_lr_ratio=1, is_adam=None):
    ws = [w.astype(np.float64) for w in ws]
    slots = [{} for _ in ws]
    for step, grads in enumerate(grads_seq):
        t = step + 1
        for i, g in enumerate(grads):
            g = g.astype(np.float64)
            adam = is_adam[i]
            wd = adam_weight_decay if adam else weight_decay
            w = ws[i] * (1 - wd * lr) if wd else ws[i]
            if adam:
                ws[i] = _adam(w, g, slots[i], lr * adam_lr_ratio, t)
            else:
                m = slots[i]["m"] = momentum * slots[i].get("m", 0.0) + g
                d = g + momentum * m if nesterov else m
                upd = lr * np_newton_schulz(d, ns_steps)
                if rms_rate is not None:
                    upd = upd * math.sqrt(max(w.shape)) * rms_rate
                ws[i] = w - upd
    return ws


# -- several steps against numpy ----------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"learning_rate": 0.3, "beta_2_decay": -0.65,
                                     "epsilon_2": 1e-4, "clip_threshold": 0.9},
                                {"learning_rate": 0.05, "weight_decay": 0.01}])
def test_adafactor_matches_numpy(kw):
    got = run(optimizers.Adafactor(**kw), GRADS)
    ref = np_adafactor(W0, GRADS, lr=kw.get("learning_rate", 0.001),
                       beta_2_decay=kw.get("beta_2_decay", -0.8),
                       epsilon_2=kw.get("epsilon_2", 1e-3),
                       clip_threshold=kw.get("clip_threshold", 1.0),
                       weight_decay=kw.get("weight_decay"))
    assert_close(got, ref, rtol=2e-4)


def test_adafactor_factors_rank_3_weights_over_the_last_two_axes():
    w = [RNG.normal(size=(2, 3, 4)).astype(np.float32)]
    grads = [[RNG.normal(size=(2, 3, 4)).astype(np.float32)] for _ in range(3)]
    opt = optimizers.Adafactor(learning_rate=0.1)
    params = {"k": mx.array(w[0])}
    for g in grads:
        params = opt.apply_gradients({"k": mx.array(g[0])}, params)
    slots = opt.state["slots"]["k"]
    assert list(slots) == ["r", "c", "velocity"]
    assert slots["r"].shape == (2, 3) and slots["c"].shape == (2, 4)
    assert_close([np.array(params["k"])], np_adafactor(w, grads, lr=0.1), start=w, rtol=2e-4)


@pytest.mark.parametrize("kw", [{}, {"learning_rate": 0.5},
                                {"learning_rate": 0.05, "learning_rate_power": -0.2,
                                 "initial_accumulator_value": 0.4,
                                 "l1_regularization_strength": 0.05,
                                 "l2_regularization_strength": 0.15,
                                 "l2_shrinkage_regularization_strength": 0.01, "beta": 0.3}])
def test_ftrl_matches_numpy(kw):
    got = run(optimizers.Ftrl(**kw), GRADS)
    ref = np_ftrl(W0, GRADS, lr=kw.get("learning_rate", 0.001),
                  power=kw.get("learning_rate_power", -0.5),
                  init=kw.get("initial_accumulator_value", 0.1),
                  l1=kw.get("l1_regularization_strength", 0.0),
                  l2=kw.get("l2_regularization_strength", 0.0),
                  shrink=kw.get("l2_shrinkage_regularization_strength", 0.0),
                  beta=kw.get("beta", 0.0))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kw", [{}, {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99},
                                {"learning_rate": 0.01, "weight_decay": 0.1}])
def test_lamb_matches_numpy(kw):
    got = run(optimizers.Lamb(**kw), GRADS)
    ref = np_lamb(W0, GRADS, lr=kw.get("learning_rate", 0.001), beta_1=kw.get("beta_1", 0.9),
                  beta_2=kw.get("beta_2", 0.999), weight_decay=kw.get("weight_decay"))
    assert_close(got, ref)


@pytest.mark.parametrize("kw", [{}, {"learning_rate": 0.02, "nesterov": False, "rms_rate": None},
                                {"learning_rate": 0.01, "ns_steps": 3, "momentum": 0.9,
                                 "adam_lr_ratio": 0.1, "weight_decay": 0.1,
                                 "adam_weight_decay": 0.0}])
def test_muon_matches_numpy(kw):
    got = run(optimizers.Muon(**kw), GRADS)  # the (3, 2) kernel: Muon; the bias: AdamW
    ref = np_muon(W0, GRADS, lr=kw.get("learning_rate", 0.001),
                  momentum=kw.get("momentum", 0.95), nesterov=kw.get("nesterov", True),
                  rms_rate=kw.get("rms_rate", 0.2), ns_steps=kw.get("ns_steps", 5),
                  weight_decay=kw.get("weight_decay", 0.004),
                  adam_weight_decay=kw.get("adam_weight_decay", 0.004),
                  adam_lr_ratio=kw.get("adam_lr_ratio", 1), is_adam=[False, True])
    assert_close(got, ref, rtol=2e-4, atol=2e-6)


def test_muon_slots_follow_the_parameter_path():
    opt = optimizers.Muon(exclude_layers=["head"])
    params = {"embedding": {"embeddings": mx.zeros((5, 3))}, "dense": {"kernel": mx.zeros((3, 2)),
              "bias": mx.zeros((2,))}, "head": {"kernel": mx.zeros((2, 2))}}
    opt.init(params)
    slots = opt.state["slots"]
    assert list(slots["dense"]["kernel"]) == ["momentum"]
    for adam in (slots["embedding"]["embeddings"], slots["dense"]["bias"],
                 slots["head"]["kernel"]):
        assert list(adam) == ["momentum", "velocity"]


# -- Keras 3.15's published numbers ---------------------------------------------------------

def _one(opt, w, g, steps=1):
    params = {"x": mx.array(np.asarray(w, np.float32))}
    for _ in range(steps):
        params = opt.apply_gradients({"x": mx.array(np.asarray(g, np.float32))}, params)
    return np.array(params["x"])


def test_keras_single_steps():
    g1, w1 = [1.0, 6.0, 7.0, 2.0], [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(_one(optimizers.Adafactor(0.5), w1, g1),
                               [-0.3693, 0.6307, 1.6307, 2.6307], atol=1e-4)
    np.testing.assert_allclose(_one(optimizers.Adafactor(0.5), [[1.0, 2.0], [3.0, 4.0]],
                                    [[1.0, 6.0], [7.0, 2.0]]),
                               [[0.7007, -0.0081], [1.2492, 3.4407]], atol=1e-4)
    np.testing.assert_allclose(_one(optimizers.Ftrl(0.5), w1, g1),
                               [0.2218, 1.3954, 2.3651, 2.8814], atol=1e-4)
    np.testing.assert_allclose(_one(optimizers.Lamb(0.5), w1, g1),
                               [-0.3693, 0.6306, 1.6306, 2.6306], atol=1e-4)


@pytest.mark.parametrize("make,golden", [
    (lambda: optimizers.Adafactor(learning_rate=0.5, beta_2_decay=-0.65, epsilon_1=1e-15,
                                  epsilon_2=1e-4, clip_threshold=0.9, relative_step=False),
     [[0.55] * 10,
      [0.3031, 0.3026, 0.3025, 0.3024, 0.3024, 0.3024, 0.3024, 0.3024, 0.3024, 0.3024],
      [0.1671, 0.1665, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663, 0.1663],
      [0.0923, 0.0916, 0.0915, 0.0914, 0.0914, 0.0914, 0.0914, 0.0914, 0.0914, 0.0914],
      [0.0554, 0.0548, 0.0546, 0.0546, 0.0546, 0.0546, 0.0546, 0.0545, 0.0545, 0.0545]]),
    (lambda: optimizers.Ftrl(learning_rate=0.05, learning_rate_power=-0.2,
                             initial_accumulator_value=0.4, l1_regularization_strength=0.05,
                             l2_regularization_strength=0.15,
                             l2_shrinkage_regularization_strength=0.01, beta=0.3),
     [[0.0] * 10,
      [-0.0034, -0.0077, -0.0118, -0.0157, -0.0194, -0.023, -0.0263, -0.0294, -0.0325, -0.0354],
      [-0.0078, -0.0162, -0.0242, -0.0317, -0.0387, -0.0454, -0.0516, -0.0575, -0.0631, -0.0685],
      [-0.0121, -0.0246, -0.0363, -0.0472, -0.0573, -0.0668, -0.0757, -0.0842, -0.0922, -0.0999],
      [-0.0164, -0.0328, -0.0481, -0.0623, -0.0753, -0.0875, -0.099, -0.1098, -0.1201, -0.1299]]),
    (lambda: optimizers.Lamb(),
     [[v] * 10 for v in (0.999, 0.9982, 0.9974, 0.9965, 0.9955)])], ids=["Adafactor", "Ftrl",
                                                                       "Lamb"])
def test_keras_golden_sequences(make, golden):
    opt = make()
    params = {"x": mx.ones((10,))}
    params = opt.apply_gradients({"x": mx.full((10,), 0.01)}, params)
    grads = {"x": mx.array(np.arange(0.1, 1.1, 0.1).astype(np.float32))}
    for row in golden:
        np.testing.assert_allclose(np.array(params["x"]), row, rtol=5e-4, atol=5e-4)
        params = opt.apply_gradients(grads, params)


def test_keras_muon_numbers():
    opt = optimizers.Muon()
    out = opt.zeropower_via_newtonschulz5(mx.array([[0.2499, 0.9105], [0.2655, 0.8824]]), 5)
    np.testing.assert_allclose(np.array(out), [[-0.4422, 0.6457], [0.7285, 0.2968]], atol=1e-3)
    opt = optimizers.Muon(learning_rate=0.5, weight_decay=0)
    w = mx.array([[1.0, 2.0], [3.0, 4.0]])
    slots = opt.build_slots_for(w, "dense.kernel")
    got = opt.update_step(mx.array([[1.0, 6.0], [7.0, 2.0]]), w, mx.array(0.5), slots,
                          mx.array(1.0))
    np.testing.assert_allclose(np.array(got), [[0.988775, 1.887053], [2.873428, 3.97035]],
                               atol=1e-2)
    v = mx.array([1.0, 2.0, 3.0, 4.0])
    slots = opt.build_slots_for(v, "test_vars")
    got = opt.update_step(mx.array([1.0, 6.0, 7.0, 2.0]), v, mx.array(0.5), slots,
                          mx.array(1.0))
    np.testing.assert_allclose(np.array(got), [0.5, 1.5, 2.5, 3.5], atol=1e-4)


@pytest.mark.parametrize("cls", [optimizers.Adafactor, optimizers.Lamb])
def test_keras_weight_decay_numbers(cls):
    zero = mx.zeros(())
    w = {"var1": mx.array(2.0)}
    w = cls(learning_rate=1.0, weight_decay=0.004).apply_gradients({"var1": zero}, w)
    opt2 = cls(learning_rate=1.0, weight_decay=0.004)
    opt2.exclude_from_weight_decay(var_names=["exclude"])
    out = opt2.apply_gradients({"var1": zero, "exclude": zero},
                               {"var1": w["var1"], "exclude": mx.array(2.0)})
    opt3 = cls(learning_rate=1.0, weight_decay=0.004)
    var3 = mx.array(2.0)
    opt3.exclude_from_weight_decay(var_list=[var3])
    params3 = {"var1": out["var1"], "var3": var3}
    opt3.init(params3)  # arrays are matched by identity when the slots are made
    out3 = opt3.apply_gradients({"var1": zero, "var3": zero}, params3)
    assert float(out3["var1"].item()) == pytest.approx(1.9760959, abs=1e-6)
    assert float(out["exclude"].item()) == 2.0 and float(out3["var3"].item()) == 2.0


def test_muon_weight_decays():
    w = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    opt = optimizers.Muon(learning_rate=1.0, weight_decay=0.1)
    slots = {"k": {"momentum": mx.zeros((2, 2))}}
    assert opt._weight_decay_for("dense.kernel", slots["k"]) == 0.1
    assert opt._weight_decay_for("dense.bias", {"momentum": 0, "velocity": 0}) == 0.004
    out = _one(optimizers.Muon(learning_rate=1.0, weight_decay=0.1, adam_weight_decay=0.2),
               w, np.zeros((2, 2)))
    np.testing.assert_allclose(out, w - w * 0.1, atol=1e-4)  # a zero gradient: only decay
    out = _one(optimizers.Muon(learning_rate=1.0, adam_weight_decay=0.2), w[0], np.zeros(2))
    np.testing.assert_allclose(out, w[0] - w[0] * 0.2, atol=1e-4)


# -- LossScaleOptimizer ----------------------------------------------------------------------

def test_loss_scale_optimizer_matches_numpy_with_overflow_and_growth():
    inner = optimizers.Adam(learning_rate=0.01)
    opt = optimizers.LossScaleOptimizer(inner, initial_scale=8.0, dynamic_growth_steps=2)
    grads = [[g * 8.0 for g in step] for step in GRADS]  # as if the loss had been scaled
    grads[2] = [grads[2][0], np.full_like(grads[2][1], np.inf)]  # an overflow at step 3
    params = {"kernel": mx.array(W0[0]), "bias": mx.array(W0[1])}
    opt.init(params)
    scales, ws = [], [w.astype(np.float64) for w in W0]
    slots, scale, counter, t = [{}, {}], 8.0, 0, 0
    for step in grads:
        params = opt.apply_gradients({"kernel": mx.array(step[0]), "bias": mx.array(step[1])},
                                     params)
        scales.append(float(opt.state["dynamic_scale"].item()))
        if all(np.isfinite(g).all() for g in step):  # the numpy side
            t += 1
            ws = [_adam(w, g.astype(np.float64) / scale, s, 0.01, t)
                  for w, g, s in zip(ws, step, slots)]
            if counter == 1:
                scale, counter = scale * 2, 0
            else:
                counter += 1
        else:
            scale, counter = scale / 2, 0
    assert scales == [8.0, 16.0, 8.0, 8.0, 16.0]
    assert_close([np.array(params["kernel"]), np.array(params["bias"])], ws)
    assert inner.iterations == 4  # the overflow step did not count


def test_loss_scale_optimizer_scale_loss_config_and_arguments():
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1, loss_scale_factor=4.0),
                                        initial_scale=32.0, dynamic_growth_steps=3, name="lso")
    assert opt.inner_optimizer.loss_scale_factor is None
    assert float(opt.scale_loss(mx.array(1.0)).item()) == 32.0
    config = opt.get_config()
    assert config["inner_optimizer"]["class_name"] == "SGD"
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is optimizers.LossScaleOptimizer and again.get_config() == config
    assert float(again.learning_rate.item()) == pytest.approx(0.1)
    for bad in ({"dynamic": False}, {"clipnorm": 1.0}, {"foo": 1}):
        with pytest.raises(ValueError):
            optimizers.LossScaleOptimizer(optimizers.SGD(), **bad)
    optimizers.LossScaleOptimizer(optimizers.SGD(), use_ema=False)  # defaults are accepted


# -- configs, names, fit ---------------------------------------------------------------------

@pytest.mark.parametrize("opt", [
    optimizers.Adafactor(0.01, beta_2_decay=-0.7, epsilon_2=1e-4, relative_step=False),
    optimizers.Ftrl(0.1, learning_rate_power=-0.3, l1_regularization_strength=0.1, beta=0.2),
    optimizers.Lamb(0.01, beta_1=0.8, weight_decay=0.01, clipnorm=1.0),
    optimizers.Muon(0.02, exclude_layers=["out"], ns_steps=4, rms_rate=None)],
    ids=lambda o: type(o).__name__)
def test_config_round_trip(opt):
    config = opt.get_config()
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config
    assert optimizers.get(type(opt).__name__.lower()).__class__ is type(opt)


def test_keras_default_names_and_argument_checks():
    assert [optimizers.get(n).name for n in ("adafactor", "ftrl", "lamb", "muon")] == \
        ["adafactor", "ftrl", "lamb", "muon"]
    assert optimizers.LossScaleOptimizer(optimizers.SGD()).name == "loss_scale_optimizer"
    for kw in ({"initial_accumulator_value": -0.1}, {"learning_rate_power": 0.1},
               {"l1_regularization_strength": -1}, {"l2_regularization_strength": -1},
               {"l2_shrinkage_regularization_strength": -1}):
        with pytest.raises(ValueError, match="needs to be"):
            optimizers.Ftrl(**kw)


@pytest.mark.parametrize("make", [lambda: optimizers.Adafactor(0.05),
                                  lambda: optimizers.Ftrl(0.2), lambda: optimizers.Lamb(0.02),
                                  lambda: optimizers.Muon(0.02),
                                  lambda: optimizers.LossScaleOptimizer(optimizers.Adam(0.02))],
                         ids=["Adafactor", "Ftrl", "Lamb", "Muon", "LossScaleOptimizer"])
def test_each_optimizer_trains_in_fit_and_resumes_from_a_file(make, tmp_path):
    L = mf.layers
    x = RNG.normal(size=(64, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)).astype(np.float32)
    inputs = L.Input((4,))
    model = mf.Model(inputs, L.Dense(1)(L.Dense(8, activation="tanh")(inputs)))
    model.compile(optimizer=make(), loss="mse")
    hist = model.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=False)
    losses = hist.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    model.save(str(tmp_path / "m.mlxf"))
    again = mf.saving.load_model(str(tmp_path / "m.mlxf"))
    assert type(again.optimizer) is type(model.optimizer)
    a = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"]
    b = again.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(b, a, rtol=1e-5)  # the saved slots carry on the same run


def test_fit_takes_the_gradient_of_the_scaled_loss():
    # With loss_scale_factor the step scales the loss and the optimizer divides the
    # gradient back: the same weights as without (a power of two: exact in float32).
    L = mf.layers
    x = RNG.normal(size=(32, 3)).astype(np.float32)
    y = RNG.normal(size=(32, 1)).astype(np.float32)
    weights = []
    for factor in (None, 1024.0):
        mf.utils.set_random_seed(3)
        inputs = L.Input((3,))
        model = mf.Model(inputs, L.Dense(1)(inputs))
        model.compile(optimizer=optimizers.SGD(0.1, loss_scale_factor=factor), loss="mse")
        hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        weights.append([np.array(w) for w in model.get_weights()])
        assert hist.history["loss"][-1] < 10  # the logged loss is the unscaled one
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_every_keras_loss_and_metric_name_exists():
    from pathlib import Path
    api = Path(__file__).parent / "keras_compat" / "keras_api"
    for file, module in (("losses.txt", mf.losses), ("metrics.txt", mf.metrics)):
        names = [n.strip() for n in (api / file).read_text().split() if n.strip()]
        assert [n for n in names if not hasattr(module, n)] == [], file


def test_mixed_float16_compile_wraps_the_optimizer_and_trains():
    L = mf.layers
    mf.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = L.Input((3,))
        hidden = L.Dense(8, activation="relu")(inputs)
        model = mf.Model(inputs, L.Dense(1, dtype="float32")(hidden))
        model.compile(optimizer=optimizers.Adam(0.01), loss="mse")
        assert isinstance(model.optimizer, optimizers.LossScaleOptimizer)
        x = RNG.normal(size=(64, 3)).astype(np.float32)
        y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
        hist = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
        assert np.all(np.isfinite(hist.history["loss"]))
        assert hist.history["loss"][-1] < hist.history["loss"][0]
        assert float(model.optimizer.state["dynamic_scale"].item()) <= 2.0 ** 15
        other = mf.Model(inputs, L.Dense(1, dtype="float32")(hidden))
        other.compile(optimizer=optimizers.Adam(0.01), loss="mse", auto_scale_loss=False)
        assert type(other.optimizer) is optimizers.Adam
    finally:
        mf.mixed_precision.set_global_policy("float32")


def test_loss_scale_optimizer_state_saves_after_a_layer_is_frozen(tmp_path):
    L = mf.layers
    x = RNG.normal(size=(16, 3)).astype(np.float32)
    y = RNG.normal(size=(16, 1)).astype(np.float32)
    inputs = L.Input((3,))
    first = L.Dense(4, name="first")
    model = mf.Model(inputs, L.Dense(1, name="last")(first(inputs)))
    model.compile(optimizer=optimizers.LossScaleOptimizer(optimizers.Adam(0.01)), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    first.trainable = False  # its Adam slots must not go into the file
    model.save(str(tmp_path / "m.mlxf"))
    again = mf.saving.load_model(str(tmp_path / "m.mlxf"))
    slots = again.optimizer.inner_optimizer.state["slots"]
    assert "first" not in slots or not slots["first"]
    np.testing.assert_allclose(np.array(again.optimizer.inner_optimizer.state["slots"]["last"]
                                        ["kernel"]["momentum"]),
                               np.array(model.optimizer.inner_optimizer.state["slots"]["last"]
                                        ["kernel"]["momentum"]))
