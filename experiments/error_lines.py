"""Any error of a bad input as the one line the user sees, whichever part of the program found
it: Hydra's grammar (``override_error``), Hydra composing the config or a schema
(``composition_error``), or the project's own checks of data files and checkpoints."""

import re

from hydra.errors import HydraException, OverrideParseException
from omegaconf.errors import OmegaConfBaseException

from experiments import schemas
from experiments.extras import plugin_hint
from reducers.errors import ReducerError


def override_error(exc: OverrideParseException) -> str:
    """A command-line argument Hydra's grammar rejects, as one line: the argument, where it
    goes wrong (the caret of Hydra's message as a character position) and how to quote it."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    caret = next((i for i, line in enumerate(lines) if line.strip() == "^"), None)
    where = ""
    if caret is not None and caret > 0 and exc.override in lines[caret - 1]:
        column = lines[caret].index("^") - lines[caret - 1].index(exc.override)
        if 0 <= column < len(exc.override):
            where = f" at character {column + 1} ({exc.override[column]!r})"
    if "missing EQUAL" in str(exc):
        why = "missing '=': each argument is key=value"
    elif lines and lines[0].startswith("no viable alternative"):
        why = f"{lines[0]} (an unclosed bracket or quote?)"
    else:
        why = "not a value Hydra's grammar accepts"
    return (f"cannot parse the argument {exc.override!r}{where}: {why}; quote values with "
            "spaces or other characters, e.g. \"hydra.run.dir='runs/my run'\"")


def composition_error(exc: Exception) -> str:
    """Hydra's multi-line composition message as one line: what, why, and the valid options."""
    if isinstance(exc, OverrideParseException):
        return override_error(exc)
    text = str(exc).split("Config search path:")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[0] if lines else type(exc).__name__
    if message.endswith(":") and len(lines) > 1:  # "... raised while composing config:"
        message += f" {lines[1]}"
    if exc.__cause__ is not None:  # OmegaConf's reason, e.g. "Key 'betta' not in 'VAEConfig'"
        reason = (str(exc.__cause__).splitlines() or [type(exc.__cause__).__name__])[0]
        message += f" ({reason})"
        network_only = re.match(r"Key '(\w+)' not in '(PCA|TSNE|UMAP)Config'", reason)
        if network_only and network_only[1] in schemas.NETWORK_KEYS:
            message += (f"; model.{network_only[1]} is a network's setting: it applies to "
                        "model=ae and model=vae, not to a baseline")
    message += plugin_hint(message)
    if any(line.startswith("Available options") for line in lines):
        options = lines[next(i for i, line in enumerate(lines)
                             if line.startswith("Available options")) + 1:]
        message += f"; available: {', '.join(options)}"
    if message.startswith(("In 'sweep/", "In 'experiment/")):  # e.g. another app's sweep
        message = message.rstrip(".") + "; the app's --help lists the sweeps and presets it takes"
    return message


def error_line(exc: Exception) -> str:
    """The line the user sees for a bad setting, data file or checkpoint, whichever part of
    the program found it (Hydra while composing, a schema, a data source, ...)."""
    cause, seen = exc, set()
    while cause is not None and id(cause) not in seen:  # raised by one of our resolvers
        if isinstance(cause, ReducerError):
            return f"error: {cause}"
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, (HydraException, OmegaConfBaseException)):
        return f"error: {composition_error(exc)}"
    return f"error: {exc}"
