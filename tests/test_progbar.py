"""utils.Progbar and callbacks.ProgbarLogger: the exact tf.keras 2 text, with a fake clock."""

import contextlib
import io

import numpy as np
import pytest

from mlxfunctional.callbacks import CallbackList, ProgbarLogger
from mlxfunctional.utils import progbar as progbar_module
from mlxfunctional.utils.progbar import Progbar

KERAS_LINE = (
    "750/750 [==============================] - 2s 3ms/step - loss: 0.3413 - accuracy: 0.9031"
)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(Progbar, "_time", staticmethod(c))
    return c


class TTY(io.StringIO):
    def isatty(self):
        return True


@contextlib.contextmanager
def as_tty():
    # Entered inside the test body: pytest's capture re-installs sys.stdout after
    # fixture setup, so a fixture could not do this.
    out = TTY()
    with contextlib.redirect_stdout(out):
        yield out


def run_epoch(bar, clock, steps=750, first=0.2, per_step=0.003, logs=None):
    """Step i (1-based) ends at first + per_step * (i - 1): the first step is slow."""
    logs = logs or {"loss": 0.3413, "accuracy": 0.9031}
    for i in range(1, steps + 1):
        clock.t = first + per_step * (i - 1)
        bar.update(i, list(logs.items()), finalize=False if i < steps else None)


# ---- reference formatting, written from Keras' documented output -------------------


def ref_value(v):
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def ref_time(t, unit="step"):
    if t >= 1 or t == 0:
        return f"{round(t)}s/{unit}"
    if t >= 1e-3:
        return f"{round(t * 1e3)}ms/{unit}"
    return f"{round(t * 1e6)}us/{unit}"


def ref_bar(current, target, width=30):
    done = int(width * current / target)
    if done == 0:
        inner = "." * width
    elif current < target:
        inner = "=" * (done - 1) + ">" + "." * (width - done)
    else:
        inner = "=" * width
    return f"{current:>{len(str(target))}}/{target} [{inner}]"


# ---- verbose=1, output not a terminal -----------------------------------------------


def test_non_tty_prints_only_the_final_keras_line(clock, capsys):
    bar = Progbar(750)
    run_epoch(bar, clock)
    out = capsys.readouterr().out
    assert out == KERAS_LINE + "\n"


def test_non_tty_no_partial_lines_even_with_zero_interval(clock, capsys):
    bar = Progbar(10, interval=0.0)
    run_epoch(bar, clock, steps=10, per_step=0.5)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\r" not in out and "ETA" not in out
    # 10 steps: the first ends at 0.2 s, the rest 0.5 s apart -> 4.7 s, 500 ms/step
    assert out == "10/10 [==============================] - 5s 500ms/step - loss: 0.3413 - accuracy: 0.9031\n"


def test_verbose_2_one_line(clock, capsys):
    bar = Progbar(750, verbose=2)
    run_epoch(bar, clock)
    out = capsys.readouterr().out
    assert out == "750/750 - 2s - 3ms/step - loss: 0.3413 - accuracy: 0.9031\n"


def test_verbose_0_silent(clock, capsys):
    with as_tty() as tty:
        bar = Progbar(750, verbose=0)
        run_epoch(bar, clock)
    assert tty.getvalue() == "" and capsys.readouterr().out == ""


# ---- verbose=1 on a terminal ---------------------------------------------------------


def test_tty_redraws_with_carriage_return_and_eta(clock):
    target, interval = 300, 0.05
    # The first step ends at 0.125 s, then one every 1/64 s (binary fractions keep
    # the arithmetic exact): a redraw every 4 steps at most every 0.05 s.
    times = [0.125 + (i - 1) / 64 for i in range(1, target + 1)]
    with as_tty() as tty:
        bar = Progbar(target, interval=interval)
        for i, t in enumerate(times, 1):
            clock.t = t
            bar.update(i, [("loss", 1.0 / i)])
    out = tty.getvalue()
    frames = out.split("\r")[1:]
    # Reference throttle: draw when t - last_draw >= interval (last_draw starts at 0),
    # and always at the end.
    drawn, last = [], 0.0
    for i, t in enumerate(times, 1):
        if t - last >= interval or i == target:
            drawn.append(i)
            last = t
    assert len(frames) == len(drawn)
    for i, frame in zip(drawn, frames):
        assert frame.startswith(ref_bar(i, target))
        text = frame.rstrip("\n").rstrip(" ")
        # Default Progbar: a per-step value is averaged over the steps so far, but the
        # finalizing update's value is shown as given (Keras 3).
        shown = np.mean(1.0 / np.arange(1, i + 1)) if i < target else 1.0 / i
        assert text.endswith(f" - loss: {ref_value(shown)}")
        if i < target:
            per_step = 1 / 64 if i > 1 else 0.125
            eta = per_step * (target - i)
            assert f" - ETA: {int(eta)}s - " in frame
        else:
            assert frame.endswith("\n")
            assert f" - {round(times[-1])}s {ref_time(1 / 64)} - " in frame
    assert out.count("\n") == 1
    assert 60 < len(frames) < 80  # throttled: far fewer redraws than steps


def test_tty_pads_shorter_line_over_longer_one(clock):
    with as_tty() as tty:
        bar = Progbar(3, interval=0)
        clock.t = 1.0
        bar.update(1, [("loss", 123.456789)])
        clock.t = 2.0
        bar.update(2, [("loss", 0.5)])
    first, second = tty.getvalue().split("\r")[1:]
    assert len(second) >= len(first)
    assert second.rstrip(" ") == second[: len(second.rstrip(" "))]


def test_bar_shapes():
    for target in (1, 7, 30, 100, 750):
        for current in sorted({0, 1, target // 3, target // 2, target - 1, target}):
            assert Progbar(target)._bar(current) == ref_bar(current, target)
    assert Progbar(None)._bar(5) == "      5/Unknown"


# ---- formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "v", [0.3413, 1.5, -2.25, 1e-5, -1e-5, 0.001, 0.0011, 0.0, 12345.678, 3e-9]
)
def test_value_format(v):
    assert progbar_module.format_value(v) == " " + ref_value(v)


def test_value_format_nan_and_arrays():
    assert progbar_module.format_value(float("nan")) == " nan"
    assert progbar_module.format_value(np.float32(0.5)) == " 0.5000"
    import mlx.core as mx

    assert progbar_module.format_value(mx.array(0.25)) == " 0.2500"


@pytest.mark.parametrize("t", [0, 2.0, 1.0, 0.999, 0.0031, 0.001, 0.0009, 2.5e-5])
def test_time_format(t):
    assert progbar_module.format_time(t, "step") == " " + ref_time(t)


@pytest.mark.parametrize(
    "eta, text", [(5.9, "5s"), (60, "60s"), (61, "1:01"), (3599, "59:59"), (3725, "1:02:05")]
)
def test_eta_format(eta, text):
    assert progbar_module.format_eta(eta) == text


def test_stateless_metrics_are_step_weighted_averages(clock, capsys):
    bar = Progbar(6, verbose=2)
    # (current, loss) pairs; updates jump by different numbers of steps
    updates = [(1, 4.0), (3, 1.0), (4, 2.0), (5, 0.5)]
    prev = 0
    num = den = 0.0
    for cur, v in updates:
        bar.update(cur, [("loss", v), ("lr", v * 10)])
        num += v * (cur - prev)
        den += cur - prev
        prev = cur
    bar_avg = bar._values["loss"][1]
    assert bar_avg[0] / bar_avg[1] == pytest.approx(num / den)
    bar.stateful_metrics = {"lr"}
    # Finalizing shows the given values (Keras 3) for both kinds.
    bar.update(6, [("loss", 0.25), ("lr", 7.0)])
    assert capsys.readouterr().out.endswith(" - loss: 0.2500 - lr: 7.0000\n")


def test_stateless_metrics_empty_means_show_as_given(clock):
    with as_tty() as tty:
        bar = Progbar(4, interval=0, stateless_metrics=())
        for i, v in enumerate([1.0, 2.0, 3.0], 1):
            clock.t = i
            bar.update(i, {"loss": v})
    assert tty.getvalue().rstrip(" ").endswith(" - loss: 3.0000")
    with pytest.raises(ValueError):
        Progbar(4, stateful_metrics=["a"], stateless_metrics=["b"])


def test_values_shown_as_given_are_converted_only_when_drawn(clock, capsys):
    reads = []

    class Lazy:
        def __float__(self):
            reads.append(1)
            return 0.5

    bar = Progbar(100, stateless_metrics=())
    for i in range(1, 100):
        bar.update(i, {"loss": Lazy()})
    assert reads == []  # not a terminal: nothing drawn before the end
    bar.update(100, {"loss": Lazy()})
    assert len(reads) == 1


def test_add_and_unknown_target(clock, capsys):
    bar = Progbar(None, verbose=2)
    bar.add(3, [("loss", 1.0)])
    bar.add(2, [("loss", 2.0)])
    assert capsys.readouterr().out == ""
    assert bar._seen_so_far == 5


# ---- ProgbarLogger through a CallbackList --------------------------------------------


class Model:
    stop_training = False


def fit_like(cb, epochs, steps, clock, val=True, steps_seen=None):
    cb.on_train_begin()
    for epoch in range(epochs):
        clock.t = 0.0
        cb.on_epoch_begin(epoch)
        for b in range(steps_seen or steps):
            clock.t = 0.2 + 0.003 * b
            cb.on_train_batch_begin(b)
            cb.on_train_batch_end(b, {"loss": 0.3413, "accuracy": 0.9031})
        logs = {"loss": 0.3413, "accuracy": 0.9031}
        if val:  # a validation pass inside fit prints nothing
            cb.on_test_begin()
            for b in range(5):
                cb.on_test_batch_end(b, {"loss": 9.0})
            cb.on_test_end({"loss": 0.1139, "accuracy": 0.967})
            logs.update(val_loss=0.1139, val_accuracy=0.967)
        cb.on_epoch_end(epoch, logs)
    cb.on_train_end(logs)


def test_fit_output_verbose_1(clock, capsys):
    cbs = CallbackList(model=Model(), verbose=1, epochs=2, steps=750)
    fit_like(cbs, 2, 750, clock)
    line = KERAS_LINE + " - val_loss: 0.1139 - val_accuracy: 0.9670\n"
    assert capsys.readouterr().out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line


def test_fit_output_verbose_2_and_single_epoch(clock, capsys):
    cbs = CallbackList(model=Model(), verbose=2, epochs=1, steps=750)
    assert not cbs.has_batch_hooks("train")  # nothing to do per batch
    fit_like(cbs, 1, 750, clock, val=False)
    # No "Epoch 1/1" line for one epoch; without batch updates the time per step
    # includes the first step: 2.447 s / 750.
    assert capsys.readouterr().out == (
        "750/750 - 2s - 3ms/step - loss: 0.3413 - accuracy: 0.9031\n"
    )


def test_fit_output_verbose_0(clock, capsys):
    with as_tty() as tty:
        cbs = CallbackList(model=Model(), verbose=0, epochs=2, steps=750)
        assert not any(isinstance(c, ProgbarLogger) for c in cbs.callbacks)
        fit_like(cbs, 2, 750, clock)
    assert tty.getvalue() == "" and capsys.readouterr().out == ""


def test_unknown_steps_use_what_was_seen(clock, capsys):
    cbs = CallbackList(model=Model(), verbose=1, epochs=2, steps=None)
    fit_like(cbs, 2, 12, clock, val=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("12/12 [==============================] - 0s 3ms/step")
    assert lines[3].startswith("12/12 [")


def test_evaluate_and_predict_show_their_own_bar(clock, capsys):
    cbs = CallbackList(model=Model(), verbose=1, epochs=1, steps=4)
    cbs.on_test_begin()
    for b in range(4):
        clock.t = 0.01 * (b + 1)
        cbs.on_test_batch_end(b, {"loss": 0.5, "accuracy": 0.75})
    cbs.on_test_end({"loss": 0.5, "accuracy": 0.75})
    assert capsys.readouterr().out == (
        "4/4 [==============================] - 0s 10ms/step - loss: 0.5000 - accuracy: 0.7500\n"
    )
    clock.t = 0.0
    cbs = CallbackList(model=Model(), verbose=1, epochs=1, steps=4)
    cbs.on_predict_begin()
    for b in range(4):
        clock.t = 0.002 * (b + 1)
        cbs.on_predict_batch_end(b, {"outputs": np.zeros(3)})
    cbs.on_predict_end()
    assert capsys.readouterr().out == "4/4 [==============================] - 0s 2ms/step\n"


def test_count_mode():
    ProgbarLogger(count_mode="steps")
    with pytest.raises(ValueError):
        ProgbarLogger(count_mode="samples")
