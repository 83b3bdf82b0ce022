"""The project's exceptions: each message names what is wrong and how to fix it."""


class ReducerError(Exception):
    """Base class: the command-line entry points print these as one line and exit non-zero."""


class ConfigError(ReducerError, ValueError):
    """A setting is out of range or inconsistent with another."""


class DataError(ReducerError, ValueError):
    """A data source is missing, malformed or unusable."""


class CheckpointError(ReducerError):
    """A checkpoint is missing, truncated, foreign or tampered with."""


class OutputError(ReducerError):
    """A result cannot be written: the folder is missing, not writable, or the disk is full."""
