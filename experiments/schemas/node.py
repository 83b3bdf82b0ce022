"""A library settings dataclass as a config node: its fields, defaults and checks, and the
``_target_`` that builds what it describes."""

import dataclasses

from omegaconf import MISSING


def node(name: str, settings: type, target: str = MISSING, *, module: str) -> type:
    """The schema ``name`` (what a wrong key's error names), to be kept as ``module.name`` (so
    that launchers can pickle configs): ``settings`` plus ``_target_`` (MISSING: each YAML
    option that uses the schema names its own)."""
    cls = dataclasses.make_dataclass(
        name, [("_target_", str, dataclasses.field(default=target))], bases=(settings,),
        kw_only=True)
    cls.__module__ = module
    return cls
