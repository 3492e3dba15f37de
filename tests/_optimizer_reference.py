"""Float64 numpy references for the optimizer tests (test_optimizers*.py), written
from Keras 3's documented update rules, with the weights and gradients they share
and helpers that drive an optimizer over them."""

import math

import mlx.core as mx
import numpy as np


RNG = np.random.default_rng(0)
W0 = [RNG.normal(size=(3, 2)).astype(np.float32), RNG.normal(size=(4,)).astype(np.float32)]
GRADS = [[RNG.normal(size=w.shape).astype(np.float32) * 2 for w in W0] for _ in range(5)]


# ----------------------------------------------------------------- numpy reference
def _sgd(w, g, s, lr, t, momentum=0.0, nesterov=False, **_):
    if momentum == 0:
        return w - lr * g
    s["m"] = momentum * s.get("m", 0.0) - lr * g
    return w + (momentum * s["m"] - lr * g if nesterov else s["m"])


def _rmsprop(w, g, s, lr, t, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **_):
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    if centered:
        s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
        step = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + epsilon)
    else:
        step = lr * g / np.sqrt(s["v"] + epsilon)
    if momentum > 0:
        s["mom"] = momentum * s.get("mom", 0.0) + step
        step = s["mom"]
    return w - step


def _adam(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **_):
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    v = s["v"]
    if amsgrad:
        v = s["vhat"] = np.maximum(s.get("vhat", 0.0), s["v"])
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - alpha * s["m"] / (np.sqrt(v) + epsilon)


def _nadam(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, u_prod=None, **_):
    mu_t = beta_1 * (1 - 0.5 * 0.96 ** t)
    mu_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    m_hat = mu_next * s["m"] / (1 - u_prod * mu_next) + (1 - mu_t) * g / (1 - u_prod)
    v_hat = s["v"] / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


def _adamax(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **_):
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["u"] = np.maximum(beta_2 * s.get("u", 0.0), np.abs(g))
    return w - lr / (1 - beta_1 ** t) * s["m"] / (s["u"] + epsilon)


def _adagrad(w, g, s, lr, t, initial_accumulator_value=0.1, epsilon=1e-7, **_):
    s["acc"] = s.get("acc", initial_accumulator_value) + g * g
    return w - lr * g / np.sqrt(s["acc"] + epsilon)


def _adadelta(w, g, s, lr, t, rho=0.95, epsilon=1e-7, **_):
    s["eg"] = rho * s.get("eg", 0.0) + (1 - rho) * g * g
    delta = -np.sqrt(s.get("ed", 0.0) + epsilon) / np.sqrt(s["eg"] + epsilon) * g
    s["ed"] = rho * s.get("ed", 0.0) + (1 - rho) * delta * delta
    return w + lr * delta


def _lion(w, g, s, lr, t, beta_1=0.9, beta_2=0.99, **_):
    m = s.get("m", 0.0)
    w = w - lr * np.sign(beta_1 * m + (1 - beta_1) * g)
    s["m"] = beta_2 * m + (1 - beta_2) * g
    return w


RULES = {"SGD": _sgd, "RMSprop": _rmsprop, "Adam": _adam, "AdamW": _adam, "Nadam": _nadam,
         "Adamax": _adamax, "Adagrad": _adagrad, "Adadelta": _adadelta, "Lion": _lion}
DEFAULT_LR = {"SGD": 0.01}


def reference(name, grads_seq, weights=W0, learning_rate=None, weight_decay=None,
              clipnorm=None, clipvalue=None, global_clipnorm=None, loss_scale_factor=None,
              **hp):
    """Runs Keras' documented update for ``len(grads_seq)`` steps, in float64."""
    if name == "AdamW" and weight_decay is None:
        weight_decay = 0.004
    lr_of = learning_rate if callable(learning_rate) else (
        lambda step: DEFAULT_LR.get(name, 0.001) if learning_rate is None else learning_rate)
    ws = [w.astype(np.float64) for w in weights]
    slots = [{} for _ in ws]
    u_prod = 1.0
    for it, grads in enumerate(grads_seq):
        gs = [g.astype(np.float64) for g in grads]
        if loss_scale_factor:
            gs = [g / loss_scale_factor for g in gs]
        if clipnorm:
            gs = [g * min(1.0, clipnorm / np.sqrt((g * g).sum())) for g in gs]
        elif global_clipnorm:
            norm = math.sqrt(sum((g * g).sum() for g in gs))
            gs = [g * min(1.0, global_clipnorm / norm) for g in gs]
        elif clipvalue:
            gs = [np.minimum(np.maximum(g, -clipvalue), clipvalue) for g in gs]
        lr, t = lr_of(it), it + 1
        u_prod *= hp.get("beta_1", 0.9) * (1 - 0.5 * 0.96 ** t)
        for i, g in enumerate(gs):
            w = ws[i] * (1 - weight_decay * lr) if weight_decay else ws[i]
            ws[i] = RULES[name](w, g, slots[i], lr, t, u_prod=u_prod, **hp)
    return ws


def run(optimizer, grads_seq, weights=W0):
    params = {"kernel": mx.array(weights[0]), "bias": mx.array(weights[1])}
    optimizer.init(params)
    for grads in grads_seq:
        g = {"kernel": mx.array(grads[0]), "bias": mx.array(grads[1])}
        params = optimizer.apply_gradients(g, params)
        mx.eval(params, optimizer.state)
    return [np.array(params["kernel"]), np.array(params["bias"])]


def run_from(optimizer, weights, grads_seq):
    """Continues training ``weights`` with an already-initialized optimizer."""
    params = {"kernel": mx.array(weights[0]), "bias": mx.array(weights[1])}
    for grads in grads_seq:
        g = {"kernel": mx.array(grads[0]), "bias": mx.array(grads[1])}
        params = optimizer.apply_gradients(g, params)
    return [np.array(params["kernel"]), np.array(params["bias"])]


def assert_close(got, want, start=W0, rtol=1e-4, atol=1e-6):
    """Compares the displacements from ``start``: small updates are checked too."""
    for g, w, s in zip(got, want, start):
        np.testing.assert_allclose(g - s, w - s, rtol=rtol, atol=atol)
