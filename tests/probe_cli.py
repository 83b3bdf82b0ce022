"""Probe the four command lines with well over 100 bad or edge inputs, as a new user would type
them, and check each outcome: a refused input exits 2 with one ``error:`` line, an edge input
that should work exits 0, and nothing ever prints a traceback or exits 1.

    python tests/probe_cli.py [--jobs 2] [--doc docs/reference/errors.md]

Prints a line per case and the counts; with ``--doc``, rewrites the list between the
``<!-- probe:start -->`` and ``<!-- probe:end -->`` markers of that file. Needs no network;
takes a few minutes on 2 cores (each case is a fresh Python process).
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.helpers import idx_bytes, write_idx_folder  # noqa: E402
from tests.probe_more import (more_cases, prepare_more, run_more, scenarios,  # noqa: E402
                              setup_more)

TINY = ["trainer.epochs=1", "data.limit=300", "model.net.hidden=[16]", "trainer.progress=false",
        "score.figures=false"]
TINY_ANOMALY = ["trainer.epochs=1", "data.limit=300", "detector.net.hidden=[16]",
                "trainer.progress=false", "anomaly.figures=false"]
REFUSED, WORKS = 2, 0


def prepare(d: Path) -> dict:
    """The files the cases name: real digits and wine rows, and broken variants of them."""
    from sklearn.datasets import load_digits, load_wine

    digits = load_digits()
    x8 = np.rint(digits.data * 255 / 16).astype(np.uint8)
    f = {}
    f["idx"] = write_idx_folder(d / "idx", {"train": x8[:400].reshape(-1, 8, 8)},
                                {"train": digits.target[:400]})
    f["idx_empty_folder"] = d / "idx_empty"
    f["idx_empty_folder"].mkdir()
    f["idx_zero"] = write_idx_folder(d / "idx_zero", {"train": np.zeros((0, 8, 8), np.uint8)},
                                     {"train": np.zeros(0, np.uint8)})
    f["idx_corrupt"] = write_idx_folder(d / "idx_corrupt", {"train": x8[:50].reshape(-1, 8, 8)},
                                        {"train": digits.target[:50]})
    path = f["idx_corrupt"] / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    f["idx_counts"] = write_idx_folder(d / "idx_counts", {"train": x8[:50].reshape(-1, 8, 8)},
                                       {"train": digits.target[:49]})
    f["idx_magic"] = d / "idx_magic"
    f["idx_magic"].mkdir()
    (f["idx_magic"] / "train-images-idx3-ubyte").write_bytes(b"\x01\x02" + idx_bytes(x8[:5])[2:])
    (f["idx_magic"] / "train-labels-idx1-ubyte").write_bytes(idx_bytes(digits.target[:5]))
    rows = [("\t".join(map(str, r)) + f"\t{t}") for r, t in zip(x8[:300], digits.target[:300])]
    f["tsv"] = d / "ok.tsv"
    f["tsv"].write_text("\n".join(rows) + "\n")
    f["tsv_crlf_bom"] = d / "crlf.tsv"
    f["tsv_crlf_bom"].write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    for name, text in {"tsv_ragged": rows[0] + "\n" + rows[1] + "\t7\n",
                       "tsv_word": rows[0].replace("\t", "\tseven\t", 1) + "\n",
                       "tsv_pixel": rows[0].replace("\t", "\t300\t", 1) + "\n",
                       "tsv_label": rows[0].rsplit("\t", 1)[0] + "\t-1\n",
                       "tsv_empty": "", "tsv_comments": "# only a comment\n\n",
                       "tsv_not_square": "1\t2\t3\t0\n"}.items():
        f[name] = d / f"{name}.tsv"
        f[name].write_text(text)
    f["tsv_binary"] = d / "binary.tsv"
    f["tsv_binary"].write_bytes(b"\xff\xfe\x00\x01garbage")
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    f["csv"] = d / "wine.csv"
    wine.to_csv(f["csv"], index=False)
    text = f["csv"].read_text()
    header, first, rest = text.split("\n", 2)
    variants = {"csv_missing": header + "\n" + ",".join([""] + first.split(",")[1:]) + "\n" + rest,
                "csv_inf": header + "\n" + ",".join(["inf"] + first.split(",")[1:]) + "\n" + rest,
                "csv_text": header.replace("hue", "hue") + "\n" + first.replace(
                    first.split(",")[10], "pale", 1) + "\n" + rest,
                "csv_duplicate": header.replace("ash,", "alcohol,", 1) + "\n" + first + "\n" + rest,
                "csv_empty": "", "csv_header_only": header + "\n",
                "csv_ragged": header + "\n" + first + ",1\n" + rest}
    for name, content in variants.items():
        f[name] = d / f"{name}.csv"
        f[name].write_text(content)
    constant = wine.assign(ash=1.0)
    f["csv_constant"] = d / "constant.csv"
    constant.to_csv(f["csv_constant"], index=False)
    one_class = wine.assign(cultivar=0)
    f["csv_one_class"] = d / "one_class.csv"
    one_class.to_csv(f["csv_one_class"], index=False)
    continuous = wine.assign(cultivar=wine.alcohol)
    f["csv_continuous"] = d / "continuous.csv"
    continuous.to_csv(f["csv_continuous"], index=False)
    nolabel = wine.astype({"cultivar": float})
    nolabel.loc[3, "cultivar"] = np.nan
    f["csv_no_label"] = d / "no_label.csv"
    nolabel.to_csv(f["csv_no_label"], index=False)
    named = wine.assign(cultivar=wine.cultivar.map({0: "barolo", 1: "grignolino", 2: "barbera"}))
    f["csv_text_labels"] = d / "named.csv"
    named.to_csv(f["csv_text_labels"], index=False)
    f["csv_few"] = d / "few.csv"
    wine.iloc[[0, 1, 60, 61, 130]].to_csv(f["csv_few"], index=False)
    np.save(d / "x.npy", wine.drop(columns="cultivar").to_numpy())
    np.save(d / "y.npy", wine.cultivar.to_numpy())
    np.save(d / "y_short.npy", wine.cultivar.to_numpy()[:10])
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object))
    np.save(d / "flat.npy", np.arange(10.0))
    (d / "fake.npy").write_bytes(b"not numpy at all")
    np.savez(d / "arrays.npz", features=wine.drop(columns="cultivar").to_numpy(),
             labels=wine.cultivar.to_numpy())
    (d / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    f["a_file"] = d / "a-file"
    f["a_file"].write_text("x")
    f["not_checkpoint"] = d / "notes.pt"
    f["not_checkpoint"].write_text("hello")
    f["runs"] = d / "runs"
    prepare_more(d, f)
    return f


def cases(f: dict, d: Path) -> list[tuple[str, str, list[str], int, dict]]:
    """(family, app, arguments, expected exit code, how: see tests/probe_more.py)."""
    t, a = "experiments.train", "experiments.anomaly"
    e, c = "experiments.embed", "experiments.compare"
    table = ["data=table", f"data.path={f['csv']}"]
    out = []

    def add(family, app, args, code=REFUSED):
        out.append((family, app, args, code, {}))

    for args in (["model=transformer"], ["model.kl.beta=abc"], ["model.betta=1"],
                 ["model=ae", "model.kl.beta=1"], ["trainer.epochs=1.5"], ["optim=rmsprop"],
                 ["data=cifar"], ["model.recon=l1"], ["model.kl_scaling=seed"], ["model.beta=2"],
                 ["model.net=conv"], ["model.embedding.weight=3"],
                 ["trainer.backward=fast"], ["seed=abc"], ["experiment=nope"],
                 ["sweep=nope"], ["trainer.epochs=3", "b"], ["model.net.hidden=[1,2"],
                 ["data.path=/tmp/é"], ["model.net.hidden=abc"], ["+experiment=seed_vae"],
                 ["model.net.activation=swish"], ["optimized_direction=up"], ["model.net=cnn"],
                 ["heldout=null"], ["model=null"]):
        add("A setting is wrong: type, name or option", t, args)
    add("A setting is wrong: type, name or option", a, ["detector.variant=latent"])
    add("A setting is wrong: type, name or option", a, ["anomaly.protocol=all"])
    add("A setting is wrong: type, name or option", a, ["detector.score=elbo"])
    add("A setting is wrong: type, name or option", a, ["detector=chain",
                                                        "detector.ae_score=rapp"])
    add("A setting is wrong: type, name or option", a, ["heldout=cifar"])
    add("A setting is wrong: type, name or option", a, ["anomaly.held_out_fraction=0.2"])
    for args in (["model.kl.beta=-1"], ["model.kl.beta=nan"], ["model.kl.beta=inf"],
                 ["model.latent_dim=0"], ["model.net.hidden=[512,0]"], ["optim.lr=0"],
                 ["optim.lr=-0.1"], ["optim.weight_decay=-1"],
                 ["optim=sgd", "optim.momentum=1.5"], ["trainer.epochs=0"],
                 ["trainer.batch_size=0"], ["trainer.threads=0"],
                 ["trainer.checkpoint_seconds=-1"], ["data.test_fraction=0"],
                 ["data.test_fraction=1"], ["data.limit=1"], ["score.knn_k=0"],
                 ["score.trust_k=0"], ["score.max_pairwise=5"],
                 ["model=tsne", "model.perplexity=0"],
                 ["model=tsne", "model.max_iter=10"], ["model=umap", "model.n_neighbors=1"],
                 ["compare.sort_by=speed"], ["optimized_metric=speed"],
                 ["optimized_metric=davies_bouldin"], ["trainer.resume_from=x.pt"],
                 ["trainer.resume=true", "trainer.resume_from=missing.pt"],
                 ["model/net=conv", "model.net.kernel_size=4"], ["model.net.channels=[0]"],
                 ["model.net.dropout=1"], ["model.net.input_dropout=-0.1"],
                 ["trainer.augment_shift=-1"], ["trainer.augment_degrees=400"],
                 ["trainer.test_every=0"], ["trainer.flush_denormal=maybe"],
                 ["model/embedding=tsne", "model.embedding.perplexity=0.5"],
                 ["model/embedding=tsne", "model.embedding.scale=0"],
                 ["model/embedding=umap", "model.embedding.negative_rate=0"],
                 ["model=pca", "model/embedding=umap"]):
        add("A setting is out of range", t, args)
    for args in (["anomaly.normal_class=11"], ["anomaly.threshold_quantile=1"],
                 ["trainer.val_fraction=0.9"], ["detector=vae", "detector.n_samples=0"],
                 ["trainer.resume=true"], ["optimized_metric=knn_acc"],
                 ["trainer.augment_shift=9"], ["detector/net=conv", "detector.net.kernel_size=2"],
                 ["detector/net=conv", "detector.net.channels=[]"],
                 ["heldout=mnist5k", "heldout.limit=1"]):
        add("A setting is out of range", a, args)
    for args in (["score.knn_k=5000"], ["score.trust_k=40"], ["score.max_pairwise=10"],
                 ["score.max_pairwise=11", "score.trust_k=6"],
                 ["model=pca", "model.latent_dim=1000"], ["model=tsne", "model.perplexity=600"],
                 ["data.limit=5"], ["data=digits", "data.limit=40", "data.test_fraction=0.05"],
                 [*table, "model/net=conv"], [*table, "trainer.augment_degrees=5"],
                 ["model/embedding=tsne", "model.embedding.batch=5000"],
                 ["model/embedding=tsne", "model.embedding.batch=64",
                  "model.embedding.perplexity=400"]):
        add("A setting does not fit the data", t, args)
    add("A setting does not fit the data", a,
        ["data=digits", "data.limit=40", "data.test_fraction=0.5",
         "trainer.val_fraction=0.45"])
    for args in (["heldout=digits"], [*table, "data.label=cultivar", "detector/net=conv"],
                 [*table, "data.label=cultivar", "trainer.augment_shift=1"]):
        add("A setting does not fit the data", a, args)
    for app, args in ((t, ["seed=-1"]), (t, ["seed=2199023255552"]), (t, ["data.seed=-3"]),
                      (t, ["data.seed=8589934592"]), (a, ["seed=-1"]), (a, ["seed=2199023255552"]),
                      (e, ["checkpoint=x", "seed=-1"]), (e, ["checkpoint=x", "seed=4294967296"])):
        add("A seed is out of range", app, args)
    for key in ("idx_empty_folder", "idx_zero", "idx_corrupt", "idx_counts", "idx_magic"):
        add("A data file is wrong", t, ["data=idx", f"data.path={f[key]}"])
    add("A data file is wrong", t, ["data=idx", f"data.path={d / 'no-such-folder'}"])
    add("A data file is wrong", a, ["heldout=idx", f"heldout.path={d / 'no-such-folder'}"])
    add("A data file is wrong", a, ["heldout=idx", f"heldout.path={f['idx_corrupt']}"])
    for key in ("tsv_ragged", "tsv_word", "tsv_pixel", "tsv_label", "tsv_empty", "tsv_comments",
                "tsv_not_square", "tsv_binary"):
        add("A data file is wrong", t, ["data=tsv", f"data.path={f[key]}"])
    add("A data file is wrong", t, ["data=tsv", f"data.path={d / 'missing.tsv'}"])
    for key, extra in (("csv_missing", []), ("csv_inf", []), ("csv_text", []),
                       ("csv_duplicate", []), ("csv_empty", []), ("csv_header_only", []),
                       ("csv_ragged", []), ("csv_constant", []),
                       ("csv_one_class", ["data.label=cultivar"]),
                       ("csv_continuous", ["data.label=cultivar"]),
                       ("csv_no_label", ["data.label=cultivar"]),
                       ("csv_few", ["data.label=cultivar"]),
                       ("csv", ["data.label=kind"]), ("csv", ["data.features=[alcohol,zinc]"]),
                       ("csv", ["data.label=cultivar", "data.features=[alcohol,cultivar]"]),
                       ("csv", ["data.image_shape=[3,3]"]), ("csv", ["data.scale=median"]),
                       ("csv", ["data.labels_path=y.npy"])):
        add("A table is wrong", t, ["data=table", f"data.path={f[key]}", *extra])
    for path, extra in ((d / "objects.npy", []), (d / "flat.npy", []), (d / "fake.npy", []),
                        (d / "x.npy", [f"data.labels_path={d / 'y_short.npy'}"]),
                        (d / "arrays.npz", []), (d / "arrays.npz", ["data.x_key=x"]),
                        (d / "arrays.npz", ["data.x_key=features", "data.label=labels"]),
                        (d / "sheet.xlsx", []), (d / "missing.csv", [])):
        add("A table is wrong", t, ["data=table", f"data.path={path}", *extra])
    add("A table is wrong", t, [*table, "data.label=cultivar", "data.scale=standard"])
    add("A table is wrong", t, [*table, "data.scale=none", "model=ae", "model.recon=mse"])
    add("A table is wrong", a, table)
    trained = d / "runs" / "trained"
    add("A checkpoint is refused", e, [f"checkpoint={d / 'no-such-run'}"])
    add("A checkpoint is refused", e, [f"checkpoint={f['not_checkpoint']}"])
    add("A checkpoint is refused", e, [f"checkpoint={d / 'runs' / 'truncated.pt'}"])
    add("A checkpoint is refused", e, [f"checkpoint={trained}", "data=digits"])
    add("A checkpoint is refused", e, [f"checkpoint={d / 'runs' / 'table'}"])
    add("A checkpoint is refused", e, [f"checkpoint={d / 'runs' / 'table'}", *table[:1],
                                       f"data.path={d / 'no_hue.csv'}"])
    add("A checkpoint is refused", t, ["trainer.resume=true",
                                       f"trainer.resume_from={f['not_checkpoint']}"])
    add("A checkpoint is refused", t, ["trainer.resume=true", "model=ae",
                                       f"hydra.run.dir={trained}"])
    add("Outputs cannot go where asked", t, ["paths.output_root="])
    add("Outputs cannot go where asked", t, ["paths.output_root=/"])
    add("Outputs cannot go where asked", t, [f"paths.output_root={f['a_file']}"])
    add("Outputs cannot go where asked", t, [f"paths.output_root={f['a_file'] / 'below'}"])
    add("Outputs cannot go where asked", t, [f"hydra.run.dir={f['a_file'] / 'run'}"])
    add("Outputs cannot go where asked", a, [f"paths.output_root={f['a_file']}"])
    add("Outputs cannot go where asked", e, ["checkpoint=x", f"paths.output_root={f['a_file']}"])
    add("compare is given the wrong thing", c, [str(d / "no-such-folder")])
    add("compare is given the wrong thing", c, [str(f["idx_empty_folder"])])
    add("compare is given the wrong thing", c, [str(d / "runs"), "--out", str(f["a_file"])])
    add("compare is given the wrong thing", c, [str(d / "runs"), "--sort-by", "speed"])
    add("compare is given the wrong thing", c, [str(d / "runs"), str(f["idx"])])
    add("compare is given the wrong thing", c, [str(d / "runs" / "anomaly")])
    add("compare reads malformed records as rows", c,
        [str(d / "mangled"), "--out", str(d / "mangled-tables")], WORKS)
    for args in (["model.latent_dim=1"], ["model=pca", "model.latent_dim=1"],
                 ["model=ae", "model.latent_dim=3"], ["trainer.batch_size=100000"],
                 ["data=digits", "data.limit=40", "data.test_fraction=0.5"],
                 ["data=tsv", f"data.path={f['tsv_crlf_bom']}"],
                 ["data=tsv", f"data.path={f['tsv']}"], ["data=idx", f"data.path={f['idx']}"],
                 [*table], [*table, "data.label=cultivar", "model=pca"],
                 ["data=table", f"data.path={f['csv_text_labels']}", "data.label=cultivar"],
                 ["data=table", f"data.path={d / 'x.npy'}", f"data.labels_path={d / 'y.npy'}"],
                 ["data=table", f"data.path={d / 'arrays.npz'}", "data.x_key=features",
                  "data.y_key=labels"],
                 [*table, "data.scale=standard", "model=pca"],
                 ["hydra.run.dir='" + str(d / "runs" / "with space") + "'"],
                 ["hydra.run.dir='" + str(d / "runs" / "é") + "'"],
                 ["seed=4294967295"], ["score.max_pairwise=11"],
                 ["model/embedding=umap", "model.embedding.batch=64"],
                 [*table, "model/embedding=tsne", "model.embedding.perplexity=5",
                  "model.embedding.batch=64"]):
        add("Edge inputs that work", t, args, WORKS)
    add("Edge inputs that work", e, [f"checkpoint={d / 'runs' / 'one_d'}"], WORKS)
    add("Edge inputs that work", e, [f"checkpoint={d / 'runs' / 'table'}", *table,
                                     f"data.path={d / 'reordered.csv'}"], WORKS)
    add("Edge inputs that work", a, ["detector.latent_dim=1"], WORKS)
    add("Edge inputs that work", a, [*table, "data.label=cultivar"], WORKS)
    out_root = f"paths.output_root={d / 'searches'}"
    search = ["hparams_search=vae_optuna", out_root]
    for args in (["sweep=beta_loss", *search], ["hydra.sweeper.n_trials=0", *search],
                 ["hydra.sweeper.n_jobs=-1", *search],
                 ["hydra.sweeper.max_failure_rate=2", *search],
                 ["hydra.sweeper.storage=notaurl", *search],
                 [f"hydra.sweeper.storage=sqlite:///{f['a_file'] / 'study.db'}", *search],
                 ["model.kl.beta=tag(log, interval(0, 1))", *search],
                 ["model.betta=choice(1,2)", *search], ["model.kl.beta=choice(abc,1)", *search],
                 ["hparams_search=grid", out_root], ["tracking=wandb", out_root],
                 ["hydra/sweeper/pruner=median", "hparams_search=vae_pareto", out_root],
                 ["hydra/sweeper/pruner=median", "optimized_metric=train_seconds",
                  "optimized_direction=minimize", *search],
                 ["hydra/sweeper/pruner=none", *search],
                 ["hydra.sweeper.pruner.n_warmup_steps=2", *search],
                 ["optimized_metric=[knn_acc,trustworthiness]", *search],
                 ["optimized_metric=[knn_acc,knn_acc]", "optimized_direction=[maximize,maximize]",
                  *search],
                 ["optimized_metric=[]", "optimized_direction=[]", *search],
                 ["optimized_metric=[knn_acc,train_seconds]",
                  "optimized_direction=[maximize,maximize]", "hydra.sweeper.n_trials=1", *search],
                 ["tracking=mlflow", "tracking.experiment=", out_root],
                 ["tracking=mlflow", "tracking.checkpoint=maybe", out_root],
                 ["tracking=tensorboard", "tracking.uri=x", out_root]):
        add("A search or a tracker is set wrong", t, args)
    for args in (["hydra.sweeper.n_trials=2", *search],
                 ["hydra.sweeper.n_trials=1",
                  f"hydra.sweeper.storage=sqlite:///{d / 'new' / 'folder' / 'study.db'}",
                  *search],
                 ["tracking=mlflow", out_root], ["tracking=tensorboard",
                                                 "tracking.projector=false", out_root],
                 ["hydra.mode=MULTIRUN", "model.kl.beta=1,2", "tracking=mlflow", out_root]):
        add("Edge inputs that work", t, args, WORKS)
    return out + more_cases(f, d)


def run(app: str, args: list[str], how: dict, d: Path, index: int):
    """(the finished process, whether the folder ``how`` names stayed byte-identical)."""
    tiny = TINY_ANOMALY if app == "experiments.anomaly" else TINY if app == "experiments.train" \
        else []
    if how:
        return run_more(app, args, how, d, index, tiny)
    if app == "experiments.train" and any(a.startswith("model=") and "=ae" not in a
                                          and "=vae" not in a for a in args):
        tiny = [x for x in tiny if not x.startswith("model.net.hidden")]
    if any(a.startswith("data.limit=") for a in args):
        tiny = [x for x in tiny if not x.startswith("data.limit")]
    chosen = any(a.startswith(("hydra.run.dir", "paths.output_root")) for a in args)
    where = [] if app == "experiments.compare" or chosen else \
        [f"hydra.run.dir={d / 'probe' / str(index)}"]
    return subprocess.run([sys.executable, "-m", app, *tiny, *args, *where], cwd=ROOT,
                          capture_output=True, text=True, timeout=600), True


def setup_runs(f: dict, d: Path) -> None:
    """The run folders some cases need: a trained MNIST model, a 1-D one, a table model."""
    runs = d / "runs"
    for name, args in (("trained", []), ("one_d", ["model.latent_dim=1"]),
                       ("table", ["data=table", f"data.path={f['csv']}", "data.label=cultivar"])):
        subprocess.run([sys.executable, "-m", "experiments.train", *TINY, *args,
                        f"hydra.run.dir={runs / name}"], cwd=ROOT, check=True,
                       capture_output=True)
    subprocess.run([sys.executable, "-m", "experiments.anomaly", *TINY_ANOMALY,
                    f"hydra.run.dir={runs / 'anomaly'}"], cwd=ROOT, check=True,
                   capture_output=True)
    setup_more(f, d, TINY)
    data = (runs / "trained" / "checkpoint.pt").read_bytes()
    (runs / "truncated.pt").write_bytes(data[:len(data) // 2])
    wine = pd.read_csv(f["csv"])
    wine.drop(columns="hue").to_csv(d / "no_hue.csv", index=False)
    wine[list(reversed(wine.columns))].to_csv(d / "reordered.csv", index=False)
    mangled = d / "mangled"
    for i, text in enumerate(['{"status": "ok", "metr', "[1, 2]", '{"status": "done"}',
                              '{"status": "ok", "metrics": [0.5]}',
                              '{"status": "ok", "metrics": {"knn_acc": "0.9"}}',
                              '{"status": "diverged"}',
                              '{"status": "failed", "error": "one\\ntwo | three"}']):
        shutil.copytree(runs / "trained", mangled / str(i))
        (mangled / str(i) / "metrics.json").write_text(text)
    shutil.copytree(runs / "trained", mangled / "folder")
    (mangled / "folder" / "metrics.json").unlink()
    (mangled / "folder" / "metrics.json").mkdir()
    shutil.copytree(runs / "trained", mangled / "config")
    (mangled / "config" / ".hydra" / "config.yaml").write_text("model: [1,\n")


def verdict(proc: subprocess.CompletedProcess, expected: int, how: dict | None = None,
            kept: bool = True) -> tuple[bool, str]:
    how = how or {}
    text = proc.stdout + proc.stderr
    said = proc.stdout if how.get("quiet") else proc.stderr  # stderr closed: said on stdout
    lines = [line for line in said.strip().splitlines() if line.strip()]
    message = lines[-1] if lines else ""
    if "Traceback" in text or "Logging error" in text:
        return False, "traceback: " + message
    if proc.returncode != expected:
        return False, f"exit {proc.returncode}, expected {expected}: {message}"
    if expected == REFUSED and not (len(lines) == 1 and lines[0].startswith("error: ")):
        return False, f"not one error line: {lines}"
    if how.get("line") and how["line"] not in message:
        return False, f"not the expected diagnosis ({how['line']!r}): {message}"
    if not kept:
        return False, f"the finished results changed: {message}"
    if expected == WORKS and how.get("pipe") and proc.stderr.strip():
        return False, f"said something on stderr: {proc.stderr.strip()[:120]}"
    return True, message if expected == REFUSED else "exit 0"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--doc", type=Path, help="rewrite the list in this Markdown file")
    parser.add_argument("--only", default="", help="only the families whose name holds this")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        d = Path(tmp)
        f = prepare(d)
        setup_runs(f, d)
        todo = [c for c in cases(f, d) if args.only in c[0]]
        with ThreadPoolExecutor(args.jobs) as pool:
            procs = list(pool.map(lambda ic: run(ic[1][1], ic[1][2], ic[1][4], d, ic[0]),
                                  enumerate(todo)))
        results = []
        for (family, app, cli_args, expected, how), (proc, kept) in zip(todo, procs):
            good, message = verdict(proc, expected, how, kept)
            shown = " ".join(cli_args) + (f" {how['shell']}" if how.get("shell") else "") + \
                "".join(f" ({k}={v})" for k, v in how.get("env", {}).items())
            record(results, family, app.split(".")[1], shown, expected, good, message, tmp)
        for family, what, scenario in scenarios(d):
            if args.only not in family:
                continue
            good, message = scenario()
            record(results, family, "scenario", what, -1, good, message, tmp)
    bad = [r for r in results if not r[4]]
    counts = {"cases": len(results), "refused": sum(r[3] == REFUSED for r in results),
              "work": sum(r[3] == WORKS for r in results),
              "scenarios": sum(r[3] == -1 for r in results), "failing": len(bad)}
    print(json.dumps(counts))
    if args.doc:
        write_doc(args.doc, results, counts)
    return 1 if bad else 0


def record(results: list, family: str, app: str, shown: str, expected: int, good: bool,
           message: str, tmp: str) -> None:
    shown, message = shown.replace(tmp, "<tmp>"), message.replace(tmp, "<tmp>")
    results.append((family, app, shown, expected, good, message))
    print(f"{'ok ' if good else 'BAD'} {app:8} {shown[:70]:70} {message[:120]}", flush=True)


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_doc(path: Path, results: list, counts: dict) -> None:
    lines = [f"{counts['cases']} inputs through the real command lines of the apps, by "
             f"family: {counts['refused']} refused with one line and exit 2, "
             f"{counts['work']} edge inputs that work (exit 0), {counts['scenarios']} "
             "scenarios of several commands or signals (each checks the exit, the records and "
             f"the files); {counts['failing']} behaved otherwise. Regenerate with `python "
             "tests/probe_cli.py --doc docs/reference/errors.md`.", ""]
    family = None
    for fam, app, args, expected, good, message in results:
        if fam != family:
            lines += ["", f"**{fam}**", "", "| app | arguments | what it says |",
                      "| --- | --- | --- |"]
            family = fam
        lines.append(f"| {app} | `{cell(args)}` | {cell(message)}"
                     f"{'' if good else ' **(not as expected)**'} |")
    text = path.read_text()
    start, end = "<!-- probe:start -->", "<!-- probe:end -->"
    body = "\n".join(lines)
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end),
                      lambda _: f"{start}\n{body}\n{end}", text, flags=re.S)
    else:
        text += f"\n## Every input probed\n\n{start}\n{body}\n{end}\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
