"""scripts/import_graph.py: the package has no import cycle but the two allowed by name,
and the check does fail on a package that has one (lazy imports included)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "import_graph.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_package_has_only_the_allowed_cycles():
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: only allowed cycles" in result.stdout
    assert "CYCLE:" not in result.stdout


def test_a_cycle_through_a_lazy_import_fails(tmp_path):
    pkg = write(tmp_path / "pkg", {
        "__init__.py": "from . import a\n",
        "a.py": "from .b import g\n\ndef f():\n    return g()\n",
        # The import that closes the cycle is inside a function: it still counts.
        "b.py": "def g():\n    from .a import f\n    return f\n",
        "leaf.py": "import os\n",
    })
    result = run(pkg)
    assert result.returncode == 1
    assert "CYCLE: 2 modules: pkg.a, pkg.b" in result.stdout
    assert "pkg.b -> pkg.a   line 2 (in a function)" in result.stdout
    assert "leaf" not in result.stdout.split("CYCLE")[1]


def test_from_package_import_name_and_parent_packages(tmp_path):
    # `from .sub import helper` first runs sub/__init__, which imports x, which imports
    # y (from its package: a name, so sub/__init__): sub -> x -> sub is a cycle; a
    # module of the same package importing a sibling does not re-enter its own package.
    pkg = write(tmp_path / "pkg", {
        "__init__.py": "",
        "sub/__init__.py": "from .x import X\nY = 1\n",
        "sub/x.py": "from . import y\nX = 1\n",
        "sub/y.py": "from . import Y\n",
        "user.py": "from .sub.y import Y\n",
    })
    result = run(pkg)
    assert result.returncode == 1
    assert "pkg.sub, pkg.sub.x, pkg.sub.y" in result.stdout
    assert "pkg.user" not in result.stdout


def test_computed_imports_cannot_be_followed_and_fail(tmp_path):
    pkg = write(tmp_path / "pkg", {
        "__init__.py": "import importlib\n\ndef load(name):\n"
                       "    return importlib.import_module(f'.{name}', __name__)\n",
    })
    result = run(pkg)
    assert result.returncode == 1
    assert "DYNAMIC IMPORT (cannot be followed): pkg line 4" in result.stdout


def test_an_acyclic_package_passes(tmp_path):
    pkg = write(tmp_path / "pkg", {
        "__init__.py": "from . import a, b\n",
        "a.py": "import importlib\nB = importlib.import_module('pkg.b')\n",
        "b.py": "def f():\n    from . import c\n",
        "c.py": "",
    })
    result = run(pkg)
    assert result.returncode == 0, result.stdout
    assert "0 import cycle(s)" in result.stdout
