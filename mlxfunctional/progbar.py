"""``keras.utils.Progbar``: the progress bar ``fit``/``evaluate``/``predict`` print.

The text is tf.keras 2's::

    750/750 [==============================] - 2s 3ms/step - loss: 0.3413 - accuracy: 0.9031

while running ``[=====>........................]`` with `` - ETA: 12s``, and with
``verbose=2`` one line per epoch ``750/750 - 2s - 3ms/step - loss: 0.3413``.

On a terminal (or in Jupyter) ``verbose=1`` redraws one line with ``\\r`` at most
every ``interval`` seconds. When stdout is not a terminal (logs, CI, pipes) it prints
only the final line, because every redraw would otherwise become a line of its own.
With ``keras.config.disable_interactive_logging()`` every line goes to the
``mlxfunctional`` Python logger at INFO level instead, without redraws.
"""

import logging
import math
import os
import sys
import time

from . import global_state


def write(text, stream="stdout"):
    """Writes to ``sys.<stream>`` and flushes, or, with interactive logging disabled,
    logs the text's lines. The stream is looked up at each write so redirections (and
    pytest's capsys) apply."""
    if not global_state.interactive_logging:
        for line in text.replace("\r", "\n").splitlines():
            if line.strip():
                logging.getLogger("mlxfunctional").info(line.rstrip())
        return
    out = getattr(sys, stream)
    out.write(text)
    out.flush()


def dynamic_display(stream="stdout"):
    """Whether ``sys.<stream>`` can redraw a line in place (a terminal or a notebook;
    never when interactive logging is disabled: a log keeps every line)."""
    if not global_state.interactive_logging:
        return False
    isatty = getattr(getattr(sys, stream), "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        tty = False
    return tty or "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def format_value(value):
    """A metric as Keras prints it: ``0.3413``, or ``1.2346e-05`` when ``|v| <= 1e-3``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return f" {value}"
    if abs(value) > 1e-3:
        return f" {value:.4f}"
    return f" {value:.4e}"


def format_time(seconds, unit_name):
    """`` 3ms/step``: whole seconds at >= 1 s (or exactly 0), else ms, else us."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def format_eta(seconds):
    """``1:02:03`` above an hour, ``2:03`` above a minute, else ``12s``."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, ``None`` if unknown.
        width: width of the bar in characters (30).
        verbose: 0 silent, 1 a redrawn bar, 2 one line when finished.
        interval: minimum seconds between two redraws (``verbose=1`` on a terminal).
        stateful_metrics: names whose values are shown as given. Every other name is
            averaged over the steps it was reported for:
            ``avg = sum(v_i * n_i) / sum(n_i)`` with ``n_i`` the steps since the
            previous update. Do not pass together with ``stateless_metrics``.
        stateless_metrics: the other way round (Keras 3): only these names are
            averaged, all others shown as given. ``stateless_metrics=()`` shows
            everything as given, which is what ``ProgbarLogger`` uses because the
            trainer already reports running averages.
        unit_name: name of a step in the time-per-unit field (``"step"``).
        stream: ``"stdout"`` (training) or ``"stderr"`` (downloads, so they never
            mix with what a script prints).

    Values shown as given are stored untouched and converted with ``float()`` only
    when a line is drawn, so lazily evaluated scalars are read once per redraw.
    """

    # The clock; tests replace it (``Progbar._time = staticmethod(fake)``).
    _time = staticmethod(time.time)

    def __init__(self, target, width=30, verbose=1, interval=0.05,
                 stateful_metrics=None, stateless_metrics=None, unit_name="step", stream="stdout"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Pass only one of `stateful_metrics` and `stateless_metrics`."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateless_metrics = (
            set(stateless_metrics) if stateless_metrics is not None else None
        )
        self.stateful_metrics = (
            set(stateful_metrics or ()) if self.stateless_metrics is None else None
        )
        self.stream = stream
        self._dynamic_display = dynamic_display(stream)
        self._seen_so_far = 0
        # name -> ("avg", [sum, count]) or ("last", value)
        self._values = {}
        self._values_order = []
        self._start = self._time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _is_averaged(self, name):
        if self.stateless_metrics is not None:
            return name in self.stateless_metrics
        return name not in self.stateful_metrics

    def update(self, current, values=None, finalize=None):
        """Updates the bar.

        Args:
            current: index of the current step (1-based count of steps done).
            values: ``(name, value)`` pairs (or a dict): the value for the last step.
            finalize: whether this is the last update; ``None`` means
                ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values is not None:
            items = values.items() if hasattr(values, "items") else values
            for k, v in items:
                if k not in self._values:
                    self._values_order.append(k)
                if self._is_averaged(k) and not finalize:
                    # Weight by the steps since the previous update (at least one).
                    n = max(current - self._seen_so_far, 1)
                    kind, acc = self._values.get(k, ("avg", [0.0, 0]))
                    if kind != "avg":
                        acc = [0.0, 0]
                    acc[0] += float(v) * n
                    acc[1] += n
                    self._values[k] = ("avg", acc)
                else:
                    self._values[k] = ("last", v)
        self._seen_so_far = current

        now = self._time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if not finalize and (
                not self._dynamic_display or now - self._last_update < self.interval
            ):
                return
            self._draw(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize:
            self._write(self._line_verbose2(current, now, time_per_unit) + "\n")
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    def _metrics_text(self):
        text = ""
        for k in self._values_order:
            kind, v = self._values[k]
            if kind == "avg":
                v = v[0] / max(1, v[1])
            text += f" - {k}:" + format_value(v)
        return text

    def _bar(self, current):
        if self.target is None or self.target <= 0:
            return "%7d/Unknown" % current
        digits = int(math.log10(self.target)) + 1
        bar = f"%{digits}d/%d [" % (current, self.target)
        filled = int(self.width * min(current / self.target, 1.0))
        if filled > 0:
            bar += "=" * (filled - 1) + (">" if current < self.target else "=")
        return bar + "." * (self.width - filled) + "]"

    def _draw(self, current, now, time_per_unit, finalize):
        line = self._bar(current)
        if self.target is None or finalize:
            line += f" - {now - self._start:.0f}s" + format_time(
                time_per_unit, self.unit_name
            )
        else:
            line += " - ETA: " + format_eta(time_per_unit * (self.target - current))
        line += self._metrics_text()
        width = len(line)
        if self._dynamic_display:
            # Pad so a shorter line fully covers the previous one.
            line = "\r" + line + " " * max(self._prev_total_width - width, 0)
        self._prev_total_width = width
        self._write(line + ("\n" if finalize else ""))

    def _line_verbose2(self, current, now, time_per_unit):
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"%{digits}d/%d" % (current, self.target)
        else:
            count = f"{current}/Unknown"
        return (
            f"{count} - {now - self._start:.0f}s -"
            + format_time(time_per_unit, self.unit_name)
            + self._metrics_text()
        )

    def _write(self, text):
        write(text, self.stream)

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the first step (often a compilation)."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
