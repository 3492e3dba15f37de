"""Data-parallel fit() on 2 processes against 1 process, same global batch, same machine.

For the guide's MNIST MLP (global batch 64 and 256) and toy ResNet (global
batch 64, fewer samples) it times ``model.fit`` epochs in:

  - ``1 proc``: a plain process (``python bench/distributed.py --worker ...``),
    the baseline, run in the same invocation;
  - ``2 proc``: the same worker under ``mlx.launch -n 2 --python <python>``
    (ring backend over loopback): ``fit`` trains data-parallel, each rank on
    its half of every global batch, gradients combined inside the compiled step.
    Twice: with mlxfunctional's default under mlx.launch (ranks on one machine
    share its cores: 2 processes x 1 OpenBLAS thread here; ``$OPENBLAS_NUM_THREADS``
    wins if set), and with ``OPENBLAS_NUM_THREADS=<cores>`` per process
    (OpenBLAS's own default: a thread per core in every process);
  - ``no combine``: in the same launched job, each rank then runs
    ``fit(distribute=False)`` on its own half of the data with half the batch,
    both ranks at once: the compute of the data-parallel step without its
    all-reduce and without waiting for the other rank (the best data
    parallelism could do on this machine).

Each worker builds a fresh model from the same seed and runs one ``fit`` of
1 + ``epochs`` epochs; a callback times each epoch (``on_epoch_begin`` ->
``on_epoch_end``, including the end-of-epoch metric sync) and the first one,
which traces and JIT-compiles the step, is dropped; a run's figure is its median
epoch (a data-parallel epoch: the slower rank's). In the 2-process job rank 0
also times ``mx.distributed.all_sum`` of a flat float32 buffer the size of the
model's trainable parameters (what ``nn.average_gradients`` sends each step:
the gradients concatenated into one buffer), median over ``--allreduce-reps``
calls, and of a 4-byte buffer (the latency). Runs alternate (1 proc, 2 proc,
2 proc with a thread per core, 1 proc, ...) so machine noise hits all alike; the medians over
``--repeats`` runs and the ratios to 1 proc are printed, then the share of the
CPUs that other processes used, or the hypervisor stole, during the run (either
skews the figures: rerun on an idle machine).

What to expect on a 2-core machine: little or no speed-up, and the bench says
by how much it is less. A single process already uses both cores for the matrix
products (OpenBLAS threads); two processes with OpenBLAS's default would put 4
BLAS threads on 2 cores, and OpenBLAS threads spin while they wait. MLX's ring
backend also polls its sockets, so an all-reduce needs a free core on both
ranks: with every core busy it waits for the scheduler (milliseconds, however
small the buffer). The bench exists to measure these overheads and to be rerun
where there are more cores or hosts.

    python bench/distributed.py [--repeats 3] [--quick]
"""

import argparse
import ctypes
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (name, model, global batch, samples, timed epochs): default, then --quick.
# Sized for a 2-core machine, where a 2-process MLP step takes 10-60 ms (not 1 ms).
WORKLOADS = (
    ("mnist_mlp", "mlp", 64, 3_200, 2),
    ("mnist_mlp", "mlp", 256, 6_400, 2),
    ("toy_resnet", "resnet", 64, 128, 1),
)
QUICK = (
    ("mnist_mlp", "mlp", 64, 1_600, 2),
    ("mnist_mlp", "mlp", 256, 3_200, 2),
    ("toy_resnet", "resnet", 64, 64, 1),
)
LAUNCH_TIMEOUT = 300  # seconds for one worker job


# -- worker (one process; several under mlx.launch) -------------------------------
def worker(args):
    import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
    import mlx.core as mx
    import numpy as np
    from mlx.utils import tree_flatten

    from mlxfunctional import callbacks, distribute

    rank, size = distribute.rank(), distribute.size()
    out = Path(args.out)

    # The guide's models, as bench/fit_overhead.py builds them (this folder is on sys.path).
    from fit_overhead import mnist_mlp as mlp, toy_resnet as resnet

    build = {"mlp": mlp, "resnet": resnet}[args.model]
    shape = (784,) if args.model == "mlp" else (32, 32, 3)
    rng = np.random.default_rng(0)  # the same data on every rank
    x = mx.array(rng.random((args.samples,) + shape, dtype=np.float32))
    y = mx.array(rng.integers(0, 10, args.samples).astype(np.int32))

    class EpochTimer(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    def blas_threads():
        from mlxfunctional import _blas

        if not _blas.loaded:
            return None
        try:
            return int(ctypes.CDLL(_blas.loaded).openblas_get_num_threads())
        except (OSError, AttributeError):
            return None

    def fresh():
        keras.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                      loss="sparse_categorical_crossentropy")
        return model

    def timed_fit(model, xs, ys, batch_size, distribute_arg):
        # One fit call: the first epoch warms up (trace + JIT compile) and is dropped.
        timer = EpochTimer()
        model.fit(xs, ys, batch_size=batch_size, epochs=1 + args.epochs, verbose=0,
                  callbacks=[timer], distribute=distribute_arg)
        return statistics.median(timer.times[1:])

    result = {"rank": rank, "size": size, "blas_threads": blas_threads()}
    model = fresh()
    result["params"] = int(sum(v.size for _, v in tree_flatten(model.trainable_parameters())))
    result["epoch_s"] = timed_fit(model, x, y, args.batch_size, None)  # data-parallel if launched

    if size > 1:
        # The same step without the all-reduce: every rank trains alone on its half
        # of the data with half the batch, both ranks at the same time.
        lo, hi = args.samples * rank // size, args.samples * (rank + 1) // size
        mx.eval(mx.distributed.all_sum(mx.ones((1,))))  # start both ranks together
        result["local_epoch_s"] = timed_fit(fresh(), x[lo:hi], y[lo:hi],
                                            args.batch_size // size, False)

        def time_all_sum(n, reps):
            buf = mx.ones((n,), dtype=mx.float32)
            mx.eval(mx.distributed.all_sum(buf))  # warm-up (and lines both ranks up)
            times = []
            for _ in range(reps):
                start = time.perf_counter()
                mx.eval(mx.distributed.all_sum(buf))
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        result["allreduce_s"] = time_all_sum(result["params"], args.allreduce_reps)
        result["latency_s"] = time_all_sum(1, args.allreduce_reps)
    (out / f"rank{rank}.json").write_text(json.dumps(result))


# -- driver -------------------------------------------------------------------------
def free_port_pair():
    """A port p with p and p+1 free on loopback (the ring backend listens on both)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    return 32323  # mlx.launch's default


def run_worker(procs, blas_threads, model, batch, samples, epochs, reps):
    """Runs one worker job (``procs`` processes); returns the ranks' reports."""
    args = ["--worker", "--model", model, "--batch-size", str(batch), "--samples",
            str(samples), "--epochs", str(epochs), "--allreduce-reps", str(reps)]
    # A worker that hangs (a rank stuck in a collective) exits after 60 s.
    env = {"MLXF_DISTRIBUTED_TIMEOUT": "60", **os.environ}
    if blas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    with tempfile.TemporaryDirectory(prefix="mlxf-bench-dist-") as out:
        script = [os.path.abspath(__file__), *args, "--out", out]
        if procs == 1:
            cmd = [sys.executable, *script]
        else:
            cmd = [*launcher(), "-n", str(procs), "--python", sys.executable,
                   "--starting-port", str(free_port_pair()), *script]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=LAUNCH_TIMEOUT)
        files = sorted(Path(out).glob("rank*.json"))
        if done.returncode != 0 or len(files) != procs:
            raise SystemExit(f"worker failed ({' '.join(cmd)}), exit {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return [json.loads(f.read_text()) for f in files]


# (label, processes, OPENBLAS_NUM_THREADS for every process; None: inherited)
CONFIGS = (
    ("1 proc", 1, None),
    ("2 proc", 2, None),
    ("2 proc", 2, os.cpu_count() or 1),
)


def bench(name, model, batch, samples, epochs, repeats, reps):
    runs = {i: [] for i in range(len(CONFIGS))}
    for _ in range(repeats):  # alternating: 1 proc, 2 proc, 2 proc a thread per core, 1 proc...
        for i, (_, procs, threads) in enumerate(CONFIGS):
            runs[i].append(run_worker(procs, threads, model, batch, samples, epochs, reps))
    params = runs[0][0][0]["params"]

    def rate(reports, key):
        # A data-parallel epoch ends when every rank has finished it: the slowest rank.
        return statistics.median(samples / max(r[key] for r in ranks) for ranks in reports)

    def ms(key, reports):
        return statistics.median(ranks[0][key] for ranks in reports) * 1e3

    base = rate(runs[0], "epoch_s")
    print(f"{name}, global batch {batch}, {samples:,} samples, {epochs} timed epoch(s) after "
          f"1 warm-up: samples/s, median of {repeats}")
    rows = []
    for i, (label, procs, _) in enumerate(CONFIGS):
        threads = runs[i][0][0]["blas_threads"]
        each = " each" if procs > 1 else ""
        head = f"{label} (BLAS {threads} thread{'s' if threads != 1 else ''}{each})"
        r = rate(runs[i], "epoch_s")
        ratio = f"   x{r / base:.3f}" if i else ""
        print(f"  {head:<34} {r:>9,.0f}   {1e3 * batch / r:8.2f} ms/step{ratio}")
        if procs == 1:
            continue
        local = rate(runs[i], "local_epoch_s")
        print(f"    {'no combine (batch ' + str(batch // procs) + ' per rank)':<32} "
              f"{local:>9,.0f}   {1e3 * batch / local:8.2f} ms/step   x{local / base:.3f}")
        allreduce, latency = ms("allreduce_s", runs[i]), ms("latency_s", runs[i])
        cost = 1e3 * batch / r - 1e3 * batch / local
        print(f"    all-reduce {allreduce:.2f} ms ({params:,} float32 = "
              f"{params * 4 / 1e6:.3f} MB), 4-byte all_sum {latency:.2f} ms; "
              f"step minus no-combine step {cost:+.2f} ms")
        rows.append((label, threads, r, allreduce))
    return name, batch, params, base, rows


def cpu_times():
    """(steal, busy, total) CPU seconds of all CPUs since boot (/proc/stat), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    fields += [0] * (8 - len(fields))
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(fields)
    steal, idle = fields[7], fields[3] + fields[4]
    return steal / tick, (total - idle - steal) / tick, total / tick


def own_cpu():
    """CPU seconds used by this process and its finished children (the workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def launcher():
    """The ``mlx.launch`` console script next to this Python, else on PATH."""
    exe = Path(sys.executable).parent / "mlx.launch"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mlx.launch")
    if found:
        return [found]
    raise SystemExit("mlx.launch not found next to this Python or on PATH (pip install mlx).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 1)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer samples and epochs, 1 repeat: a smoke run")
    parser.add_argument("--allreduce-reps", type=int, default=None,
                        help="all_sum calls timed per job (default 100, --quick 30)")
    # worker side
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
    import mlx.core as mx
    from mlxfunctional import _blas

    repeats = args.repeats or (1 if args.quick else 3)
    reps = args.allreduce_reps or (30 if args.quick else 100)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, mlx {mx.__version__}, device {mx.default_device()}")
    print(f"BLAS: {_blas.describe()}; mlxfunctional {getattr(keras, '__version__', '?')}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"2 proc = {' '.join(Path(p).name for p in launcher())} -n 2 --python <this python> "
          f"(ring backend, loopback); {repeats} alternating runs per workload")
    start, cpu_start, own_start = time.perf_counter(), cpu_times(), own_cpu()
    results = [bench(*w, repeats, reps) for w in (QUICK if args.quick else WORKLOADS)]
    print("summary (samples/s; ratio = 2 proc / 1 proc; all-red. = ms of one all_sum of "
          "the parameters; BLAS n = OpenBLAS threads per process):")
    print(f"  {'workload':<22} {'params MB':>9} {'1 proc':>9}   "
          + "   ".join(f"{f'2 proc, BLAS {t}':>15} {'ratio':>6} {'all-red.':>8}"
                       for _, t, _, _ in results[0][4]))
    for name, batch, params, base, rows in results:
        cells = "   ".join(f"{r:>15,.0f} {r / base:>6.3f} {ar:>8.2f}" for _, _, r, ar in rows)
        print(f"  {name + ' b' + str(batch):<22} {params * 4 / 1e6:>9.3f} {base:>9,.0f}   {cells}")
    cpu_end, own = cpu_times(), own_cpu() - own_start
    notes = ""
    if cpu_start and cpu_end and cpu_end[2] > cpu_start[2]:
        span = cpu_end[2] - cpu_start[2]
        others = max(0.0, cpu_end[1] - cpu_start[1] - own)
        notes = (f"; CPU time of other processes during the run: {100 * others / span:.0f}% "
                 f"of the machine, stolen by the hypervisor: "
                 f"{100 * (cpu_end[0] - cpu_start[0]) / span:.1f}%")
    print(f"total {time.perf_counter() - start:.0f} s{notes}")


if __name__ == "__main__":
    main()
