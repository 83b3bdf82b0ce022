"""What the ``grids`` sweeper uses of Hydra that Hydra does not promise to keep, in one place:
written for hydra-core ``WRITTEN_FOR``. Hydra's basic sweeper (the grid of ``-m`` and of
``hydra.sweeper.params``) lives in ``hydra._internal``; ``grids`` extends it. Where a release
moves it, Hydra's own plugin discovery finds it wherever it is (``basic_sweeper``);
``missing()`` names what moved, and ``tests/test_internals.py`` fails loudly on it."""

WRITTEN_FOR = "1.3"  # the hydra-core release these names were read from
PRIVATE = "hydra._internal.core_plugins.basic_sweeper"
USED = ("split_arguments", "split_overrides_to_chunks")  # its static helpers grids calls


def basic_sweeper(private: str = PRIVATE) -> type:
    """Hydra's ``BasicSweeper`` class: from its private module, or else through the plugin
    discovery every Hydra keeps public."""
    import importlib

    try:
        return importlib.import_module(private).BasicSweeper
    except (ImportError, AttributeError):
        from hydra.core.plugins import Plugins
        from hydra.plugins.sweeper import Sweeper

        found = [c for c in Plugins.instance().discover(Sweeper) if c.__name__ == "BasicSweeper"]
        if not found:
            raise ImportError("hydra-core has no BasicSweeper any more: the grids sweeper was "
                              f"written for hydra-core {WRITTEN_FOR}") from None
        return found[0]


def missing() -> list[str]:
    """What of the above this hydra-core lacks at its written-for place."""
    import importlib

    try:
        cls = importlib.import_module(PRIVATE).BasicSweeper
    except (ImportError, AttributeError):
        return [f"{PRIVATE}.BasicSweeper"]
    return [f"BasicSweeper.{name}" for name in USED if not hasattr(cls, name)]
