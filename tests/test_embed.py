"""The embed app (experiments/embed.py): a trained model's codes for other data, scored like a
run, reproducible, and refused for data of another size."""

import json

import pytest

from experiments.embed import embed
from experiments.train import train
from reducers.errors import DataError
from tests.helpers import SHARED_T10K, TINY, without_timings


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.helpers import composer
    run = tmp_path_factory.mktemp("trained")
    train(composer("train")(*TINY, "trainer.epochs=3", "score.figures=false"), run)
    return run


def test_embed_applies_a_model_to_other_data(trained, compose_embed, tmp_path):
    data = (["data=idx", f"data.path={SHARED_T10K}", "data.limit=2000"]
            if SHARED_T10K.exists() else ["data=mnist5k"])
    record = embed(compose_embed(f"checkpoint={trained}", *data), tmp_path / "e")
    saved = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert saved["embedding"]["checkpoint_epoch"] == 3 and saved["task"] == "embed"
    assert saved["metrics"]["knn_acc"] > 0.2  # chance: 0.1
    assert saved["metrics"] == pytest.approx(record.metrics)
    assert (tmp_path / "e" / "codes.npz").exists() and (tmp_path / "e" / "scatter.png").exists()
    again = embed(compose_embed(f"checkpoint={trained}", *data), tmp_path / "again")
    assert without_timings(again.metrics) == without_timings(record.metrics)  # seeded


def test_embedding_data_of_another_size_is_refused(trained, compose_embed, tmp_path):
    with pytest.raises(DataError, match=r"digits has 64 pixels per image \(8x8\) but the model "
                                        r".* was trained on 784"):
        embed(compose_embed(f"checkpoint={trained}", "data=digits"), tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_embed_writes_every_row_of_a_csv_in_file_order_with_its_number(tmp_path):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_wine

    from tests.helpers import composer

    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine["cultivar"] = wine["cultivar"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path = tmp_path / "wine.csv"
    wine.to_csv(path, index=False)
    table = ["data=table", f"data.path={path}", "data.label=cultivar"]
    train(composer("train")(*table, "model=ae", "trainer.epochs=2", "trainer.progress=false",
                            "score.figures=false"), tmp_path / "run")
    embed(composer("embed")(f"checkpoint={tmp_path / 'run'}", *table, "score.figures=false"),
          tmp_path / "e")
    codes = pd.read_csv(tmp_path / "e" / "codes.csv")
    assert len(codes) == 178 and list(codes.row) == list(range(178))
    assert list(codes.columns) == ["row", "split", "label", "z1", "z2"]
    assert list(codes.label) == list(wine.cultivar)  # each row's own label: joined right
    npz = np.load(tmp_path / "e" / "codes.npz")
    test = codes[codes.split == "test"]
    as_written = set(map(tuple, test[["z1", "z2"]].values.astype(np.float32)))
    assert len(test) == 36 and as_written == set(map(tuple, npz["test"]))
    from reducers.estimators import AutoencoderReducer  # Python's door: the same, in order

    ae = AutoencoderReducer.from_checkpoint(tmp_path / "run" / "checkpoint.pt")
    codes_in_order = ae.transform(wine.drop(columns="cultivar"))
    assert list(ae.feature_names_in_) == list(wine.columns[:-1])
    np.testing.assert_allclose(codes_in_order, codes[["z1", "z2"]].values, rtol=0,
                               atol=1e-6)  # one batch of 178 here, two there: last bits
