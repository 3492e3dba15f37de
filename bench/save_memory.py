"""Peak memory of saving and loading a big model, as a multiple of the model's size.

Each measurement runs in a fresh subprocess:
  1. build a stack of ``Dense(4096)`` layers holding ``--mib`` MiB of float32 weights and
     evaluate them (for ``load_model``: build nothing, the file comes from step 0);
  2. free MLX's buffer cache and reset the kernel's peak-RSS mark
     (``/proc/self/clear_refs``), then read the resident size: the baseline;
  3. run one operation (``model.save``, ``save_weights``, ``load_weights``, ``load_model``);
  4. the peak resident size (``VmHWM``: ``ru_maxrss`` without the parent's mark from
     before exec) - baseline, divided by the model's bytes.

For ``load_model`` the baseline holds no model, so its ratio includes the loaded model
itself (1.0 at the least); the other ratios are the memory the operation needs on top
of a model that already exists.

``--baseline-tree DIR`` runs the same measurements with another checkout of the package
(e.g. a worktree of an older commit) first on ``sys.path``, and prints both ratios.

    python bench/save_memory.py [--mib 1024] [--baseline-tree /path/to/old/checkout]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTH = 4096
OPS = ("save .mlxf", "save dir/", "save_weights .npz", "save_weights .safetensors",
       "load_weights .mlxf", "load_weights .npz", "load_weights .safetensors",
       "load_model .mlxf", "load_model dir/")
# What each operation reads; written once per tree by the "prepare" step.
FILES = {"load_weights .mlxf": "m.mlxf", "load_weights .npz": "w.npz",
         "load_weights .safetensors": "w.safetensors", "load_model .mlxf": "m.mlxf",
         "load_model dir/": "m/"}


def _child(tree, op, mib, workdir):
    sys.path.insert(0, tree)
    import gc

    import mlxfunctional as keras  # (before mlx.core: the fast BLAS)
    import mlx.core as mx

    def build():
        inputs = keras.Input((WIDTH,))
        x = inputs
        for _ in range(max(1, round(mib * 2**20 / (WIDTH * WIDTH * 4)))):
            x = keras.layers.Dense(WIDTH)(x)
        model = keras.Model(inputs, x)
        mx.eval(model.parameters())
        return model

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def reset_peak():
        gc.collect()
        mx.clear_cache()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    path = lambda name: os.path.join(workdir, name)  # noqa: E731
    if op == "prepare":
        model = build()
        model.save(path("m.mlxf"))
        model.save(path("m/"))
        model.save_weights(path("w.npz"))
        model.save_weights(path("w.safetensors"))
        return {}
    model = None if op.startswith("load_model") else build()
    nbytes = sum(v.nbytes for _, v in _leaves(model.parameters())) if model else None
    reset_peak()
    base = rss()
    kind, _, target = op.partition(" ")
    if kind == "save":
        model.save(path("out.mlxf" if target == ".mlxf" else "out/"))
    elif kind == "save_weights":
        model.save_weights(path("out" + target))
    elif kind == "load_weights":
        model.load_weights(path(FILES[op]))
    else:
        model = keras.models.load_model(path(FILES[op]))
        mx.eval(model.parameters())
        nbytes = sum(v.nbytes for _, v in _leaves(model.parameters()))
    peak = _high_water()
    return {"ratio": (peak - base) / nbytes, "model_mib": nbytes / 2**20}


def _high_water():
    # The kernel's peak-RSS mark (VmHWM, reset by clear_refs); ru_maxrss is the same
    # number except that it also keeps the parent's mark from before exec.
    import resource

    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _leaves(tree):
    from mlx.utils import tree_flatten

    return tree_flatten(tree)


def _run(tree, op, mib, workdir):
    # Large blocks are mmapped and unmapped when freed, so the resident size shows
    # what is in use, not what glibc keeps for reuse.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(1 << 16))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", op,
                          "--tree", tree, "--mib", str(mib), "--workdir", workdir],
                         capture_output=True, text=True, timeout=1800, env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--baseline-tree")
    parser.add_argument("--ops", default=",".join(OPS),
                        help="comma-separated subset of: " + ", ".join(OPS))
    parser.add_argument("--child")
    parser.add_argument("--tree", default=HERE)
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.tree, args.child, args.mib, args.workdir)))
        return
    trees = [("this tree", HERE)] + ([("baseline", args.baseline_tree)]
                                      if args.baseline_tree else [])
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    results = {}
    for label, tree in trees:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as workdir:
            prepared = _run(tree, "prepare", args.mib, workdir)
            if "error" in prepared:
                sys.exit(f"{label}: preparing the files failed: {prepared['error']}")
            for op in ops:
                results[label, op] = _run(tree, op, args.mib, workdir)
                r = results[label, op]
                print(f"  [{label}] {op}: " + (f"{r['ratio']:.2f}x of "
                      f"{r['model_mib']:.0f} MiB" if "ratio" in r else f"failed {r['error']}"),
                      flush=True)
    print(f"\npeak extra memory / model size ({args.mib} MiB of float32 Dense weights)")
    header = f"{'operation':28s}" + "".join(f"{label:>12s}" for label, _ in trees)
    print(header)
    for op in ops:
        cells = []
        for label, _ in trees:
            r = results[label, op]
            cells.append(f"{r['ratio']:11.2f}x" if "ratio" in r else f"{'failed':>12s}")
        print(f"{op:28s}" + "".join(cells))


if __name__ == "__main__":
    main()
