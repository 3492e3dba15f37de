"""The guide's MNIST MLP trained data-parallel: the same script on 1 or N processes.

    python examples/distributed_mnist.py --epochs 1                  # one process
    mlx.launch -n 2 --python $(which python) examples/distributed_mnist.py --sample

Under ``mlx.launch`` (MLX's distributed runtime: ring over TCP on one or several
machines, MPI, NCCL...) ``fit``/``evaluate`` run data-parallel with no code
change: ``--batch-size`` is the *global* batch, each process computes the
gradient of its slice of every batch, the gradients are combined inside the
compiled step, and every process applies the same update (rank 0's initial
weights are broadcast when ``fit`` starts). Metrics are summed over processes, so
the logs are those of the whole data. Only rank 0 prints the progress bar and
writes files (ModelCheckpoint, CSVLogger, into ``--out``, by default a folder in
the system's temporary directory): the script reports which process wrote what.
The result is then evaluated on the test images (data-parallel too).

Learning rate: kept at ``--lr`` whatever the number of processes. Because the
global batch is fixed by ``--batch-size`` and the combined gradient is the
gradient of the mean loss over that whole batch, N processes make exactly the
update one process makes with the same batch (up to the order of float sums; the
shuffle order differs): the same learning rate is right, and the run scales out
without retuning. The
linear scaling rule (lr = base_lr * N, with a few epochs of warm-up; Goyal et
al. 2017) belongs to the other way of scaling, where each process keeps its own
batch and the global batch grows N-fold: then pass ``--batch-size 128*N
--lr <base_lr*N>`` yourself (with adaptive optimizers such as RMSprop a smaller,
square-root scaling is often the safer guess).

Data: ``mlxfunctional.datasets.mnist.load_data()`` (60,000 training images,
downloaded once); offline it falls back to the bundled sample (the real
10,000-image test set, split 8,000/2,000), and ``--sample`` selects that sample
directly. Under ``mlx.launch``, rank 0 loads first (and downloads, if needed)
while the others wait, then they load from the cache or take the same fallback:
every process must train on the same data.
"""

import os
import sys
import tempfile
from pathlib import Path

import mlxfunctional as keras  # first: it loads the fast BLAS before mlx.core
import mlx.core as mx
from mlxfunctional import callbacks, distribute
from mlxfunctional.datasets import mnist

from _common import parser
from mnist_mlp import build_model


def say(*args, **kwargs):
    """print() on rank 0 only (every process runs this script)."""
    if distribute.is_chief():
        print(*args, **kwargs, flush=True)


def all_gather_ints(values):
    """Every process's list of ints (same length on all), as a list of lists."""
    if distribute.size() == 1:
        return [list(values)]
    gathered = mx.distributed.all_gather(mx.array([list(values)], dtype=mx.int32))
    return gathered.tolist()


def load_data(sample):
    """The same ``(x_train, y_train), (x_test, y_test)`` on every process."""
    lead = distribute.size() > 1 and not sample
    if lead and not distribute.is_chief():
        # Wait for rank 0 (which may be downloading), then take its choice:
        # the full set (now in the cache) or the bundled sample.
        sample = bool(all_gather_ints([0])[0][0])
    data = mnist.load_data(sample=sample)
    if lead and distribute.is_chief():
        all_gather_ints([len(data[0][0]) == mnist.SAMPLE_TRAIN])  # release the others
    (x_train, y_train), (x_test, y_test) = data
    sizes = all_gather_ints([len(x_train), len(x_test)])
    if any(s != sizes[0] for s in sizes):
        raise SystemExit(f"The processes loaded different data (train, test sizes per rank: "
                         f"{sizes}); put mnist.npz in every machine's cache or pass --sample.")
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    return (x_train, y_train.astype("int32")), (x_test, y_test.astype("int32"))


class WriteLog:
    """The files under ``folder`` that this process created or replaced (audit hook)."""

    def __init__(self, folder):
        self.folder = os.path.abspath(folder)
        self.paths = set()
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else \
                bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        elif event in ("os.rename", "os.replace"):
            path, writing = args[1], True
        else:
            return
        if writing and isinstance(path, (str, bytes, os.PathLike)):
            path = os.path.abspath(os.fsdecode(path))
            if path.startswith(self.folder + os.sep):
                self.paths.add(path)

    def files(self):
        """The written files that still exist (temporary files renamed away are not)."""
        return sorted(os.path.relpath(p, self.folder) for p in self.paths if os.path.isfile(p))


def main(argv=None):
    p = parser(__doc__, epochs=3, batch_size=128, plot=False)
    p.add_argument("--lr", type=float, default=1e-3,
                   help="RMSprop learning rate, whatever the number of processes (default 1e-3)")
    p.add_argument("--sample", action="store_true",
                   help="train on the bundled MNIST sample, without trying the download")
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "mlxf_distributed_mnist"),
                   help="folder for the checkpoint and the CSV log, written by rank 0 "
                        "(default %(default)s)")
    args = p.parse_args(argv)

    rank, size = distribute.rank(), distribute.size()
    keras.utils.set_random_seed(args.seed)  # rank 0's weights are broadcast by fit()
    out = Path(args.out)
    writes = WriteLog(out)
    if distribute.is_chief():
        out.mkdir(parents=True, exist_ok=True)  # (CSVLogger does not create folders)

    (x_train, y_train), (x_test, y_test) = load_data(args.sample)
    if size > 1:
        say(f"Data-parallel over {size} processes: global batch {args.batch_size}, "
            f"{args.batch_size // size} rows per process per step.")
    else:
        say(f"One process (start it with mlx.launch -n 2 --python {sys.executable} ... "
            "to train data-parallel).")
    say(f"{len(x_train):,} training images (20% held out for validation), "
        f"{len(x_test):,} test images; learning rate {args.lr:g}.")

    model = build_model()
    if distribute.is_chief():
        model.summary()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(args.lr),
                  metrics=["accuracy"])
    checkpoint = out / "mnist_best.mlxf"
    log = out / "training_log.csv"
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.2,
              callbacks=[callbacks.ModelCheckpoint(checkpoint, monitor="val_accuracy",
                                                   save_best_only=True),
                         callbacks.CSVLogger(log)])
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    say("Test loss:", test_loss)
    say("Test accuracy:", test_accuracy)

    # Which process wrote what: every rank counts its own writes under --out.
    mine = writes.files()
    counts = [row[0] for row in all_gather_ints([len(mine)])]
    say(f"Rank 0 wrote {len(mine)} file(s) in {out}: {', '.join(mine) or 'none'}")
    for other in range(1, size):
        say(f"Rank {other} wrote {counts[other]} file(s)"
            + (" (only rank 0 writes: distribute.is_chief())" if counts[other] == 0 else ""))
    if rank == 0 and checkpoint.exists():
        best = keras.models.load_model(checkpoint)
        best.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        accuracy = best.evaluate(x_test, y_test, batch_size=1024, verbose=0,
                                 distribute=False)[1]
        say(f"Best checkpoint ({checkpoint.name}, highest val_accuracy) test accuracy: "
            f"{accuracy:.4f}")


if __name__ == "__main__":
    main()
