"""``skrobust.enable_compilation_cache`` (issue 11): compiled training programs
kept on disk for later processes. The check runs in a fresh process, because
the setting belongs to the whole process. (That a later process loads the
entries instead of compiling is the backend's own feature;
docs/benchmarks.md measures it.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import skrobust
    if os.environ["KERAS_BACKEND"] == "jax":
        import jax
        # The test's program compiles fast; JAX stores only slower ones by default.
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    path = skrobust.enable_compilation_cache(sys.argv[1])
    print("PATH", path)
    print("FLAGS", os.environ.get("TF_XLA_FLAGS", ""))
    X = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    skrobust.NoisyMLPClassifier((4,), epochs=2, random_state=0).fit(X, y)
    print("ENTRIES", len(os.listdir(path)))
    """
)


def _run(tmp_path):
    env = dict(
        os.environ,
        KERAS_BACKEND=keras.backend.backend(),
        SKROBUST_TF_XLA="1",
        TF_XLA_FLAGS="--tf_xla_auto_jit=0",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_compiled_programs_are_written_under_the_backends_folder(tmp_path):
    first = _run(tmp_path)
    backend = keras.backend.backend()
    assert first["PATH"] == str((tmp_path / "cache" / backend).resolve())
    assert int(first["ENTRIES"]) > 0
    if backend == "tensorflow":
        # The user's own XLA flags are kept.
        assert first["FLAGS"].split() == [
            "--tf_xla_auto_jit=0",
            f"--tf_xla_persistent_cache_directory={first['PATH']}",
        ]


def test_demo_option_turns_the_cache_on(tmp_path, monkeypatch):
    import skrobust
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
