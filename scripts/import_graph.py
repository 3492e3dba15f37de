"""Print the import cycles inside the ``mlxfunctional`` package; fail if any is not allowed.

Usage::

    python scripts/import_graph.py [PACKAGE_DIR]     # default: mlxfunctional/ next to scripts/

Reads every module of the package with ``ast`` (nothing is imported or run), builds the
graph "module A imports module B" over the package's own modules, and prints each strongly
connected component of more than one module with one concrete cycle through it. Exits 1
if a cycle remains once the allowed edges below are taken out, 0 otherwise.

What counts as an import of B by A:

- Every ``import`` statement anywhere in A, including inside functions and methods. A lazy
  import only postpones the cycle to the first call; it does not remove it.
- ``importlib.import_module("...")`` with a constant name. A call whose name is computed
  cannot be followed, so it is reported and fails the check (write the import out).
- ``import a.b.c`` and ``from a.b.c import x`` name module ``a.b.c``.
- ``from a.b import name`` names the submodule ``a.b.name`` when ``a/b/name.py`` (or
  ``a/b/name/__init__.py``) exists, and the package ``a.b`` (its ``__init__``)
  otherwise: a name that is not a module is read from the package's ``__init__``.
- Relative imports are resolved against A's package (A itself when A is an ``__init__``).
- Importing ``a.b.c`` first runs the ``__init__`` of each enclosing package (``a.b``),
  so those are edges too, except for the packages enclosing A: they are already
  initialized (or initializing) when A runs, so importing a sibling never re-enters
  them. In particular the top-level package's ``__init__``, which imports everything
  for the user, encloses every module and is never an implicit target; counting it
  would put every module in one cycle. An explicit ``from mlxfunctional import X`` of a
  name that is not a module still counts as an edge to it.

Allowed cycles are listed by name in ``ALLOWED``: one edge each, which must be an import
inside a function (a cycle through module-level imports fails to import at all).
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

# (importer, imported) -> why the edge may close a cycle. An imported package also
# stands for its modules.
ALLOWED = {
    ("mlxfunctional.engine.keras_tensor", "mlxfunctional.engine.tensor_ops"):
        "the symbolic tensor's Python operators (+, [], .T, ...) build the op layers",
    ("mlxfunctional.engine.model", "mlxfunctional.saving"):
        "Model.save/save_weights/load_weights call saving/, as in Keras",
}


def module_names(package_dir):
    """Maps each dotted module name of the package to its file."""
    package_dir = Path(package_dir).resolve()
    root = package_dir.name
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((root,) + parts)] = path
    return modules


class _Imports(ast.NodeVisitor):
    """Collects (target module, line, lazy) for every import in one module."""

    def __init__(self, name, is_package, modules):
        self.name, self.modules = name, modules
        self.package = name if is_package else name.rpartition(".")[0]
        self.found, self.dynamic = [], []
        self._depth = 0  # > 0 inside a function: a lazy import

    def _add(self, target, node):
        if target in self.modules:
            self.found.append((target, node.lineno, self._depth > 0))

    def _function(self, node):
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node):
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            base = ".".join(base + ([node.module] if node.module else []))
        else:
            base = node.module
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            # `from pkg import name`: the submodule if there is one, else pkg/__init__.
            self._add(sub if sub in self.modules else base, node)

    def visit_Call(self, node):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in ("import_module", "__import__"):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                target = arg.value
                if target.startswith("."):  # import_module(".x", __package__)
                    level = len(target) - len(target.lstrip("."))
                    base = self.package.split(".")
                    target = ".".join(base[: len(base) - (level - 1)] + [target.lstrip(".")])
                self._add(target, node)
            else:
                self.dynamic.append(node.lineno)
        self.generic_visit(node)


def import_graph(package_dir):
    """Returns ``(edges, dynamic)``: ``edges[a][b]`` is a list of (line, lazy) where module
    ``a`` imports ``b``; ``dynamic`` lists (module, line) of imports that cannot be followed."""
    modules = module_names(package_dir)
    edges, dynamic = defaultdict(dict), []
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        dynamic += [(name, line) for line in visitor.dynamic]
        enclosing = {name} | {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        for target, line, lazy in visitor.found:
            # The target, and each package enclosing it that does not enclose the importer.
            parts = target.split(".")
            steps = {".".join(parts[:i]) for i in range(1, len(parts))} - enclosing
            for step in sorted(steps & modules.keys()) + [target]:
                if step != name:
                    edges[name].setdefault(step, []).append((line, lazy))
        edges.setdefault(name, {})
    return edges, dynamic


def strongly_connected(edges):
    """Tarjan's algorithm, iterative: the components of more than one module (or with a
    self-import), each as a sorted list."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges[node]:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found)


def one_cycle(edges, component):
    """A shortest cycle through the component's first module (breadth-first)."""
    members, start = set(component), component[0]
    previous, frontier = {start: None}, [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node]):
                if child == start:
                    path = [start]
                    while node is not None:
                        path.append(node)
                        node = previous[node]
                    return path[::-1]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start]


def allowed(importer, target, uses):
    """Why the edge may close a cycle, or None. Only imports inside functions qualify."""
    if not all(lazy for _, lazy in uses):
        return None
    for (a, b), why in ALLOWED.items():
        if importer == a and (target == b or target.startswith(b + ".")):
            return why
    return None


def _describe(edges, cycle):
    lines = []
    for a, b in zip(cycle, cycle[1:]):
        uses = sorted(set(edges[a][b]))
        where = ", ".join(f"{ln}{' (in a function)' if lazy else ''}" for ln, lazy in uses)
        lines.append(f"    {a} -> {b}   line {where}")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    package_dir = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "mlxfunctional"
    edges, dynamic = import_graph(package_dir)
    components = strongly_connected(edges)

    strict = {a: {b: uses for b, uses in targets.items() if not allowed(a, b, uses)}
              for a, targets in edges.items()}
    failing = strongly_connected(strict)

    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} import edges, "
          f"{len(components)} import cycle(s) (strongly connected components)")
    for component in components:
        inside = [f for f in failing if set(f) <= set(component)]
        print(f"\n{'CYCLE' if inside else 'allowed cycle'}: {len(component)} modules: "
              + ", ".join(component))
        for part in inside:  # a cycle that uses no allowed edge
            print("\n".join(_describe(strict, one_cycle(strict, part))))
        if not inside:
            print("\n".join(_describe(edges, one_cycle(edges, component))))
        for a in component:
            for b, uses in sorted(edges[a].items()):
                why = b in component and allowed(a, b, uses)
                if why:
                    print(f"    allowed: {a} -> {b}: {why}")
    for module, line in dynamic:
        print(f"\nDYNAMIC IMPORT (cannot be followed): {module} line {line}")
    if failing or dynamic:
        print(f"\nFAIL: {len(failing)} cycle(s) not allowed, {len(dynamic)} dynamic import(s)")
        return 1
    print("\nOK: only allowed cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
