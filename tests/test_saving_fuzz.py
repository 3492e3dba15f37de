"""Fuzz: hundreds of mutated model and weights files.

Each load must either succeed or raise ``ModelFileError`` -- no other
exception, no crash, no hang (a 10 s alarm per case), no code run (payloads
that would create a sentinel file, and an audit hook that fails on any
``os.system``/``subprocess``/``exec``/``import`` event), and no file opened
but the one being loaded.

Mutations: truncation, flipped bytes, patched zip size fields, swapped /
duplicated / dropped / renamed / extra members, bad .npy headers (object,
structured, big-endian, string dtypes; huge, negative and wrong shapes;
code in the header), deep JSON, class names and modules outside the
registry (``os.system``, ``subprocess.Popen``, ``builtins.eval``), Keras'
``__lambda__`` bytecode form, and random values in random config fields. Member
mutations recompute metadata.json's checksums, as an attacker would, so the
deeper parsers are reached.
"""

import io
import json
import random
import signal
import struct
import sys
import zipfile

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.saving import ModelFileError
from test_saving_errors import members_of, write_members

_WATCH = {"active": False, "events": [], "allowed": set()}
_FORBIDDEN = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
              "os.fork", "exec", "import", "ctypes.dlopen", "os.remove", "os.rename",
              "shutil.")


def _audit(event, args):
    if not _WATCH["active"]:
        return
    if event == "open":
        path = args[0]
        if isinstance(path, int):
            return  # an already-open descriptor
        if str(path) not in _WATCH["allowed"]:
            _WATCH["events"].append(("open", str(path)))
    elif event.startswith(_FORBIDDEN):
        _WATCH["events"].append((event, repr(args)[:200]))


sys.addaudithook(_audit)  # (cannot be removed; it only records while a case runs)


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _load(path, loader, timeout=10.0):
    """Runs one case; returns "ok", "error", or a description of what went wrong."""
    _WATCH["allowed"] = {str(path)}
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _WATCH["active"] = True
    try:
        loader(path)
        outcome = "ok"
    except ModelFileError:
        outcome = "error"
    except _Hang:
        outcome = "hang"
    except BaseException as e:  # noqa: BLE001 -- any other exception is the finding
        outcome = f"{type(e).__name__}: {str(e)[:300]}"
    finally:
        _WATCH["active"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return outcome


def test_the_watchdog_sees_what_it_must_refuse(tmp_path):
    import time

    assert _load(tmp_path / "x", lambda p: open(__file__).close()) == "ok"
    assert _load(tmp_path / "x", lambda p: exec("1")) == "ok"
    assert [e for e, _ in _WATCH["events"]] == ["open", "exec"]
    _WATCH["events"].clear()
    assert _load(tmp_path / "x", lambda p: time.sleep(2), timeout=0.2) == "hang"
    assert _load(tmp_path / "x", lambda p: 1 / 0).startswith("ZeroDivisionError")


# -- mutations -------------------------------------------------------------------------

def _truncate(rng, data):
    return data[:rng.randrange(len(data))]


def _flip(rng, data):
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def _patch_sizes(rng, data):
    """Lies in the zip headers: sizes, counts and offsets."""
    out = bytearray(data)
    value = rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0, 1, 10 ** 9, rng.randrange(2 ** 32)])
    where = rng.choice([(b"PK\x01\x02", (20, 24)), (b"PK\x03\x04", (18, 22)),
                        (b"PK\x05\x06", (12, 16))])
    sig, fields = where
    spots = [i for i in range(len(out)) if out.startswith(sig, i)]
    if not spots:
        return bytes(out)
    spot = rng.choice(spots) + rng.choice(fields)
    out[spot:spot + 4] = struct.pack("<I", value)
    return bytes(out)


_BAD_DESCR = ["|O", ">f4", "<U8", "|S4", "[('a', '<f4')]", "<f8", "<i4", "<f2", "bogus",
              "<M8[s]", "|V4"]
_BAD_SHAPE = ["(10**12,)", "(1000000000000, 1000000000000)", "(-1,)", "(2, 2)", "()",
              "(" + "1, " * 40 + ")", "'shape'", "(1.5,)", "(True,)"]


def _npy(descr, shape, body, fortran="False"):
    header = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    header = header.encode("latin1")
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def _mutate_npz(rng, data):
    arrays = dict(np.load(io.BytesIO(data)))
    key = rng.choice(sorted(arrays))
    value = arrays[key]
    kind = rng.randrange(7)
    if kind == 0:
        raw = _npy(repr(rng.choice(_BAD_DESCR)), repr(value.shape), value.tobytes())
    elif kind == 1:
        raw = _npy("'<f4'", rng.choice(_BAD_SHAPE), value.tobytes())
    elif kind == 2:
        raw = _npy("'<f4'", repr(value.shape), value.tobytes()[:rng.randrange(value.nbytes + 1)])
    elif kind == 3:
        raw = _npy("'<f4'", repr(value.shape), value.tobytes() + b"\0" * rng.randint(1, 64))
    elif kind == 4:
        raw = _npy("__import__('os').system('touch %s')" % _SENTINEL, "(1,)", b"\0" * 4)
    elif kind == 5:
        raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", 4000) + b"(" * 4000
    else:
        raw = _npy("'<f4'", repr(value.shape), value.tobytes(), fortran="'yes'")
    items = [(k + ".npy", _npy_of(v)) for k, v in arrays.items() if k != key]
    items.append((key + ".npy", raw))
    if rng.random() < 0.2:
        items.append(items[0])  # a duplicated array member
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, _quiet():
        for name, member in items:
            zf.writestr(name, member)
    return buf.getvalue()


def _npy_of(value):
    buf = io.BytesIO()
    np.save(buf, value)
    return buf.getvalue()


class _quiet:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


_PAYLOAD_NAMES = ["os.system", "subprocess.Popen", "builtins.eval", "eval", "exec",
                  "__import__", "posix.system", "Custom>Evil", "keras.src.ops.system"]
_RANDOM_VALUES = [None, True, -1, 0, 3, 10 ** 6, 2 ** 63, 1e308, "x", "os.system", [], {},
                  [None], {"class_name": "os.system", "config": {}}, "x" * 1000, [1, [2, [3]]]]


def _paths(value, prefix=()):
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _set(value, path, new):
    for p in path[:-1]:
        value = value[p]
    if path:
        value[path[-1]] = new


def _mutate_config(rng, config):
    config = json.loads(json.dumps(config))
    kind = rng.randrange(6)
    layer = rng.choice(config["config"]["layers"][1:])
    if kind == 0:  # a class outside the registry, Keras 3 style with a module
        layer.update(class_name=rng.choice(_PAYLOAD_NAMES), module=rng.choice(
            ["os", "subprocess", "builtins"]), registered_name=rng.choice(_PAYLOAD_NAMES))
        layer["config"]["command"] = f"touch {_SENTINEL}"
    elif kind == 1:  # a function by name, or as Keras' lambda bytecode
        layer["class_name"] = "Lambda"
        layer["config"] = {"name": layer["name"], "function": rng.choice([
            rng.choice(_PAYLOAD_NAMES),
            {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None}},
            {"module": "os", "class_name": "function", "config": "system",
             "registered_name": "system"}]), "arguments": {"command": f"touch {_SENTINEL}"}}
    elif kind == 2:  # payloads in nested objects
        target = rng.choice(["activation", "kernel_initializer", "kernel_regularizer"])
        layer["config"][target] = rng.choice([rng.choice(_PAYLOAD_NAMES), {
            "module": "os", "class_name": rng.choice(_PAYLOAD_NAMES),
            "config": {"command": f"touch {_SENTINEL}"}}])
    elif kind == 3 and config.get("compile_config"):  # payloads in the compile config
        field = rng.choice(["optimizer", "loss", "metrics"])
        config["compile_config"][field] = rng.choice([
            rng.choice(_PAYLOAD_NAMES), [rng.choice(_PAYLOAD_NAMES)],
            {"class_name": rng.choice(_PAYLOAD_NAMES), "module": "subprocess",
             "config": {"args": ["touch", _SENTINEL]}}])
    elif kind == 4:  # a random value in a random place
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(_paths(config)[1:])
            _set(config, path, json.loads(json.dumps(rng.choice(_RANDOM_VALUES))))
    else:  # a random key deleted
        path = rng.choice([p for p in _paths(config)[1:] if p])
        parent = config
        for p in path[:-1]:
            parent = parent[p]
        if isinstance(parent, dict):
            del parent[path[-1]]
    return json.dumps(config).encode()


def _deep_json(rng):
    n = rng.choice([1000, 50_000, 400_000])
    return rng.choice([b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n, b"[" * n])


def _mutate_metadata(rng, meta):
    meta = json.loads(json.dumps(meta))
    choice = rng.randrange(4)
    if choice == 0:
        meta["format_version"] = rng.choice([2, "1", None, 1.0, True, -1, 10 ** 30])
    elif choice == 1:
        meta["format"] = rng.choice(["keras", None, 1])
    elif choice == 2:
        meta["members"] = rng.choice([None, [], {"weights.npz": 1}, {}])
    else:
        meta.pop(rng.choice(sorted(meta)))
    return json.dumps(meta).encode()


def _member_case(rng, members):
    names = list(members)
    kind = rng.randrange(10)
    items = list(members.items())
    fix = True
    if kind == 0:  # swap two members' contents
        a, b = rng.sample(range(len(items)), 2)
        items[a], items[b] = (items[a][0], items[b][1]), (items[b][0], items[a][1])
    elif kind == 1:  # duplicate a member (with other content)
        name = rng.choice(names)
        items.append((name, rng.choice(list(members.values()))))
    elif kind == 2:  # drop one
        items.pop(rng.randrange(len(items)))
    elif kind == 3:  # an extra member, with a hostile name
        items.append((rng.choice(["../../evil.py", "/etc/passwd", "weights.npz/../x",
                                  "__init__.py"]), b"import os; os.system('touch x')"))
    elif kind == 4:
        items = [(n, _mutate_npz(rng, d) if n.endswith(".npz") and rng.random() < 0.7
                  else d) for n, d in items]
    elif kind == 5:
        items = [(n, _mutate_config(rng, json.loads(d)) if n == "config.json" else d)
                 for n, d in items]
    elif kind == 6:
        target = rng.choice(["config.json", "metadata.json"])
        items = [(n, _deep_json(rng) if n == target else d) for n, d in items]
    elif kind == 7:
        items = [(n, _mutate_metadata(rng, json.loads(d)) if n == "metadata.json" else d)
                 for n, d in items]
        fix = False
    elif kind == 8:  # a member replaced by garbage
        i = rng.randrange(len(items))
        items[i] = (items[i][0], bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
    else:  # a member renamed
        i = rng.randrange(len(items))
        items[i] = (rng.choice(["Weights.npz", "weights.npz ", "config.json/", "./config.json",
                                "metadata.JSON"]), items[i][1])
    return (fix, items)


_SENTINEL = "/tmp/mlxf-fuzz-sentinel-must-not-exist"


def _base_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,), name="x")
    h = layers.Dense(5, activation="relu", name="hidden")(inputs)
    h = layers.BatchNormalization(name="bn")(h)
    model = keras.Model(inputs, layers.Dense(3, activation="softmax", name="out")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=True)
    model.train_on_batch(np.ones((4, 6), "float32"), np.arange(4) % 3)
    return model


def test_fuzzed_model_files_load_or_raise_model_file_error(tmp_path):
    import os

    assert not os.path.exists(_SENTINEL)
    _base_model().save(tmp_path / "base.mlxf")
    keras.models.load_model(tmp_path / "base.mlxf")  # warm up lazy imports
    base = (tmp_path / "base.mlxf").read_bytes()
    members = members_of(tmp_path / "base.mlxf")
    rng = random.Random(1234)
    outcomes, failures = {"ok": 0, "error": 0}, []
    path = tmp_path / "case.mlxf"
    for i in range(420):
        kind = i % 6
        if kind == 0:
            path.write_bytes(_truncate(rng, base))
        elif kind == 1:
            path.write_bytes(_flip(rng, base))
        elif kind == 2:
            path.write_bytes(_patch_sizes(rng, base))
        else:
            fix, items = _member_case(rng, members)
            with _quiet():
                write_members(path, items, fix_metadata=fix)
        outcome = _load(path, keras.models.load_model)
        if outcome in outcomes:
            outcomes[outcome] += 1
        else:
            failures.append((i, kind, outcome))
    assert failures == []
    assert _WATCH["events"] == []
    assert not os.path.exists(_SENTINEL)
    assert outcomes["error"] > 300 and outcomes["ok"] > 5, outcomes


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_fuzzed_weight_files_load_or_raise_model_file_error(tmp_path, suffix):
    model = _base_model()
    model.save_weights(tmp_path / f"base{suffix}")
    model.load_weights(tmp_path / f"base{suffix}")
    base = (tmp_path / f"base{suffix}").read_bytes()
    rng = random.Random(99)
    path = tmp_path / f"case{suffix}"
    failures, outcomes = [], {"ok": 0, "error": 0}
    for i in range(120):
        kind = i % 4
        if kind == 0:
            data = _truncate(rng, base)
        elif kind == 1:
            data = _flip(rng, base)
        elif suffix == ".npz":
            data = _mutate_npz(rng, base) if kind == 2 else _patch_sizes(rng, base)
        else:
            data = _mutate_safetensors(rng, base)
        path.write_bytes(data)
        outcome = _load(path, model.load_weights)
        if outcome in outcomes:
            outcomes[outcome] += 1
        else:
            failures.append((i, kind, outcome))
    assert failures == [] and _WATCH["events"] == []
    assert outcomes["error"] > 60, outcomes


def _mutate_safetensors(rng, data):
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    name = rng.choice([k for k in header if k != "__metadata__"])
    entry = header[name]
    field = rng.choice(["dtype", "shape", "data_offsets", "entry", "size", "deep"])
    if field == "dtype":
        entry["dtype"] = rng.choice(["F64", "I32", "BF16", "OBJ", None, 7, "F8_E4M3"])
    elif field == "shape":
        entry["shape"] = rng.choice([[10 ** 12], [-1], [2, 2], "x", [1.5], []])
    elif field == "data_offsets":
        entry["data_offsets"] = rng.choice([[0, 10 ** 15], [-8, 0], [8, 4], [0], None,
                                            [0, len(body) + 4]])
    elif field == "entry":
        header[name] = rng.choice([None, [], "x", 1])
    text = json.dumps(header).encode()
    if field == "deep":
        text = b"[" * 100_000
    prefix = len(text).to_bytes(8, "little")
    if field == "size":
        prefix = rng.choice([2 ** 64 - 1, 2 ** 40, 0, len(text) + 3]).to_bytes(8, "little")
    return prefix + text + body


def _richer_model():
    keras.utils.set_random_seed(0)
    img = keras.Input((8, 8, 3), name="img")
    seq = keras.Input((None,), dtype="int32", name="seq")
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(img)
    x = layers.Flatten()(layers.BatchNormalization()(layers.MaxPooling2D(2)(x)))
    e = layers.LSTM(3)(layers.Embedding(50, 4, mask_zero=True)(seq))
    h = layers.Dropout(0.2)(layers.concatenate([x, e]))
    model = keras.Model([img, seq], layers.Dense(2, activation="softmax", name="out")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=True)
    model.train_on_batch([np.ones((2, 8, 8, 3), "float32"), np.ones((2, 5), "int32")],
                         np.array([0, 1]))
    return model


def test_fuzzed_configs_rebuild_or_raise_model_file_error(tmp_path):
    """Random values in random config fields of a model with conv, recurrent, embedding
    and normalization layers (the file otherwise consistent), plus huge sizes."""
    _richer_model().save(tmp_path / "base.mlxf")
    members = members_of(tmp_path / "base.mlxf")
    config = json.loads(members["config.json"])
    index = {l["name"]: i for i, l in enumerate(config["config"]["layers"])}
    cases = []
    rng = random.Random(7)
    for _ in range(150):
        c = json.loads(json.dumps(config))
        for _ in range(rng.randint(1, 3)):
            paths = _paths(c)[1:]
            _set(c, rng.choice(paths), json.loads(json.dumps(rng.choice(_RANDOM_VALUES))))
        cases.append(c)
    for layer, key in [("out", "units"), ("lstm", "units"), ("embedding", "input_dim"),
                       ("conv2d", "filters"), ("conv2d", "kernel_size"), ("img", "batch_shape"),
                       ("seq", "batch_shape")]:
        for value in (10 ** 5, 10 ** 9, 2 ** 40):
            c = json.loads(json.dumps(config))
            entry = c["config"]["layers"][index[layer]]["config"]
            entry[key] = ([None, value] if layer == "seq" else [None, value, value, 3]) \
                if key == "batch_shape" else [value, value] if key == "kernel_size" else value
            cases.append(c)
    failures, outcomes = [], {"ok": 0, "error": 0}
    path = tmp_path / "case.mlxf"
    for i, c in enumerate(cases):
        write_members(path, {**members, "config.json": json.dumps(c).encode()})
        outcome = _load(path, keras.models.load_model)
        if outcome in outcomes:
            outcomes[outcome] += 1
        else:
            failures.append((i, outcome))
    assert failures == [] and _WATCH["events"] == []
    assert outcomes["ok"] > 5 and outcomes["error"] > 100, outcomes
