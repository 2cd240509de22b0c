"""The shape of the codebase, read from the code itself: sub-packages in layers that import
only downwards (the data layer never reaching the generator), inference without the
trainer, one error root that every script turns into one line, one model registry, class
sets as data (no hiragana outside the class-set module), and data/ and runs/ under the
working directory for an installed MAIST too."""

import ast
import importlib
import importlib.util
import json
import os
import re
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


# The layers, bottom first. A module may import its own room and the layers below it;
# rooms on one floor (synth and nets) may not import each other.
LAYERS = [
    ["maist.errors", "maist.geometry", "maist.fileio", "maist.paths", "maist.signals",
     "maist.version", "maist.logs"],
    ["maist.data"],
    ["maist.synth", "maist.nets"],
    ["maist.runs"],
    ["maist.training"],
    ["maist.inference"],
    ["maist.analysis"],
    ["maist.app"],
    ["maist.cli"],
    ["maist.commands"],  # the commands, one module each; scripts/*.py run them
    ["maist"],  # the package's face: the lazy five-line API
]


def room(module: str) -> tuple[int, str]:
    """(floor, room) of a module: the longest layer prefix it falls under."""
    best = None
    for floor, rooms in enumerate(LAYERS):
        for r in rooms:
            if (module == r or module.startswith(r + ".")) and (best is None or len(r) > len(best[1])):
                best = (floor, r)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def test_every_module_is_in_a_layer_and_imports_only_downwards():
    upward = []
    for name, path in MODULES.items():
        floor, home = room(name)
        for target in maist_imports(path) - {name}:
            t_floor, t_home = room(target)
            if t_floor > floor or (t_floor == floor and t_home != home and floor > 0):
                upward.append(f"{name} (floor {floor}) imports {target} (floor {t_floor})")
    assert upward == []


def test_the_data_layer_never_reaches_the_generator():
    """Transitively: nothing data/ imports, nor what that imports, is synth/."""
    reach, todo = set(), [n for n in MODULES if n.startswith("maist.data")]
    while todo:
        name = todo.pop()
        for target in maist_imports(MODULES[name]):
            if target not in reach:
                reach.add(target)
                todo.append(target)
    assert not [m for m in reach if m.startswith("maist.synth")]


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


def imported_by_running(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"import sys; {code}; print(sorted(sys.modules))"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(eval(out.stdout.strip().splitlines()[-1]))


def test_importing_maist_imports_no_tensorflow():
    loaded = imported_by_running("import maist")
    assert "tensorflow" not in loaded and not [m for m in loaded if m.startswith("maist.nets")]


@pytest.mark.parametrize("module", ["maist.inference.restore", "maist.analysis.report",
                                    "maist.app.server"])
def test_reading_a_model_never_loads_the_trainer(module):
    """Inference, figures and the draw page run without the training loop or recipes' loss."""
    loaded = imported_by_running(f"import {module}")
    assert "maist.training.loop" not in loaded and "maist.analysis.compare" not in loaded


@pytest.mark.parametrize("name", ["predict", "evaluate", "visualize", "serve", "export"])
def test_commands_that_use_a_model_do_not_import_the_trainer(name):
    assert "maist.training.loop" not in maist_imports(ROOT / "maist" / "commands" / f"{name}.py")


def test_reading_a_run_imports_nothing_of_training():
    """A run is read through maist.runs: inference and the page never import training."""
    for module, path in MODULES.items():
        if module.startswith(("maist.inference", "maist.app", "maist.runs")):
            assert not {m for m in maist_imports(path) if m.startswith("maist.training")}, module


COMMANDS = sorted((ROOT / "maist" / "commands").glob("[a-z]*.py"))


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: p.name)
def test_commands_only_wire_arguments_to_the_package(path):
    """A command holds build_parser() and main(): the logic is the package's."""
    tree = ast.parse(path.read_text())
    functions = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert functions == ["build_parser", "main"], f"{path.name} defines {functions}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_the_commands_under_the_tutorials_names(path):
    """scripts/NAME.py defines nothing: it runs a command of maist.commands."""
    tree = ast.parse(path.read_text())
    assert not [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def test_notebooks_hold_no_logic_of_their_own():
    """Notebook cells call the package: they define no function or class."""
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = "".join(cell["source"])
            code = "\n".join(line for line in code.splitlines() if not line.startswith("%"))
            defined = [n for n in ast.walk(ast.parse(code))
                       if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
            assert not defined, f"{nb.name}: a cell defines {[getattr(d, 'name', 'lambda') for d in defined]}"


def test_every_error_class_lives_in_errors_and_has_the_one_root():
    """Every exception class MAIST defines is in maist/errors.py (warnings aside), and every
    one of those is a MaistError: read from the code, not restated."""
    elsewhere = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and name != "maist.errors":
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    elsewhere.append(f"{name}.{node.name}")
    assert elsewhere == []
    defined = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(defined) >= 13 and all(issubclass(e, MaistError) for e in defined)
    assert {"BadRequest", "BrowserError", "ClassSetError"} <= {e.__name__ for e in defined}


KANA = re.compile("[\u3041-\u309f]")  # the hiragana block, voicing marks included


def test_no_hiragana_outside_the_class_set_module():
    """Class sets are data: one module knows which characters are hiragana."""
    files = [p for p in (ROOT / "maist").rglob("*") if p.suffix in (".py", ".js", ".html", ".css", ".json")]
    files += SCRIPTS
    found = [f"{p.relative_to(ROOT)}:{i}" for p in files if p != ROOT / "maist/data/classes.py"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if KANA.search(line)]
    assert found == []


def test_data_and_runs_live_under_the_working_directory(tmp_path, monkeypatch):
    from maist import paths

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAIST_DATA", raising=False)
    assert paths.data_dir().resolve() == tmp_path / "data"
    assert paths.runs_dir().resolve() == tmp_path / "runs"
    monkeypatch.setenv("MAIST_DATA", str(tmp_path / "elsewhere"))
    assert paths.data_dir() == tmp_path / "elsewhere"


@pytest.mark.slow
def test_an_installed_maist_trains_from_a_checkout(tmp_path):
    """`pip install .` (not editable), then a script of the checkout run from a folder of
    one's own: the installed package is the one used, data/ and runs/ are made under the
    working directory, and nothing is written into the package."""
    target = tmp_path / "site"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--no-build-isolation", "--target", str(target), str(ROOT)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    work = tmp_path / "work"
    work.mkdir()
    tiny_data(num_classes=4, per_class=20).save(work / "tiny.npz")
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("MAIST_DATA", None)
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_maist.py"), "--data", "tiny.npz",
         "--dry-run", "--quiet"], capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    which = subprocess.run([sys.executable, "-c", "import maist; print(maist.__file__)"],
                           capture_output=True, text=True, cwd=work, env=env)
    assert which.stdout.strip().startswith(str(target))
    assert (work / "runs").is_dir() and any((work / "runs").iterdir())
    # Nothing of a run inside the package (maist/runs is the code that reads them).
    assert not list(target.rglob("config.json")) and not list(target.rglob("ckpt-*"))
    assert not (target / "data").exists() and not (target / "runs").exists()
    assert (target / "maist" / "app" / "static" / "draw.js").is_file()
    assert (target / "maist" / "synth" / "forms.json").is_file()
    # Without the checkout's scripts/: the console entry point and python -m maist.
    again = subprocess.run([sys.executable, "-m", "maist", "train", "--data", "tiny.npz",
                            "--dry-run", "--quiet", "--run-dir", "runs/by-module"],
                           capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (work / "runs" / "by-module" / "result.json").is_file()
    console = subprocess.run([str(target / "bin" / "maist"), "--help"], capture_output=True,
                             text=True, cwd=work, env=env)
    assert console.returncode == 0 and "train" in console.stdout, console.stderr


def test_every_command_is_listed_and_every_listed_command_exists(capsys):
    """`maist COMMAND`: one module of maist/commands per command, each a cli.command, and
    scripts/*.py each the tutorial's name for one of them."""
    from maist import commands

    modules = {p.stem for p in (ROOT / "maist" / "commands").glob("*.py")} - {"__init__"}
    assert set(commands.COMMANDS) == modules
    for name in commands.COMMANDS:
        module = importlib.import_module(f"maist.commands.{name}")
        assert hasattr(module.main, "parser"), f"maist {name} is not a cli.command"
    shims = {re.search(r"from maist\.commands\.(\w+) import", p.read_text()).group(1)
             for p in SCRIPTS}
    assert shims == modules
    assert commands.main(["--help"]) == 0 and "sheets" in capsys.readouterr().out
    assert commands.main(["nope"]) == 2 and "no command 'nope'" in capsys.readouterr().err
    assert commands.main([]) == 2


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
                "export.py": ["r", "--out", "o"],
                "evaluate.py": ["r"], "visualize.py": ["r"]}.get(path.name, [])
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("error: ")
        assert main([*argv, "--debug"]) == 1
        assert "Traceback" in capsys.readouterr().err


def test_library_messages_name_parameters_and_scripts_name_flags(tmp_path):
    """The library says 'resume it'; the script adds its own flags for that."""
    from maist.runs import rundir

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("")
    with pytest.raises(errors.RunError) as e:
        rundir.claim(tmp_path / "run")
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
    import maist
    from maist.analysis import report
    from maist.training.recipes import Recipe
    from maist.training.schedule import StepTable

    monkeypatch.setitem(maist.MODELS, "toy", maist.ModelSpec(
        "toy", toy_inference, options={"width": 8}, filters="W_toy", activations=("h_toy",)))
    data = tiny_data(num_classes=3, per_class=20)
    npz = data.save(tmp_path / "tiny.npz")
    data.meta["path"] = str(npz)
    recipe = Recipe("toy", "toy", "adam", "stable", 30, 16, StepTable.constant(1e-2),
                    StepTable.constant(1.0), sampling="epoch")
    (tmp_path / "toy.json").write_text(json.dumps(recipe.to_dict()))
    result = maist.train(data, str(tmp_path / "toy.json"), tmp_path / "run", eval_every=30,
                         model_options={"width": 6})
    assert result.step == 30
    with maist.restore(tmp_path / "run") as r:
        assert r.run(["W_toy"], data.test.x[:1])[0].shape == (3, 3, 1, 6)
        assert r.probabilities(data.test.x[:4]).shape == (4, 3)
    figs = report.run_figures(tmp_path / "run", data)
    assert {"filters_step0", "filters_step30", "h_toy_step0", "h_toy_step30", "curves",
            "predictions", "confusion"} <= set(figs)


def test_unknown_model_options_are_errors_not_dropped():
    from maist.nets import graph as G
    from maist.nets import models as M

    with pytest.raises(errors.ModelError, match="takes no options; not 'hidden'"):
        G.build("beginner", 5, hidden=3)
    with pytest.raises(errors.ModelError, match="takes conv1, conv2, hidden, init; not 'width'"):
        G.build_inference("expert", 5, width=3)
    with pytest.raises(errors.ModelError, match="conv2 of model expert must be at least 1"):
        G.build_inference("expert", 5, conv2=0)
    with pytest.raises(errors.ModelError, match="unknown init 'glorot'; use tutorial or he"):
        G.build_inference("expert", 5, init="glorot")
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
