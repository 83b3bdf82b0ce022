"""Every data source on real files, every malformation a DataError naming file and place."""

import gzip
import shutil
import urllib.error

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reducers.data import load_digits, load_idx, load_mnist, load_tsv
from reducers.data.idx import parse_idx
from reducers.data.tsv import parse_tsv
from reducers.errors import DataError
from tests.helpers import SHARED_T10K, idx_bytes, run_cli, tsv_text, write_idx_folder


@pytest.fixture(scope="module")
def real(digits):
    """Real digits as 0-255 uint8: 800 train, 200 test images (28 x 28)."""
    to_u8 = lambda x: np.rint(x * 255).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    return to_u8(digits.x_train), digits.y_train, to_u8(digits.x_test), digits.y_test


@pytest.fixture
def idx_folder(tmp_path, real):
    x, y, x_te, y_te = real
    return write_idx_folder(tmp_path / "idx", {"train": x, "t10k": x_te},
                            {"train": y, "t10k": y_te})


def test_idx_folder_with_both_splits_keeps_them(idx_folder, real):
    split = load_idx(str(idx_folder))
    assert (len(split.y_train), len(split.y_test)) == (800, 200)
    assert np.array_equal(split.y_test, real[3])
    assert np.allclose(split.x_train[0] * 255, real[0][0].ravel(), atol=1e-3)
    assert load_idx(str(idx_folder), limit=100).x_train.shape == (100, 784)  # first N train


def test_an_idx_folder_without_images_is_one_line(tmp_path):
    empty = write_idx_folder(tmp_path / "empty", {"train": np.zeros((0, 28, 28), np.uint8)},
                             {"train": np.zeros(0, np.uint8)})
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: no images \(shape "
                                        r"\(0, 28, 28\)\)"):
        load_idx(str(empty))


def test_idx_plain_files_and_a_single_split_any_image_size(tmp_path):
    digits = load_digits()  # 8 x 8
    x = np.rint(digits.x_train * 255).astype(np.uint8).reshape(-1, 8, 8)
    folder = write_idx_folder(tmp_path / "one", {"train": x}, {"train": digits.y_train}, gz=False)
    split = load_idx(str(folder), test_fraction=0.25)
    assert split.image_shape == (8, 8) and split.input_dim == 64
    assert len(split.y_test) == pytest.approx(0.25 * len(x), abs=1)


@pytest.mark.skipif(not SHARED_T10K.is_dir(), reason="../shared/data/mnist-t10k is absent")
def test_the_real_mnist_test_set():
    split = load_idx(str(SHARED_T10K))  # t10k only: split 80/20 like the default
    assert (len(split.y_train), len(split.y_test)) == (8000, 2000)
    counts = np.bincount(np.concatenate([split.y_train, split.y_test]))
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_tsv_in_the_blog_format(tmp_path, real):
    x, y = real[0].reshape(len(real[0]), -1), real[1]
    path = tmp_path / "blog.tsv"
    path.write_text(tsv_text(x, y))
    split = load_tsv(str(path), limit=500)  # the first 500 lines' images, then 80/20
    assert (len(split.y_train), len(split.y_test)) == (400, 100)
    assert split.image_shape == (28, 28)
    assert sorted(np.concatenate([split.y_train, split.y_test])) == sorted(y[:500])


def test_digits():
    split = load_digits()
    assert split.image_shape == (8, 8) and len(split.y_train) + len(split.y_test) == 1797
    assert split.x_train.max() == 1.0 and split.x_train.min() == 0.0


def test_full_mnist_uses_placed_idx_files_and_never_downloads_then(tmp_path, idx_folder,
                                                                   monkeypatch):
    monkeypatch.setattr("sklearn.datasets.fetch_openml", _no_network)
    shutil.copytree(idx_folder, tmp_path / "data" / "mnist")
    split = load_mnist(data_dir=str(tmp_path / "data"))
    assert split.name == "mnist" and len(split.y_test) == 200


def _no_network(*args, **kwargs):
    raise urllib.error.URLError("no network in tests")


def test_full_mnist_offline_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr("sklearn.datasets.fetch_openml", _no_network)
    with pytest.raises(DataError, match=r"put train-images-idx3-ubyte.gz.*data/mnist/"):
        load_mnist(data_dir=str(tmp_path / "data"))


GOOD = idx_bytes(np.zeros((3, 4, 4), np.uint8))
GOOD_GZ = gzip.compress(GOOD, mtime=0)  # no time stamp: the same test ids in every process


@pytest.mark.parametrize("name, content, message", [
    ("empty", b"", "bad magic number none"),
    ("magic", b"\x08\x03" + GOOD[2:], "bad magic number"),
    ("dtype", GOOD[:2] + b"\x07" + GOOD[3:], "bad magic number"),
    ("truncated", GOOD[:-5], "need 48 bytes of data, the file has 43"),
    ("too long", GOOD + b"\x00", "need 48 bytes"),
    ("header", GOOD[:9], "header truncated"),
    ("gzip truncated", GOOD_GZ[:-10], "corrupt or truncated gzip"),
    ("gzip corrupt", GOOD_GZ[:12] + b"\xff" * 20, "corrupt or truncated gzip"),
])
def test_broken_idx_files(tmp_path, real, name, content, message):
    folder = write_idx_folder(tmp_path / "f", {"train": real[0][:50]}, {"train": real[1][:50]})
    target = folder / "train-images-idx3-ubyte.gz"
    target.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_idx(str(folder))
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_idx_count_mismatch_and_missing_folder(tmp_path, real):
    folder = write_idx_folder(tmp_path / "f", {"train": real[0][:50]}, {"train": real[1][:40]})
    with pytest.raises(DataError, match="50 images but 40 labels"):
        load_idx(str(folder))
    with pytest.raises(DataError, match="no such folder"):
        load_idx(str(tmp_path / "missing"))
    with pytest.raises(DataError, match="no IDX image\\+label pair"):
        load_idx(str(tmp_path))


ROW = "\t".join(["0"] * 15 + ["255"])  # 16 pixels (4 x 4)


@pytest.mark.parametrize("text, message", [
    ("", "no data lines"),
    ("# only a comment\n\n", "no data lines"),
    (f"{ROW}\t1\n{ROW}\t0\t2\n", "line 2: 18 fields, but line 1 has 17"),
    (f"{ROW}\t1\n{ROW}\tseven\n", "line 2, field 17: 'seven' is not a number"),
    (f"{ROW}\t1\n1{ROW[1:]}\t1\n#\n{ROW.replace('255', '256')}\t3\n", "line 4: pixel values"),
    (f"{ROW}\t1\n-1{ROW[1:]}\t2\n", "line 2: pixel values must be 0-255"),
    (f"{ROW}\t1\nnan{ROW[1:]}\t2\n", "line 2: NaN or infinite pixel"),
    (f"{ROW}\t1\n{ROW}\t2.5\n", "line 2: label 2.5 is not a non-negative integer"),
    (f"{ROW}\t1\n\t{ROW[2:]}\t2\n", "line 2: NaN or infinite"),  # an empty field
    ("1\t2\t3\t4\t5\t0\n", "5 pixel values per line is not a square"),
    ("\xff\xfe1\t2\n", "not UTF-8 text"),  # written as latin-1: bytes ff fe
])
def test_broken_tsv_files(tmp_path, text, message):
    path = tmp_path / "broken.tsv"
    path.write_text(text, encoding="latin-1")
    with pytest.raises(DataError, match=message) as info:
        load_tsv(str(path))
    assert "broken.tsv" in str(info.value)


def test_blank_images_are_refused(tmp_path):
    folder = write_idx_folder(tmp_path / "blank", {"train": np.zeros((600, 8, 8), np.uint8)},
                              {"train": np.arange(600) % 10})
    with pytest.raises(DataError, match=r"every pixel of the 600 images is 0 \(blank images\)"):
        load_idx(str(folder))


def test_tsv_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_tsv(str(tmp_path / "nope.tsv"))


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_idx_parser_only_ever_raises_data_errors(data):
    try:
        array = parse_idx(data, "fuzz")
    except DataError:
        return
    assert array.size * array.itemsize == len(data) - 4 - 4 * array.ndim


@FUZZ
@given(st.binary(max_size=24).map(lambda tail: GOOD[:4] + tail))
def test_fuzz_idx_parser_with_a_valid_magic(data):
    try:
        parse_idx(data, "fuzz")
    except DataError:
        pass


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(alphabet="0123456789\t\n#.-e ,x",
                                                   max_size=300).map(str.encode)))
def test_fuzz_tsv_parser_only_ever_raises_data_errors(data):
    try:
        x, y, shape = parse_tsv(data, "fuzz")
    except DataError:
        return
    assert x.shape[1] == shape[0] * shape[1] and len(x) == len(y)
    assert (0 <= x).all() and (x <= 255).all() and (y >= 0).all()


@pytest.mark.parametrize("option", ["mnist5k", "digits", "idx", "tsv", "mnist", "fashion_mnist"])
def test_every_data_option_builds_through_the_config(compose_train, tmp_path, idx_folder, real,
                                                     monkeypatch, option):
    from experiments.runtime import build

    monkeypatch.setattr("sklearn.datasets.fetch_openml", _no_network)
    (tmp_path / "blog.tsv").write_text(tsv_text(real[0].reshape(800, -1), real[1]))
    for name in ("mnist", "fashion_mnist"):
        shutil.copytree(idx_folder, tmp_path / "data" / name)
    extra = {"idx": [f"data.path={idx_folder}"], "tsv": [f"data.path={tmp_path / 'blog.tsv'}"]}
    cfg = compose_train(f"data={option}", f"paths.data_dir={tmp_path / 'data'}",
                        *extra.get(option, []))
    split = build(cfg.data)
    assert split.x_train.dtype == np.float32 and split.x_train.max() <= 1
    assert split.n_classes == 10 and len(split.y_test) > 0


def test_command_line_bad_data_file_is_one_line_and_nothing_written(tmp_path):
    (tmp_path / "bad.tsv").write_text(f"{ROW}\t1\n{ROW}\tseven\n")
    proc = run_cli("data=tsv", f"data.path={tmp_path / 'bad.tsv'}",
                   f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {tmp_path / 'bad.tsv'}, line 2, field 17: 'seven' "
                                   "is not a number")
    assert not (tmp_path / "run" / "metrics.json").exists()
