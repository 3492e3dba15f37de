"""``print_summary``, at its ``utils`` path.

It lives in ``engine/summary.py``: ``Model.summary()`` prints with it, and the engine
never imports ``utils``.
"""

from ..engine.summary import print_summary, summary_lines

__all__ = ["print_summary", "summary_lines"]
