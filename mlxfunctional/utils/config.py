"""``keras.utils.Config``: named values read and set as attributes or items, freezable."""

import difflib
import json


class Config:
    """A dict of named values that also reads and writes them as attributes.

    ``Config(learning_rate=0.1)``, then ``config.seed = 1`` or ``config["seed"] = 1``;
    ``config.learning_rate`` and ``config["learning_rate"]`` read them. After
    ``freeze()`` any change raises until ``unfreeze()``.

    Args:
        **values: the initial entries.
    """

    def __init__(self, **values):
        # Set through object.__setattr__: every other attribute name is an entry.
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        """True while changes are refused."""
        return self._frozen

    def freeze(self):
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        object.__setattr__(self, "_frozen", False)

    def _check_mutable(self):
        if self._frozen:
            raise ValueError("Cannot change this Config: it is frozen (call unfreeze() first).")

    def as_dict(self):
        """A shallow copy of the entries as a plain dict."""
        return dict(self._values)

    def to_json(self):
        return json.dumps(self._values)

    def keys(self):
        return self._values.keys()

    def values(self):
        return self._values.values()

    def items(self):
        return self._values.items()

    def get(self, key, default=None):
        return self._values.get(key, default)

    def pop(self, *args):
        self._check_mutable()
        return self._values.pop(*args)

    def update(self, *args, **kwargs):
        self._check_mutable()
        self._values.update(*args, **kwargs)

    def __setattr__(self, name, value):
        if hasattr(type(self), name):  # a method or property, never an entry
            raise AttributeError(f"Cannot set {name!r} on a Config: it is a method's name.")
        self[name] = value

    def __getattr__(self, name):
        # Only called when normal lookup fails, so methods are never shadowed.
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        message = f"Unknown attribute: {name!r}."
        close = difflib.get_close_matches(name, list(values), n=1, cutoff=0.7)
        if close:
            message += f" Did you mean {close[0]!r}?"
        raise AttributeError(message)

    def __setitem__(self, key, value):
        self._check_mutable()
        self._values[key] = value

    def __getitem__(self, key):
        return self._values[key]

    def __contains__(self, key):
        return key in self._values

    def __iter__(self):
        return iter(sorted(self._values))  # sorted keys, as Keras iterates them

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return f"<Config {self._values}>"
