"""The import rules of docs/reference/architecture.md, read from the source: the library stays
free of Hydra, apps do not import each other, table builders read files only."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = {"train", "anomaly", "embed"}
TABLE_BUILDERS = {"compare", "anomaly_tables", "markdown", "sweep_plots", "search_report"}
BELOW_APPS = {"schemas": set(), "extras": set(), "config_groups": set(),
              "error_lines": {"schemas", "extras", "config_groups"},
              "hints": {"extras", "config_groups"},
              "records": set(), "folders": set(), "results": {"cli", "records", "folders"},
              "cli": {"schemas", "extras", "error_lines", "config_groups", "hints", "folders"},
              "runtime": {"cli", "schemas", "error_lines", "records", "folders"},
              "resume": {"runtime", "results", "cli", "schemas"}}


def imports(path: Path) -> set[str]:
    """The top-level names a module imports (``experiments.runtime`` -> ``experiments``, and
    for the project's packages the module after it: ``experiments.runtime``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        for name in names:
            parts = name.split(".")
            found.add(".".join(parts[:2]) if parts[0] in ("experiments", "reducers") else
                      parts[0])
    return found


def experiments_modules(path: Path) -> set[str]:
    return {m.split(".")[1] for m in imports(path) if m.startswith("experiments.")}


@pytest.mark.parametrize("path", sorted((ROOT / "reducers").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_no_hydra_and_no_app(path):
    assert not imports(path) & {"hydra", "omegaconf", "experiments"}


def test_apps_table_builders_and_the_shared_modules_keep_their_layers():
    for path in (ROOT / "experiments").glob("*.py"):
        name, used = path.stem, experiments_modules(path)
        if name in APPS:
            assert not used & (APPS - {name}), f"{name} imports another app"
        if name in TABLE_BUILDERS:
            assert not used & (APPS | {"runtime", "resume"}), f"{name} reads more than files"
        if name.startswith("benchmark"):
            assert used <= {"benchmark_parts", "benchmark_loops", "benchmark_peers",
                            "benchmark_runs", "benchmark_conv", "benchmark_scale"}, name
        if name in BELOW_APPS:
            assert used <= BELOW_APPS[name], f"{name} imports {used - BELOW_APPS[name]}"
    for path in (ROOT / "experiments" / "schemas").glob("*.py"):
        assert experiments_modules(path) <= {"schemas"}, path.name
