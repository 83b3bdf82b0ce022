"""The documentation cannot drift from the code: the configuration reference is generated and
must be current, and it lists every key the apps' configs have."""

import pytest
from omegaconf import OmegaConf

from experiments import docs_reference
from experiments.docs_reference import APPS, PAGE, compose, hydra_initialised


@pytest.mark.slow  # 14 s on 2 cores: CI runs it with the slow tests
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


PAGE_WITH_COMMANDS = """# A page

```bash
python -m experiments.train trainer.epochs=2 \\
    model.kl.beta=2                       # one run: 2 epochs
python -m experiments.train -m model.kl.beta=0.5,1 seed=0,1   # a sweep: composed only
python -m experiments.train data=digits score.knn_k=100000    # refused: exit 2
reducer-train hparams_search=vae_optuna 'optim.lr=tag(log, interval(1e-4, 1e-1))'
python -m experiments.compare FOLDER --sort-by silhouette
pip install -e '.[umap]'
```

```python
print("# not a comment")
```
"""


def test_the_docs_check_reads_commands_and_knows_how_to_check_each(tmp_path):
    from experiments.docs_check import examples
    from experiments.docs_commands import classify

    page = tmp_path / "page.md"
    page.write_text(PAGE_WITH_COMMANDS)
    found = examples(page)
    assert [(e.line, e.language) for e in found] == [
        (4, "bash"), (6, "bash"), (7, "bash"), (8, "bash"), (9, "bash"), (10, "bash"),
        (14, "python")]
    assert found[0].text == "python -m experiments.train trainer.epochs=2 model.kl.beta=2"
    assert found[2].expect == 2 and found[0].expect == 0
    assert [classify(e.text)[0] for e in found[:6]] == [
        "run", "compose", "run", "compose", "help", "skip"]


def test_a_broken_command_fails_the_docs_check_and_names_its_line(tmp_path, capsys):
    from experiments.docs_check import main

    page = tmp_path / "page.md"
    page.write_text("# Page\n\n```bash\npython -m experiments.train -m model.kl.beta=1,2\n"
                    "python -m experiments.train -m model.kl.betta=1,2\n```\n")
    assert main([str(page)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {page}:5: ")
    assert "betta" in err[0]
    page.write_text("# Page\n\n```bash\npython -m experiments.train -m model.kl.beta=1,2\n```\n")
    assert main([str(page)]) == 0
