"""``keras.utils.plot_model`` and ``model_to_dot``, at their ``utils`` path.

They live in ``engine/plot.py``: a model's notebook view (``_repr_svg_``) draws with
them, and the engine never imports ``utils``.
"""

from ..engine.plot import GraphvizNotFoundError, model_to_dot, model_to_svg, plot_model

__all__ = ["GraphvizNotFoundError", "model_to_dot", "model_to_svg", "plot_model"]
