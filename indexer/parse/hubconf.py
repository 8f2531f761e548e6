"""hubconf.py, read as text: the entrypoints `torch.hub.list` would show, without running anything.

`torch.hub.list(repo)` downloads the repository and executes its hubconf.py, then lists the
public callables in its namespace. Here the file is parsed (ast) and never executed or imported:
  * `def name(...)` and `class Name` at module level (also inside a module-level if/try/with);
  * `from module import name` (a re-exported builder, as pytorch/vision's hubconf does);
  * `name = other` aliases of something callable (a name, an attribute, a call such as partial);
  * names starting with "_" are private; `del name` removes one; the last definition wins;
  * `dependencies = [...]`, read as a literal.
What cannot be known without running it (`from x import *`, names made by exec or by writing
globals(), also in a loop) is reported as a warning. Code under `if __name__ == "__main__":` does
not run on import and is skipped. An imported ALL_CAPS name with an underscore is a constant.
"""

from __future__ import annotations

import ast

MAX_HUBCONF = 2_000_000


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


def _unseen_names(node):
    """(line, what) for module-level code that makes names the parser cannot see: writing globals()
    or vars() (`globals().update(...)`, `globals()[name] = ...`, also in a loop) or exec()."""
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
                  and f.value.func.id in ("globals", "vars")):
                yield n.lineno, f"{f.value.func.id}().{f.attr}(...)"
        elif isinstance(n, (ast.Assign, ast.AugAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Call)
                        and isinstance(t.value.func, ast.Name) and t.value.func.id in ("globals", "vars")):
                    yield n.lineno, f"{t.value.func.id}()[...] = ..."
        stack.extend(ast.iter_child_nodes(n))


def _params(node) -> list[str]:
    a = node.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return names


def parse_hubconf(source: str | bytes, name: str = "hubconf.py") -> dict:
    """{"dependencies": [...], "entrypoints": [{"name", "kind", "docstring", "module", "params",
    "line"}], "warnings": [...]}. Raises HubconfError for a file that is not Python."""
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
    return {"dependencies": dependencies, "entrypoints": list(entries.values()), "warnings": warnings}
