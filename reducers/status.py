"""How a run ended, in one vocabulary for the trainer, the apps' records, the tables, the trackers
and the sweepers."""

from enum import Enum


class Status(str, Enum):
    ok = "ok"  # finished: trained (or fitted), scored, every file written
    diverged = "diverged"  # a non-finite loss or weight ended training; nothing scored
    interrupted = "interrupted"  # a signal: the last whole epoch is kept (resume it)
    pruned = "pruned"  # a search's pruner ended it early (its trial's values so far are kept)
    failed = "failed"  # an error, or a crash that left no record
    unreadable = "unreadable"  # a reader's verdict: the run's files cannot be read as a run's
    running = "running"  # a reader's verdict: no record yet, and its command is alive

    def __str__(self) -> str:  # "ok" in messages, tags and tables, not "Status.ok"
        return self.value

    __format__ = str.__format__

    @property
    def finished(self) -> bool:
        """Whether the run is a result: diverged and interrupted runs are, failed ones not."""
        return self not in (Status.failed, Status.unreadable, Status.running)
