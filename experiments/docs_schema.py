"""What the configuration reference reads from the source: a schema field's meaning (the
comment on its line and the comment lines after it), the values its ``__post_init__`` allows
(the messages of ``require`` and of the helpers in ``reducers/checks.py``), and the comments
of a YAML option's keys."""

import ast
import functools
import inspect
import re
import textwrap
from pathlib import Path

from reducers.checks import MAX_SEED

FIELD = re.compile(r"^\s+(\w+)\s*:[^#]*?(?:#\s?(.*))?$")
CONTINUED = re.compile(r"^\s+#\s{2,}(.*)$")  # "#   more of the comment above"
HELPERS = {"finite_at_least": lambda args: f"a finite number >= {args.get(2, '0')}",
           "positive": lambda args: "a finite number > 0",
           "at_least": lambda args: f">= {args.get(2, '?')}",
           "layer_sizes": lambda args: "a list of layer sizes, each >= 1",
           "seed": lambda args: f"an integer in 0 .. {MAX_SEED}"}


def _classes(schema: type | None) -> list[type]:
    return [c for c in getattr(schema, "__mro__", ()) if c.__module__.startswith(
        ("reducers", "experiments"))]


@functools.lru_cache(maxsize=None)
def _source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""


def meaning(schema: type | None, name: str) -> str:
    """The comment of field ``name`` in the first class of ``schema``'s MRO that declares it."""
    for cls in _classes(schema):
        lines = _source(cls).splitlines()
        for i, line in enumerate(lines):
            found = FIELD.match(line)
            if found and found.group(1) == name and not line.lstrip().startswith("def "):
                parts = [found.group(2) or ""]
                for more in lines[i + 1:]:
                    continued = CONTINUED.match(more)
                    if not continued:
                        break
                    parts.append(continued.group(1))
                return " ".join(p.strip() for p in parts if p.strip())
    return ""


def _text(node: ast.AST) -> str:
    """A message argument as a reader would see it: f-strings with their ``{...}`` kept."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value)
                       + "}" for v in node.values)
    return ast.unparse(node)


@functools.lru_cache(maxsize=None)
def _checks(cls: type) -> dict[str, str]:
    """{field: allowed} from ``cls.__post_init__``'s calls of ``require`` and the helpers."""
    post = cls.__dict__.get("__post_init__")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(post))) if post else None
    except (OSError, TypeError):
        tree = None
    found: dict[str, list[str]] = {}
    for call, keys in _calls(tree) if tree else ():
        name = getattr(call.func, "id", getattr(call.func, "attr", ""))
        name = "seed" if name.endswith("seed") else name  # imported as check_seed
        args = dict(enumerate(call.args))
        if name == "require" and 3 in args:
            text = _text(args[3]).replace("{at}", "")
        elif name in HELPERS:
            text = HELPERS[name]({i: _text(a) for i, a in args.items()})
        else:
            continue
        for key in keys:
            if text not in found.setdefault(key, []):
                found[key].append(text)
    return {key: "; ".join(texts) for key, texts in found.items()}


def _calls(tree: ast.AST):
    """(call, the field names it checks): its key argument, a string or the variable of a
    ``for key in ("a", "b")`` loop around it (``seed(...)`` checks ``seed``)."""
    loops = {}
    for loop in (n for n in ast.walk(tree) if isinstance(n, ast.For)):
        if isinstance(loop.target, ast.Name) and isinstance(loop.iter, (ast.Tuple, ast.List)):
            values = [e.value for e in loop.iter.elts if isinstance(e, ast.Constant)]
            loops[loop.target.id] = values
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = getattr(call.func, "id", getattr(call.func, "attr", ""))
        key = call.args[1] if len(call.args) > 1 else None
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield call, [key.value]
        elif isinstance(key, ast.Name) and key.id in loops:
            yield call, loops[key.id]
        elif key is None and name.endswith("seed"):  # reducers.checks.seed, as imported
            yield call, ["seed"]


def allowed(schema: type | None, name: str) -> str:
    for cls in _classes(schema):
        if name in _checks(cls):
            return " ".join(_checks(cls)[name].split()).replace("|", "\\|")
    return ""


KEY = re.compile(r"^(\s*)([A-Za-z_][\w]*):(.*)$")


def yaml_comments(path: Path, prefix: str) -> dict[str, str]:
    """{dotted key (after ``prefix``): its comment} of the keys in a YAML option file."""
    out, stack = {}, []
    if not Path(path).is_file():
        return out
    for line in Path(path).read_text().splitlines():
        found = KEY.match(line)
        if not found or line.lstrip().startswith("#"):
            continue
        indent, key, rest = len(found.group(1)), found.group(2), found.group(3)
        stack = [(i, k) for i, k in stack if i < indent]
        value, _, comment = rest.partition(" #")
        if value.strip() in ("", "|", ">"):
            stack.append((indent, key))
            continue
        dotted = ".".join([k for _, k in stack] + [key])
        if comment.strip():
            out[prefix + dotted] = comment.strip()
    return out
