"""Run the Keras 3 guides on mlxfunctional, code block by code block, and count what runs.

Usage::

    python scripts/guide_blocks.py [GUIDE ...] [--mirror DIR] [--ref v3.15.1]
                                   [--guide-dir DIR] [--timeout SECONDS] [--dump N] [--log DIR]

A dev tool, not a test: it reads each guide at run time, from the read-only keras-team/keras
mirror (``git show v3.15.1:guides/<name>.py``) or, for guides that live in keras-team/keras-io
(``serialization_and_saving``, ``working_with_rnns``; their Keras 3 versions, last modified
2023/06/30 and 2023/07/10), from ``--guide-dir``, a folder of ``<name>.py`` files (it is tried
first, so it can also replace a mirror guide). No guide text is kept in this repository. Without a mirror or a guide directory it prints why and exits 0.

A block is the code between two prose cells (the keras.io "tutobook" format: prose is a
triple-quoted string starting at column 0). The blocks of a guide run in order, in one
namespace, in a child process (a crash ends that guide, not the run) whose working directory
is a fresh temporary directory (the guides write model files). Each block has a time limit
(``--timeout``, default 180 s). For each guide it prints ``blocks run / total`` and, for each
block that failed, its number, its first line in the guide and the first line of the error.
Blocks after a failed one still run (a failure usually leaves its names undefined, so they
may fail too: read the first failure of a run of failures; a ``NameError`` after a failure is
marked "probably follows block N").

The guide text is changed only by the substitutions in ``SUBSTITUTIONS`` (applied to whole
lines, listed there with the reason for each) and the stand-ins defined in ``PRELUDE``:

- the Keras import becomes ``import mlxfunctional as keras`` (the one change a user makes);
- TensorFlow is not imported: ``tf`` is a stand-in whose only attribute is ``tf.data``, a
  small numpy re-implementation of the ``tf.data.Dataset`` methods the guides call
  (``from_tensor_slices, shuffle, batch, map, take, skip, repeat, prefetch, cache,
  cardinality``, iteration, ``len``). Any other ``tf.*`` use raises
  ``ModuleNotFoundError: needs TensorFlow``;
- ``tensorflow_datasets.load("cats_vs_dogs")`` (a 786 MB download) gives small synthetic
  datasets of random-sized uint8 RGB images and 0/1 labels (64/16/16 images);
  ``keras.datasets.cifar10.load_data()`` (a download) gives synthetic data of CIFAR-10's
  shapes and dtypes (2,000 / 500 images) unless the real file is already cached;
  ``keras.datasets.imdb.load_data()`` (a download, not in mlxfunctional) gives synthetic
  integer sequences (vocabulary ``num_words`` or 20,000; 1,000 / 200 reviews);
- ``torch``, ``jax`` and ``matplotlib`` are imported when installed; a missing ``torch``
  or ``jax`` becomes a stand-in raising ``ModuleNotFoundError`` on use (so those blocks fail
  with "needs torch"); a missing matplotlib becomes a stand-in that draws nothing
  (plots are not what is measured);
- ``epochs=N`` with N > 2 in a call becomes ``epochs=2`` (``REDUCED_EPOCHS``): on two CPU
  cores some blocks would otherwise run for many minutes; two epochs still exercise
  per-epoch callbacks, validation and History;
- ``keras.datasets.mnist.load_data()`` is mlxfunctional's own when ``mnist.npz`` is cached;
  otherwise (no network) the guides get the bundled 10,000 real MNIST images repeated to
  MNIST's shapes, 60,000 train / 10,000 test, because several blocks hard-code
  ``reshape(60000, 784)`` (mlxfunctional's own offline fallback, 8,000 / 2,000, would fail them).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MIRROR = "/work/.mirror/keras-team+keras/repo"
DEFAULT_REF = "v3.15.1"
GUIDES = [
    "functional_api",
    "sequential_model",
    "training_with_built_in_methods",
    "making_new_layers_and_models_via_subclassing",
    "serialization_and_saving",
    "transfer_learning",
    "writing_your_own_callbacks",
    "understanding_masking_and_padding",
    "working_with_rnns",
]
# Guides that keras-team/keras does not keep under guides/ (they are in keras-team/keras-io).
KERAS_IO_ONLY = {"serialization_and_saving", "working_with_rnns"}

# (pattern on a whole line, replacement, why). Patterns are anchored regular expressions on
# one line with its indentation kept; nothing else in the guide text is changed.
SUBSTITUTIONS = [
    (r"import keras", "import mlxfunctional as keras", "the port: keras -> mlxfunctional"),
    (r"from keras import (.*)", r"from mlxfunctional import \1", "the port"),
    (r"from keras\.(\S+) import (.*)", r"from mlxfunctional.\1 import \2", "the port"),
    (r"import tensorflow as tf", "tf = _guide_tf  # tf.data only, numpy-backed",
     "no TensorFlow: tf.data -> numpy stand-in"),
    (r"from tensorflow import data as tf_data", "tf_data = _guide_tf.data",
     "no TensorFlow: tf.data -> numpy stand-in"),
    (r"import tensorflow_datasets as tfds", "tfds = _guide_tfds  # synthetic cats_vs_dogs",
     "a 786 MB download -> small synthetic images"),
    (r"import torch", "torch = _guide_optional('torch')", "torch only where installed"),
    (r"import jax", "jax = _guide_optional('jax')", "jax only where installed"),
    (r"import matplotlib\.pyplot as plt", "plt = _guide_pyplot()", "plots draw nothing"),
]
REDUCED_EPOCHS = 2  # "epochs=N" (N > REDUCED_EPOCHS) in a call -> "epochs=REDUCED_EPOCHS"

# Runs in the guide's namespace before block 1: the stand-ins named above.
PRELUDE = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "guide_standins.py"),
               encoding="utf-8").read()

PROSE = re.compile(r'^[rRbBuU]?"""')


def split_blocks(source):
    """[(first line number, code)] for each code block of a tutobook-format guide."""
    blocks, code, start, in_prose = [], [], None, False
    lines = source.splitlines()
    for number, line in enumerate(lines, 1):
        if in_prose:
            if line.rstrip().endswith('"""'):
                in_prose = False
            continue
        if PROSE.match(line):
            rest = PROSE.sub("", line, count=1)
            in_prose = not rest.rstrip().endswith('"""')
            if "".join(code).strip():
                blocks.append((start, "\n".join(code).strip("\n") + "\n"))
            code, start = [], None
            continue
        if start is None and line.strip():
            start = number
        if start is not None:
            code.append(line)
    if "".join(code).strip():
        blocks.append((start, "\n".join(code).strip("\n") + "\n"))
    return blocks


EPOCHS = re.compile(r"\bepochs\s*=\s*(\d+)")


def port(code):
    """The block with the substitutions applied (see SUBSTITUTIONS and REDUCED_EPOCHS)."""
    out = []
    for line in code.splitlines():
        indent = line[:len(line) - len(line.lstrip())]
        body = line.strip()
        for pattern, replacement, _ in SUBSTITUTIONS:
            if re.fullmatch(pattern, body):
                body = re.sub(pattern, replacement, body)
                break
        body = EPOCHS.sub(lambda m: f"epochs={min(int(m.group(1)), REDUCED_EPOCHS)}", body)
        out.append(indent + body if body else "")
    return "\n".join(out) + "\n"


def guide_source(name, mirror, ref, guide_dir):
    """The guide's text, and where it came from; (None, why) when it cannot be found."""
    if guide_dir:
        path = os.path.join(guide_dir, name + ".py")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return f.read(), path
    if mirror and os.path.isdir(mirror):
        done = subprocess.run(["git", "-C", mirror, "show", f"{ref}:guides/{name}.py"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout, f"keras-team/keras {ref}:guides/{name}.py"
    where = "keras-team/keras-io guides/" if name in KERAS_IO_ONLY else f"{ref}:guides/"
    return None, f"not found (it is in {where}{name}.py; pass --guide-dir)"


def run_child(source_file, results_file, timeout, name):
    """In the child process: run every block, one JSON line of result per block."""
    import signal
    import traceback

    sys.path.insert(0, REPO)

    def alarm(signum, frame):
        raise TimeoutError(f"block ran past {timeout} s")
    signal.signal(signal.SIGALRM, alarm)

    with open(source_file, encoding="utf-8") as f:
        blocks = split_blocks(f.read())
    namespace = {"__name__": "__main__"}
    exec(compile(PRELUDE, "<guide_blocks prelude>", "exec"), namespace)
    with open(results_file, "a", encoding="utf-8") as results:
        for index, (line, code) in enumerate(blocks, 1):
            print(f"\n##### [guide_blocks] {name} block {index} (line {line})", flush=True)
            started = time.perf_counter()
            error = where = None
            signal.alarm(timeout)
            try:
                exec(compile(port(code), f"<{name} block {index}>", "exec"), namespace)
            except BaseException as e:  # noqa: B036 (a guide may sys.exit; report it)
                message = str(e).strip().splitlines()
                error = type(e).__name__ + (": " + message[0] if message else "")
                frames = [fr for fr in traceback.extract_tb(e.__traceback__)
                          if fr.filename == f"<{name} block {index}>"]
                if frames:
                    where = line + frames[-1].lineno - 1
                traceback.print_exc()
            finally:
                signal.alarm(0)
            results.write(json.dumps({"block": index, "line": line, "error": error,
                                      "error_line": where,
                                      "seconds": round(time.perf_counter() - started, 2)})
                          + "\n")
            results.flush()


def run_guide(name, source, timeout, log_dir):
    """Run one guide in a child process; [(block, first line, error or None, seconds)]."""
    blocks = split_blocks(source)
    with tempfile.TemporaryDirectory(prefix=f"guide_{name}_") as work:
        source_file = os.path.join(work, "guide_source.py.txt")
        results_file = os.path.join(work, "results.jsonl")
        with open(source_file, "w", encoding="utf-8") as f:
            f.write(source)
        log_path = os.path.join(log_dir, name + ".log") if log_dir else os.devnull
        env = dict(os.environ, MPLBACKEND="Agg",
                   PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        overall = timeout * len(blocks) + 60
        with open(log_path, "w", encoding="utf-8") as log:
            try:
                done = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--child", source_file,
                     results_file, str(timeout), name],
                    cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                    timeout=overall)
                ended = None if done.returncode == 0 else f"process exited {done.returncode}"
            except subprocess.TimeoutExpired:
                ended = f"process ran past {overall} s"
        results = []
        if os.path.exists(results_file):
            with open(results_file, encoding="utf-8") as f:
                results = [json.loads(line) for line in f]
    by_block = {r["block"]: r for r in results}
    rows = []
    for index, (line, _) in enumerate(blocks, 1):
        r = by_block.get(index)
        if r is None:
            rows.append((index, line, f"not run ({ended or 'no result'})", None, 0.0))
        else:
            rows.append((index, line, r["error"], r["error_line"], r["seconds"]))
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        run_child(argv[1], argv[2], int(argv[3]), argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("guides", nargs="*", default=GUIDES, help="guide names (default: all)")
    parser.add_argument("--mirror", default=DEFAULT_MIRROR, help="bare git mirror of keras")
    parser.add_argument("--ref", default=DEFAULT_REF, help="git ref of the guides")
    parser.add_argument("--guide-dir", help="a folder of <name>.py guide files (tried first)")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per block")
    parser.add_argument("--dump", type=int, metavar="N",
                        help="print block N of the (one) guide as it will run, and exit")
    parser.add_argument("--log", metavar="DIR", help="write each guide's output to DIR/<name>.log")
    args = parser.parse_args(argv)

    have_mirror = bool(args.mirror) and os.path.isdir(args.mirror)
    if not have_mirror and not args.guide_dir:
        print(f"guide_blocks: no keras mirror at {args.mirror} and no --guide-dir: "
              "nothing to run (this is a dev tool; skipping).")
        return 0
    if args.log:
        os.makedirs(args.log, exist_ok=True)

    table = []
    for name in args.guides:
        source, origin = guide_source(name, args.mirror, args.ref, args.guide_dir)
        if source is None:
            print(f"\n{name}: skipped, source {origin}")
            table.append((name, None, None))
            continue
        if args.dump is not None:
            line, code = split_blocks(source)[args.dump - 1]
            print(f"# {name} block {args.dump} (line {line} of {origin})\n{port(code)}")
            return 0
        started = time.perf_counter()
        rows = run_guide(name, source, args.timeout, args.log)
        ran = sum(1 for r in rows if r[2] is None)
        print(f"\n{name}: {ran} / {len(rows)} blocks run "
              f"({time.perf_counter() - started:.0f} s; {origin})", flush=True)
        first_failure = None
        for index, line, error, error_line, seconds in rows:
            if error is not None:
                at = f", guide line {error_line}" if error_line else ""
                # A NameError after a failed block is usually that failure's echo.
                echo = (f" (probably follows block {first_failure})"
                        if first_failure and error.startswith("NameError") else "")
                print(f"  block {index} (line {line}{at}): {error}{echo}", flush=True)
                first_failure = first_failure or index
        table.append((name, ran, len(rows)))

    print("\n| guide | blocks run |\n|---|---|")
    total_run = total = 0
    for name, ran, count in table:
        if ran is None:
            print(f"| {name} | (source not found) |")
            continue
        total_run, total = total_run + ran, total + count
        print(f"| {name} | {ran} / {count} |")
    print(f"| **all** | **{total_run} / {total}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
