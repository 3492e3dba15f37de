"""``keras.utils.Progbar``, at its ``utils`` path.

It lives in the leaf ``mlxfunctional/progbar.py``: the callbacks, which the training
loop imports, print with it, and the engine never imports ``utils``.
"""

from ..progbar import Progbar, dynamic_display, format_eta, format_time, format_value, write

__all__ = ["Progbar", "dynamic_display", "format_eta", "format_time", "format_value", "write"]
