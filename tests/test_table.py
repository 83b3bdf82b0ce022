"""Feature tables (reducers/data/table.py) on real data: scikit-learn's wine and breast-cancer
tables written as CSV, TSV, NPY and NPZ (and Parquet where pyarrow is installed), with and
without labels; every unusable file one DataError naming file and column or row."""

import builtins

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_wine

from experiments.anomaly import detect
from experiments.compare import write_tables
from experiments.embed import embed
from experiments.train import train
from reducers.checkpoint import build_model, load_checkpoint
from reducers.data import Scaling, load_table
from reducers.errors import ConfigError, DataError
from reducers.scoring import LABEL_FREE, encode, neighbourhoods_kept
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    """178 wines, 13 measurements, 3 cultivars in column ``cultivar``."""
    frame = load_wine(as_frame=True).frame
    return frame.rename(columns={"target": "cultivar"})


@pytest.fixture
def wine_csv(tmp_path, wine):
    path = tmp_path / "wine.csv"
    wine.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cancer():
    bunch = load_breast_cancer()
    return bunch.data, bunch.target  # (569, 30), 0 = malignant / 1 = benign


def test_csv_with_labels_splits_stratified_and_scales_on_the_training_split(wine_csv, wine):
    split = load_table(str(wine_csv), label="cultivar", test_fraction=0.25, seed=3)
    assert (len(split.x_train), len(split.x_test), split.input_dim) == (133, 45, 13)
    assert split.labelled and split.class_names == ("0", "1", "2")
    assert split.image_shape is None and split.feature_names == tuple(wine.columns[:13])
    counts = np.bincount(split.y_train) / len(split.y_train)
    assert np.allclose(counts, np.bincount(wine.cultivar) / len(wine), atol=0.02)
    # minmax on the training rows: exactly 0 and 1 there; test values clipped into [0, 1]
    assert np.allclose(split.x_train.min(0), 0) and np.allclose(split.x_train.max(0), 1)
    assert split.x_test.min() >= 0 and split.x_test.max() <= 1
    raw = wine.drop(columns="cultivar").to_numpy()
    scaling = Scaling.from_dict(split.scaling)
    row = np.flatnonzero((raw == raw[0]).all(1))[0]  # a training or test row: same transform
    assert np.allclose(scaling.apply(raw[row:row + 1]),
                       np.clip((raw[row] - scaling.offset) / scaling.factor, 0, 1), atol=1e-6)
    standard = load_table(str(wine_csv), label="cultivar", scale="standard")
    assert np.allclose(standard.x_train.mean(0), 0, atol=1e-5)
    assert np.allclose(standard.x_train.std(0), 1, atol=1e-4)
    same = load_table(str(wine_csv), label="cultivar", test_fraction=0.25, seed=3)
    assert np.array_equal(same.x_test, split.x_test)  # reproducible


def test_text_labels_features_subset_limit_and_no_labels(tmp_path, wine):
    frame = wine.assign(cultivar=wine.cultivar.map({0: "barolo", 1: "grignolino", 2: "barbera"}))
    path = tmp_path / "wine.tsv"
    frame.to_csv(path, sep="\t", index=False)
    split = load_table(str(path), label="cultivar", features=["alcohol", "hue", "proline"],
                       limit=120)
    assert split.class_names == ("barbera", "barolo", "grignolino")
    assert split.input_dim == 3 and len(split.x_train) + len(split.x_test) == 120
    unlabelled = load_table(str(path), features=["alcohol", "hue"])
    assert not unlabelled.labelled and unlabelled.y_test is None and unlabelled.n_classes == 0
    assert len(unlabelled.x_test) == 36  # ceil(0.2 x 178), at random


def test_npy_and_npz_arrays_of_any_width(tmp_path, cancer):
    x, y = cancer
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "both.npz", features=x, diagnosis=y)
    split = load_table(str(tmp_path / "x.npy"), labels_path=str(tmp_path / "y.npy"))
    assert split.input_dim == 30 and split.class_names == ("0", "1")
    assert not load_table(str(tmp_path / "x.npy")).labelled
    npz = load_table(str(tmp_path / "both.npz"), x_key="features", y_key="diagnosis")
    assert np.array_equal(npz.x_test, split.x_test) and np.array_equal(npz.y_test, split.y_test)
    assert not load_table(str(tmp_path / "both.npz"), x_key="features", y_key=None).labelled
    images = np.random.default_rng(0).integers(0, 255, (60, 4, 5)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    assert load_table(str(tmp_path / "images.npy")).image_shape == (4, 5)
    assert load_table(str(tmp_path / "x.npy"), image_shape=[5, 6]).image_shape == (5, 6)


def test_parquet_reads_with_pyarrow_and_names_the_extra_without_it(tmp_path, wine, monkeypatch):
    path = tmp_path / "wine.parquet"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path.write_bytes(b"PAR1")
    else:
        wine.to_parquet(path)
        assert load_table(str(path), label="cultivar").input_dim == 13
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ConfigError, match=r"needs pyarrow.*pip install .*\[parquet\]"):
        load_table(str(path))


def _csv(tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


ROWS = "".join(f"{i},{i % 3 + 0.5},{(i * 7) % 5},{i % 2}\n" for i in range(12))


@pytest.mark.parametrize("text, options, message", [
    ("", {}, r"t\.csv: empty file"),
    ("a,b,c,label\n", {}, r"a header \(4 columns\) but no rows"),
    ("a,b,a,label\n" + ROWS, {}, r"header: duplicate column name\(s\) 'a'"),
    ("a,b,c,label\n1,2,,0\n" + ROWS, {}, r"data row 1, column 'c': missing value"),
    ("a,b,c,label\n1,inf,2,0\n" + ROWS, {}, r"data row 1, column 'b': infinite value"),
    ("a,b,c,label\n" + ROWS.replace(",0.5,", ",1.5,").replace(",2.5,", ",1.5,"), {},
     r"constant column\(s\) 'b'"),
    ("a,b,c,label\n" + ROWS.replace(",0\n", ",x\n"), {}, r"column\(s\) 'label' are not numeric"),
    ("a,b,c,label\n" + ROWS, {"label": "kind"}, r"data\.label: no column 'kind'.*'a', 'b'"),
    ("a,b,c,label\n" + ROWS, {"features": ["a", "z"]}, r"data\.features: no column 'z'"),
    ("a,b,c,label\n" + ROWS, {"label": "label", "features": ["a", "label"]},
     r"includes the label column"),
    ("a,b,c,label\n" + ROWS.replace(",1\n", ",0\n"), {"label": "label"},
     r"the labels hold one class \('0'\)"),
    ("a,b,c,label\n1,2,3,\n" + ROWS, {"label": "label"}, r"data row 1: no label"),
    ("a,b,c,label\n1,2,3,0.5\n" + ROWS, {"label": "label"}, r"is not a class"),
    ("a,b,c,label\n" + ROWS[:30], {"label": "label"}, r"every class needs >= 2 rows"),
    ("a,b,c,label\n" + ROWS, {"label": "label", "test_fraction": 0.05},
     r"gives 1 test rows, but each part needs one of each of the 2 classes"),
    ("a,b,c,label\n1,2,3\n4,5,6,7,8\n", {}, r"not a comma-separated table \(.*line 3"),
    ("a,b,c,label\n" + ROWS, {"image_shape": [3, 3]}, r"image_shape=\[3, 3\] does not fit"),
    ("a,b,c,label\n" + ROWS, {"labels_path": "y.npy"}, r"data\.labels_path is for \.npy"),
    ("a,b,c,label\n1e39,2,3,0\n" + ROWS, {}, r"row 1, column 'a': 1e\+39 is beyond float32"),
    ("a,b,c,label\n3e38,2,3,0\n-3e38,1,2,1\n" + ROWS, {},
     r"column 'a': its values span -3e\+38 to 3e\+38, a range beyond float32"),
    ("a,b,c,label\n1e20,2,3,0\n" + ROWS, {"scale": "none"},
     r"row 1, column 'a': 1e\+20 unscaled .*squares beyond float32.*data\.scale=minmax"),
    ("a,b,c,label\n1,2,3,0\n", {}, r"t\.csv: one data row"),
    ("a;b;c;label\n" + ROWS.replace(",", ";"), {"label": "label"},
     r"header is one column holding ';'.*semicolon-separated"),
])
def test_unusable_tables_name_file_and_place(tmp_path, text, options, message):
    with pytest.raises((DataError, ConfigError), match=message):
        load_table(_csv(tmp_path, text), **options)


def test_a_class_named_like_a_missing_value_is_a_class(tmp_path, wine):
    names = {0: "NA", 1: "null", 2: "n/a"}
    path = tmp_path / "wine.csv"
    wine.assign(cultivar=wine.cultivar.map(names)).to_csv(path, index=False)
    split = load_table(str(path), label="cultivar")
    assert split.class_names == ("NA", "n/a", "null")
    counts = np.bincount(np.concatenate([split.y_train, split.y_test]))
    assert counts.tolist() == [59, 48, 71]  # wine's cultivars 0, 2 and 1
    empty = wine.astype({"cultivar": object})
    empty.loc[4, "cultivar"] = ""
    empty.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"data row 5: no label in column 'cultivar'"):
        load_table(str(path), label="cultivar")


def test_unusable_arrays_and_paths(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    np.save(tmp_path / "flat.npy", np.arange(10.0))
    np.savez(tmp_path / "a.npz", x=np.ones((4, 2)))
    (tmp_path / "t.xlsx").write_bytes(b"PK")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    np.save(tmp_path / "x.npy", np.ones((178, 13)))
    data = (tmp_path / "x.npy").read_bytes()
    lying = data[:128].replace(b"(178, 13)", b"(9999999999, 999)")[:128] + data[128:]
    (tmp_path / "lying.npy").write_bytes(lying)
    cases = [(tmp_path / "objects.npy", {}, r"holds Python objects"),
             (tmp_path / "flat.npy", {}, r"shape \(10,\); expected \(rows, features\)"),
             (tmp_path / "a.npz", {}, r"no array 'y' \(data\.y_key\); its arrays are 'x'"),
             (tmp_path / "a.npz", {"x_key": "z", "y_key": None}, r"no array 'z' \(data\.x_key\)"),
             (tmp_path / "a.npz", {"label": "y"}, r"data\.label names a column .*use data\.y_key"),
             (tmp_path / "bad.npy", {}, r"bad\.npy: not a \.npy file \(no NumPy header\)"),
             (tmp_path / "t.xlsx", {}, r"data=table reads \.csv, \.tsv"),
             (tmp_path / "lying.npy", {}, r"lying\.npy: its header describes a 9999999999x999 "
                                          r"array of float64 \(79,919,999,992,008 bytes\) but "
                                          r"the file holds 18,512 bytes"),
             (tmp_path / "missing.csv", {}, r"missing\.csv: no such file")]
    for path, options, message in cases:
        with pytest.raises((DataError, ConfigError), match=message):
            load_table(str(path), **options)


def test_npz_table_end_to_end_and_anomaly_detection_on_a_table(
        compose_train, compose_anomaly, cancer, wine_csv, tmp_path):
    x, y = cancer
    np.savez(tmp_path / "cancer.npz", x=x, y=y)
    record = train(compose_train("data=table", f"data.path={tmp_path / 'cancer.npz'}",
                                 "model=pca"), tmp_path / "pca")
    assert record.data["input_dim"] == 30 and record.metrics["knn_acc"] > 0.85
    table = ["data=table", f"data.path={wine_csv}", "trainer.epochs=20",
             "detector.net.hidden=[32]", "trainer.progress=false"]
    found = detect(compose_anomaly(*table, "data.label=cultivar", "anomaly.normal_class=0"),
                   tmp_path / "anomaly")
    assert found.status == "ok" and 0.5 < found.metrics["auroc"] <= 1
    assert (tmp_path / "anomaly" / "roc.png").exists()
    assert not (tmp_path / "anomaly" / "extremes.png").exists()  # image grids: images only
    with pytest.raises(ConfigError, match="has no labels, but anomaly detection"):
        detect(compose_anomaly(*table), tmp_path / "unlabelled")


def test_continuity_is_trustworthiness_with_the_spaces_swapped(wine_csv):
    from sklearn.decomposition import PCA
    from sklearn.manifold import trustworthiness

    split = load_table(str(wine_csv), label="cultivar", test_fraction=0.5)
    x = split.x_test.astype(np.float64)
    codes = PCA(2, random_state=0).fit(split.x_train).transform(split.x_test)
    for k in (1, 5, 12):
        trust, continuity = neighbourhoods_kept(x, codes, k)
        assert trust == pytest.approx(trustworthiness(x, codes, n_neighbors=k), abs=1e-6)
        assert continuity == pytest.approx(trustworthiness(codes, x, n_neighbors=k), abs=1e-6)
    assert neighbourhoods_kept(x, x, 5) == pytest.approx((1.0, 1.0))


@pytest.mark.parametrize("model", ["ae", "vae", "pca", "tsne"])
def test_every_reducer_end_to_end_on_the_wine_table(compose_train, wine_csv, tmp_path, model):
    overrides = ["data=table", f"data.path={wine_csv}", "trainer.epochs=15",
                 "model.net.hidden=[32]", "trainer.progress=false"]
    if model in ("pca", "tsne"):
        overrides = [o for o in overrides if not o.startswith("model.net.hidden")]
    for labels in (True, False):
        run = tmp_path / f"{model}-{labels}"
        record = train(compose_train(*overrides, f"model={model}",
                                     *(["data.label=cultivar"] if labels else [])), run)
        metrics = record.metrics
        assert record.status == "ok" and record.data["labelled"] is labels
        assert np.isfinite(metrics["trustworthiness"]) and np.isfinite(metrics["continuity"])
        assert ("knn_acc" in metrics) is labels
        if not labels:
            assert set(metrics) <= set(LABEL_FREE)
            assert "test_labels" not in np.load(run / "codes.npz")
        else:
            # the cultivars separate well in 2-D (chance: 0.40); a VAE on 13 features after 15
            # short epochs is still spreading its codes
            assert metrics["knn_acc"] > (0.55 if model == "vae" else 0.8)
        assert (run / "scatter.png").stat().st_size > 0
        assert not (run / "manifold.png").exists() and not (run / "samples.png").exists()
        assert (run / "reconstructions.png").exists() is (model in ("ae", "vae"))


def test_networks_refuse_features_outside_zero_one(compose_train, wine_csv, tmp_path):
    cfg = compose_train("data=table", f"data.path={wine_csv}", "data.scale=standard")
    with pytest.raises(ConfigError, match=r"span .* \(data\.scale=standard\), but BCE .*"
                                          r"use data\.scale=minmax"):
        train(cfg, tmp_path / "vae")
    assert not (tmp_path / "vae" / "metrics.json").exists()
    cfg = compose_train("data=table", f"data.path={wine_csv}", "data.scale=standard",
                        "model=ae", "model.recon=mse")
    with pytest.raises(ConfigError, match="sigmoid decoder reconstructs only values"):
        train(cfg, tmp_path / "ae")


def test_embed_applies_the_training_scaling_and_checks_the_columns(compose_train, compose_embed,
                                                                   wine, tmp_path):
    train_rows, other_rows = wine.iloc[::2], wine.iloc[1::2]
    train_rows.to_csv(tmp_path / "a.csv", index=False)
    other_rows.to_csv(tmp_path / "b.csv", index=False)
    table = ["data=table", "data.label=cultivar"]
    train(compose_train(*table, f"data.path={tmp_path / 'a.csv'}", "model=ae",
                        "model.net.hidden=[32]", "trainer.epochs=10", "trainer.progress=false"),
          tmp_path / "run")
    record = embed(compose_embed(f"checkpoint={tmp_path / 'run'}", *table,
                                 f"data.path={tmp_path / 'b.csv'}"), tmp_path / "emb")
    assert record.metrics["knn_acc"] > 0.6  # chance: 0.40
    # b.csv's rows were scaled with a.csv's training range, not refitted on their own
    state = load_checkpoint(tmp_path / "run")
    model = build_model(state, tmp_path / "run")
    as_trained = load_table(str(tmp_path / "b.csv"), label="cultivar",
                            scaling=state["model_spec"]["scaling"])
    refitted = load_table(str(tmp_path / "b.csv"), label="cultivar")
    codes = np.load(tmp_path / "emb" / "codes.npz")["test"]
    assert np.allclose(codes, encode(model, torch.from_numpy(as_trained.x_test)), atol=1e-6)
    assert not np.allclose(codes, encode(model, torch.from_numpy(refitted.x_test)), atol=1e-3)
    shuffled = other_rows[list(reversed(other_rows.columns))].assign(id=range(len(other_rows)))
    shuffled.to_csv(tmp_path / "d.csv", index=False)  # columns in another order, one more
    again = embed(compose_embed(f"checkpoint={tmp_path / 'run'}", *table,
                                f"data.path={tmp_path / 'd.csv'}"), tmp_path / "emb4")
    assert again.metrics["knn_acc"] == record.metrics["knn_acc"]
    other_rows.drop(columns="hue").to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match=r"c\.csv lacks the column\(s\) 'hue' that the model"):
        embed(compose_embed(f"checkpoint={tmp_path / 'run'}", *table,
                            f"data.path={tmp_path / 'c.csv'}"), tmp_path / "emb2")
    with pytest.raises(DataError, match="trained on a feature table"):
        embed(compose_embed(f"checkpoint={tmp_path / 'run'}"), tmp_path / "emb3")


def test_compare_marks_label_metrics_of_unlabelled_runs(compose_train, wine_csv, tmp_path):
    base = ["data=table", f"data.path={wine_csv}", "model=pca"]
    train(compose_train(*base), tmp_path / "runs" / "unlabelled")
    train(compose_train(*base, "data.label=cultivar"), tmp_path / "runs" / "labelled")
    table = write_tables([tmp_path / "runs"], tmp_path / "out")
    assert list(table.labelled) == [True, False]  # sorted by knn_acc, NaN last
    text = (tmp_path / "out" / "comparison.md").read_text()
    assert "—: 1 runs' data had no labels" in text
    row = next(line for line in text.splitlines() if "unlabelled" in line)
    assert row.count("—") >= 3  # knn_acc, silhouette, kmeans_vmeasure
    only = write_tables([tmp_path / "runs" / "unlabelled"], tmp_path / "out2")
    assert len(only) == 1
    assert "Sorted by `trustworthiness`" in (tmp_path / "out2" / "comparison.md").read_text()


@pytest.mark.slow  # 12 s on 2 cores: CI runs it with the slow tests
def test_a_sweep_on_a_table_and_the_command_line_errors(tmp_path, wine_csv):
    sweep = tmp_path / "sweep"
    done = run_cli("-m", "data=table", f"data.path={wine_csv}", "data.label=cultivar",
                   "model=pca,ae", "trainer.epochs=3", f"hydra.sweep.dir={sweep}")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(sweep / "comparison.csv")
    assert sorted(table.model) == ["ae", "pca"] and (table.status == "ok").all()
    assert (table.knn_acc > 0.6).all() and table.continuity.notna().all()
    assert (sweep / "embeddings.png").stat().st_size > 0
    bad = wine_csv.parent / "bad.csv"
    bad.write_text(wine_csv.read_text().replace("\n14.23,", "\n,", 1))
    for args, message in ([f"data.path={bad}"], "bad.csv, data row 1, column 'alcohol': missing"), \
            ([f"data.path={wine_csv}", "data.scale=median"], "data.scale"):
        done = run_cli("data=table", *args, f"hydra.run.dir={tmp_path / 'bad'}")
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert not (tmp_path / "bad" / "metrics.json").exists()


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_scaling_in_row_chunks_and_in_place_is_the_whole_array_at_once(kind):
    x = load_wine().data.astype(np.float32)  # 178 rows x 13 real features
    fitted = Scaling.fit(kind, x[:120])
    whole = (x - fitted.offset) / fitted.factor  # float64, all rows at once
    if kind == "minmax":
        whole = np.clip(whole, 0.0, 1.0)
    chunked = fitted.apply(x, rows=7)
    assert chunked.dtype == np.float32
    np.testing.assert_array_equal(chunked, whole.astype(np.float32))
    in_place = x.copy()
    assert fitted.apply(in_place, rows=50, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, chunked)


def test_a_float32_npy_is_split_without_a_float64_copy(tmp_path):
    x = load_wine().data.astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", load_wine().target)
    from reducers.data.table_files import read_table

    assert read_table(tmp_path / "x.npy", labels_path=str(tmp_path / "y.npy")).x.dtype == \
        np.float32
    split = load_table(str(tmp_path / "x.npy"), labels_path=str(tmp_path / "y.npy"))
    rows = np.concatenate([split.x_train, split.x_test])
    assert rows.dtype == np.float32 and rows.min() >= 0 and rows.max() <= 1
    assert split.x_train.min(axis=0).max() == 0  # each training column spans [0, 1]
    assert split.x_train.max(axis=0).min() == pytest.approx(1, abs=1e-6)
