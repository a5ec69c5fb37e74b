"""``skrobust.enable_compilation_cache`` (issue 11), now a backward-compatible
name for ``set_program_cache`` (issue 18): it chooses the folder skrobust
keeps its compiled programs in and changes no setting of JAX or TensorFlow.
How programs are kept, loaded and evicted is ``tests/test_program_cache.py``'s
subject."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import skrobust
from skrobust._compilation_cache import default_cache_directory, set_program_cache
from skrobust.engine import _disk_cache
from skrobust.engine._disk_cache import STATS, Program


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch):
    monkeypatch.setattr(_disk_cache, "_configured", None)
    STATS.clear()
    yield
    STATS.clear()


def _double(x):
    return x * 2.0


def test_enabling_returns_the_folder_and_changes_no_global_setting(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    jax_dir = jax.config.jax_compilation_cache_dir
    path = skrobust.enable_compilation_cache(tmp_path / "cache")
    assert path == (tmp_path / "cache").absolute()
    assert jax.config.jax_compilation_cache_dir == jax_dir
    assert os.environ["TF_XLA_FLAGS"] == "--tf_xla_auto_jit=0"


def test_programs_go_to_the_enabled_folder_and_load_from_it(tmp_path):
    path = skrobust.enable_compilation_cache(tmp_path / "cache")
    x = np.arange(4, dtype=np.float32)
    Program(_double, ("double",))(x)
    assert len(list(path.iterdir())) == 1
    # A later process's Program has an empty memory, as this one has.
    np.testing.assert_array_equal(Program(_double, ("double",))(x), x * 2)
    assert dict(STATS) == {"compiled": 1, "written": 1, "loaded": 1}


def test_enabling_overrides_the_environments_off_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("SKROBUST_PROGRAM_CACHE", "0")
    assert set_program_cache(enabled=False) is None
    path = skrobust.enable_compilation_cache(tmp_path / "cache")
    assert _disk_cache.settings().directory == path


def test_the_default_folder_follows_skrobust_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SKROBUST_CACHE_DIR", str(tmp_path))
    assert default_cache_directory() == tmp_path
    assert skrobust.enable_compilation_cache() == (tmp_path / "programs").absolute()


def test_demo_option_turns_the_cache_on(tmp_path, monkeypatch):
    from skrobust._cli import build_parser, demo

    seen = []
    monkeypatch.setattr(skrobust, "enable_compilation_cache", seen.append)
    parser = build_parser()
    for argv, expected in [
        (["demo"], []),
        (["demo", "--compilation-cache"], [None]),
        (["demo", "--compilation-cache", str(tmp_path)], [str(tmp_path)]),
    ]:
        seen.clear()
        demo._compilation_cache(parser.parse_args(argv))
        assert seen == expected
