"""The sweep's progress line: read from the job folders, so that it works under every launcher."""

import io

from experiments.records import Record
from hydra_plugins.reducer_sweep.progress import SweepProgress, duration
from reducers.status import Status


def progress(tmp_path, total=4, **kwargs):
    return SweepProgress(total, lambda job: tmp_path / str(job), tmp_path / "sweep.log",
                         stream=io.StringIO(), **kwargs)


def end(tmp_path, job, status=Status.ok):
    (tmp_path / str(job)).mkdir(exist_ok=True)
    Record(status=status, error="" if status is Status.ok else "why").write(tmp_path / str(job))


def test_the_line_counts_runs_failures_and_running_ones_and_estimates_time_left(tmp_path):
    watch = progress(tmp_path)
    assert watch.update() is None  # nothing ended, the minute not up: nothing said
    (tmp_path / "0").mkdir()  # job 0 started
    assert watch.line(watch.started + 5) == (
        "sweep: 0/4 runs done, 1 running, 5s elapsed, time left known once a run ends")
    end(tmp_path, 0)
    end(tmp_path, 1, Status.failed)
    (tmp_path / "2").mkdir()
    said = watch.update()
    assert said.startswith("sweep: 2/4 runs done (1 failed), 1 running, ")
    assert watch.line(watch.started + 60) == (
        "sweep: 2/4 runs done (1 failed), 1 running, 1m00s elapsed, about 1m00s left")
    end(tmp_path, 2, Status.diverged)
    end(tmp_path, 3)
    last = watch.update()
    assert last.startswith("sweep: 4/4 runs done (1 failed, 1 diverged), in ")
    assert watch.stream.getvalue().splitlines() == [said, last]  # the terminal
    logged = (tmp_path / "sweep.log").read_text().splitlines()  # the sweep's log, timed
    assert [line.split("] ", 1)[1] for line in logged] == [said, last]


def test_a_stopped_sweep_says_so_and_runs_ended_before_it_began_do_not_speed_it_up(tmp_path):
    end(tmp_path, 0)  # from an earlier command in the same folder
    watch = progress(tmp_path, total=3)
    assert watch.already == 1
    assert watch.line(watch.started + 30) == (
        "sweep: 1/3 runs done, 30s elapsed, time left known once a run ends")
    end(tmp_path, 1)
    watch.update()
    assert watch.line(watch.started + 30).endswith(", about 30s left")  # one run per 30 s
    assert watch.update(final=True).startswith("sweep: 2/3 runs done, stopped after ")


def test_a_minute_without_a_run_ending_still_says_where_the_sweep_is(tmp_path):
    watch = progress(tmp_path, total=2, every=0.0)
    assert watch.update() == "sweep: 0/2 runs done, 0s elapsed, time left known once a run ends"


def test_the_thread_says_the_last_line_when_stopped(tmp_path):
    watch = progress(tmp_path, total=1, poll=0.01).start()
    end(tmp_path, 0)
    watch.stop()
    assert watch.stream.getvalue().splitlines()[-1].startswith("sweep: 1/1 runs done, in ")


def test_durations_read_as_people_write_them():
    assert [duration(s) for s in (0, 42.4, 60, 552, 3600, 7500)] == [
        "0s", "42s", "1m00s", "9m12s", "1h00m", "2h05m"]


def test_a_watching_progress_pickles_for_launchers_that_send_the_sweeper_away(tmp_path):
    """submitit and Ray pickle the sweeper (whose launch wrapper holds the progress)."""
    import functools
    import importlib
    import pickle

    # the class as the module now holds it: Hydra's plugin discovery may have imported the
    # module again in this process, and pickle looks classes up by name
    live = importlib.import_module("hydra_plugins.reducer_sweep.progress").SweepProgress
    watch = live(1, functools.partial(job_folder, tmp_path), tmp_path / "sweep.log",
                          poll=0.01).start()
    copy = pickle.loads(pickle.dumps(watch))
    watch.stop()
    assert copy.total == 1 and copy.ended == {} and copy._thread is None


def job_folder(root, job):
    return root / str(job)
