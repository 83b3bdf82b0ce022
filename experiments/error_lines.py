"""Any error of a bad input as the one line the user sees, whichever part of the program found
it: Hydra's grammar (``override_error``), Hydra composing the config or a schema
(``composition_error``), or the project's own checks of data files and checkpoints."""

import re

from hydra.errors import HydraException, OverrideParseException
from omegaconf.errors import OmegaConfBaseException

from experiments import schemas
from experiments.extras import plugin_hint
from experiments.config_groups import group_options
from reducers import legacy
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
    reason = ""
    if message.endswith(":") and len(lines) > 1:  # "... raised while composing config:"
        message, reason = message + f" {lines[1]}", lines[1]
    if exc.__cause__ is not None:  # OmegaConf's reason, e.g. "Key 'betta' not in 'VAEConfig'"
        reason = (str(exc.__cause__).splitlines() or [type(exc.__cause__).__name__])[0]
        message += f" ({reason})"
        text += str(exc.__cause__)
    message += _moved_hint(text, reason) + plugin_hint(message)
    if any(line.startswith("Available options") for line in lines):
        options = lines[next(i for i, line in enumerate(lines)
                             if line.startswith("Available options")) + 1:]
        message += f"; available: {', '.join(options)}"
    if message.startswith(("In 'sweep/", "In 'experiment/")):  # e.g. another app's sweep
        message = message.rstrip(".") + "; the app's --help lists the sweeps and presets it takes"
    return message


PART_GROUPS = re.compile(r"Could not override '((model)/(?:net|embedding|place)|"
                         r"(detector)/(?:net|embedding))'\. No match")
PICKED_BY_A_VALUE = re.compile(r"Error merging override ((model|detector)\.(net|embedding))=")


def _moved_hint(text: str, reason: str) -> str:
    """What to write instead, for a setting given where it does not live: a network's part
    picked by a value instead of its group (``model.net=cnn``), a network's setting given to
    a baseline, a conv network's setting to an MLP, or a setting of earlier versions (its full
    key ``model.beta`` in a user's own sweep file: now ``model.kl.beta``)."""
    if PART_GROUPS.search(text):
        group = PART_GROUPS.search(text)
        return (f"; {group[1]} picks a part of a network: it applies to "
                f"{'model=ae and model=vae' if group[2] else 'every detector'}")
    picked = PICKED_BY_A_VALUE.search(text)
    if picked:
        group = picked[1].replace(".", "/")
        return f"; {group}=... picks it (available: {group_options(group)})"
    unknown = re.match(r"Key '(\w+)' not in '(\w+)'", reason)
    if unknown is None:
        return ""
    key, schema = unknown.groups()
    if schema in ("PCAConfig", "TSNEConfig", "UMAPConfig") and key in schemas.NETWORK_KEYS:
        return (f"; model.{key} is a network's setting: it applies to model=ae and model=vae, "
                "not to a baseline")
    full_key = re.search(r"full_key: (\S+)", text)
    if full_key is None:
        return ""
    if legacy.renamed_key(full_key[1]):
        return f"; an earlier spelling: it is now {legacy.renamed_key(full_key[1])}"
    parent = full_key[1].rsplit(".", 1)[0]
    if schema == "MLP" and key in legacy.CONV_ONLY:
        return f"; a conv network's setting: add {parent.replace('.', '/')}=conv"
    moved = legacy.new_spelling(key, "...")
    if moved is None or "." in parent:  # only a model's or a detector's own keys moved
        return ""
    return f"; an earlier spelling: it is now {parent}{'/' if key in legacy.PICKED else '.'}" \
           f"{moved.split('=')[0]}"


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
