"""``TensorBoard``: event files of the training curves and weight histograms.

The files are written with tensorboardX (``pip install "mlxfunctional[tensorboard]"``),
a small writer that needs neither TensorFlow nor PyTorch; TensorBoard reads them
as it reads Keras' own. The layout and the tag names are Keras 3's:

- ``log_dir/train``: ``epoch_<metric>`` at step ``epoch`` (0-based), including
  ``epoch_learning_rate``; ``batch_<metric>`` at the 1-based global batch number
  when ``update_freq`` asks for batches; ``<weight path>/histogram`` (and
  ``/image``) every ``histogram_freq`` epochs; the model's JSON config as the
  ``keras`` summary of TensorBoard's conceptual-graph plugin (``write_graph``).
- ``log_dir/validation``: ``epoch_<metric>`` of the ``val_*`` logs (prefix
  removed) and ``evaluation_<metric>_vs_iterations`` at the optimizer's step
  count after each validation pass or ``evaluate``.
"""

import os
import time
import warnings

import numpy as np

from .callback import Callback


def _summary_writer(logdir):
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(
            "The TensorBoard callback writes its event files with tensorboardX, which is "
            "not installed. Install the optional extra: "
            "pip install \"mlxfunctional[tensorboard]\" (or: pip install tensorboardX)."
        ) from e
    return SummaryWriter(logdir=logdir, flush_secs=10)


def _require_tensorboardx():
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        _summary_writer(None)  # raises the ImportError that names the extra


class TensorBoard(Callback):
    """Logs what ``fit`` and ``evaluate`` report, for TensorBoard to draw.

    Args:
        log_dir: the folder of the run (``"logs"``); ``train/`` and ``validation/``
            are made under it.
        histogram_freq: every how many epochs the weights' histograms are written
            (0: never).
        write_graph: write the model's configuration for TensorBoard's graph tab
            (a conceptual graph of layers; MLX has no op graph to show).
        write_images: with ``histogram_freq``, also write each weight as an image
            (Keras' rule: biases as one row, kernels as a matrix, 3-D kernels as a
            stack).
        write_steps_per_second: add ``epoch_steps_per_second`` (optimizer steps per
            second of the epoch) and ``batch_steps_per_second``.
        update_freq: ``"epoch"``, ``"batch"`` (every batch) or an integer N (every
            N-th global batch): when the ``batch_*`` scalars are written.
        profile_batch: accepted for Keras' signature and ignored (with a warning when
            not 0): there is no MLX profiler to start.
        embeddings_freq, embeddings_metadata: accepted and ignored (with a warning
            when set): the projector needs TensorFlow checkpoints.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True,
                 write_images=False, write_steps_per_second=False, update_freq="epoch",
                 profile_batch=0, embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        _require_tensorboardx()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (type(update_freq) is not int or update_freq < 1):
            raise ValueError("update_freq must be 'epoch', 'batch' or a positive integer; "
                             f"received {update_freq!r}")
        if type(histogram_freq) is not int or histogram_freq < 0:
            raise ValueError(f"histogram_freq must be an integer >= 0; received "
                             f"{histogram_freq!r}")
        if profile_batch not in (0, None, "0", (0, 0)):
            warnings.warn("TensorBoard(profile_batch=...) is ignored: MLX has no profiler "
                          "for TensorBoard to show.", stacklevel=2)
        if embeddings_freq or embeddings_metadata:
            warnings.warn("TensorBoard(embeddings_freq=..., embeddings_metadata=...) is "
                          "ignored: the projector reads TensorFlow checkpoints.", stacklevel=2)
        self.log_dir = str(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start = None
        self._batch_start = None
        self._in_fit = False
        self._epoch_start_iterations = 0

    # -- writers -------------------------------------------------------------------
    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = _summary_writer(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()
        if self.write_graph:
            self._write_model_config()

    def _write_model_config(self):
        # TensorBoard's graph plugin draws a Keras model from its JSON config stored as
        # a string tensor under the plugin name "graph_keras_model".
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto

        try:
            text = self.model.to_json()
        except Exception as e:  # a subclassed model: no config to draw
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {e}", stacklevel=3)
            return
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name="graph_keras_model", content=b"1"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode("utf-8")])
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        self._writer("train").file_writer.add_summary(summary, global_step=0)

    # -- hooks ---------------------------------------------------------------------
    def _implements_batch_hooks(self, mode):
        return mode == "train" and (self.update_freq != "epoch" or
                                    self.write_steps_per_second)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.monotonic()
        self._epoch_start_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second and self._batch_start is not None:
            seconds = time.monotonic() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / max(seconds, 1e-9), step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs=None):
        iterations = self._iterations()
        if iterations is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value),
                                  iterations)
        if not self._in_fit:
            # A plain evaluate() has no on_train_end: close now. (tensorboardX's flush
            # does not wait for its writer thread; only close does.)
            self._close_writers()
        else:
            writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, dict(logs or {}))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    # -- what is written -------------------------------------------------------------
    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        step = getattr(optimizer, "state", {}).get("step") if optimizer is not None else None
        return None if step is None else int(step.item())

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        if self.write_steps_per_second and self._epoch_start is not None:
            steps = (self._iterations() or 0) - (self._epoch_start_iterations or 0)
            train["steps_per_second"] = steps / max(time.monotonic() - self._epoch_start, 1e-9)
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            writer = self._writer(which)
            for name, value in values.items():
                if np.ndim(value) == 0:
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
            writer.flush()

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                value = np.asarray(weight.numpy(), dtype=np.float64)
                writer.add_histogram(f"{name}/histogram", value, epoch)
                if self.write_images:
                    image = _weight_image(value)
                    if image is not None:
                        writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")
        writer.flush()


def _weight_image(w):
    """A weight as a batch of one-channel images ``(N, H, W, 1)`` (Keras' rule), or
    None for shapes it does not draw."""
    w = np.squeeze(w)
    if w.ndim == 1:  # a bias: one row
        return w.reshape(1, 1, w.shape[0], 1)
    if w.ndim == 2:  # a dense kernel, laid out wide
        if w.shape[0] > w.shape[1]:
            w = w.T
        return w.reshape(1, w.shape[0], w.shape[1], 1)
    if w.ndim == 3:  # a 1-D conv kernel (k, in, out): one image per output channel
        w = np.transpose(w, (2, 0, 1))
        return w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
    if w.ndim == 4 and w.shape[-1] in (1, 3, 4):  # (as Keras: read as images directly)
        return w
    return None
