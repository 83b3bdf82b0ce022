"""Where outputs go: the output root is checked before Hydra makes a folder in it, a run folder
that cannot be made is one line, and a full disk is one line naming the file with no partial
file left behind."""

import errno
from pathlib import Path

import pytest

from experiments.cli import output_root
from experiments.train import train
from reducers import io as reducers_io
from reducers.errors import ConfigError, OutputError
from tests.helpers import TINY, run_cli


def test_the_output_root_is_checked(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("x")
    for root, message in (("", "an empty root would write below the filesystem root"),
                          ("  ", "an empty root"),
                          ("/", "the filesystem root"),
                          (str(tmp_path / "a-file"), "is a file, not a folder"),
                          (str(tmp_path / "a-file" / "below"), "a-file is a file, not a folder")):
        with pytest.raises(ConfigError, match=message):
            output_root(root)
    assert output_root(str(tmp_path / "new" / "deeper")) == str(tmp_path / "new" / "deeper")
    assert output_root("outputs") == "outputs"
    import experiments.cli  # an unwritable folder (root may write anywhere: simulated)
    monkeypatch.setattr(experiments.cli.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match=r"new.*: .* is not writable; name a folder you can"):
        output_root(str(tmp_path / "new"))


@pytest.mark.slow  # 22 s on 2 cores: CI runs it with the slow tests
def test_bad_output_folders_are_one_line_at_the_command_line(tmp_path):
    (tmp_path / "a-file").write_text("x")
    cases = [(["paths.output_root="], "error: paths.output_root='' is invalid"),
             ([f"paths.output_root={tmp_path / 'a-file'}"], "is a file, not a folder"),
             ([f"hydra.run.dir={tmp_path / 'a-file' / 'run'}"],
              f"error: cannot write {tmp_path / 'a-file' / 'run'}: {tmp_path / 'a-file'} is a "
              "file, not a folder"),
             ([f"hydra.run.dir={tmp_path / 'dangling'}"],
              f"error: cannot write {tmp_path / 'dangling'}: {tmp_path / 'dangling'} is a link "
              f"to {tmp_path / 'nowhere'}, which does not exist"),
             ([f"paths.output_root={tmp_path / 'dangling'}"],
              f"{tmp_path / 'dangling'} is a link to {tmp_path / 'nowhere'}, which does not "
              "exist"),
             ([f"hydra.run.dir={tmp_path / ('x' * 300)}"], "File name too long"),
             ([f"paths.output_root={tmp_path / ('x' * 300)}"], "File name too long")]
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for args, message in cases:
        done = run_cli(*TINY, *args)
        assert done.returncode == 2 and done.stderr.startswith("error: "), done.stderr
        assert message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not Path("/train").exists()  # what an empty root used to make


def test_a_full_disk_is_one_line_naming_the_file_and_leaves_no_partial_file(
        compose_train, tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reducers_io.os, "fsync", full)
    with pytest.raises(OutputError, match=r"cannot write .*: No space left on device; free some "
                                          r"space or write elsewhere"):
        train(compose_train(*TINY), tmp_path)
    assert not list(tmp_path.glob(".*")), "a partial temp file was left"
    assert not (tmp_path / "metrics.json").exists()
