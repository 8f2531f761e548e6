"""hubconf.py, read as text: the entrypoints `torch.hub.list` would show, without running anything.

`torch.hub.list(repo)` downloads the repository and executes its hubconf.py, then lists the
public callables in its namespace. Here the file is parsed (ast) and never executed or imported:
  * `def name(...)` and `class Name` at module level (also inside a module-level if/try/with);
  * `from module import name` (a re-exported builder, as pytorch/vision's hubconf does);
  * `name = other` aliases of something callable (a name, an attribute, a call such as partial);
  * names starting with "_" are private; `del name` removes one; the last definition wins;
  * `dependencies = [...]`, read as a literal.
What cannot be known without running it (`from x import *`, names made by exec or by writing
globals(), vars() or module-level locals(), also in a loop) is reported as a warning. Code under
`if __name__ == "__main__":` does not run on import and is skipped. An imported ALL_CAPS name with
an underscore is a constant.

An imported name is followed to what binds it, as far as the files can tell (`resolve_import`):
a submodule (`from setuptools import sandbox`, `from models import yolo` with models/yolo.py in the
repository) is a module, not callable; a name the module binds to data, to a module, or to an
instance (`cfg = CfgNode()`) is not listed either (an instance only with a warning: torch.hub lists
it if its class defines __call__). Files of the repository are read through `read` (the caller's:
GitHub at the same ref, a local checkout), at most `max_reads` of them; installed and standard
library packages are looked up on disk, never imported.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import sys
from collections.abc import Callable

MAX_HUBCONF = 2_000_000
MAX_READS = 24  # other files of the repository read to follow imports, per hubconf
MAX_DEPTH = 6  # re-exports followed through at most this many modules


class HubconfError(ValueError):
    """The file cannot be read as Python."""


def _main_guard(test) -> bool | None:
    """True for `__name__ == "__main__"` (either way round), False for `!=`, None for any other test."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
        return None
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    if not (names and mains):
        return None
    return isinstance(test.ops[0], ast.Eq)


def _module_body(tree: ast.Module):
    """Module-level statements, including those inside module-level if/try/with blocks. torch.hub
    imports hubconf.py as a module, so `if __name__ == "__main__":` blocks never run: skipped (their
    `else:` runs)."""
    stack = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        guard = _main_guard(node.test) if isinstance(node, ast.If) else None
        if guard is not None:
            stack.extend(reversed(list(node.orelse if guard else node.body)))
        elif isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar":
            inner = list(node.body) + list(getattr(node, "orelse", [])) + list(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                inner.extend(handler.body)
            stack.extend(reversed(inner))
        else:
            yield node


# builtins whose call makes data, never a callable (`VIT_CONFIGS = dict(...)`)
_DATA_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes",
                            "sorted", "len", "range", "zip", "enumerate", "open", "repr", "format"})


def _constant(ident: str) -> bool:
    """An imported CONSTANT_NAME (MODEL_URLS, DEFAULT_CFG: not callable, not listed). An all-caps
    name without an underscore is a class as often (VGG, DETR, MLP) and is listed, as torch.hub.list
    lists every public callable."""
    return ident.isupper() and "_" in ident.strip("_")


_NAMESPACES = ("globals", "vars", "locals")  # at module level, locals() is the module's namespace


def _unseen_names(node):
    """(line, what) for module-level code that makes names the parser cannot see: writing globals(),
    vars() or locals() (`globals().update(...)`, `locals()[name] = ...`, also in a loop) or exec()."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return  # runs when called, not on import
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Name) and f.id == "exec":
                yield n.lineno, "exec()"
            elif (isinstance(f, ast.Attribute) and f.attr in ("update", "setdefault", "__setitem__")
                  and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name)
                  and f.value.func.id in _NAMESPACES):
                yield n.lineno, f"{f.value.func.id}().{f.attr}(...)"
        elif isinstance(n, (ast.Assign, ast.AugAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Call)
                        and isinstance(t.value.func, ast.Name) and t.value.func.id in _NAMESPACES):
                    yield n.lineno, f"{t.value.func.id}()[...] = ..."
        stack.extend(ast.iter_child_nodes(n))


def _value_kind(value) -> str:
    """What an assignment binds, as far as its text tells: "data" (a literal, a data builtin's
    result), "instance" (a class called: a name starting with a capital, `cfg = CfgNode()`),
    "callable" (another call such as partial(...), a lambda), "name" (another name), "unknown"."""
    if isinstance(value, ast.Lambda):
        return "callable"
    if isinstance(value, ast.Call):
        f = value.func
        if isinstance(f, ast.Name) and f.id in _DATA_BUILTINS:
            return "data"
        callee = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return "instance" if callee[:1].isupper() else "callable"
    if isinstance(value, ast.Name):
        return "name"
    if isinstance(value, ast.Attribute):
        return "unknown"
    return "data"  # constants, containers, f-strings, arithmetic, comprehensions


def _binding(tree: ast.Module, ident: str):
    """The last module-level binding of `ident` in a module: ("def",) for def/class, ("from", level,
    module, name) for a from-import, ("module",) for an import, ("value", kind, node) for an
    assignment, ("star", [(level, module), ...]) when only star imports could bind it, or None."""
    found, stars = None, []
    for node in _module_body(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == ident:
            found = ("def",)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    stars.append((node.level, node.module or ""))
                elif (alias.asname or alias.name) == ident:
                    found = ("from", node.level, node.module or "", alias.name)
        elif isinstance(node, ast.Import):
            if any((a.asname or a.name.split(".")[0]) == ident for a in node.names):
                found = ("module",)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == ident for t in targets):
                found = ("value", _value_kind(node.value), node.value)
    return found if found is not None else (("star", stars) if stars else None)


@functools.cache
def _known_modules() -> frozenset[str]:
    from ..normalize.tables import load_table
    return frozenset(str(m) for m in load_table("hubconf").get("modules") or [])


def installed_submodule(package: str, name: str) -> bool:
    """Whether `package.name` is a module: listed in schema/hubconf.yml, or a module of an installed
    or standard-library package, looked up on disk (find_spec of the top-level name only: nothing is
    imported or run)."""
    top, *middle = package.split(".")
    if not top or not top.isidentifier():
        return False
    if f"{package}.{name}" in _known_modules():
        return True
    module = sys.modules.get(f"{package}.{name}")
    if module is not None and type(module).__name__ == "module":
        return True  # os.path: a module the package sets up on import
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError, AttributeError):
        return False
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = os.path.join(location, *middle)
        if os.path.isfile(os.path.join(folder, name + ".py")) or os.path.isfile(
                os.path.join(folder, name, "__init__.py")):
            return True
        try:
            if any(f.startswith(name + ".") and f.endswith((".so", ".pyd")) for f in os.listdir(folder)):
                return True
        except OSError:
            continue
    return False


def _absolute(level: int, module: str, package: str) -> str:
    """The module a relative import names (`from ..x import y` in package a.b -> a.x); "" if none."""
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return ""
    return ".".join(parts[:len(parts) - (level - 1)] + ([module] if module else []))


class _Imports:
    """Follows `from module import name` through the repository's files (read with `read`, at most
    `max_reads` files) and installed packages, to tell whether the name is callable."""

    def __init__(self, read: Callable[[str], str | bytes | None] | None, max_reads: int,
                 is_installed_module: Callable[[str, str], bool]):
        self.read, self.left, self.files = read, max_reads, {}
        self.is_installed_module = is_installed_module
        self.exhausted = False

    def _text(self, path: str):
        if path in self.files:
            return self.files[path]
        if self.read is None:
            return None
        if self.left <= 0:
            self.exhausted = True
            return None
        self.left -= 1
        data = self.read(path)
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace") if len(data) <= MAX_HUBCONF else None
        try:
            tree = ast.parse(data) if isinstance(data, str) and len(data) <= MAX_HUBCONF else None
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        self.files[path] = tree
        return tree

    def _module(self, dotted: str):
        """(tree, package dotted name) of a repository module, or None."""
        if not dotted or not all(p.isidentifier() for p in dotted.split(".")):
            return None
        base = dotted.replace(".", "/")
        tree = self._text(base + ".py")
        if tree is not None:
            return tree, dotted.rpartition(".")[0]
        tree = self._text(base + "/__init__.py")
        return (tree, dotted) if tree is not None else None

    def _is_repo_module(self, dotted: str) -> bool:
        base = dotted.replace(".", "/")
        return self._text(base + ".py") is not None or self._text(base + "/__init__.py") is not None

    def kind(self, module: str, name: str, level: int = 0, package: str = "", depth: int = 0,
             submodules: bool = True) -> tuple[str, str, object]:
        """("callable" | "module" | "data" | "instance" | "unknown", the module that binds it, the value
        bound or None) for `from module import name`. Through a star import (submodules=False) a
        name not bound in the module is not looked for as its submodule: a star exports bindings."""
        if level:
            module = _absolute(level, module, package)
        if depth > MAX_DEPTH or not module:
            return "unknown", module, None
        found = self._module(module)
        if found is not None:
            tree, pkg = found
            binding = _binding(tree, name)
            if binding is not None and binding[0] == "star":
                for level, source in binding[1]:  # `from .models import *`: look there
                    found_there = self.kind(source, name, level, pkg, depth + 1, submodules=False)
                    if found_there[0] != "unknown":
                        return found_there
            if binding is None or binding[0] == "star":
                if submodules and self._is_repo_module(f"{module}.{name}"):
                    return "module", f"{module}.{name}", None
                return "unknown", module, None
            if binding[0] == "def":
                return "callable", module, None
            if binding[0] == "module":
                return "module", module, None
            if binding[0] == "from":
                source = _absolute(binding[1], binding[2], pkg) if binding[1] else binding[2]
                if (source, binding[3]) == (module, name):  # `from . import heads` in the package
                    return ("module", f"{module}.{name}", None) if self._is_repo_module(f"{module}.{name}") \
                        else ("unknown", module, None)
                return self.kind(source, binding[3], 0, "", depth + 1)
            what = binding[1]
            if what == "name":
                return self.kind(module, binding[2].id, 0, "", depth + 1)
            return what, module, binding[2]
        if self._is_repo_module(f"{module}.{name}"):
            return "module", f"{module}.{name}", None  # a namespace package's module
        if self.is_installed_module(module, name):
            return "module", f"{module}.{name}", None
        return "unknown", module, None


def _params(node) -> list[str]:
    a = node.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return names


def parse_hubconf(source: str | bytes, name: str = "hubconf.py", read: Callable[[str], str | bytes | None] | None = None,
                  max_reads: int = MAX_READS,
                  is_installed_module: Callable[[str, str], bool] = installed_submodule) -> dict:
    """{"dependencies": [...], "entrypoints": [{"name", "kind", "docstring", "module", "params",
    "line"}], "warnings": [...]}. Raises HubconfError for a file that is not Python.

    read(path) returns another file of the same repository (a path from its root, such as
    "lib/config/__init__.py") or None where there is none; without it, imported names are taken as
    callable unless an installed package says they are modules."""
    if isinstance(source, bytes):
        if len(source) > MAX_HUBCONF:
            raise HubconfError(f"{name}: {len(source)} bytes, too large for a hubconf")
        source = source.decode("utf-8", errors="replace")
    if len(source) > MAX_HUBCONF:
        raise HubconfError(f"{name}: {len(source)} characters, too large for a hubconf")
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as e:
        raise HubconfError(f"{name}: syntax error at line {e.lineno}: {e.msg}") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise HubconfError(f"{name}: cannot be parsed ({type(e).__name__}: {e})") from None

    entries: dict[str, dict] = {}
    dependencies: list[str] = []
    warnings: list[str] = []

    def add(ident: str, kind: str, node, **extra) -> None:
        if ident.startswith("_"):
            return
        entries.pop(ident, None)  # a redefinition moves it to its new place
        entries[ident] = {"name": ident, "kind": kind, "docstring": None, "module": None, "params": [],
                          "line": getattr(node, "lineno", None), **extra}

    for node in _module_body(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node.name, "function", node, docstring=ast.get_docstring(node), params=_params(node))
        elif isinstance(node, ast.ClassDef):
            add(node.name, "class", node, docstring=ast.get_docstring(node))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    warnings.append(f"line {node.lineno}: 'from {module} import *': those names cannot "
                                    "be listed without running the file")
                    continue
                ident = alias.asname or alias.name
                if not _constant(ident):
                    add(ident, "import", node, module=module, imported=alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:  # modules are not callable: drop a name they shadow
                entries.pop(alias.asname or alias.name.split(".")[0], None)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                if target.id == "dependencies":
                    try:
                        deps = ast.literal_eval(value) if value is not None else None
                    except ValueError:
                        deps = None
                    if isinstance(deps, (list, tuple)) and all(isinstance(d, str) for d in deps):
                        dependencies = [d.strip() for d in deps if d.strip()]
                    else:
                        warnings.append(f"line {node.lineno}: dependencies is not a list of names")
                elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in _DATA_BUILTINS:
                    entries.pop(target.id, None)  # CONFIGS = dict(...): data, not callable
                elif _value_kind(value) == "instance":
                    entries.pop(target.id, None)
                    if not target.id.startswith("_"):
                        warnings.append(_instance_warning(target.id, value, node.lineno, "hubconf.py"))
                elif isinstance(value, (ast.Name, ast.Attribute, ast.Call, ast.Lambda)):
                    add(target.id, "alias", node, module=ast.unparse(value)[:200])
                else:
                    entries.pop(target.id, None)  # rebound to a value that is not callable
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    entries.pop(target.id, None)
        for line, how in _unseen_names(node):
            warnings.append(f"line {line}: {how}: those names cannot be listed without running the file")

    imports = _Imports(read, max_reads, is_installed_module)
    for ident, entry in list(entries.items()):
        if entry["kind"] != "import" or entry["module"].startswith("."):
            continue  # a relative import fails where torch.hub imports hubconf.py as a top-level module
        what, where, node = imports.kind(entry["module"], entry["imported"])
        if what in ("module", "data"):
            entries.pop(ident)
        elif what == "instance":
            entries.pop(ident)
            warnings.append(_instance_warning(ident, node, entry["line"], where.replace(".", "/") + ".py"))
    if imports.exhausted:
        warnings.append(f"imports were followed through {max_reads} files of the repository only: names imported "
                        "past them are listed as callables")
    return {"dependencies": dependencies, "entrypoints": list(entries.values()), "warnings": warnings}


def _instance_warning(ident: str, value, line, where: str) -> str:
    made = ast.unparse(value.func)[:80] if isinstance(value, ast.Call) else "a class"
    return (f"line {line}: {ident!r} is an instance of {made} (made in {where}): torch.hub lists it only if its "
            "class defines __call__; not listed")
