import os

import numpy as np
import pytest
from conftest import make_etl_folder

from maist.data import dataset


@pytest.fixture(scope="module")
def etl_dir(tmp_path_factory):
    return make_etl_folder(tmp_path_factory.mktemp("etl") / "ETL9G")


def test_build_counts_and_writer_disjoint_split(etl_dir, tmp_path):
    data = dataset.build(etl_dir, cache=False)
    n = sum(len(data.split(s)) for s in dataset.SPLITS)
    assert n == 10 * 71 and data.num_classes == 71
    sets = [set(data.split(s).writers) for s in dataset.SPLITS]
    assert sets[0].isdisjoint(sets[1]) and sets[0].isdisjoint(sets[2]) and sets[1].isdisjoint(sets[2])
    assert [len(s) for s in sets] == [8, 1, 1] and set.union(*sets) == set(range(10))
    assert data.train.x.shape[1] == 784 and data.train.x.dtype == np.float32
    assert 0 <= data.train.x.min() and data.train.x.max() <= 1


def test_200_writers_split_160_20_20():
    parts = dataset.split_by_writer(np.repeat(np.arange(200), 3), seed=0)
    assert [len(np.unique(np.repeat(np.arange(200), 3)[p])) for p in parts] == [160, 20, 20]


def test_random_split_is_per_image_and_seeded():
    a = dataset.split_at_random(1000, 3)
    b = dataset.split_at_random(1000, 3)
    assert [len(p) for p in a] == [800, 100, 100]
    assert all((x == y).all() for x, y in zip(a, b))
    assert len(np.unique(np.concatenate(a))) == 1000


def test_too_few_writers_for_a_writer_split():
    with pytest.raises(dataset.DatasetError, match="split it at random") as e:
        dataset.split_by_writer(np.array([0, 0, 1]), 0)
    assert e.value.params == ("split",)  # the script says --split


def test_cache_hit_rebuild_on_change_and_corrupt_cache(etl_dir, tmp_path):
    cache = tmp_path / "cache"
    first = dataset.build(etl_dir, cache_dir=cache)
    files = list(cache.glob("maist-*.npz"))
    assert len(files) == 1
    again = dataset.build(etl_dir, cache_dir=cache)
    np.testing.assert_array_equal(first.test.x, again.test.x)
    # Another option -> another key.
    dataset.build(etl_dir, cache_dir=cache, preprocess="blog")
    assert len(list(cache.glob("maist-*.npz"))) == 2
    # A changed input (mtime) -> a new key, rebuilt.
    f = etl_dir / "ETL9G_01"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    dataset.build(etl_dir, cache_dir=cache)
    assert len(list(cache.glob("maist-*.npz"))) == 3
    # A corrupt cache file is rebuilt, with a warning, never trusted.
    target = max(cache.glob("maist-*.npz"), key=lambda p: p.stat().st_mtime_ns)
    target.write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = dataset.build(etl_dir, cache_dir=cache)
    assert len(rebuilt.train) == len(first.train)
    dataset.MaistData.load(target)  # rewritten and readable again


def test_npz_round_trip_and_layout(etl_dir, tmp_path):
    data = dataset.build(etl_dir, cache=False)
    path = data.save(tmp_path / "maist.npz")
    with np.load(path) as z:
        assert {"x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "classes",
                "writers_train", "writers_val", "writers_test"} <= set(z.files)
        assert z["x_train"].shape[1] == 784 and str(z["classes"][0]) == "あ"
    back = dataset.MaistData.load(path)
    np.testing.assert_array_equal(back.val.y, data.val.y)
    assert back.classes == data.classes


def test_bad_npz_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, x_train=np.zeros((2, 784)))
    with pytest.raises(dataset.DatasetError, match="not a MAIST .npz"):
        dataset.MaistData.load(bad)
    with pytest.raises(dataset.DatasetError, match="no such file"):
        dataset.MaistData.load(tmp_path / "missing.npz")


def test_epoch_batches_cover_each_epoch_once_then_reshuffle():
    s = dataset.Split(np.arange(10, dtype=np.float32)[:, None].repeat(784, 1), np.arange(10),
                      np.zeros(10, np.int64), seed=5)
    epoch1 = np.concatenate([s.y[s.batch_indices(step, 5)] for step in (0, 1)])
    epoch2 = np.concatenate([s.y[s.batch_indices(step, 5)] for step in (2, 3)])
    assert sorted(epoch1) == list(range(10)) and sorted(epoch2) == list(range(10))
    assert list(epoch1) != list(epoch2)
    # The same step gives the same batch: what resuming relies on.
    np.testing.assert_array_equal(s.batch_indices(3, 4), s.batch_indices(3, 4))


def test_random_sampling_draws_with_replacement():
    s = dataset.Split(np.zeros((5, 784), np.float32), np.arange(5), np.zeros(5, np.int64))
    idx = s.batch_indices(0, 1000, "random")
    assert idx.min() >= 0 and idx.max() < 5 and len(np.unique(idx)) == 5
    b = s.batch_indices(7, 20, "random")
    assert (b == s.batch_indices(7, 20, "random")).all()


def test_a_synthetic_set_records_its_generator_and_real_files_do_not(etl_dir, tmp_path):
    from maist import synth

    real = dataset.build(etl_dir, cache_dir=tmp_path / "cache")
    assert "generated" not in real.meta  # no manifest: AIST's files
    cfg = synth.SynthConfig(writers=8, seed=3, workers=1)
    synth.generate(tmp_path / "synthetic", cfg)
    made = dataset.build(tmp_path / "synthetic", cache_dir=tmp_path / "cache")
    (record,) = made.meta["generated"]
    assert record["generator_version"] == synth.GENERATOR_VERSION
    assert record["seed"] == 3 and record["reshape_rate"] == 0.0 and "workers" not in record
    # Made again with another setting: the same file names, another record, from the cache
    # key's point of view a rebuild, and a cached copy says what its files say now.
    synth.generate(tmp_path / "synthetic", synth.SynthConfig(
        writers=8, seed=3, workers=1, reshape_rate=1.0), overwrite=True)
    again = dataset.build(tmp_path / "synthetic", cache_dir=tmp_path / "cache")
    assert again.meta["sources"] == made.meta["sources"]
    assert again.meta["generated"][0]["reshape_rate"] == 1.0
    cached = dataset.build(tmp_path / "synthetic", cache_dir=tmp_path / "cache")
    assert cached.meta["generated"] == again.meta["generated"]
