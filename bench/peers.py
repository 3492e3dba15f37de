"""mlxfunctional against its peers on this machine, each run in its own process.

    python bench/peers.py [--reps 3] [--quick] [--impls ...] [--workloads ...]

Workloads (``peers_workers.py``): the guide's MNIST MLP trained (batch 64) and
predicting (batch 1024, numpy in), its toy ResNet trained (batch 64), VGG19's
forward pass (batch 8, 224x224). Implementations: mlxfunctional's ``fit`` /
``predict`` (``mlxf``); the same Keras code on Keras 3 + JAX (``keras_jax``);
PyTorch eager with 2 threads (``torch``); a hand-written ``mx.compile``d MLX
loop with OpenBLAS (``mlx``). mlxfunctional and the MLX loop run on this
Python; Keras, JAX and PyTorch come from a throwaway venv that this script
builds (``--venv``, default /tmp/mlxf-peers-venv) with ``pip install keras
jax[cpu] torch==2.13.0``. They are never dependencies of the package.

Runs alternate: every repetition runs every (workload, implementation) once,
in a fresh process, before the next repetition starts, so a change in the
machine's load hits all implementations alike. For each run the script reads
``/proc/stat`` before and after and records how many cores the whole machine
kept busy, minus the run's own CPU time: the cores *other* work took. The
table gives medians and [min-max] over the repetitions, the ratio of
mlxfunctional to the best peer and to the MLX loop, and the most other work
seen during the cell's runs. A cell whose runs saw other work is noisy:
read its ratio as such.

Each run times a few windows of equal work (``peers_workers.WINDOWS``). Two
tables are printed: the rate over all windows of each run, and the rate of each
run's fastest window (other work only slows a window down, so it is the steadier
estimate on a shared machine; between runs of one minute the guest's speed has
been seen to change by 2x).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "peers_workers.py")
ROOT = os.path.dirname(HERE)
IMPLS = ("mlxf", "keras_jax", "torch", "mlx")
PEERS = ("keras_jax", "torch", "mlx")  # the columns mlxfunctional is compared with
FROM_VENV = ("keras_jax", "torch")
WORKLOADS = ("mlp_train", "mlp_predict", "resnet_train", "vgg19_forward")
LABELS = {"mlxf": "mlxfunctional", "keras_jax": "Keras 3 + JAX",
          "torch": "PyTorch eager", "mlx": "MLX loop (compiled)"}
# torch 2.13.0 is the CPU build on this machine's disk: a bare `torch` would
# fetch a CUDA build of several GB.
PEER_PACKAGES = ("keras", "jax[cpu]", "torch==2.13.0")


def ensure_venv(venv):
    """The venv's python, creating the venv and installing the peers if needed."""
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import jax, keras, torch"]
    env = dict(os.environ, KERAS_BACKEND="jax")  # (keras imports TensorFlow without it)
    if os.path.exists(python) and subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return python
    print(f"[peers] building {venv}: pip install {' '.join(PEER_PACKAGES)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    subprocess.run(probe, env=env, check=True)
    return python


def cpu_ticks():
    """(busy, total) jiffies of the whole machine, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def run_one(python, impl, workload, quick, timeout):
    """One worker process; its record, with the machine's other work during it."""
    cmd = [python, WORKER, impl, workload] + (["--quick"] if quick else [])
    env = dict(os.environ, PYTHONHASHSEED="0")
    if impl == "mlxf":
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    busy0, total0 = cpu_ticks()
    own0, t0 = os.times(), time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        rc, out = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        rc, out = "timeout", ""
    wall = time.perf_counter() - t0
    own1, (busy1, total1) = os.times(), cpu_ticks()
    ncpu = os.cpu_count() or 1
    machine = ncpu * (busy1 - busy0) / max(total1 - total0, 1)
    child = ((own1.children_user - own0.children_user)
             + (own1.children_system - own0.children_system)) / wall
    record = {"impl": impl, "workload": workload, "rc": rc, "wall_s": round(wall, 2),
              "machine_busy_cores": round(machine, 2), "own_cores": round(child, 2),
              "other_cores": round(max(machine - child, 0.0), 2)}
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if rc == 0 and lines:
        record.update(json.loads(lines[-1][len("RESULT "):]))
    else:
        record["error"] = out.strip().splitlines()[-3:] if out.strip() else [str(rc)]
    return record


def fmt(rate):
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.2f}"


def table(records, impls, workloads, key="per_s"):
    """The markdown table of the rates ``key`` (``per_s``: all windows of a run;
    ``best_per_s``: its fastest window): median [min-max] per cell, ratios, other work."""
    cols = [i for i in IMPLS if i in impls]
    head = ["workload"] + [LABELS[i] for i in cols]
    if "mlxf" in cols:
        head += ["mlxf / best peer", "mlxf / MLX loop"]
    head.append("other cores busy (max)")
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        cells, medians, others = [w], {}, []
        for i in cols:
            got = [r for r in records if r["impl"] == i and r["workload"] == w]
            rates = [r[key] for r in got if key in r]
            others += [r["other_cores"] for r in got]
            if rates:
                medians[i] = statistics.median(rates)
                cells.append(f"{fmt(medians[i])} [{fmt(min(rates))}-{fmt(max(rates))}]"
                             + ("" if len(rates) == len(got) else f" ({len(got) - len(rates)} failed)"))
            else:
                cells.append("failed" if got else "-")
        if "mlxf" in cols:
            peers = {i: m for i, m in medians.items() if i in PEERS}
            mine = medians.get("mlxf")
            if mine and peers:
                best = max(peers, key=peers.get)
                cells.append(f"{mine / peers[best]:.2f}x ({LABELS[best]})")
            else:
                cells.append("-")
            cells.append(f"{mine / medians['mlx']:.2f}x" if mine and "mlx" in medians else "-")
        cells.append(f"{max(others):.2f}" if others else "-")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small counts: proves it runs")
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    p.add_argument("--venv", default="/tmp/mlxf-peers-venv")
    p.add_argument("--timeout", type=int, default=900, help="per run, seconds")
    p.add_argument("--out", default=None, help="also append every record here (JSON lines)")
    args = p.parse_args()

    peer_python = ensure_venv(args.venv) if set(args.impls) & set(FROM_VENV) else None
    print(f"[peers] {os.cpu_count()} cores; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '<unset>')} (left as is); "
          f"{'quick counts' if args.quick else 'full counts'}; {args.reps} reps", flush=True)
    records, start = [], time.perf_counter()
    for rep in range(1, args.reps + 1):
        for w in args.workloads:
            for impl in args.impls:
                python = peer_python if impl in FROM_VENV else sys.executable
                r = run_one(python, impl, w, args.quick, args.timeout)
                r["rep"] = rep
                records.append(r)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(r) + "\n")
                rate = fmt(r["per_s"]) if "per_s" in r else f"FAILED {r.get('error')}"
                print(f"[peers] rep {rep} {w:14s} {impl:10s} {rate:>12s}  other cores "
                      f"{r['other_cores']:.2f}  ({time.perf_counter() - start:.0f}s)", flush=True)
    print()
    for key, what in (("per_s", "all timed windows of each run"),
                      ("best_per_s", "the fastest window of each run")):
        print(f"\nsamples/s (VGG19: images/s) over {what}: median [min-max] of "
              f"{args.reps} runs, each in its own process")
        print(table(records, args.impls, args.workloads, key))
    return 0 if all("per_s" in r for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
