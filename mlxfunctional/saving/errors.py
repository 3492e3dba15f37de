"""The one exception for a model or weights file that cannot be loaded.

Every reader in ``saving/`` collects what is wrong with a file into a list
and raises once, so a user sees all missing weights, mismatched shapes and
broken members together instead of fixing them one error at a time.
"""


class ModelFileError(ValueError):
    """A model or weights file that is corrupt, incomplete or does not fit the model.

    Subclasses ``ValueError`` (so ``except ValueError`` keeps working).

    Attributes:
        path: the file (or directory) that was being read.
        problems: the problems found, one short sentence each.
    """

    def __init__(self, path, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.path = str(path)
        self.problems = list(problems)
        n = len(self.problems)
        head = f"Cannot load {self.path!r}: {n} problem{'s' if n != 1 else ''} found:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))


class Problems:
    """A list of problems for one file; ``raise_if_any()`` raises them together."""

    def __init__(self, path):
        self.path = path
        self.items = []

    def add(self, message):
        self.items.append(message)

    def extend(self, messages):
        self.items.extend(messages)

    def __bool__(self):
        return bool(self.items)

    def raise_if_any(self):
        if self.items:
            raise ModelFileError(self.path, self.items)

    def fail(self, message=None):
        """Raises now, with ``message`` added to what was already found."""
        if message:
            self.items.append(message)
        raise ModelFileError(self.path, self.items)
