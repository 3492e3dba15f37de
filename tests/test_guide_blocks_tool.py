"""scripts/guide_blocks.py, the dev tool that runs the Keras guides block by block.

Checked on guides written here (no Keras text): the block split against blocks counted by
hand, the substitutions line by line, the numpy tf.data stand-in against plain numpy, the
skip without a mirror, and one end-to-end run with a failing block.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "guide_blocks.py"
spec = importlib.util.spec_from_file_location("guide_blocks", SCRIPT)
guide_blocks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guide_blocks)

GUIDE = '''"""
Title: a made-up guide
"""

"""
## Setup
"""

import numpy as np
import keras

"""
One-line prose cells close on their own line.
"""
"""shell
ls
"""

x = np.arange(6.0).reshape(3, 2)

y = x * 2
"""A prose cell that opens and closes on one line."""

def f(v):
    """A docstring indented inside code is code."""
    return v + 1

"""
The end.
"""
'''


def test_split_blocks_finds_each_code_block_with_its_first_line():
    blocks = guide_blocks.split_blocks(GUIDE)
    assert [line for line, _ in blocks] == [9, 19, 24]
    assert blocks[0][1] == "import numpy as np\nimport keras\n"
    assert blocks[1][1] == "x = np.arange(6.0).reshape(3, 2)\n\ny = x * 2\n"
    assert '"""A docstring indented inside code is code."""' in blocks[2][1]


def test_port_changes_only_the_listed_lines():
    code = "\n".join([
        "import keras",
        "from keras import layers, ops",
        "from keras.layers import Dense",
        "import keras_hub",
        "import tensorflow as tf",
        "    import torch",
        "model.fit(x, y, epochs=20, batch_size=64)",
        "model.fit(x, y, epochs=1)",
        "s = 'keras'",
    ])
    ported = guide_blocks.port(code).splitlines()
    assert ported[0] == "import mlxfunctional as keras"
    assert ported[1] == "from mlxfunctional import layers, ops"
    assert ported[2] == "from mlxfunctional.layers import Dense"
    assert ported[3] == "import keras_hub"
    assert ported[4].startswith("tf = _guide_tf")
    assert ported[5] == "    torch = _guide_optional('torch')"
    assert ported[6] == "model.fit(x, y, epochs=2, batch_size=64)"
    assert ported[7] == "model.fit(x, y, epochs=1)"
    assert ported[8] == "s = 'keras'"


def prelude():
    namespace = {}
    exec(compile(guide_blocks.PRELUDE, "<prelude>", "exec"), namespace)
    return namespace


def test_tf_data_stand_in_batches_every_row_once_per_pass():
    tf = prelude()["_guide_tf"]
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(buffer_size=10).batch(4)
    assert len(ds) == 3 and ds.cardinality() == 3
    for _ in range(2):  # re-iterable, as fit() needs it for a second epoch
        batches = list(ds)
        assert [len(b[1]) for b in batches] == [4, 4, 2]
        xs = np.concatenate([b[0] for b in batches])
        ys = np.concatenate([b[1] for b in batches])
        np.testing.assert_array_equal(xs, x[ys])  # rows stay paired with their labels
        assert sorted(ys) == list(range(10))
    mapped = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b))
    first = next(iter(mapped.take(1)))
    np.testing.assert_array_equal(first[0], x[0] * 2)
    dicts = tf.data.Dataset.from_tensor_slices(({"a": x}, y)).batch(5)
    np.testing.assert_array_equal(next(iter(dicts))[0]["a"], x[:5])
    assert len(tf.data.Dataset.from_tensor_slices(y).skip(3).batch(4, drop_remainder=True)) == 1


def test_tf_beyond_data_names_tensorflow():
    tf = prelude()["_guide_tf"]
    try:
        tf.matmul
    except ModuleNotFoundError as e:
        assert "needs TensorFlow" in str(e) and "matmul" in str(e)
    else:
        raise AssertionError("tf.matmul should need TensorFlow")


def test_no_mirror_and_no_guide_dir_skips_with_exit_0(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--mirror", str(tmp_path / "absent")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "nothing to run" in done.stdout


def test_runs_a_guide_and_reports_the_failing_block(tmp_path):
    guide = tmp_path / "tiny.py"
    guide.write_text(
        '"""\nTitle: tiny\n"""\n\nimport numpy as np\n\n"""\nprose\n"""\n\n'
        'total = int(np.arange(4).sum())\n\n"""\nprose\n"""\n\n'
        'assert total == 7, f"total is {total}"\n\n"""\nprose\n"""\n\n'
        'print(total)\n')
    done = subprocess.run([sys.executable, str(SCRIPT), "tiny", "--guide-dir", str(tmp_path),
                           "--mirror", str(tmp_path / "absent"), "--timeout", "60"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "tiny: 3 / 4 blocks run" in done.stdout
    assert "block 3 (line 17, guide line 17): AssertionError: total is 6" in done.stdout
    assert "| tiny | 3 / 4 |" in done.stdout
