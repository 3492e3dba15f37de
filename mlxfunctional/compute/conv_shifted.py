"""Convolution as one GEMM per kernel tap ("shifted GEMM"), for MLX's CPU backend.

MLX's CPU convolution builds an im2col copy (``taps`` times the input) for the
forward pass, a twice-as-large one for the input gradient, and computes the
gradient of a strided or dilated convolution with naive loops. Here instead:

* The zero-padded input is split into its ``prod(strides)`` phases
  (``x[p::s]``; a stride-1 input is its own single phase) and each phase is
  flattened to rows ``(batch * rows * cols, channels)``.
* Kernel tap ``a`` reads input position ``i*s + a*d = (i + a*d // s)*s + a*d % s``:
  phase ``a*d % s`` shifted by ``a*d // s`` -- in the flattened phase, a constant
  row offset. So output row ``r`` of the "wide" grid (every phase position, the
  ones past the output size cropped at the end) is
  ``sum_t phase_t[r + offset_t] @ W_t``: one GEMM per tap over a contiguous row
  slice, accumulated with ``mx.addmm``; nothing is copied per tap.
* The gradients are the same kind of sums (``mx.custom_function``): the input
  gradient ``dphase[q] = sum_t dY[q - offset_t] @ W_t^T`` and the kernel gradient
  ``dW_t = phase_t[offset_t:]^T @ dY``, each costing about one forward pass, for
  every stride and dilation.
* A transposed convolution is the input gradient of a strided one
  (:func:`transpose_conv`), so it gets the same GEMMs instead of MLX's naive loops.
* Where a tap's kernel-gradient GEMM is thin (few input channels), the taps' row
  slices are concatenated into one GEMM (:func:`kernel_grad_group`; measured not to
  pay for the forward, the input gradient, or wider inputs).
* One group per channel (depthwise) has no GEMM worth the name: ``conv_depthwise``
  runs it as a shifted multiply-add on the same :class:`PhaseLayout`.

:func:`choose` is the rule picking this, ``mx.conv_general``, or MLX's forward with
this gradient (:func:`hybrid`) per shape: fixed arithmetic on the shapes (measured
on the machine named there), never a timing run at call time.
"""

import math

import mlx.core as mx

FORMULATIONS = ("mlx", "shifted", "hybrid")
# "auto" follows choose(); the others force one formulation (tests, bench).
_POLICY = {"mode": "auto", "group": None}


def set_policy(mode):
    """Sets the formulation of later convolutions: ``"auto"`` or one of ``FORMULATIONS``.
    Returns the previous mode. A compiled step keeps the formulation it was traced with."""
    if mode != "auto" and mode not in FORMULATIONS:
        raise ValueError("conv policy must be 'auto', 'mlx', 'shifted' or 'hybrid'. "
                         f"Received: {mode!r}")
    previous, _POLICY["mode"] = _POLICY["mode"], mode
    return previous


def policy():
    """The mode :func:`set_policy` set last."""
    return _POLICY["mode"]


def set_kernel_grad_group(taps):
    """Forces how many taps share a kernel-gradient GEMM (None: :func:`kernel_grad_group`'s
    rule; tests and bench). Returns the previous setting."""
    if taps is not None and (not isinstance(taps, int) or taps < 1):
        raise ValueError(f"taps per GEMM must be None or a positive int. Received: {taps!r}")
    previous, _POLICY["group"] = _POLICY["group"], taps
    return previous


def choose(input_shape, weight_shape, strides, dilation, groups):
    """The formulation of one convolution: ``"mlx"`` (``mx.conv_general`` and MLX's
    gradient), ``"shifted"`` (shifted GEMMs both ways) or ``"hybrid"``
    (``mx.conv_general`` forward, shifted-GEMM gradient).

    Rule, measured with ``bench/conv.py`` on a 2-core AMD EPYC (Zen 5, OpenBLAS
    Haswell kernels), mlx 0.32.4 CPU:
    * MLX on the GPU, and for more than 4 groups (one small GEMM per group and tap
      would not pay; one group per channel never gets here: ``conv_utils.grouped_conv``
      sends it to ``conv_depthwise`` first);
    * dilated, or grouped: shifted (MLX runs both directions with naive loops);
    * strided: hybrid (MLX's strided forward is an im2col GEMM as fast as ours,
      its gradient naive loops at 20-100x the forward);
    * stride 1: MLX on maps under 256 positions (9x9x64: MLX's one large GEMM per
      direction is as fast or faster, 22 vs 26 ms forward+gradients); on larger maps
      shifted (30x30x32->64: 199 vs 331 ms CPU), except with fewer than 16 input
      channels (an image's first layer): a tap's GEMM is then too thin, and MLX's
      im2col wins the forward (32x32x3->32: 7 vs 40 ms) and the kernel gradient
      (compiled: 57 vs 80 ms), all a first layer needs.
    Figures are CPU seconds of the process (``--clock cpu``) on a busy machine.
    """
    mode = _POLICY["mode"]
    if mode != "auto":
        return mode
    if mx.default_device().type != mx.DeviceType.cpu or groups > 4:
        return "mlx"
    if max(dilation) > 1 or groups > 1:
        return "shifted"
    if max(strides) > 1:
        return "hybrid"
    if math.prod(input_shape[1:-1]) < 256:
        return "mlx"
    return "shifted" if input_shape[-1] >= 16 else "mlx"


def choose_transpose(input_shape, strides, dilation):
    """Whether a transposed convolution runs as the shifted input gradient
    (:func:`transpose_conv`): on the CPU when it is strided or dilated (MLX's own then
    runs naive loops) or its input map has at least 256 positions (as :func:`choose`)."""
    mode = _POLICY["mode"]
    if mode != "auto":
        return mode != "mlx"
    if mx.default_device().type != mx.DeviceType.cpu:
        return False
    return max(strides) > 1 or max(dilation) > 1 or math.prod(input_shape[1:-1]) >= 256


def hybrid(inputs, weight, strides, padding, dilation, groups=1):
    """``mx.conv_general`` forward with the shifted-GEMM gradient (:func:`conv`'s VJP).

    Only the cotangent paths of :func:`conv` are evaluated: its forward GEMMs feed no
    gradient, so MLX's lazy graph never runs them."""

    def theirs(x, w):
        return mx.conv_general(x, w, stride=strides, padding=padding,
                               kernel_dilation=dilation, groups=groups)

    @mx.custom_function
    def f(x, w):
        return theirs(x, w)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        _, grads = mx.vjp(lambda x, w: conv(x, w, strides, padding, dilation, groups),
                          list(primals), [cotangent])
        return tuple(grads)

    if groups > 1 and inputs.ndim == 5:  # MLX groups 1D/2D convolutions only
        return conv(inputs, weight, strides, padding, dilation, groups)
    return f(inputs, weight)


def conv(inputs, weight, strides, padding, dilation, groups=1):
    """``mx.conv_general(inputs, weight, stride, padding, kernel_dilation, groups)`` by
    shifted GEMMs. ``padding`` is ``([lo...], [hi...])``; weight ``(out, *k, in // groups)``."""
    if groups > 1:
        return mx.concatenate([
            conv(x, w, strides, padding, dilation)
            for x, w in zip(mx.split(inputs, groups, axis=-1), mx.split(weight, groups, axis=0))
        ], axis=-1)
    layout = PhaseLayout(inputs.shape, weight.shape[1:-1], strides, padding, dilation)
    group = kernel_grad_group(len(layout.taps), inputs.shape[-1])
    return layout.crop(_shifted_gemm(layout.split(inputs), weight, layout.taps, layout.length,
                                     group))


def kernel_grad_group(taps, channels):
    """How many taps share one GEMM in the kernel gradient: all of them when ``taps *
    channels <= 32`` (an image's first layer, e.g. 3x3 taps x 3 channels), else one.

    A tap's kernel gradient ``phase_t^T @ dY`` is a ``(channels, out)`` GEMM over every
    output row; with 3 channels it is thin. Concatenating the taps' row slices
    (``(rows, taps * channels)``, one copy) makes it one GEMM. Measured (CPU ms, medians,
    same process): a strided first layer (64x32x32x3->32, stride 2; :func:`choose` sends
    it to "hybrid") forward+gradients 5.3 against 8.9 per tap; at stride 1 the kernel
    gradient 10-13 against 13-14 per tap (MLX's own takes 9 there, so :func:`choose`
    keeps MLX for stride-1 first layers).
    Grouping wider inputs was measured not to pay (64x30x30x32->64, the toy ResNet's
    largest conv): a kernel row's 3 taps as one K=96 GEMM ran only ~1.3x the flop rate
    of three K=32 ones (16 vs 22 ms), and building its ``(rows, 96)`` copy cost ~9 ms,
    so the row-grouped forward took 88-120 ms against 40-68 ms per tap, the input
    gradient 250 vs 78 ms, the kernel gradient 137 vs 117 ms: one GEMM per tap stays.
    Nor does the copy-free grouping pay: taking output rows 3 apart, a kernel row's 3 taps
    read 3 consecutive input rows, a plain reshape ``(rows / 3, 96)`` of the flattened
    input; its GEMMs ran no faster per flop than per tap and interleaving the three row
    sets cost 8 ms more (forward 58 vs 26 ms; README, "Convolutions on the CPU").
    """
    if _POLICY["group"]:
        return min(_POLICY["group"], taps)
    return taps if taps * channels <= 32 else 1


class PhaseLayout:
    """The flattened phases of a zero-padded input and where each kernel tap reads them.

    ``split(x)`` is ``(prod(strides), rows, channels)``: the padded input's phases
    ``x[p::s]`` flattened to rows; tap ``t`` of the wide output row ``r`` reads row
    ``r + offset_t`` of phase ``p_t`` (``taps`` lists ``(p_t, offset_t)``), for ``r <
    length``. ``crop(y)`` turns a wide result ``(length, c)`` into ``(batch, *out, c)``.
    """

    def __init__(self, input_shape, kernel, strides, padding, dilation):
        spatial = input_shape[1:-1]
        spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        padded = [n + lo + hi for n, lo, hi in zip(spatial, *padding)]
        self.out = [(p - sp) // s + 1 for p, sp, s in zip(padded, spans, strides)]
        # Each phase holds ceil(padded / s) positions: the shifted reads of the last output
        # stay inside it, and the extra zeros past the input never reach a kept output.
        self.phase = [-(-p // s) for p, s in zip(padded, strides)]
        self.pads = [(0, 0)] + [(lo, ph * s - n - lo) for n, lo, ph, s in
                                zip(spatial, padding[0], self.phase, strides)] + [(0, 0)]
        self.strides, self.batch = list(strides), input_shape[0]
        self.rows = self.batch * math.prod(self.phase)
        self.taps = _taps(kernel, strides, dilation, self.phase)
        self.span_rows = max(off for _, off in self.taps)
        self.length = self.rows - self.span_rows

    def split(self, inputs):
        x = mx.pad(inputs, self.pads) if any(p != (0, 0) for p in self.pads) else inputs
        channels, rank = inputs.shape[-1], inputs.ndim - 2
        if max(self.strides) > 1:
            # (n, h', s_h, w', s_w, c) -> (s_h, s_w, n, h', w', c): phases first, contiguous.
            split = ([self.batch] + [v for ph, s in zip(self.phase, self.strides)
                                     for v in (ph, s)] + [channels])
            order = ([2 + 2 * i for i in range(rank)] + [0] + [1 + 2 * i for i in range(rank)]
                     + [2 * rank + 1])
            x = mx.transpose(mx.reshape(x, split), order)
        return mx.reshape(x, (math.prod(self.strides), self.rows, channels))

    def crop(self, y):
        y = mx.pad(y, [(0, self.span_rows), (0, 0)]).reshape(self.batch, *self.phase,
                                                              y.shape[-1])
        return y[(slice(None),) + tuple(slice(0, n) for n in self.out)]


def _taps(kernel, strides, dilation, phase):
    """``[(phase index, row offset)]`` of every kernel tap in ``weight``'s tap order."""
    row_stride = [math.prod(phase[i + 1:]) for i in range(len(phase))]
    taps = []
    for tap in _indices(kernel):
        index, offset = 0, 0
        for a, s, d, ph, rs in zip(tap, strides, dilation, phase, row_stride):
            index = index * s + (a * d) % s
            offset += (a * d) // s * rs
        taps.append((index, offset))
    return taps


def _indices(shape):
    if not shape:
        return [()]
    return [(i,) + rest for i in range(shape[0]) for rest in _indices(shape[1:])]


def _shifted_gemm(phases, weight, taps, length, group=1):
    """The wide output ``(length, out)``: ``sum_t phases[p_t, o_t:o_t + length] @ W_t``
    (taps static, so the custom function closes over them; only arrays are its arguments).
    The kernel gradient multiplies ``group`` taps' row slices at once."""

    @mx.custom_function
    def f(phases, weight):
        wt = _tap_matrices(weight)  # [(in, out)] per tap
        y = None
        for t, (p, off) in enumerate(taps):
            a = phases[p, off:off + length]
            y = a @ wt[t] if y is None else mx.addmm(y, a, wt[t])
        return y

    @f.vjp
    def f_vjp(primals, cotangent, output):
        phases, weight = primals
        dy = cotangent
        n_phases, rows, channels = phases.shape
        span = max(off for _, off in taps)
        wt = _tap_matrices(weight)
        # dphase[q] = sum over the phase's taps of dy[q - off] @ W_t^T: dy framed by `span`
        # zero rows in front and the uncovered rows behind, read at shifted row slices.
        framed = mx.pad(dy, [(span, rows - length), (0, 0)])
        grads = [None] * n_phases
        for t, (p, off) in enumerate(taps):
            a = framed[span - off:span - off + rows]
            w = mx.transpose(wt[t])
            grads[p] = a @ w if grads[p] is None else mx.addmm(grads[p], a, w)
        grads = [g if g is not None else mx.zeros((rows, channels), dtype=dy.dtype)
                 for g in grads]
        dphases = mx.stack(grads) if n_phases > 1 else grads[0][None]
        reads = [phases[p, off:off + length] for p, off in taps]
        if group == 1:  # dW_t = dy^T @ phase_t[o_t:], (out, in) per tap
            dy_t = mx.transpose(dy)
            dw = mx.stack([dy_t @ a for a in reads], axis=1)
        else:  # `group` taps per GEMM: (group * in, out) at once, then (out, taps, in)
            dw = [mx.transpose(mx.concatenate(reads[i:i + group], 1)) @ dy
                  for i in range(0, len(taps), group)]
            dw = mx.concatenate(dw, axis=0) if len(dw) > 1 else dw[0]
            dw = mx.transpose(mx.reshape(dw, (len(taps), channels, -1)), (2, 0, 1))
        return dphases, mx.reshape(dw, weight.shape)

    return f(phases, weight)


def _tap_matrices(weight):
    """``(out, *k, in)`` -> a list of ``(in, out)``: tap t's GEMM right-hand side.

    One split for all taps: indexing ``w[t]`` would be a gather (a copy and two graph
    nodes) per tap."""
    out, channels = weight.shape[0], weight.shape[-1]
    w = mx.transpose(mx.reshape(weight, (out, -1, channels)), (1, 2, 0))
    if w.shape[0] == 1:
        return [w[0]]
    return [mx.squeeze(t, 0) for t in mx.split(w, w.shape[0], axis=0)]


def transpose_conv(inputs, weight, strides, padding, dilation):
    """The transposed convolution of ``conv_utils.transpose_convolve`` (weight
    ``(filters, *k, in)``, ``padding`` its ``[(lo, hi)]`` pads of the stride-dilated
    input) as what it is: the input gradient of a strided convolution, here the shifted
    one (MLX's CPU backend runs strided transposed convolutions with naive loops).

    Tap ``k`` of output position ``q`` reads input ``(q + span - 1 - lo - k*d) / s``: the
    input gradient of a convolution padded ``span - 1 - lo`` in front, whose weight is
    ``weight`` with its channel axes swapped. Where ``hi`` exceeds ``span - 1`` the last
    outputs see no input and stay zero.
    """
    kernel = weight.shape[1:-1]
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    out = [(n - 1) * s + lo + hi - sp + 2 for n, s, (lo, hi), sp in
           zip(inputs.shape[1:-1], strides, padding, spans)]
    front = [sp - 1 - lo for sp, (lo, _) in zip(spans, padding)]
    back = [sp - 1 - hi for sp, (_, hi) in zip(spans, padding)]
    shape = ((inputs.shape[0],) + tuple(n + min(b, 0) for n, b in zip(out, back))
             + (weight.shape[0],))
    forward_weight = mx.swapaxes(weight, 0, -1)

    def forward(z):
        return conv(z, forward_weight, list(strides), (front, [max(b, 0) for b in back]),
                    list(dilation))

    _, (y,) = mx.vjp(forward, [mx.zeros(shape, dtype=inputs.dtype)], [inputs])
    if min(back) < 0:
        y = mx.pad(y, [(0, 0)] + [(0, max(-b, 0)) for b in back] + [(0, 0)])
    return y
