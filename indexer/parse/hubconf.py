"""hubconf.py, read as text: the entrypoints `torch.hub.list` would show, without running anything.

`torch.hub.list(repo)` downloads the repository and executes its hubconf.py, then lists the
public callables in its namespace. Here the file is parsed (ast) and never executed or imported:
  * `def name(...)` and `class Name` at module level (also inside a module-level if/try/with);
  * `from module import name` (a re-exported builder, as pytorch/vision's hubconf does);
  * `name = other` aliases of something callable (a name, an attribute, a call such as partial);
  * names starting with "_" are private; `del name` removes one; the last definition wins;
  * `dependencies = [...]`, read as a literal.
What cannot be known without running it (`from x import *`, names made by exec or loops) is
reported as a warning.
"""

from __future__ import annotations

import ast

MAX_HUBCONF = 2_000_000


class HubconfError(ValueError):
    """The file cannot be read as Python."""


def _module_body(tree: ast.Module):
    """Module-level statements, including those inside module-level if/try/with blocks."""
    stack = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar":
            inner = list(node.body) + list(getattr(node, "orelse", [])) + list(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                inner.extend(handler.body)
            stack.extend(reversed(inner))
        else:
            yield node


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
                if not ident.isupper():  # CONSTANTS are not entrypoints
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
                elif isinstance(value, (ast.Name, ast.Attribute, ast.Call, ast.Lambda)):
                    add(target.id, "alias", node, module=ast.unparse(value)[:200])
                else:
                    entries.pop(target.id, None)  # rebound to a value that is not callable
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    entries.pop(target.id, None)
    return {"dependencies": dependencies, "entrypoints": list(entries.values()), "warnings": warnings}
