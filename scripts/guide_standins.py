"""The stand-ins ``guide_blocks.py`` runs in a guide's namespace before its first block.

Not imported: ``guide_blocks.PRELUDE`` is this file's text, executed in the namespace
the guide's blocks share (tf.data as numpy, tfds' cats_vs_dogs and the datasets a guide
would download as synthetic data of their shapes, optional torch/jax/matplotlib).
"""

import importlib as _importlib
import numpy as _np


class _GuideMissing:
    """A module that is not installed: any use raises ModuleNotFoundError naming it."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        raise ModuleNotFoundError(f"needs {self._name} ({self._name}.{attr}); not installed")


def _guide_optional(name):
    try:
        return _importlib.import_module(name)
    except ImportError:
        return _GuideMissing(name)


class _GuideNoPlot:
    """matplotlib.pyplot when it is not installed: every call returns another no-op."""

    def __getattr__(self, attr):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __iter__(self):
        return iter(())


def _guide_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return _GuideNoPlot()


def _guide_map(fn, s):
    if isinstance(s, dict):
        return {k: _guide_map(fn, v) for k, v in s.items()}
    if isinstance(s, (tuple, list)):
        return type(s)(_guide_map(fn, v) for v in s)
    return fn(s)


def _guide_stack(items):
    first = items[0]
    if isinstance(first, dict):
        return {k: _guide_stack([it[k] for it in items]) for k in first}
    if isinstance(first, (tuple, list)):
        return tuple(_guide_stack([it[i] for it in items]) for i in range(len(first)))
    return _np.stack([_np.asarray(it) for it in items])


class _GuideDataset:
    """The part of tf.data.Dataset the guides use, on numpy arrays. Re-iterable: each
    iteration starts over (as a tf.data.Dataset does), so fit() sees one pass per epoch."""

    def __init__(self, make, length):
        self._make = make          # () -> iterator over elements
        self._length = length      # number of elements, or None when unknown/infinite

    @classmethod
    def from_tensor_slices(cls, data):
        data = _guide_map(_np.asarray, data)
        leaves = []
        _guide_map(leaves.append, data)
        n = len(leaves[0])
        return cls(lambda: (_guide_map(lambda a: a[i], data) for i in range(n)), n)

    def __iter__(self):
        return iter(self._make())

    def __len__(self):
        if self._length is None:
            raise TypeError("the length of this dataset is unknown or infinite")
        return self._length

    def cardinality(self):
        return -1 if self._length is None else self._length

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        rng = _np.random.default_rng(seed)

        def make():
            items = list(self._make())
            return (items[i] for i in rng.permutation(len(items)))
        return _GuideDataset(make, self._length)

    def batch(self, batch_size, drop_remainder=False):
        def make():
            chunk = []
            for item in self._make():
                chunk.append(item)
                if len(chunk) == batch_size:
                    yield _guide_stack(chunk)
                    chunk = []
            if chunk and not drop_remainder:
                yield _guide_stack(chunk)
        n = self._length
        if n is not None:
            n = n // batch_size if drop_remainder else -(-n // batch_size)
        return _GuideDataset(make, n)

    def map(self, fn, num_parallel_calls=None):
        def call(item):
            out = fn(*item) if isinstance(item, tuple) else fn(item)
            return _guide_map(_np.asarray, out)
        return _GuideDataset(lambda: (call(it) for it in self._make()), self._length)

    def take(self, count):
        def make():
            for i, item in enumerate(self._make()):
                if i >= count:
                    return
                yield item
        n = count if self._length is None else min(count, self._length)
        return _GuideDataset(make, n)

    def skip(self, count):
        def make():
            for i, item in enumerate(self._make()):
                if i >= count:
                    yield item
        n = None if self._length is None else max(self._length - count, 0)
        return _GuideDataset(make, n)

    def repeat(self, count=None):
        def make():
            i = 0
            while count is None or i < count:
                yield from self._make()
                i += 1
        n = None if count is None or self._length is None else count * self._length
        return _GuideDataset(make, n)

    def prefetch(self, buffer_size):
        return self

    def cache(self, filename=""):
        return self


class _GuideTFData:
    Dataset = _GuideDataset
    AUTOTUNE = -1


class _GuideTF(_GuideMissing):
    """``tf`` with only ``tf.data``: anything else needs TensorFlow."""

    data = _GuideTFData

    def __init__(self):
        super().__init__("TensorFlow")


_guide_tf = _GuideTF()


class _GuideTFDS:
    """tensorflow_datasets.load for cats_vs_dogs only: synthetic images of random sizes."""

    def disable_progress_bar(self):
        pass

    def load(self, name, split=None, as_supervised=False, **kwargs):
        if name != "cats_vs_dogs":
            raise ModuleNotFoundError(f"needs tensorflow_datasets ({name!r})")
        splits = split if isinstance(split, (list, tuple)) else [split]
        sizes = [64, 16, 16, 16][:len(splits)]
        rng = _np.random.default_rng(0)
        out = []
        for n in sizes:
            images = [rng.integers(0, 256, (int(rng.integers(100, 200)),
                                             int(rng.integers(100, 200)), 3), dtype=_np.uint8)
                      for _ in range(n)]
            labels = rng.integers(0, 2, n)
            items = [(images[i], labels[i]) for i in range(n)]
            out.append(_GuideDataset(lambda items=items: iter(items), n))
        return out if isinstance(split, (list, tuple)) else out[0]


_guide_tfds = _GuideTFDS()


def _guide_synthetic_datasets():
    """cifar10 and mnist (unless cached) and imdb as stand-ins of the real shapes and dtypes."""
    import types
    import mlxfunctional
    from mlxfunctional.datasets import cifar10, download

    rng = _np.random.default_rng(0)
    real_cifar10 = cifar10.load_data

    def cifar10_load_data(*args, **kwargs):
        if (download.datasets_dir() / cifar10.FILE_NAME).exists():
            return real_cifar10(*args, **kwargs)
        print("[guide_blocks] cifar10: synthetic stand-in (2,000 / 500 images)")
        return ((rng.integers(0, 256, (2000, 32, 32, 3), dtype=_np.uint8),
                 rng.integers(0, 10, (2000, 1), dtype=_np.uint8)),
                (rng.integers(0, 256, (500, 32, 32, 3), dtype=_np.uint8),
                 rng.integers(0, 10, (500, 1), dtype=_np.uint8)))

    def imdb_load_data(num_words=None, **kwargs):
        print("[guide_blocks] imdb: synthetic stand-in (1,000 / 200 reviews)")
        vocab = num_words or 20000

        def reviews(n):
            x = _np.empty(n, dtype=object)
            for i in range(n):
                x[i] = list(rng.integers(1, vocab, int(rng.integers(20, 400))))
            return x, rng.integers(0, 2, n)
        return reviews(1000), reviews(200)

    from mlxfunctional.datasets import mnist
    real_mnist = mnist.load_data

    def mnist_load_data(*args, **kwargs):
        if (download.datasets_dir() / mnist.FILE_NAME).exists():
            return real_mnist(*args, **kwargs)
        print("[guide_blocks] mnist: the bundled 10,000 real images, repeated to 60,000 "
              "train / 10,000 test")
        x, y = mnist.load_sample()
        return (_np.tile(x, (6, 1, 1)), _np.tile(y, 6)), (x, y)

    cifar10.load_data = cifar10_load_data
    mnist.load_data = mnist_load_data
    if not hasattr(mlxfunctional.datasets, "imdb"):
        mlxfunctional.datasets.imdb = types.SimpleNamespace(load_data=imdb_load_data)


_guide_synthetic_datasets()
