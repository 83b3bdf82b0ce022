"""The probe's families added by issue 37 (``tests/probe_cli.py`` runs them with the others):
values beyond float32 and other data named for what they are, folders that hold finished
results, tracking stores, the environment (locale, closed streams, pipes, long paths), and the
scenarios that need more than one command: concurrency and signals.

A simple case is ``(family, app, arguments, expected exit, how)``; ``how`` may say ``env``
(variables to set), ``shell`` (a shell suffix such as ``2>&-``), ``untouched`` (a folder whose
files must stay byte-identical) and ``line`` (text the last line must hold). A scenario is a
function returning ``(ok, message)``.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFUSED, WORKS = 2, 0
LONG = ["trainer.epochs=300", "data.limit=2000", "model.net.hidden=[32]", "score.figures=false",
        "trainer.progress=false", "trainer.threads=1", "trainer.checkpoint_seconds=0"]


def fingerprint(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def prepare_more(d: Path, f: dict) -> None:
    """The files of the new families: tables at float32's limits and otherwise misread."""
    from sklearn.datasets import load_wine

    from tests.helpers import write_idx_folder

    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine["alcohol"] = wine["alcohol"].astype(float)

    def table(name, frame, **kwargs):
        f[name] = d / f"{name}.csv"
        frame.to_csv(f[name], index=False, **kwargs)

    for name, row, value in (("f32_over", 5, 1e39), ("f32_under", 7, -1e39),
                             ("f32_max", 3, 3.4e38)):
        table(name, wine.assign(alcohol=wine.alcohol.where(wine.index != row, value)))
    wide = wine.copy()
    wide.loc[3, "alcohol"], wide.loc[4, "alcohol"] = 3e38, -3e38
    table("f32_range", wide)
    table("f32_square", wine.assign(alcohol=wine.alcohol.where(wine.index != 2, 1e20)))
    table("f32_tiny", wine.assign(alcohol=wine.alcohol * 1e-30))
    table("na_class", wine.assign(cultivar=wine.cultivar.map({0: "NA", 1: "null", 2: "N/A"})))
    table("none_class", wine.assign(cultivar=wine.cultivar.map({0: "None", 1: "nan", 2: "x"})))
    table("one_row", wine.iloc[:1])
    table("two_rows", wine.iloc[[0, 100]])
    table("semicolon", wine, sep=";")
    table("bar", wine, sep="|")
    f["tab_csv"] = d / "tab_in.csv"
    wine.to_csv(f["tab_csv"], index=False, sep="\t")
    x = wine.drop(columns="cultivar").to_numpy()
    np.save(d / "big.npy", np.where(np.arange(len(x))[:, None] == 3, 1e39, x))
    np.save(d / "ok.npy", x)
    data = (d / "ok.npy").read_bytes()
    (d / "lying.npy").write_bytes(data[:128].replace(b"(178, 13)", b"(9999999999, 999)")[:128]
                                  + data[128:])
    (d / "short.npy").write_bytes(data[:len(data) // 2])
    blank = np.zeros((300, 8, 8), np.uint8)
    f["idx_blank"] = write_idx_folder(d / "idx_blank", {"train": blank},
                                      {"train": np.arange(300) % 10})
    f["idx_white"] = write_idx_folder(d / "idx_white", {"train": blank + 255},
                                      {"train": np.arange(300) % 10})
    f["tsv_blank"] = d / "blank.tsv"
    f["tsv_blank"].write_text("".join("\t".join(["0"] * 64) + f"\t{i % 10}\n"
                                      for i in range(300)))
    store = d / "stores"
    (store / "folder.db").mkdir(parents=True)
    (store / "corrupt.db").write_text("these are notes, not a database")
    (store / "link").symlink_to(store / "nowhere")
    f["stores"] = store
    (d / "dangling").symlink_to(d / "nowhere")


def setup_more(f: dict, d: Path, tiny: list[str]) -> None:
    """Finished results to point commands at: a PCA run, a sweep, a search kept in memory."""
    runs = d / "runs"
    py = [sys.executable, "-m", "experiments.train", *tiny]
    baseline = [a for a in py if not a.startswith("model.net")]
    subprocess.run([*baseline, "model=pca", f"hydra.run.dir={runs / 'pca'}"], cwd=ROOT,
                   check=True, capture_output=True)
    subprocess.run([*py, "-m", "model.kl.beta=1,2", f"hydra.sweep.dir={runs / 'sweep'}"],
                   cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*py, "hparams_search=vae_optuna", "hydra.sweeper.n_trials=1",
                    f"hydra.sweep.dir={runs / 'search'}"], cwd=ROOT, check=True,
                   capture_output=True)
    for name in ("finished_a", "finished_b", "finished_c", "finished_d"):
        shutil.copytree(runs / "trained", runs / name)
    shutil.copytree(runs / "sweep", runs / "sweep_b")
    shutil.copytree(runs / "sweep", runs / "sweep_broken")
    checkpoint = runs / "sweep_broken" / "1" / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])


def more_cases(f: dict, d: Path) -> list[tuple]:
    t, a, e, c = "experiments.train", "experiments.anomaly", "experiments.embed", \
        "experiments.compare"
    runs, stores = d / "runs", f["stores"]
    out = []

    def add(family, app, args, code=REFUSED, **how):
        out.append((family, app, args, code, how))

    fam = "Values beyond float32, and data named for what it is"
    for key in ("f32_over", "f32_under", "f32_range"):
        add(fam, t, ["data=table", f"data.path={f[key]}"])
    add(fam, t, ["data=table", f"data.path={f['f32_square']}", "data.scale=none", "model=ae",
                 "model.recon=mse"], line="squares beyond float32")
    add(fam, t, ["data=table", f"data.path={f['f32_over']}", "data.scale=standard"])
    add(fam, a, ["data=table", f"data.path={f['f32_over']}", "data.label=cultivar"])
    add(fam, t, ["data=table", f"data.path={d / 'big.npy'}"])
    add(fam, t, ["data=table", f"data.path={f['f32_max']}"], WORKS)
    add(fam, t, ["data=table", f"data.path={f['f32_tiny']}"], WORKS)
    add(fam, t, ["data=idx", f"data.path={f['idx_blank']}"], line="blank images")
    add(fam, t, ["data=idx", f"data.path={f['idx_white']}"], line="blank images")
    add(fam, t, ["data=tsv", f"data.path={f['tsv_blank']}"], line="blank images")
    add(fam, t, ["data=table", f"data.path={f['na_class']}", "data.label=cultivar"], WORKS)
    add(fam, t, ["data=table", f"data.path={f['none_class']}", "data.label=cultivar"], WORKS)
    add(fam, t, ["data=table", f"data.path={f['one_row']}"], line="one data row")
    add(fam, t, ["data=table", f"data.path={f['two_rows']}", "data.label=cultivar"])
    for key in ("semicolon", "bar", "tab_csv"):
        add(fam, t, ["data=table", f"data.path={f[key]}", "data.label=cultivar"],
            line="-separated")
    add(fam, t, ["data=table", f"data.path={d / 'lying.npy'}"], line="its header describes")
    add(fam, t, ["data=table", f"data.path={d / 'short.npy'}"])

    fam = "A folder holds finished results"
    for name, app, args in (("finished_a", t, []), ("finished_b", t, ["model=ae"]),
                            ("finished_c", e, [f"checkpoint={runs / 'trained'}"]),
                            ("finished_d", a, [])):
        add(fam, app, [*args, f"hydra.run.dir={runs / name}"], untouched=runs / name)
    add(fam, t, ["-m", "model.kl.beta=4,8", f"hydra.sweep.dir={runs / 'sweep_b'}"],
        untouched=runs / "sweep_b")
    add(fam, t, ["-m", "model.kl.beta=4,8", "trainer.resume=true",
                 f"hydra.sweep.dir={runs / 'sweep_b'}"], untouched=runs / "sweep_b")
    add(fam, t, ["-m", "model.kl.beta=1,2", "trainer.resume=true",
                 f"hydra.sweep.dir={runs / 'sweep_broken'}"], untouched=runs / "sweep_broken",
        line="checkpoint cannot be read")
    add(fam, t, ["hparams_search=vae_optuna", "hydra.sweeper.n_trials=1",
                 f"hydra.sweep.dir={runs / 'search'}"], untouched=runs / "search")
    for target, said in (("anomaly", "anomaly-detection run"), ("pca", "baseline"),
                         ("sweep", "is a sweep")):
        add(fam, e, [f"checkpoint={runs / target}"], line=said)
        add(fam, t, ["trainer.resume=true", f"trainer.resume_from={runs / target}"], line=said)

    fam = "A tracking store or a study's storage is unusable"
    for uri, said in ((stores / "folder.db", "is a folder"),
                      (stores / "corrupt.db", "is not an SQLite database"),
                      (f["a_file"] / "mlflow.db", "is a file, not a folder"),
                      (stores / "link" / "mlflow.db", "which does not exist")):
        add(fam, t, ["tracking=mlflow", f"tracking.uri=sqlite:///{uri}"], line=said)
        add(fam, t, ["hparams_search=vae_optuna", "hydra.sweeper.n_trials=1",
                     f"hydra.sweeper.storage=sqlite:///{uri}",
                     f"paths.output_root={d / 'searches'}"], line=said)
    add(fam, "experiments.tracking", [str(runs / "trained"), "--to", "mlflow", "--uri",
                                      f"sqlite:///{stores / 'folder.db'}"], line="is a folder")

    fam = "The environment: locale, streams, pipes, long paths"
    long = "x" * 300
    add(fam, t, [f"hydra.run.dir={d / long}"], line="File name too long")
    add(fam, t, [f"paths.output_root={d / long}"], line="File name too long")
    add(fam, t, [f"hydra.run.dir={d / 'dangling'}"], line="which does not exist")
    add(fam, t, [f"paths.output_root={d / 'dangling'}"], line="which does not exist")
    add(fam, c, [str(runs / "sweep"), "--out", str(d / "dangling")], line="does not exist")
    add(fam, c, [str(runs / "sweep"), "--out", "/proc/no-such-folder"], line="cannot write")
    add(fam, c, [str(runs / "sweep"), "--out", str(d / long)], line="File name too long")
    c_locale = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    add(fam, t, [f"hydra.run.dir='{runs / 'é-c-locale'}'"], WORKS, env=c_locale)
    add(fam, t, ["model=nope"], env=c_locale)
    add(fam, t, ["model=nope"], shell="2>&-", quiet=True)
    add(fam, t, ["model=nope"], shell=">&-")
    add(fam, t, ["--help"], WORKS, shell="| head -1", pipe=True)
    add(fam, e, ["--help"], WORKS, shell="| head -1", pipe=True)
    add(fam, t, [], WORKS, shell="< /dev/null")
    add(fam, c, [str(runs / "sweep"), "--out", str(d / "tables-piped")], WORKS,
        shell="| head -1", pipe=True)
    return out


def run_more(app: str, args: list[str], how: dict, d: Path, index: int, tiny: list[str]):
    """One simple case as a shell would run it; (CompletedProcess, fingerprint kept or not)."""
    import shlex

    before = fingerprint(how["untouched"]) if how.get("untouched") else None
    chosen = any(a.startswith(("hydra.run.dir", "hydra.sweep.dir", "paths.output_root"))
                 for a in args) or app in ("experiments.compare", "experiments.tracking")
    where = [] if chosen or "--help" in args else [f"hydra.run.dir={d / 'probe' / f'm{index}'}"]
    extra = [] if app in ("experiments.compare", "experiments.tracking") or "--help" in args \
        else tiny
    command = shlex.join([sys.executable, "-m", app, *extra, *args, *where])
    env = {**os.environ, **how.get("env", {})}
    pipefail = "set -o pipefail; " if how.get("pipe") else ""  # the app's exit, not head's
    proc = subprocess.run(f"{pipefail}{command} {how.get('shell', '')}", shell=True, cwd=ROOT,
                          env=env,
                          capture_output=True, timeout=600, executable="/bin/bash")
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    kept = before is None or fingerprint(how["untouched"]) == before
    return proc, kept


# -- scenarios: more than one command, or a signal at a moment ------------------------------

def _start(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "experiments.train", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _wait(path: Path, proc: subprocess.Popen, limit: float = 120) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            return True
        time.sleep(0.05)
    return path.exists()


def _record(folder: Path) -> dict:
    try:
        return json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}


def _one_error_line(text: str) -> bool:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ")


def signal_run(d: Path, name: str, signals: list[int], gap: float = 0.0):
    """A run sent ``signals`` once its second epoch is on disk: the record says interrupted,
    the checkpoint holds the epoch the record says was kept, the exit is 128 + the first."""
    run = d / "scenarios" / name
    proc = _start(*LONG, f"hydra.run.dir={run}")
    if not _wait(run / "checkpoint.pt", proc):
        proc.kill()
        return False, "the run never wrote an epoch"
    time.sleep(0.5)
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(gap)
    out, err = proc.communicate(timeout=120)
    record = _record(run)
    kept = (record.get("interrupted") or {}).get("epochs_kept")
    from reducers.checkpoint import load_checkpoint
    try:
        on_disk = load_checkpoint(run / "checkpoint.pt")["epoch"]
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        on_disk = f"unreadable ({exc})"
    good = (proc.returncode == 128 + signals[0] and record.get("status") == "interrupted"
            and kept == on_disk and "Traceback" not in out + err)
    return good, (f"exit {proc.returncode}, {record.get('status')}, epoch {kept} kept, "
                  f"checkpoint of epoch {on_disk}")


def signal_sweep(d: Path, name: str, signals: list[int], launcher: list[str]):
    """A sweep's command (not its workers) signalled: every job recorded, none left running,
    the tables written, the resume command printed, exit 128 + the first signal."""
    sweep = d / "scenarios" / name
    proc = _start("-m", *LONG, "seed=1,2,3,4", *launcher, f"hydra.sweep.dir={sweep}")
    if not _wait(sweep / "0" / "checkpoint.pt", proc):
        proc.kill()
        return False, "no job ever wrote an epoch"
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(0.2)
    out, err = proc.communicate(timeout=180)
    statuses = [_record(sweep / str(i)).get("status") for i in range(4)]
    time.sleep(0.5)
    orphans = subprocess.run(["pgrep", "-f", "LokyProcess"], capture_output=True, text=True)
    good = (proc.returncode == 128 + signals[0] and statuses == ["interrupted"] * 4
            and (sweep / "comparison.md").exists() and "trainer.resume=true" in out + err
            and "Traceback" not in out + err and not orphans.stdout.strip())
    return good, (f"exit {proc.returncode}, jobs {', '.join(map(str, statuses))}"
                  + (", workers left running" if orphans.stdout.strip() else ""))


def tracker_killed(d: Path):
    """joblib's resource tracker killed while the jobs train: the sweep goes on, every job ok,
    no traceback on the terminal (the relaunched tracker's messages in the sweep folder)."""
    sweep = d / "scenarios" / "tracker"
    proc = _start("-m", "trainer.epochs=6", "data.limit=1500", "seed=1,2,3,4",
                  "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}")
    if not _wait(sweep / "0" / "checkpoint.pt", proc):
        proc.kill()
        return False, "no job ever wrote an epoch"
    killed = subprocess.run(["pkill", "-9", "-f", "loky.backend.resource_tracker"])
    out, err = proc.communicate(timeout=180)
    statuses = [_record(sweep / str(i)).get("status") for i in range(4)]
    good = (killed.returncode == 0 and proc.returncode == 0 and statuses == ["ok"] * 4
            and "Traceback" not in out + err and "resource tracker was killed" in out + err)
    return good, (f"exit {proc.returncode}, jobs {', '.join(map(str, statuses))}"
                  + ("" if killed.returncode == 0 else ", no tracker found to kill"))


def read_only_resume(d: Path, sweep: bool):
    """Resume in a run or sweep folder on a read-only mount: one line, exit 2, nothing
    changed (skipped, and so failing, where no read-only mount can be made)."""
    from tests.helpers import run_cli_read_only
    folder = d / "scenarios" / ("ro-sweep" if sweep else "ro-run")
    tiny = ["trainer.epochs=1", "data.limit=400", "model.net.hidden=[32]", "score.figures=false"]
    where = (["-m", "seed=1,2", f"hydra.sweep.dir={folder}"] if sweep
             else [f"hydra.run.dir={folder}"])
    first = subprocess.run([sys.executable, "-m", "experiments.train", *where, *tiny], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    if first.returncode != 0:
        return False, "the first command failed"
    before = fingerprint(folder)
    proc = run_cli_read_only(folder, *where, *tiny[1:], "trainer.epochs=2",
                             "trainer.resume=true")
    good = (proc.returncode == 2 and _one_error_line(proc.stderr)
            and fingerprint(folder) == before)
    return good, f"exit {proc.returncode}: {proc.stderr.strip()[:90]}"


def ctrl_c_at_startup(d: Path, delay: float):
    proc = _start("trainer.epochs=1", "data.limit=300", f"hydra.run.dir={d / 'startup'}")
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    good = proc.returncode in (130, 0) and "Traceback" not in out + err
    return good, f"exit {proc.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}"


def two_into_one(d: Path, name: str, sweep: bool):
    """Two commands into one folder at once: the second refused in one line, the first's
    results its own."""
    folder = d / "scenarios" / name
    key = "hydra.sweep.dir" if sweep else "hydra.run.dir"
    grid = ["-m", "model.kl.beta=1,2"] if sweep else []
    first = _start(*grid, *LONG[1:], "trainer.epochs=40", f"{key}={folder}")
    if not _wait(folder / ".lock", first):
        first.kill()
        return False, "the first never began"
    second = _start(*grid, *LONG[1:], "trainer.epochs=2", "model.kl.beta=4" if not sweep
                    else "trainer.threads=1", f"{key}={folder}")
    _, err2 = second.communicate(timeout=120)
    first.communicate(timeout=300)
    record = _record(folder / "0" if sweep else folder)
    epochs = record.get("epochs_completed")
    good = second.returncode == 2 and _one_error_line(err2) and first.returncode == 0 \
        and epochs == 40
    return good, f"second: exit {second.returncode}: {err2.strip()[-90:]}; first: {epochs} epochs"


def two_trackers(d: Path):
    run = d / "runs" / "trained"
    db = d / "scenarios" / "fresh-store" / "mlflow.db"
    command = [sys.executable, "-m", "experiments.tracking", str(run), "--to", "mlflow",
               "--uri", f"sqlite:///{db}"]
    procs = [subprocess.Popen(command, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
             for _ in range(2)]
    codes = [p.wait(timeout=300) for p in procs]
    stray = (d / "mlruns").exists()
    return codes == [0, 0] and not stray, f"exits {codes}" + (", mlruns/ in the current "
                                                              "folder" if stray else "")


def two_searches(d: Path):
    storage = f"sqlite:///{d / 'scenarios' / 'study' / 'study.db'}"
    args = ["hparams_search=vae_optuna", "hydra.sweeper.n_trials=30", *LONG[1:5],
            "trainer.epochs=3", f"hydra.sweeper.storage={storage}"]
    first = _start(*args, f"hydra.sweep.dir={d / 'scenarios' / 'search1'}")
    lock = d / "scenarios" / "study" / ".study.db.vae_optuna.lock"
    if not _wait(lock, first):
        first.kill()
        return False, "the first search never began"
    second = _start(*args, f"hydra.sweep.dir={d / 'scenarios' / 'search2'}")
    _, err = second.communicate(timeout=120)
    first.terminate()
    first.communicate(timeout=120)
    return second.returncode == 2 and _one_error_line(err), \
        f"second: exit {second.returncode}: {err.strip()[-80:]}"


def compare_live(d: Path):
    sweep = d / "scenarios" / "live"
    proc = _start("-m", *LONG, "model.kl.beta=1,2", f"hydra.sweep.dir={sweep}")
    if not _wait(sweep / "0" / "checkpoint.pt", proc):
        proc.kill()
        return False, "the sweep never began"
    shown = subprocess.run([sys.executable, "-m", "experiments.compare", str(sweep), "--out",
                            str(d / "scenarios" / "live-tables")], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    proc.kill()
    proc.communicate()
    table = pd.read_csv(d / "scenarios" / "live-tables" / "comparison.csv")
    return shown.returncode == 0 and set(table.status) == {"running"}, \
        f"exit {shown.returncode}, statuses {sorted(set(table.status))}"


def scenarios(d: Path) -> list[tuple[str, str, callable]]:
    """(family, what, the scenario)."""
    term, hup, intr = signal.SIGTERM, signal.SIGHUP, signal.SIGINT
    joblib = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    fam_c, fam_s, fam_f = "Concurrency", "Signals", "A folder holds finished results"
    return [
        (fam_c, "two runs into one run folder at once", lambda: two_into_one(d, "run2", False)),
        (fam_c, "two sweeps into one sweep folder at once", lambda: two_into_one(d, "sw2", True)),
        (fam_c, "two first-time MLflow trackers on one new store", lambda: two_trackers(d)),
        (fam_c, "two searches of one kept study at once", lambda: two_searches(d)),
        (fam_c, "compare while the sweep's jobs train", lambda: compare_live(d)),
        (fam_f, "resume in a read-only run folder", lambda: read_only_resume(d, False)),
        (fam_f, "resume in a read-only sweep folder", lambda: read_only_resume(d, True)),
        (fam_s, "SIGHUP to a run (a closed terminal)", lambda: signal_run(d, "hup", [hup])),
        (fam_s, "SIGTERM to a run", lambda: signal_run(d, "term", [term])),
        (fam_s, "Ctrl-C to a run", lambda: signal_run(d, "int", [intr])),
        (fam_s, "three quick SIGTERMs to a run", lambda: signal_run(d, "term3", [term] * 3)),
        (fam_s, "SIGTERM then SIGINT to a run", lambda: signal_run(d, "mixed", [term, intr],
                                                                  0.05)),
        (fam_s, "SIGTERM to a joblib sweep's command",
         lambda: signal_sweep(d, "jterm", [term], joblib)),
        (fam_s, "SIGHUP to a joblib sweep's command",
         lambda: signal_sweep(d, "jhup", [hup], joblib)),
        (fam_s, "two SIGTERMs to a joblib sweep's command",
         lambda: signal_sweep(d, "jterm2", [term, term], joblib)),
        (fam_s, "SIGTERM to a basic sweep's command",
         lambda: signal_sweep(d, "bterm", [term], [])),
        (fam_s, "joblib's resource tracker killed mid-sweep", lambda: tracker_killed(d)),
        (fam_s, "Ctrl-C 0.3 s into start-up", lambda: ctrl_c_at_startup(d, 0.3)),
        (fam_s, "Ctrl-C 1.5 s into start-up", lambda: ctrl_c_at_startup(d, 1.5)),
    ]
