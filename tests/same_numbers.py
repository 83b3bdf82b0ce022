"""Fingerprints of runs, to show that a change of the code leaves the numbers alone: for each
case (a command of an app), the SHA-256 of its ``metrics.json`` metrics (timings left out) and
of every array of its ``codes.npz`` or ``scores.npz``.

    python tests/same_numbers.py BEFORE.json            # run every case, write the fingerprints
    python tests/same_numbers.py AFTER.json --compare BEFORE.json

Run it before a change (``git stash`` or a worktree of the old commit: ``--cwd``) and after, on
the same machine with nothing else running; the cases take about 3 minutes on 2 cores. The
cases use this version's spellings: for a version of other spellings, ``--cases`` a JSON file
{name: [module, [arguments]]}.
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TIMING = ("seconds", "samples_per_second")
CASES = {  # the default run, every preset at a few epochs, every part, every detector
    "default": ("experiments.train", []),
    "blog_vae": ("experiments.train", ["experiment=blog_vae", "trainer.epochs=2"]),
    "blog_vae_fixed": ("experiments.train", ["experiment=blog_vae_fixed", "trainer.epochs=2"]),
    "quality_ae": ("experiments.train", ["experiment=quality_ae", "trainer.epochs=3"]),
    "quality_vae": ("experiments.train", ["experiment=quality_vae", "trainer.epochs=3"]),
    "visual_vae": ("experiments.train", ["experiment=visual_vae", "trainer.epochs=2",
                                         "data.limit=1500"]),
    "vae_umap": ("experiments.train", ["model/embedding=umap", "trainer.epochs=2",
                                       "data.limit=1500", "model.embedding.weight=0.5"]),
    "ae_conv_heldout": ("experiments.train", ["model=ae", "model/net=conv", "trainer.epochs=2",
                                              "data.limit=1000", "heldout=mnist_t10k",
                                              "heldout.limit=2000"]),
    "vae_cyclic_bn_val": ("experiments.train", [
        "model.kl.schedule=cyclical", "model.kl.warmup_epochs=2", "model.net.batchnorm=true",
        "model.net.dropout=0.1", "trainer.epochs=4", "trainer.val_fraction=0.1",
        "trainer.early_stopping=2", "trainer.restore_best=true", "trainer.lr_schedule=step",
        "trainer.lr_step_epochs=1", "data.limit=1000", "model.latent_dim=3",
        "model.net.activation=elu", "model.recon=mse"]),
    "ae_sgd_autograd": ("experiments.train", ["model=ae", "optim=sgd", "trainer.backward=autograd",
                                              "trainer.epochs=2", "data.limit=1000",
                                              "trainer.augment_shift=1",
                                              "trainer.augment_degrees=5"]),
    "pca": ("experiments.train", ["model=pca"]),
    "digits_vae": ("experiments.train", ["data=digits", "trainer.epochs=3"]),
    "anom_ae": ("experiments.anomaly", ["trainer.epochs=3", "anomaly.figures=false"]),
    "anom_ae_nap": ("experiments.anomaly", ["trainer.epochs=3", "detector.score=rapp_nap",
                                            "anomaly.normal_class=2",
                                            "trainer.val_fraction=0.2"]),
    "anom_ae_sap_conv": ("experiments.anomaly", ["trainer.epochs=2", "detector.score=rapp_sap",
                                                 "detector/net=conv", "detector.latent_dim=16",
                                                 "trainer.augment_shift=2",
                                                 "anomaly.figures=false"]),
    "anom_vae": ("experiments.anomaly", ["detector=vae", "trainer.epochs=3",
                                         "anomaly.figures=false"]),
    "anom_vae_rp": ("experiments.anomaly", ["detector=vae", "detector.score=recon_prob",
                                            "detector.kl.beta=2", "trainer.epochs=3",
                                            "anomaly.figures=false"]),
    "anom_vae_nap_loo": ("experiments.anomaly", ["detector=vae", "detector.score=rapp_nap",
                                                 "anomaly.protocol=leave_one_out",
                                                 "anomaly.anomaly_class=3", "trainer.epochs=2",
                                                 "anomaly.figures=false"]),
    "anom_chain_fusion": ("experiments.anomaly", ["detector=chain", "trainer.epochs=2",
                                                  "anomaly.figures=false",
                                                  "trainer.val_fraction=0.2"]),
    "anom_chain_fusion_nap": ("experiments.anomaly", [
        "detector=chain", "detector.score=rapp_nap", "detector.ae_score=rapp_nap",
        "detector.fusion=rank", "trainer.epochs=2", "anomaly.figures=false"]),
    "anom_chain_latent": ("experiments.anomaly", ["detector=chain", "detector.variant=latent",
                                                  "trainer.epochs=2", "anomaly.figures=false"]),
    "anom_chain_residual": ("experiments.anomaly", ["detector=chain",
                                                    "detector.variant=residual",
                                                    "trainer.epochs=2",
                                                    "anomaly.figures=false"]),
    "anom_chain_joint": ("experiments.anomaly", ["detector=chain", "detector.variant=joint",
                                                 "trainer.epochs=2", "anomaly.figures=false"]),
    "anom_t10k": ("experiments.anomaly", ["heldout=mnist_t10k", "heldout.limit=2000",
                                          "trainer.epochs=2", "anomaly.figures=false",
                                          "detector.score=rapp_nap"]),
}


def fingerprint(run_dir: Path) -> dict:
    """The sha256 (16 hex digits) of the metrics (no timings) and of each saved array."""
    out = {}
    record = run_dir / "metrics.json"
    if record.exists():
        data = json.loads(record.read_text())
        metrics = {k: v for k, v in data.get("metrics", {}).items() if not k.endswith(TIMING)}
        out.update(status=data.get("status"), metrics=metrics, metrics_sha=hashlib.sha256(
            json.dumps(metrics, sort_keys=True).encode()).hexdigest()[:16])
    for name in ("codes.npz", "scores.npz"):
        if (run_dir / name).exists():
            with np.load(run_dir / name) as arrays:
                out[name] = {k: hashlib.sha256(arrays[k].tobytes()).hexdigest()[:16]
                             for k in sorted(arrays.files)}
    return out


def run_cases(cases: dict, cwd: Path, out: Path) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (module, args) in cases.items():
            run_dir = Path(tmp) / name
            proc = subprocess.run([sys.executable, "-m", module, *args, f"hydra.run.dir={run_dir}",
                                   "trainer.progress=false"], cwd=cwd, capture_output=True,
                                  text=True)
            results[name] = {"exit": proc.returncode, **fingerprint(run_dir)}
            print(name, proc.returncode, results[name].get("metrics_sha"), flush=True)
            out.write_text(json.dumps(results, indent=1))
    return results


def differences(before: dict, after: dict) -> list[str]:
    """One line per case whose fingerprints differ (an anomaly run's ``held_out_*`` metrics of
    earlier versions are its ``val_*`` ones)."""
    renamed = {"held_out_threshold": "val_threshold", "held_out_fpr": "val_fpr",
               "held_out_fnr": "val_fnr", "held_out": "val"}
    lines = []
    for name, old in before.items():
        new = after.get(name, {})
        for part in ("metrics", "codes.npz", "scores.npz"):
            a = {renamed.get(k, k): v for k, v in (old.get(part) or {}).items()}
            if a != (new.get(part) or {}):
                lines.append(f"{name}: {part} differ")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="where to write the fingerprints (JSON)")
    parser.add_argument("--compare", help="fingerprints to compare with (JSON)")
    parser.add_argument("--cases", help="the cases, {name: [module, [arguments]]} (JSON)")
    parser.add_argument("--cwd", default=str(ROOT), help="the checkout whose apps run")
    args = parser.parse_args()
    cases = json.loads(Path(args.cases).read_text()) if args.cases else CASES
    after = run_cases(cases, Path(args.cwd), Path(args.out))
    if args.compare:
        lines = differences(json.loads(Path(args.compare).read_text()), after)
        print("\n".join(lines) or f"the same numbers in all {len(after)} cases")
        return 1 if lines else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
