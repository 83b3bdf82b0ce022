"""Interrupt real runs again and again at random moments of their training (SIGINT or
SIGTERM, sometimes twice in a row), resume each time until it finishes, and compare each with
one uninterrupted run: weights and metrics must be identical.

    python tests/stress_interrupt.py OUT_DIR ROUNDS SEED     (e.g. /tmp/stress 8 23)

Not collected by pytest (it takes minutes); the closing note of issue 6 reports its figures.
"""
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from reducers.checkpoint import load_checkpoint  # noqa: E402

PY = sys.executable
RUN = ["trainer.epochs=30", "data.limit=1500", "model.net.hidden=[64]", "trainer.batch_size=16",
       "trainer.threads=1", "score.figures=false", "trainer.progress=false"]
root = Path(sys.argv[1]); rounds = int(sys.argv[2]); rng = random.Random(int(sys.argv[3]))
results = []

def run_once(args, delay):
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines, started = [], threading.Event()
    def reader():
        for line in proc.stdout:
            lines.append(line)
            if " threads" in line:
                started.set()
    t = threading.Thread(target=reader); t.start()
    started.wait(120)
    sent = None
    time.sleep(delay)
    if proc.poll() is None:
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        proc.send_signal(sig); sent = sig.name
        if rng.random() < 0.15:
            time.sleep(rng.uniform(0, 0.05)); proc.send_signal(sig); sent += "x2"
    proc.wait(); t.join()
    return proc.returncode, "".join(lines), sent

for r in range(rounds):
    run = root / f"run{r}"
    signals = []
    for attempt in range(100):
        args = [PY, "-m", "experiments.train", *RUN, f"hydra.run.dir={run}"]
        if attempt:
            args.append("trainer.resume=true")
        rc, out, sent = run_once(args, rng.uniform(0.0, 3.0))
        status = json.loads((run / "metrics.json").read_text())["status"]
        if status == "ok":  # finished (a signal that came after the end changes nothing)
            assert rc == 0 or sent, (rc, out)
            break
        signals.append(sent)
        assert "Traceback" not in out, out
        assert rc in (130, 143, -2, -15) and status == "interrupted", (rc, status, out)
    results.append((run, signals))
straight = root / "straight"
subprocess.run([PY, "-m", "experiments.train", *RUN, f"hydra.run.dir={straight}"],
               cwd=ROOT, check=True, capture_output=True)
ref = load_checkpoint(straight)
ref_m = json.loads((straight / "metrics.json").read_text())["metrics"]
skip = ("train_seconds", "samples_per_second")
total, bad = 0, 0
for run, signals in results:
    st = load_checkpoint(run)
    same_w = all(torch.equal(st["model"][k], ref["model"][k]) for k in ref["model"])
    m = json.loads((run / "metrics.json").read_text())["metrics"]
    same_m = {k: v for k, v in m.items() if k not in skip} == {k: v for k, v in ref_m.items() if k not in skip}
    total += len(signals); bad += not (same_w and same_m)
    print(run.name, len(signals), signals, "weights identical:", same_w, "metrics identical:", same_m)
print(f"interruptions: {total}, runs: {len(results)}, runs differing from the straight run: {bad}")
