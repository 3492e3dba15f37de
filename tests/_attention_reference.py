"""Numpy references for the attention layers, written head by head with explicit
matrices (no einsum equations, unlike the layers), and a fresh-process file check."""

import os
import subprocess
import sys
import textwrap

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def softmax_rows(scores, keep, fully_masked):
    """Softmax over the last axis where ``keep`` is True (probability 0 elsewhere).

    ``fully_masked``: what a row with no key kept gives: "uniform" (Keras'
    dot_product_attention: the masked logits all equal) or "zero" (Keras' masked
    Softmax layer)."""
    scores = np.asarray(scores, np.float64)
    if keep is None:
        keep = np.ones(scores.shape, bool)
    keep = np.broadcast_to(keep, scores.shape)
    s = np.where(keep, scores, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    none = ~keep.any(axis=-1, keepdims=True)
    e = np.where(keep, np.exp(s - np.where(none, 0, m)), 0.0)
    p = e / np.where(none, 1.0, e.sum(axis=-1, keepdims=True))
    if fully_masked == "uniform":
        p = np.where(none, 1.0 / scores.shape[-1], p)
    return p


def project(x, kernel, bias):
    """``x (..., d) @ kernel (d, heads, dim) + bias (heads, dim)`` as one matrix product."""
    d, h, k = kernel.shape
    y = x.reshape(-1, d) @ kernel.reshape(d, h * k)
    y = y.reshape(x.shape[:-1] + (h, k))
    return y if bias is None else y + bias


def mha(query, value, key, weights, num_heads, key_dim, keep=None, causal=False,
        fully_masked="uniform", use_bias=True):
    """Multi-head attention on rank-3 inputs, weights in Keras' order.

    ``keep``: boolean ``(B, T, S)`` (True = may attend). Returns (output, probabilities
    ``(B, heads, T, S)``)."""
    w = list(weights)
    take = (lambda: (w.pop(0), w.pop(0))) if use_bias else (lambda: (w.pop(0), None))
    (wq, bq), (wk, bk), (wv, bv), (wo, bo) = take(), take(), take(), take()
    key = value if key is None else key
    q, k, v = project(query, wq, bq), project(key, wk, bk), project(value, wv, bv)
    B, T, S = query.shape[0], query.shape[1], key.shape[1]
    if causal:
        band = np.tril(np.ones((T, S), bool))
        keep = band[None] if keep is None else keep & band[None]
    out = np.zeros((B, T, num_heads, v.shape[-1]))
    probs = np.zeros((B, num_heads, T, S))
    for b in range(B):
        for h in range(num_heads):
            scores = (q[b, :, h, :] @ k[b, :, h, :].T) / np.sqrt(key_dim)
            p = softmax_rows(scores, None if keep is None else keep[b % keep.shape[0]],
                             fully_masked)
            probs[b, h] = p
            out[b, :, h, :] = p @ v[b, :, h, :]
    o = out.reshape(B, T, -1) @ wo.reshape(-1, wo.shape[-1])
    return (o if bo is None else o + bo), probs


def mha_over_axes(query, weights, num_heads, key_dim, axes):
    """Self-attention of a ``(B, X, Y, d)`` input over ``axes`` (a subset of {1, 2}):
    the other axis is a batch axis; several attention axes are flattened into one."""
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    q, k, v = project(query, wq, bq), project(query, wk, bk), project(query, wv, bv)
    B, X, Y = query.shape[:3]
    out = np.zeros(q.shape[:3] + (num_heads, v.shape[-1]))
    for b in range(B):
        for h in range(num_heads):
            if tuple(axes) == (1, 2):
                qs, ks, vs = (t[b, :, :, h].reshape(X * Y, -1) for t in (q, k, v))
                p = softmax_rows(qs @ ks.T / np.sqrt(key_dim), None, "zero")
                out[b, :, :, h] = (p @ vs).reshape(X, Y, -1)
            elif tuple(axes) == (2,):
                for x in range(X):
                    qs, ks, vs = q[b, x, :, h], k[b, x, :, h], v[b, x, :, h]
                    p = softmax_rows(qs @ ks.T / np.sqrt(key_dim), None, "zero")
                    out[b, x, :, h] = p @ vs
            elif tuple(axes) == (1,):
                for y in range(Y):
                    qs, ks, vs = q[b, :, y, h], k[b, :, y, h], v[b, :, y, h]
                    p = softmax_rows(qs @ ks.T / np.sqrt(key_dim), None, "zero")
                    out[b, :, y, h] = p @ vs
    return out.reshape(B, X, Y, -1) @ wo.reshape(-1, wo.shape[-1]) + bo


def gqa(query, value, weights, num_query_heads, num_kv_heads, head_dim, keep=None,
        fully_masked="uniform"):
    """Grouped-query attention: query head h reads key/value head h // (Hq // Hkv)."""
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    q, k, v = project(query, wq, bq), project(value, wk, bk), project(value, wv, bv)
    B, T = query.shape[:2]
    group = num_query_heads // num_kv_heads
    out = np.zeros((B, T, num_query_heads, head_dim))
    probs = np.zeros((B, num_query_heads, T, value.shape[1]))
    for b in range(B):
        for h in range(num_query_heads):
            g = h // group
            p = softmax_rows(q[b, :, h] @ k[b, :, g].T / np.sqrt(head_dim),
                             None if keep is None else keep[b], fully_masked)
            probs[b, h] = p
            out[b, :, h] = p @ v[b, :, g]
    return out.reshape(B, T, -1) @ wo.reshape(-1, wo.shape[-1]) + bo, probs


def fresh_process_predict(path, inputs, tmp_path, imports=()):
    """Loads the model file ``path`` in a new Python process and returns its
    predictions on ``inputs`` (a list of arrays), read back from an .npz file.
    ``imports``: modules of tests/ to import first (custom layers they register)."""
    data = os.path.join(str(tmp_path), "inputs.npz")
    out = os.path.join(str(tmp_path), "outputs.npz")
    np.savez(data, *inputs)
    code = textwrap.dedent(f"""
        import numpy as np
        import mlxfunctional as keras
        {"; ".join(f"import {m}" for m in imports)}
        model = keras.models.load_model({str(path)!r})
        with np.load({data!r}) as f:
            xs = [f[f"arr_{{i}}"] for i in range(len(f.files))]
        y = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        ys = y if isinstance(y, (list, tuple)) else [y]
        np.savez({out!r}, *[np.asarray(a) for a in ys])
    """)
    path_list = [ROOT, os.path.join(ROOT, "tests"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path_list))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]
