"""One process of the data-parallel tests (tests/test_distributed.py).

    python distributed_worker.py SCENARIO OUTDIR

Run alone it is the single-process reference; under ``mlx.launch`` (or with
MLX_RANK/MLX_HOSTFILE set) each rank writes ``OUTDIR/rank<r>.json`` and
``OUTDIR/weights_rank<r>.npz``. Scenarios:

- ``train``: fit (validation, ModelCheckpoint, CSVLogger), evaluate, predict,
  save: the results, the logged history and every file this process opened
  for writing (an audit hook) go to the report.
- ``shuffle``: fit with shuffling, a progress bar and a checkpoint.
- ``batchnorm``: a model with BatchNormalization; rank 1 alone asks to stop
  after the first epoch, then (a second fit) after its third batch.
- ``reductions``: losses that are not a mean over rows (``"sum"``,
  ``"mean_with_sample_weight"``, ``ignore_class``) and an activity regularizer,
  with uneven shards, then batches smaller than the group: the updates must
  still be those of one process.
- ``callbacks``: a per-batch callback on rank 0 only, and a
  ``predict(distribute=False)`` after every epoch on every rank.
- ``resume``: fit with shuffling and Dropout and a checkpoint per epoch, then
  load the epoch-1 checkpoint and continue it with ``initial_epoch=1``.
- ``backup``: the same with ``BackupAndRestore(save_freq=4)``, stopped after
  global batch 10 (its backup: epoch 1, 1 batch done), then a new model (other
  seeds) fit with the same callback continues it mid-epoch.
- ``die``: rank 1 kills itself (SIGKILL) at its 4th training step.
- ``hang``: rank 1 freezes (SIGSTOP) at its 4th training step, as a process on a
  machine that went to sleep would: its sockets stay open and its own watchdog
  cannot run, so only rank 0's watchdog can end the job.
- ``raise``: a callback raises a ValueError on rank 1 at its 4th training step.
"""

import json
import os
import signal
import sys
import zipfile

import numpy as np

import mlxfunctional as keras
from mlxfunctional import callbacks, distribute, layers

SCENARIO, OUT = sys.argv[1], sys.argv[2]
RANK = distribute.rank()
written = []


def audit(event, args):
    # Files under OUT opened for writing (open() modes w/a/x/+, os.open flags), and
    # renames onto a target (atomic saves), by this process.
    if event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else \
            bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        target = path
    elif event in ("os.rename", "os.replace"):
        writing, target = True, args[1]
    else:
        return
    if writing and isinstance(target, (str, bytes, os.PathLike)):
        target = os.fsdecode(target)
        if os.path.abspath(target).startswith(os.path.abspath(OUT)):
            written.append(os.path.relpath(os.path.abspath(target), OUT))


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((203, 12)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int32") + (x[:, 3] > 1).astype("int32")
    return x, y


def model():
    # Each rank seeds differently: fit() must broadcast rank 0's weights.
    keras.utils.set_random_seed(1234 + 7 * RANK)
    inputs = keras.Input((12,), name="features")
    h = layers.Dense(32, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(3, activation="softmax", name="classes")(h)
    m = keras.Model(inputs, outputs, name="mlp")
    m.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


class BatchLosses(callbacks.Callback):
    """Records the loss logged after every batch (summed over ranks when distributed)."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


class Trouble(callbacks.Callback):
    """Rank 1 dies, freezes or raises at its 4th step."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if RANK == 1 and self.steps == 4 and SCENARIO == "raise":
            raise ValueError("label 7 is out of range for 3 classes")
        if RANK == 1 and self.steps == 4:
            # A hang inside Python would be ended by this rank's own watchdog, which
            # races rank 0's (whichever fires first decides rank 0's exit code).
            os.kill(os.getpid(), signal.SIGKILL if SCENARIO == "die" else signal.SIGSTOP)


def _local_rows(m):
    # The loss tracker's own (unreduced) count: rows this process saw since the last reset.
    return float(m.compiled_metrics.loss_tracker.variables["count"].item())


def report(m, **extra):
    np.savez(os.path.join(OUT, f"weights_rank{RANK}.npz"), *m.get_weights())
    with open(os.path.join(OUT, f"rank{RANK}.json"), "w") as f:
        json.dump({"rank": RANK, "size": distribute.size(), **extra}, f)


def main():
    x, y = data()
    m = model()
    if SCENARIO == "shuffle":
        # A progress bar on rank 0 only, and a checkpoint that acts per epoch: no
        # per-batch collectives (a rank-dependent choice there would deadlock).
        m.fit(x, y, batch_size=32, epochs=2, shuffle=True, verbose=1,
              callbacks=[callbacks.ModelCheckpoint(os.path.join(OUT, "ckpt.mlxf"))])
        report(m, local_rows=_local_rows(m))
        return
    if SCENARIO == "batchnorm":
        keras.utils.set_random_seed(5 + RANK)
        inputs = keras.Input((12,))
        h = layers.BatchNormalization()(layers.Dense(16)(inputs))
        bn = keras.Model(inputs, layers.Dense(3, activation="softmax")(h))
        bn.compile("sgd", "sparse_categorical_crossentropy")
        stop = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(
            bn, "stop_training", RANK == 1))
        history = bn.fit(x, y, batch_size=40, epochs=3, verbose=0, callbacks=[stop])
        batches = []

        def stop_at_third(batch, logs):
            batches.append(batch)
            bn.stop_training = RANK == 1 and batch == 2

        bn.fit(x, y, batch_size=20, epochs=2, verbose=0,
               callbacks=[callbacks.LambdaCallback(on_train_batch_end=stop_at_third)])
        report(bn, epochs=len(history.history["loss"]), batches=batches)
        return
    if SCENARIO == "reductions":
        keras.utils.set_random_seed(99 + RANK)
        inputs = keras.Input((12,), name="features")
        h = layers.Dense(16, activation="tanh", activity_regularizer="l2", name="hidden")(inputs)
        m = keras.Model(inputs, {"label": layers.Dense(3, name="label")(h),
                                 "value": layers.Dense(1, name="value")(h)})
        m.compile(keras.optimizers.SGD(0.05),
                  loss={"label": keras.losses.SparseCategoricalCrossentropy(
                            from_logits=True, ignore_class=2, reduction="mean_with_sample_weight"),
                        "value": keras.losses.MeanAbsoluteError(reduction="sum")},
                  loss_weights={"label": 1.0, "value": 0.01})
        # Rows labelled 2 (ignored) and the weights are unevenly spread over the shards.
        y = np.where(np.arange(len(x)) < 60, 2, y).astype("int32")
        sw = np.linspace(0.1, 2.0, len(x)).astype("float32")
        targets = {"label": y, "value": x[:, :1]}
        history = m.fit(x, targets, sample_weight=sw, batch_size=40, epochs=2, shuffle=False,
                        verbose=0).history
        # Batches with fewer rows than ranks (the last one's single row; then all of them)
        # are trained on too, as one process would.
        for key, values in m.fit(x, targets, sample_weight=sw, batch_size=101, epochs=1,
                                 shuffle=False, verbose=0).history.items():
            history[key] += values
        small = {k: v[:5] for k, v in targets.items()}
        for key, values in m.fit(x[:5], small, batch_size=1, epochs=1, shuffle=False,
                                 verbose=0).history.items():
            history[key] += values
        report(m, history=history)
        return
    if SCENARIO == "callbacks":
        batch_losses = BatchLosses()
        local = callbacks.LambdaCallback(  # a local prediction must not end data parallelism
            on_epoch_end=lambda epoch, logs: m.predict(x[:4], verbose=0, distribute=False))
        cbs = [local] + ([batch_losses] if RANK == 0 else [])  # the Horovod habit
        history = m.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0, callbacks=cbs)
        report(m, history=history.history, batch_losses=batch_losses.losses)
        return
    if SCENARIO == "resume":
        # Shuffling and Dropout (each rank draws its own masks): continued from its
        # checkpoint of epoch 1, the run ends where the uninterrupted one did.
        keras.utils.set_random_seed(11 + RANK)
        inputs = keras.Input((12,))
        h = layers.Dropout(0.3)(layers.Dense(16, activation="relu")(inputs))
        m = keras.Model(inputs, layers.Dense(3, activation="softmax")(h))
        m.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        ckpt = callbacks.ModelCheckpoint(os.path.join(OUT, "ckpt-{epoch}.mlxf"))
        m.fit(x, y, batch_size=32, epochs=3, callbacks=[ckpt], verbose=0)
        path = os.path.join(OUT, "ckpt-1.mlxf")
        with zipfile.ZipFile(path) as zf:
            stored = json.loads(zf.read("metadata.json"))["resume"]
        keras.utils.set_random_seed(1000 + RANK)  # (undone by the resume)
        resumed = keras.models.load_model(path)
        resumed.fit(x, y, batch_size=32, epochs=3, initial_epoch=1, verbose=0)
        report(resumed, stored=stored, exact=all(
            np.array_equal(a, b) for a, b in zip(m.get_weights(), resumed.get_weights())))
        return
    if SCENARIO == "backup":
        def build(seed):
            keras.backend.clear_session()  # (the same layer names each time)
            keras.utils.set_random_seed(seed)
            inputs = keras.Input((12,))
            h = layers.Dropout(0.3)(layers.Dense(16, activation="relu")(inputs))
            b = keras.Model(inputs, layers.Dense(3, activation="softmax")(h))
            b.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
            return b

        reference = build(11 + RANK)
        reference.fit(x, y, batch_size=32, epochs=3, verbose=0)
        folder = os.path.join(OUT, "backup")
        stop = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: setattr(
            interrupted, "stop_training", interrupted.optimizer.iterations >= 10))
        interrupted = build(11 + RANK)
        interrupted.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[
            callbacks.BackupAndRestore(folder, save_freq=4, delete_checkpoint=False), stop])
        with zipfile.ZipFile(os.path.join(folder, "latest.mlxf")) as zf:
            stored = json.loads(zf.read("metadata.json"))["resume"]
        resumed = build(1000 + RANK)
        resumed.fit(x, y, batch_size=32, epochs=3, verbose=0,
                    callbacks=[callbacks.BackupAndRestore(folder, save_freq=4)])
        report(resumed, stored=stored, exact=all(
            np.array_equal(a, b) for a, b in zip(reference.get_weights(),
                                                 resumed.get_weights())))
        return
    if SCENARIO in ("die", "hang", "raise"):
        try:
            m.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[Trouble()])
        except distribute.DistributedError as e:
            with open(os.path.join(OUT, f"error_rank{RANK}.txt"), "w") as f:
                f.write(str(e))
            raise
        report(m)
        return
    sys.addaudithook(audit)
    files = os.path.join(OUT, "files")
    os.makedirs(files, exist_ok=True)
    batch_losses = BatchLosses()
    cbs = [callbacks.ModelCheckpoint(os.path.join(files, "ckpt.mlxf")),
           callbacks.CSVLogger(os.path.join(files, "log.csv")), batch_losses]
    # 162 training rows in batches of 32: the last global batch (2 rows) gives each
    # of two ranks one row; validation takes the last 41 rows.
    history = m.fit(x, y, batch_size=32, epochs=3, shuffle=False, validation_split=0.2,
                    callbacks=cbs, verbose=0)
    local_rows = _local_rows(m)  # of the last validation
    evaluation = m.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    predictions = m.predict(x[:45], batch_size=20, verbose=0)
    m.save(os.path.join(files, "final.mlxf"))
    m.save_weights(os.path.join(files, "final.weights.npz"))
    mine = sorted(set(written))  # before the report adds its own files
    report(m, history=history.history, local_val_rows=local_rows,
           batch_losses=batch_losses.losses, evaluation=evaluation,
           predictions=predictions.tolist(), written=mine)


if __name__ == "__main__":
    main()
