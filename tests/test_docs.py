"""The documentation cannot drift from the code: the configuration reference is generated and
must be current, and it lists every key the apps' configs have."""

from omegaconf import OmegaConf

from experiments import docs_reference
from experiments.docs_reference import APPS, PAGE, compose, hydra_initialised


def test_the_committed_configuration_page_is_current():
    assert PAGE.read_text() == docs_reference.generate(), (
        "docs/reference/configuration.md is stale: python -m experiments.docs_reference")


def leaf_keys(node, prefix=""):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from leaf_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_the_page_lists_every_key_that_cfg_job_prints_for_each_app():
    page = PAGE.read_text()
    with hydra_initialised():
        for app in APPS:
            cfg = compose(app)
            job = OmegaConf.to_container(cfg, resolve=False)
            job.pop("hydra")
            keys = [k for k in leaf_keys(job) if not k.rsplit(".", 1)[-1].startswith("_")]
            assert len(keys) > 10, app
            missing = [k for k in keys if f"| `{k}` |" not in page]
            assert missing == [], (app, missing)
