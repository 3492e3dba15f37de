"""Muon (MomentUm Orthogonalized by Newton-Schulz), Keras 3's variant.

2-D weights (not embeddings, not ``exclude_layers``) take the Muon step:
``m = momentum * m + g``; ``d = g + momentum * m`` (nesterov) or ``m``;
``O = newton_schulz(d)`` (an approximate orthogonalization of d);
``w -= lr * O * sqrt(max(rows, cols)) * rms_rate`` (no scaling when
``rms_rate`` is None). Every other weight takes AdamW with
``lr * adam_lr_ratio``, ``adam_beta_1/2`` and bias correction. Weight decay
is ``weight_decay`` for the Muon weights and ``adam_weight_decay`` for the rest.
"""

import re

import mlx.core as mx

from mlxfunctional.optimizer_base import Optimizer


class Muon(Optimizer):
    """Muon for matrices, AdamW for the rest (see the module docstring).

    Args:
        learning_rate: defaults to 0.001.
        adam_beta_1, adam_beta_2: AdamW's betas (0.9, 0.999).
        adam_weight_decay: decay of the AdamW weights (0.004).
        epsilon: AdamW's epsilon (1e-7).
        weight_decay: decay of the Muon weights (0.004).
        exclude_layers: regular expressions; a weight whose path matches takes AdamW.
        exclude_embeddings: weights with "embedding" in their path take AdamW (True).
        muon_a, muon_b, muon_c: the Newton-Schulz polynomial (3.4445, -4.7750, 2.0315).
        adam_lr_ratio: AdamW's rate as a multiple of ``learning_rate`` (1).
        momentum: Muon's momentum (0.95).
        ns_steps: Newton-Schulz iterations (5).
        nesterov: Nesterov momentum (True).
        rms_rate: scale of the Muon step (0.2), or None.
        Other arguments: as for ``Optimizer``.
    Slots: ``momentum`` (every weight) and ``velocity`` (AdamW weights).
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, name="muon",
                 exclude_layers=None, exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750,
                 muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs):
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"`ns_steps` must be an integer >= 0. Received: ns_steps={ns_steps}")
        self.adam_beta_1, self.adam_beta_2, self.epsilon = adam_beta_1, adam_beta_2, epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, momentum, ns_steps
        self.nesterov, self.rms_rate = nesterov, rms_rate
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay = adam_weight_decay
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         **kwargs)

    def _should_use_adamw(self, variable, path):
        if variable.ndim != 2:
            return True
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build_slots_for(self, variable, path):
        slots = {"momentum": mx.zeros_like(variable)}
        if self._should_use_adamw(variable, path):
            slots["velocity"] = mx.zeros_like(variable)
        return slots

    def _weight_decay_for(self, path, slots):
        if not self._use_weight_decay(path):
            return None
        return self.adam_weight_decay if "velocity" in slots else self.weight_decay

    def update_step(self, gradient, variable, learning_rate, slots, t):
        if "velocity" in slots:  # the AdamW weights (decided when the slots were made)
            return self._adamw_step(gradient, variable, learning_rate * self.adam_lr_ratio,
                                    slots, t)
        m = slots["momentum"] = self.momentum * slots["momentum"] + gradient
        direction = gradient + self.momentum * m if self.nesterov else m
        update = learning_rate * self.zeropower_via_newtonschulz5(direction, self.ns_steps)
        if self.rms_rate is not None:
            update = update * (max(variable.shape[0], variable.shape[1]) ** 0.5) * self.rms_rate
        return variable - update

    def _adamw_step(self, gradient, variable, learning_rate, slots, t):
        t = t.astype(variable.dtype)
        alpha = learning_rate * mx.sqrt(1 - mx.power(self.adam_beta_2, t)) \
            / (1 - mx.power(self.adam_beta_1, t))
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - self.adam_beta_1)
        v = slots["velocity"] + (mx.square(gradient) - slots["velocity"]) * (1 - self.adam_beta_2)
        slots["momentum"], slots["velocity"] = m, v
        return variable - m * alpha / (mx.sqrt(v) + self.epsilon)

    def zeropower_via_newtonschulz5(self, x, steps):
        """``steps`` quintic Newton-Schulz iterations X <- aX + (bA + cA^2)X, A = X X^T,
        from X / ||X||_F: drives the singular values of X towards 1."""
        if x.ndim < 2:
            raise ValueError("Expected gradient or momentum to have at least 2 dimensions. "
                             f"Received: shape={x.shape}")
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:  # iterate on the wide form: A is then the smaller Gram matrix
            x = mx.swapaxes(x, -1, -2)
        x = x / (mx.sqrt(mx.sum(mx.square(x), axis=(-2, -1), keepdims=True)) + 1e-7)
        for _ in range(steps):
            gram = x @ mx.swapaxes(x, -1, -2)
            x = a * x + (b * gram + c * gram @ gram) @ x
        return mx.swapaxes(x, -1, -2) if tall else x

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}


CLASSES = (Muon,)
