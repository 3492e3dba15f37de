"""The ``mlxf`` command, run as a real process (``python -m mlxfunctional.cli``).

Predictions are checked against a numpy forward pass computed from the
weights read straight out of the model file's zip, not through the loader.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent


def mlxf(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "mlxfunctional.cli", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env)


def failed(done, code, *messages):
    """The command failed with ``code``, one clear message, no traceback."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("mlxf: error: ")
    for m in messages:
        assert m in done.stderr, done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    done = mlxf("demo", "--epochs", "1", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return cwd, done.stdout


def numpy_forward(model_file, x):
    with zipfile.ZipFile(model_file) as zf:
        config = json.loads(zf.read("config.json"))
        w = np.load(io.BytesIO(zf.read("weights.npz")))
        names = [layer["config"]["name"] for layer in config["config"]["layers"][1:]]
        h = x
        for i, name in enumerate(names):
            h = h @ w[f"{name}/kernel"] + w[f"{name}/bias"]
            h = np.maximum(h, 0) if i < len(names) - 1 else h
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_demo_runs_to_the_end(demo):
    cwd, out = demo
    files = cwd / "mlxf-demo"
    assert "Total params: 55,050" in out
    assert "Training on the bundled real MNIST images: 8,000" in out
    assert re.search(r"100/100 \[=+\]", out)  # the progress bar: 6,400 / 64 steps
    assert float(re.search(r"Test accuracy: ([0-9.]+)", out).group(1)) > 0.8
    assert "identical predictions on 2,000 test images" in out
    assert (files / "mnist_model.mlxf").is_file()
    assert str((files / "mnist_model.mlxf").resolve()) in out
    if shutil.which("dot"):
        assert (files / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (files / "model.svg").read_text()
    else:
        assert "Drawing skipped" in out


def test_demo_out_folder_option(tmp_path):
    env = dict(os.environ, PATH="")  # no `dot`: the drawing is skipped, the demo goes on
    done = subprocess.run([sys.executable, "-m", "mlxfunctional.cli", "demo", "--epochs", "1",
                           "--out", "elsewhere"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "Drawing skipped" in done.stdout
    assert sorted(os.listdir(tmp_path / "elsewhere")) == ["mnist_model.mlxf"]


def test_summary(demo):
    cwd, _ = demo
    done = mlxf("summary", "mlxf-demo/mnist_model.mlxf", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert 'Model: "mnist_model"' in done.stdout and "Total params: 55,050" in done.stdout
    assert re.search(r"dense_2 \(Dense\)\s+\(None, 10\)\s+650", done.stdout)


def test_predict_matches_numpy_forward_pass(demo):
    cwd, _ = demo
    x = np.random.default_rng(0).random((5, 784)).astype("float32")
    np.save(cwd / "in.npy", x)
    done = mlxf("predict", "mlxf-demo/mnist_model.mlxf", "in.npy", "-o", "out.npy", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "shape (5, 10)" in done.stdout and "Wrote out.npy" in done.stdout
    expected = numpy_forward(cwd / "mlxf-demo/mnist_model.mlxf", x)
    np.testing.assert_allclose(np.load(cwd / "out.npy"), expected, rtol=1e-4, atol=1e-6)


def test_plot_svg_and_dot(demo):
    cwd, _ = demo
    done = mlxf("plot", "mlxf-demo/mnist_model.mlxf", "-o", "g.dot", cwd=cwd)
    assert done.returncode == 0, done.stderr
    source = (cwd / "g.dot").read_text()
    assert all(name in source for name in ("img", "dense_1", "dense_2"))
    if shutil.which("dot"):
        done = mlxf("plot", "mlxf-demo/mnist_model.mlxf", "-o", "g.svg", cwd=cwd)
        assert done.returncode == 0 and "<svg" in (cwd / "g.svg").read_text()


def test_plot_without_graphviz_says_how_to_install(demo):
    cwd, _ = demo
    done = mlxf("plot", "mlxf-demo/mnist_model.mlxf", "-o", "g2.svg", cwd=cwd,
                env=dict(os.environ, PATH=""))
    failed(done, 5, "Graphviz")
    assert not (cwd / "g2.svg").exists()


def test_info(tmp_path):
    from importlib.metadata import version

    done = mlxf("info", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^mlxfunctional\s+0\.1\.0", out, re.M)
    assert re.search(rf"^MLX\s+{re.escape(version('mlx'))}$", out, re.M)
    assert re.search(rf"^numpy\s+{re.escape(np.__version__)}$", out, re.M)
    assert f"{sys.version_info.major}.{sys.version_info.minor}." in out
    assert re.search(r"^MLX default device\s+Device\(", out, re.M)
    assert re.search(r"^BLAS\s+(OpenBLAS|the BLAS bundled with MLX)", out, re.M)
    dot_line = re.search(r"^Graphviz dot\s+(.*)$", out, re.M).group(1)
    assert ("not found" in dot_line) == (shutil.which("dot") is None)


def test_missing_files_exit_2(demo, tmp_path):
    cwd, _ = demo
    failed(mlxf("summary", "nope.mlxf", cwd=tmp_path), 2, "'nope.mlxf' does not exist")
    failed(mlxf("plot", "nope.mlxf", cwd=tmp_path), 2, "does not exist")
    failed(mlxf("predict", "mlxf-demo/mnist_model.mlxf", "nope.npy", cwd=cwd), 2,
           "input file 'nope.npy' does not exist")


def test_corrupt_model_files_exit_3(demo, tmp_path):
    cwd, _ = demo
    (tmp_path / "garbage.mlxf").write_bytes(b"not a zip at all")
    failed(mlxf("summary", "garbage.mlxf", cwd=tmp_path), 3, "not a readable zip archive")
    good = (cwd / "mlxf-demo/mnist_model.mlxf").read_bytes()
    (tmp_path / "cut.mlxf").write_bytes(good[: len(good) // 2])
    failed(mlxf("predict", "cut.mlxf", "x.npy", cwd=tmp_path), 3, "Cannot load")
    np.save(tmp_path / "x.npy", np.zeros((1, 784), "float32"))
    failed(mlxf("summary", "x.npy", cwd=tmp_path), 3, ".mlxf")


def test_mismatched_inputs_exit_4(demo):
    cwd, _ = demo
    model = "mlxf-demo/mnist_model.mlxf"
    np.save(cwd / "images.npy", np.zeros((3, 28, 28), "float32"))
    failed(mlxf("predict", model, "images.npy", cwd=cwd), 4,
           "expects shape (None, 784), received (3, 28, 28)")
    np.save(cwd / "one.npy", np.zeros(784, "float32"))
    failed(mlxf("predict", model, "one.npy", cwd=cwd), 4, "received (784,)", "(1, ...)")
    np.save(cwd / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    failed(mlxf("predict", model, "obj.npy", cwd=cwd), 4, "allow_pickle")
    (cwd / "text.npy").write_text("hello")
    failed(mlxf("predict", model, "text.npy", cwd=cwd), 4, "cannot read input file")


def test_console_script_is_installed():
    script = BIN / "mlxf"
    # scripts/setup.sh installs the package, so the README's `mlxf demo` must exist.
    assert script.exists(), "mlxf console script missing: run `bash scripts/setup.sh`"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in ("demo", "summary", "plot", "predict", "info", "exit codes"):
        assert command in done.stdout
