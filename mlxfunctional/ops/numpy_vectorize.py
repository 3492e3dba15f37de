"""``vectorize``: a function of scalars (or of core blocks, with a signature)
made to work over broadcast arrays, on ``mx.vmap``.

The loop axes of all the arguments are broadcast together and flattened into
one axis, which ``mx.vmap`` maps the function over (a traced transform, not a
Python loop: the result stays differentiable and compilable); the outputs get
the loop shape back.
"""

import re

import mlx.core as mx

from .dtypes import convert_to_tensor

__all__ = ["vectorize"]

_CORE = r"\(([^()]*)\)"


def _parse_signature(signature):
    """``"(m,n),(n)->(m)"`` as ([("m", "n"), ("n",)], [("m",)])."""
    match = re.fullmatch(rf"\s*({_CORE}(?:\s*,\s*{_CORE})*)\s*->\s*({_CORE}(?:\s*,\s*{_CORE})*)\s*",
                         signature)
    if match is None:
        raise ValueError(f"vectorize: not a valid signature: {signature!r} (expected e.g. "
                         "'(m,n),(n)->(m)').")
    inputs, outputs = signature.split("->")

    def cores(text):
        return [tuple(d.strip() for d in group.split(",") if d.strip())
                for group in re.findall(_CORE, text)]

    return cores(inputs), cores(outputs)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``pyfunc`` applied element by element (or core block by core block, as
    ``signature`` says) over broadcast array arguments. ``excluded`` names the
    positional indices / keywords passed through unvectorized."""
    if not callable(pyfunc):
        raise TypeError(f"vectorize: `pyfunc` must be callable; received {pyfunc!r}.")
    excluded = set(excluded or ())
    in_cores, out_cores = _parse_signature(signature) if signature else (None, None)

    def vectorized(*args, **kwargs):
        mapped_pos = [i for i in range(len(args)) if i not in excluded]
        mapped_kw = [k for k in kwargs if k not in excluded]
        arrays = [convert_to_tensor(args[i]) for i in mapped_pos] + \
                 [convert_to_tensor(kwargs[k]) for k in mapped_kw]
        cores = in_cores if in_cores is not None else [()] * len(arrays)
        if len(cores) != len(arrays):
            raise ValueError(f"vectorize: the signature {signature!r} takes {len(cores)} "
                             f"arrays; received {len(arrays)}.")
        for a, core in zip(arrays, cores):
            if a.ndim < len(core):
                raise ValueError(f"vectorize: an argument of shape {a.shape} has fewer "
                                 f"dimensions than its core {core} in {signature!r}.")
        loops = [a.shape[:a.ndim - len(c)] for a, c in zip(arrays, cores)]
        loop_shape = mx.broadcast_shapes(*loops) if loops else ()
        flat = [mx.broadcast_to(a, loop_shape + a.shape[a.ndim - len(c):])
                .reshape((-1,) + a.shape[a.ndim - len(c):]) for a, c in zip(arrays, cores)]

        def call(*values):
            full_args = list(args)
            for i, v in zip(mapped_pos, values):
                full_args[i] = v
            full_kwargs = dict(kwargs)
            for k, v in zip(mapped_kw, values[len(mapped_pos):]):
                full_kwargs[k] = v
            return pyfunc(*full_args, **full_kwargs)

        if not arrays:
            return call()
        outputs = mx.vmap(call)(*flat)
        several = isinstance(outputs, (tuple, list))
        outs = list(outputs) if several else [outputs]
        outs = [o.reshape(tuple(loop_shape) + o.shape[1:]) for o in outs]
        if out_cores is not None and len(out_cores) != len(outs):
            raise ValueError(f"vectorize: the signature {signature!r} promises "
                             f"{len(out_cores)} outputs; the function returned {len(outs)}.")
        return tuple(outs) if several else outs[0]

    return vectorized
