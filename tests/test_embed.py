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
