"""``mlxf predict`` and ``mlxf plot`` given hostile inputs and options (issue 13, item 12).

Each case runs the real command in a fresh process and expects the CLI's contract
(``mlxfunctional/cli/__init__.py``): one ``mlxf: error: ...`` line on stderr, no
traceback, the documented exit code (4 for input data that cannot be used).
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import mlxfunctional as keras

EXIT_FAILURE, EXIT_MISMATCH = 1, 4


def mlxf(*args, cwd, timeout=60):
    return subprocess.run([sys.executable, "-m", "mlxfunctional.cli", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_line_error(done, code, *fragments):
    """Exit ``code``, exactly one ``mlxf: error:`` line on stderr, no traceback."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlxf: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with a 3 -> 2 model file and an input file that fits it."""
    folder = tmp_path_factory.mktemp("cli")
    inputs = keras.Input((3,), name="x")
    keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs)).save(folder / "m.mlxf")
    np.save(folder / "ok.npy", np.ones((4, 3), "float32"))
    return folder


def test_npy_header_declaring_a_trillion_rows_in_a_tiny_file(work):
    # Defect: numpy allocated the declared 10.9 TiB (MemoryError traceback, or worse).
    with open(work / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3)})
        f.write(bytes(48))
    line = one_line_error(mlxf("predict", "m.mlxf", "huge.npy", cwd=work), EXIT_MISMATCH,
                          "huge.npy")
    assert "(1000000000000, 3)" in line  # the declared shape, against the file's size


def test_npz_member_declaring_more_than_it_holds(work):
    # The same lie inside a .npz: the member's header against the member's size.
    import io
    import zipfile

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3)})
    with zipfile.ZipFile(work / "huge.npz", "w") as zf:
        zf.writestr("x.npy", buf.getvalue() + bytes(48))
    one_line_error(mlxf("predict", "m.mlxf", "huge.npz", cwd=work), EXIT_MISMATCH,
                   "huge.npz", "x")


def test_corrupt_npz(work):
    # Defect: zipfile.BadZipFile (bad CRC) escaped as a traceback, exit 1.
    np.savez(work / "good.npz", x=np.ones((4, 3), "float32"))
    blob = (work / "good.npz").read_bytes()
    at = blob.index(b"\x00\x00\x80\x3f")  # inside the first 1.0 of the array data
    (work / "corrupt.npz").write_bytes(blob[:at] + b"\xff" * 16 + blob[at + 16:])
    one_line_error(mlxf("predict", "m.mlxf", "corrupt.npz", cwd=work), EXIT_MISMATCH,
                   "corrupt.npz")


def test_empty_input(work):
    # Defect: zero rows reached predict() and died in a traceback ("received no data").
    # (A file of zero bytes was already refused by numpy's reader.)
    np.save(work / "empty.npy", np.zeros((0, 3), "float32"))
    one_line_error(mlxf("predict", "m.mlxf", "empty.npy", cwd=work), EXIT_MISMATCH,
                   "empty.npy")


@pytest.mark.parametrize("value", ["-1", "0"])
def test_batch_size_must_be_positive(work, value):
    # Defect: -1 died in a traceback, 0 ran as if it meant something.
    one_line_error(mlxf("predict", "m.mlxf", "ok.npy", "--batch-size", value, cwd=work),
                   EXIT_MISMATCH, "--batch-size", value)


def test_fifo_input_is_refused_not_waited_on(work):
    # Defect: open() of a FIFO blocks until a writer comes, so the command hung forever.
    os.mkfifo(work / "pipe.npy")
    done = mlxf("predict", "m.mlxf", "pipe.npy", cwd=work, timeout=30)
    one_line_error(done, EXIT_MISMATCH, "pipe.npy", "regular file")


def test_output_name_is_the_file_written(work):
    # Defect: "-o y.txt" printed "Wrote y.txt" and wrote y.txt.npy (numpy adds the suffix).
    done = mlxf("predict", "m.mlxf", "ok.npy", "-o", "y.txt", cwd=work)
    one_line_error(done, EXIT_FAILURE, "y.txt", ".npy")
    assert not (work / "y.txt").exists() and not (work / "y.txt.npy").exists()
    assert "Wrote" not in done.stdout
    done = mlxf("predict", "m.mlxf", "ok.npy", "-o", "y.npy", cwd=work)
    assert done.returncode == 0 and "Wrote y.npy" in done.stdout, done.stderr
    assert np.load(work / "y.npy").shape == (4, 2)


@pytest.mark.parametrize("value", ["-5", "0"])
def test_plot_dpi_must_be_positive(work, value):
    # Defect: --dpi -5 was handed to Graphviz and the command reported success.
    done = mlxf("plot", "m.mlxf", "--dpi", value, "-o", "g.dot", cwd=work)
    one_line_error(done, EXIT_FAILURE, "--dpi", value)
    assert not (work / "g.dot").exists()
