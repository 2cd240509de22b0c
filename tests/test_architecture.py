"""The shape of the codebase: no import cycles, inference without the trainer, one model
registry that everything reads, and one error root that every script turns into one line."""

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_data

from maist import cli, errors
from maist.errors import MaistError

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def module_name(path: Path) -> str:
    """maist/data/etl.py -> 'maist.data.etl'; maist/data/__init__.py -> 'maist.data'."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in (ROOT / "maist").rglob("*.py")}


def maist_imports(path: Path) -> set[str]:
    """maist modules a file imports, at any depth (lazy imports in functions included)."""
    found = set()
    here = module_name(path) if path.is_relative_to(ROOT / "maist") else ""
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative, inside the package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "maist":
                module = node.module
            else:
                continue
            for a in node.names:
                found.add(f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "maist"}
    return {m for m in found if m in MODULES}


def test_no_import_cycles_in_the_package():
    graph = {name: maist_imports(p) - {name} for name, p in MODULES.items()}
    done, path = set(), []

    def visit(node):
        if node in path:
            raise AssertionError(f"import cycle: {' -> '.join(path[path.index(node):] + [node])}")
        if node in done:
            return
        path.append(node)
        for nxt in graph.get(node, ()):
            visit(nxt)
        path.pop()
        done.add(node)

    for node in graph:
        visit(node)


@pytest.mark.parametrize("name", ["predict.py", "evaluate.py", "visualize.py"])
def test_scripts_that_use_a_model_do_not_import_the_trainer(name):
    assert "maist.training.loop" not in maist_imports(ROOT / "scripts" / name)


def test_notebooks_and_inference_modules_do_not_import_the_trainer():
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"]
                         if c["cell_type"] == "code")
        assert "maist.training.loop" not in code, nb.name
    out = subprocess.run([sys.executable, "-c", "import sys, maist.analysis.report, "
                          "maist.training.rundir; print('maist.training.loop' in sys.modules)"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_every_domain_error_has_the_one_root():
    domain = [v for v in vars(errors).values()
              if isinstance(v, type) and issubclass(v, Exception) and v is not MaistError]
    assert len(domain) >= 10 and all(issubclass(e, MaistError) for e in domain)
    from maist.data import classes as kana
    from maist.data import dataset, etl, preprocess
    from maist.synth import generator as synth
    from maist.synth import strokes
    from maist.training import schedule

    for module, name in [(etl, "EtlFormatError"), (kana, "KanaError"), (dataset, "DatasetError"),
                         (schedule, "ScheduleError"), (strokes, "StrokeError"),
                         (synth, "SynthError"), (preprocess, "PictureError")]:
        assert issubclass(getattr(module, name), MaistError)


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_script_maps_every_maist_error_to_one_line(path, capsys, monkeypatch):
    """Each script's main is the shared wrapper: any MaistError or OSError from the
    library becomes one line on stderr and exit code 1; --debug shows the traceback."""
    module = load_script(path)
    assert hasattr(module.main, "parser"), f"{path.name}: main is not a cli.command"
    for error in (errors.DatasetError("a data set problem", params=("data",)),
                  errors.RunError("a run problem"), errors.TrainingError("stopped"),
                  PermissionError(13, "Permission denied", "/x/y")):
        def boom(args, error=error):
            raise error

        main = cli.command(module.main.parser)(boom)
        argv = {"build_maist.py": ["--etl", "x"], "predict.py": ["r", "a.png"],
                "evaluate.py": ["r"], "visualize.py": ["r"]}.get(path.name, [])
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("error: ")
        assert main([*argv, "--debug"]) == 1
        assert "Traceback" in capsys.readouterr().err


def test_library_messages_name_parameters_and_scripts_name_flags(tmp_path):
    """The library says 'resume it'; the script adds its own flags for that."""
    from maist.training import rundir as runs

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("")
    with pytest.raises(errors.RunError) as e:
        runs.prepare(tmp_path / "run", {}, resume=False)
    assert "--" not in str(e.value) and e.value.params == ("resume", "run_dir")
    line = cli.error_line(e.value, load_script(ROOT / "scripts" / "train_maist.py").build_parser())
    assert line.endswith("(--resume, --run-dir)")


# --- a model added through the registry alone --------------------------------------------


def toy_inference(x, keep_prob, num_classes, seed, width=8):
    """A conv layer and a readout: enough to be a model, small enough to train in seconds."""
    from maist.nets.backend import tf, tf1

    init = tf1.glorot_uniform_initializer(seed=seed)
    img = tf.reshape(x, [-1, 28, 28, 1])
    w = tf1.Variable(init([3, 3, 1, width]), name="W_toy")
    h = tf.nn.relu(tf.nn.conv2d(img, w, strides=1, padding="SAME"), name="h_toy")
    pooled = tf.reduce_mean(h, axis=[1, 2])
    w2 = tf1.Variable(init([width, num_classes]), name="W_toy_out")
    return tf.matmul(pooled, w2, name="logits")


def test_a_toy_model_trains_restores_and_is_drawn_with_no_other_edits(tmp_path, monkeypatch):
    from maist.analysis import report
    from maist.nets import models as M
    from maist.training import rundir as runs
    from maist.training import schedule
    from maist.training.loop import TrainConfig, train

    monkeypatch.setitem(M.MODELS, "toy", M.ModelSpec(
        "toy", toy_inference, options={"width": 8}, filters="W_toy", activations=("h_toy",)))
    data = tiny_data(num_classes=3, per_class=20)
    npz = data.save(tmp_path / "tiny.npz")
    data.meta["path"] = str(npz)
    recipe = schedule.Recipe("toy", "toy", "adam", "stable", 30, 16,
                             schedule.StepTable.constant(1e-2), schedule.StepTable.constant(1.0),
                             sampling="epoch")
    result = train(data, TrainConfig(recipe, eval_every=30, model_options={"width": 6}),
                   tmp_path / "run", log=lambda s: None, quiet=True)
    assert result.step == 30
    with runs.restore(tmp_path / "run") as r:
        assert r.run(["W_toy"], data.test.x[:1])[0].shape == (3, 3, 1, 6)
        assert r.probabilities(data.test.x[:4]).shape == (4, 3)
    figs = report.run_figures(tmp_path / "run", data)
    assert {"filters_step0", "filters_step30", "h_toy_step0", "h_toy_step30", "curves",
            "predictions", "confusion"} <= set(figs)


def test_unknown_model_options_are_errors_not_dropped():
    from maist.nets import models as M

    with pytest.raises(errors.ModelError, match="takes no options; not hidden"):
        M.build("expert", 5, hidden=3)
    with pytest.raises(errors.ModelError, match="hidden"):
        M.get_model("mlp").parse_option("hidden=many")
    assert M.get_model("mlp").parse_option("hidden=32") == ("hidden", 32)


def test_scripts_take_their_choices_from_the_registries():
    from maist.data import preprocess
    from maist.nets import models as M

    p = load_script(ROOT / "scripts" / "train_maist.py").build_parser()
    choices = {a.dest: a.choices for a in p._actions if a.choices}
    assert list(choices["model"]) == list(M.MODELS)
    assert list(choices["preprocess"]) == list(preprocess.PREPROCESSORS)


def test_default_reads_use_every_core(monkeypatch):
    from maist.data import etl

    monkeypatch.setattr("os.cpu_count", lambda: 7)
    assert etl.default_workers() == 7
