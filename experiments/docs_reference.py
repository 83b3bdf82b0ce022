"""``docs/reference/configuration.md``, generated from the schemas and ``conf/``: every key of
the three apps with its type, default, allowed values and meaning, for the default config and
for every option of every group.

    python -m experiments.docs_reference          # write the page
    python -m experiments.docs_reference --check  # exit 1 when the committed page is stale

Defaults come from the composed configs (what ``--cfg job`` prints), types and meanings from
the schema dataclasses (a field's type, the comment on its line and the lines after it),
allowed values from their ``__post_init__`` checks (``require`` and its helpers), or else from
the comment on the key's line in the option's YAML file.
"""

import argparse
import dataclasses
import sys
import typing
from enum import Enum

from omegaconf import DictConfig, ListConfig, OmegaConf

from experiments.config_groups import CONF_DIR
from experiments.docs_schema import allowed, meaning, yaml_comments

PAGE = CONF_DIR.parent / "docs" / "reference" / "configuration.md"
APPS = {"train": "python -m experiments.train", "anomaly": "python -m experiments.anomaly",
        "embed": "python -m experiments.embed"}
OVERLAYS = ("experiment", "sweep", "hparams_search", "hydra")  # many keys at once: no table
REQUIRED = {"embed": ["checkpoint=outputs/train/RUN"]}  # what composing the app needs


def compose(app: str, *overrides: str, hydra: bool = True) -> DictConfig:
    """The app's config as ``--cfg job`` resolves it, with Hydra's own when ``hydra`` (call
    within ``hydra_initialised``)."""
    from hydra import compose as hydra_compose

    required = [r for r in REQUIRED.get(app, []) if not any(
        o.startswith(r.split("=")[0] + "=") for o in overrides)]
    return hydra_compose(config_name=app, overrides=[*required, *overrides],
                         return_hydra_config=hydra)


def hydra_initialised():
    from hydra import initialize_config_dir

    from experiments.cli import prepare_hydra

    prepare_hydra()
    return initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")


def groups(cfg: DictConfig) -> dict[str, str]:
    """The app's config groups and their default options (``model/net``: ``mlp``)."""
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    return {g: str(c) for g, c in choices.items()
            if not g.startswith(OVERLAYS) and not g.startswith("schema")}


def leaves(node, prefix: str = "") -> list[tuple[str, object, type | None, str]]:
    """(key, value, schema class, field name) of every leaf below ``node``."""
    out = []
    schema = OmegaConf.get_type(node) if isinstance(node, DictConfig) else None
    for key in node:
        if str(key).startswith("_"):
            continue
        child = node._get_node(key)
        path = f"{prefix}{key}"
        if isinstance(child, DictConfig):
            out += leaves(child, path + ".")
        else:
            value = OmegaConf.to_container(child) if isinstance(child, ListConfig) else \
                child._value()
            out.append((path, value, schema, str(key)))
    return out


def _type(schema: type | None, name: str) -> str:
    fields = {f.name: f for f in dataclasses.fields(schema)} \
        if schema is not None and dataclasses.is_dataclass(schema) else {}
    if name not in fields:
        return "—"
    if "shown" in fields[name].metadata:  # a type OmegaConf cannot hold, e.g. str or list
        return fields[name].metadata["shown"]
    kind = fields[name].type
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    optional = type(None) in typing.get_args(kind)
    kind = args[0] if optional and len(args) == 1 else kind
    if isinstance(kind, type) and issubclass(kind, Enum):
        text = " \\| ".join(m.value for m in kind)
    else:
        text = kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")
    return text + (" or null" if optional else "")


def _value(value) -> str:
    """A default as one would type it on the command line."""
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "null"
    if value == "???":
        return "required"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (list, tuple)):
        return "`[" + ",".join(str(v) for v in value) + "]`"
    return f"`{value}`" if value != "" else "`''`"


def rows(node, prefix: str, comments: dict[str, str]) -> list[str]:
    return [_row(*leaf, comments) for leaf in leaves(node, prefix)]


def _row(key: str, value, schema: type | None, name: str, comments: dict[str, str]) -> str:
    said = meaning(schema, name) or comments.get(key, "")
    return (f"| `{key}` | {_type(schema, name)} | {_value(value)} | "
            f"{allowed(schema, name) or '—'} | {_cell(said) or '—'} |")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


HEADER = ["| key | type | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]


def app_section(app: str) -> list[str]:
    cfg = compose(app)
    options = groups(cfg)
    grouped = {g.replace("/", ".") for g in options}
    top = [k for k in cfg if k != "hydra" and k not in grouped]
    lines = [f"## `{APPS[app]}`", "", "Groups and their defaults: " + ", ".join(
        f"`{g}={'null' if o == 'None' else o}`" for g, o in sorted(options.items())) + ".", "",
        "### Top-level keys",
        "", *HEADER]
    comments = yaml_comments(CONF_DIR / f"{app}.yaml", "")
    lines += [row for key, *rest in leaves(cfg) if key.split(".")[0] in top
              for row in [_row(key, *rest, comments)]]
    lines += [f"| `{g.replace('/', '.')}` | group | null | "
              + ", ".join(f"`{o}`" for o in _options(g)) + f" | none by default; "
              f"`{g}=OPTION` adds it (its keys: below) |"
              for g, o in sorted(options.items()) if o == "None"]
    for group in sorted(options):
        lines += group_section(app, group, options[group])
    return lines


def group_section(app: str, group: str, default: str) -> list[str]:
    path = group.replace("/", ".")
    lines = []
    for option in _options(group):
        cfg = compose(app, f"{group}={option}")
        node = OmegaConf.select(cfg, path)
        if node is None:
            continue
        mark = " (default)" if option == default else ""
        lines += ["", f"### `{group}={option}`{mark}", ""]
        if not isinstance(node, DictConfig) or not len([k for k in node
                                                         if not str(k).startswith("_")]):
            lines.append("No keys of its own.")
            continue
        comments = yaml_comments(CONF_DIR / group / f"{option}.yaml", path + ".")
        lines += HEADER + rows(node, path + ".", comments)
    return lines


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def generate() -> str:
    lines = ["# Configuration reference", "",
             "Every key the three apps take, with its type, its default, the values it "
             "allows and what it does: first each app's top-level keys, then every option of "
             "every config group (choose one with `group=option`, set a key with "
             "`key=value`). `--cfg job` prints the resolved config of a command. A value "
             "outside the allowed range stops the command before any work, in one line. "
             "Presets (`experiment=`), stored sweeps (`sweep=`) and searches "
             "(`hparams_search=`) set many of these keys at once: their files are in `conf/`.",
             "", "Generated from the schemas (`experiments/schemas/`, the library's settings "
             "dataclasses) and `conf/` by `python -m experiments.docs_reference`; do not edit "
             "by hand (`tests/test_docs.py` fails when this page is stale).", ""]
    with hydra_initialised():
        for app in APPS:
            lines += app_section(app) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.docs_reference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the committed page differs from a fresh one")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if PAGE.read_text() != text:
            print(f"error: {PAGE.relative_to(CONF_DIR.parent)} is stale: regenerate it with "
                  "python -m experiments.docs_reference", file=sys.stderr)
            return 1
        print(f"{PAGE.relative_to(CONF_DIR.parent)} is current")
        return 0
    PAGE.write_text(text)
    print(f"written {PAGE.relative_to(CONF_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
