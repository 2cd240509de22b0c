import json

import pytest

from maist.errors import ScheduleError
from maist.training import recipes
from maist.training.schedule import StepTable


def test_boundary_step_takes_the_new_value():
    t = StepTable.parse("1e-3, 1000:1e-4, 5000:1e-5")
    assert [t(0), t(999), t(1000), t(4999), t(5000), t(10**6)] == [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5]
    assert StepTable.parse(str(t)) == t


def test_blog_95_tables():
    r = recipes.RECIPES["blog-95"]
    assert [r.learning_rate(s) for s in (0, 1000, 3000, 7000, 10000, 14000, 19000)] == \
        [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]
    assert [r.keep_prob(s) for s in (2999, 3000, 9999, 10000, 15000, 19000)] == [1, .3, .3, .1, .05, .8]
    as_run = recipes.RECIPES["blog-95-as-run"]
    assert recipes.get_recipe("blog-95") is r  # the name it had before
    assert as_run.learning_rate(19999) == 1e-3 and as_run.keep_prob(3000) == 0.3


@pytest.mark.parametrize("text,msg", [("", "empty"), ("1e-3, 1000", "cannot read"),
                                      ("1e-3, 500:1e-4, 500:1e-5", "increase strictly"),
                                      ("1e-3, 0:1e-4", "positive"), ("x", "cannot read")])
def test_bad_tables(text, msg):
    with pytest.raises(ScheduleError, match=msg):
        StepTable.parse(text)


def test_values_and_boundaries_must_agree():
    with pytest.raises(ScheduleError, match="needs 2 values"):
        StepTable((1.0,), (10,))


def test_recipe_from_json_and_overrides(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"base": "blog-95", "steps": 300, "learning_rate": "1e-3, 100:1e-4"}))
    r = recipes.get_recipe(str(path))
    assert r.name == "mine" and r.steps == 300 and r.learning_rate(100) == 1e-4
    assert r.keep_prob(3000) == 0.3  # from the base
    r2 = recipes.with_overrides(r, keep_prob="0.5", steps=None)
    assert r2.keep_prob(0) == 0.5 and r2.steps == 300
    with pytest.raises(ScheduleError, match="unknown recipe"):
        recipes.get_recipe("nope")


@pytest.mark.parametrize("fields,msg", [
    ({"base": []}, "base"), ({"blog": "x"}, "blog"), ({"augment": 5}, "augment is a word"),
    ({"model": ["expert"]}, "model is a word"), ({"steps": "many"}, "steps must be a whole"),
    ({"colour": "red"}, "unknown 'colour'"), ({"label_smoothing": "x"}, "label_smoothing"),
    ({"model_options": ["he"]}, "model_options maps"),
    ({"model_options": {"width": 2}}, "takes conv1, conv2, hidden, init; not 'width'"),
    ({"model_options": {"conv1": "64"}}, "conv1 of model expert is a int")])
def test_recipe_files_of_the_wrong_kind_name_the_file(tmp_path, fields, msg):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(fields))
    with pytest.raises(ScheduleError, match=msg) as e:
        recipes.get_recipe(str(path))
    assert str(e.value).startswith(str(path))


def test_a_recipe_parses_its_augmentation_once():
    r = recipes.RECIPES["maist"]
    assert r.augmentation.kinds == ("affine", "elastic", "pen")
    with pytest.raises(ScheduleError, match="unknown augmentation"):
        recipes.with_overrides(r, augment="blur")


# --- fuzz: any recipe file is a recipe or one clear error naming the file --------------------

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from maist.errors import MaistError  # noqa: E402

VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats()
                      | st.text(max_size=30) | st.sampled_from(["demo", "1e-3, 10:1e-4", "cosine(1e-3, warmup=5, floor=0, steps=50)", "full", "expert", "adam"]),
                      lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
FIELDS = st.dictionaries(st.sampled_from(["base", "name", "model", "optimizer", "loss", "steps",
                                          "batch_size", "learning_rate", "keep_prob", "sampling",
                                          "blog", "note", "augment", "label_smoothing",
                                          "model_options", "other"]),
                         VALUES, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=FIELDS | VALUES)
@example(fields={"model_options": {"\n": None}})  # an option named by a line break
def test_any_recipe_file_is_a_recipe_or_one_error_that_names_it(tmp_path, fields):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(fields))
    try:
        recipe = recipes.get_recipe(str(path))
    except MaistError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        return
    assert isinstance(recipe, recipes.Recipe) and recipe.steps >= 1


def test_a_recipe_s_model_options_start_its_runs_and_the_command_line_wins():
    """A run takes its recipe's model options, and its own --model-option over them; a
    recipe moved to another model drops options that were its model's."""
    from maist.training.config import TrainConfig

    he = recipes.with_overrides(recipes.get_recipe("demo"), model_options={"init": "he"})
    assert TrainConfig(he).model_options["init"] == "he"
    said = TrainConfig(he, model_options={"init": "tutorial", "hidden": 64})
    assert said.model_options == {"conv1": 32, "conv2": 64, "hidden": 64, "init": "tutorial"}
    deep = recipes.with_overrides(he, model="deep")
    assert deep.model_options == {} and TrainConfig(deep).model_options == {}
    mlp = recipes.with_overrides(he, model="mlp")
    with pytest.raises(ScheduleError, match="recipe demo: model mlp takes hidden"):
        recipes.with_overrides(mlp, model_options={"init": "he"})


def test_a_recipe_file_states_model_options_and_the_record_reads_back(tmp_path):
    path = tmp_path / "wide.json"
    path.write_text(json.dumps({"base": "demo", "model_options": {"conv1": 64, "init": "he"}}))
    r = recipes.get_recipe(str(path))
    assert r.model_options == {"conv1": 64, "init": "he"}
    assert recipes.Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    path.write_text(json.dumps({"base": "demo", "model": "deep"}))  # demo's init is not deep's
    assert recipes.get_recipe(str(path)).model_options == {}


def test_maist_s_quick_recipes_start_at_he_s_scale_and_the_blog_s_at_the_tutorial_s():
    """demo, fast and kana start the expert at sqrt(2 / fan-in) (docs/README.md: 1 to 2 points on
    unseen writers); the blog's recipes replicate the tutorial, whose start is sd 0.1."""
    from maist.training.config import TrainConfig

    for name in ("demo", "fast", "kana"):
        assert TrainConfig(recipes.get_recipe(name)).model_options["init"] == "he"
    for blog in ("tutorial", "blog-lr", "blog-95", "blog-95-as-run"):
        assert TrainConfig(recipes.get_recipe(blog)).model_options["init"] == "tutorial"


@pytest.mark.parametrize("old, new", [("seed-lr", "blog-lr"), ("seed-95", "blog-95"),
                                      ("seed-95-as-run", "blog-95-as-run")])
def test_the_blogs_recipes_old_names_still_work(old, new):
    """README promises the names from when the blog was called the seed."""
    assert recipes.get_recipe(old) == recipes.RECIPES[new]


def test_the_recipe_fields_are_read_from_the_recipe_itself():
    """What a recipe file must state, and what a request may change, come from Recipe."""
    from dataclasses import fields

    names = [f.name for f in fields(recipes.Recipe)]
    assert set(recipes.REQUIRED_FIELDS) | set(recipes.RECIPE_FIELDS) <= set(names)
    assert "steps" in recipes.RECIPE_FIELDS and "name" not in recipes.RECIPE_FIELDS
    d = recipes.RECIPES["demo"].to_dict()
    del d["keep_prob"]
    with pytest.raises(recipes.ScheduleError, match="missing keep_prob"):
        recipes.Recipe.from_dict(d)
