"""What every command of the project does at the command line: Hydra's composition errors (wrong
type, unknown key, unknown option) as one line and exit code 2, like the project's own errors,
and the shell's exit code for a signal after an interrupted run has been recorded."""

import os
import signal
import sys
from collections.abc import Callable

from hydra.errors import HydraException

from reducers.interrupt import StopRequest

EXIT_BAD_INPUT = 2


def composition_error(exc: Exception) -> str:
    """Hydra's multi-line composition message as one line: what, why, and the valid options."""
    text = str(exc).split("Config search path:")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[0]
    if exc.__cause__ is not None:  # OmegaConf's reason, e.g. "Key 'betta' not in 'VAEConfig'"
        message += f" ({str(exc.__cause__).splitlines()[0]})"
    if any(line.startswith("Available options") for line in lines):
        options = lines[next(i for i, line in enumerate(lines)
                             if line.startswith("Available options")) + 1:]
        message += f"; available: {', '.join(options)}"
    return message


def command_line(main: Callable[[], object], stop: StopRequest | None = None) -> None:
    """Run a ``@hydra.main`` function as the user's command. A user's own HYDRA_FULL_ERROR=1
    still gets Hydra's full output."""
    user_wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra then raises them to us instead of printing
    try:
        main()
    except HydraException as exc:
        if user_wants_traceback:
            raise
        print(f"error: {composition_error(exc)}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:  # Ctrl-C before training began (composing, loading data)
        print("interrupted before training began; nothing to resume", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)
    if stop:  # interrupted: everything is recorded; exit as the shell expects after a signal
        sys.exit(stop.exit_code)
