"""Compiled programs kept on disk (``skrobust.engine._disk_cache``, issue 18):
a later process loads a program instead of tracing and compiling it, with
bit-identical results; stale, damaged or untrusted entries are never loaded;
the folder stays within its bound; the off switch makes ``Program`` plain
``jax.jit``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skrobust.engine import _disk_cache
from skrobust.engine._disk_cache import STATS, Program

POSIX = os.name == "posix"
PINNED_SOURCE = "the engine's source as the tests found it"

# The toy program, as source, so that a fresh process compiles (or loads)
# the very same function. It counts its traces: a loaded program is never
# traced.
TOY = textwrap.dedent(
    """
    import jax, jax.numpy as jnp
    TRACES = []

    def toy(params, x, n):
        TRACES.append(1)
        def body(i, h):
            return jnp.tanh(h @ params["w"] + params["b"] * i)
        h = jax.lax.fori_loop(0, n.shape[0], body, x)
        return {"h": h, "s": (h.sum(), jnp.max(h, axis=0))}, n + 1
    """
)
_namespace: dict = {}
exec(TOY, _namespace)  # noqa: S102 - our own source, shared with the subprocess
toy = _namespace["toy"]
TRACES = _namespace["TRACES"]


def toy_args(rows=8, features=4):
    rng = np.random.default_rng(rows * 100 + features)
    params = {
        "w": rng.normal(size=(features, features)).astype("f4"),
        "b": rng.normal(size=features).astype("f4"),
    }
    x = rng.normal(size=(rows, features)).astype("f4")
    return params, x, np.arange(3, dtype=np.int32)


def assert_identical(a, b):
    leaves_a, tree_a = jax.tree_util.tree_flatten(a)
    leaves_b, tree_b = jax.tree_util.tree_flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The programs folder of a fresh cache in ``tmp_path``, from the
    environment, with the counters at zero."""
    monkeypatch.setenv("SKROBUST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SKROBUST_PROGRAM_CACHE", raising=False)
    monkeypatch.setattr(_disk_cache, "_configured", None)
    monkeypatch.setattr(_disk_cache, "_warned", False)
    # Other engineers' edits of the engine during a run would change the key
    # between this process and the fresh ones (as they should).
    monkeypatch.setattr(_disk_cache, "_environment_cache", None)
    monkeypatch.setattr(_disk_cache, "_source_hash", lambda: PINNED_SOURCE)
    STATS.clear()
    yield tmp_path / "cache" / "programs"
    STATS.clear()


def entries(folder):
    return sorted(p for p in Path(folder).iterdir()) if Path(folder).exists() else []


def run_once(key="toy", **shape):
    """A new Program's first call (its memory empty, so it reads the disk)."""
    return Program(toy, (key,))(*toy_args(**shape))


# A fresh process: it loads the module from its file, without Keras (whose
# import would cost seconds), and refuses to compile at all.
FRESH = TOY + textwrap.dedent(
    """
    import importlib.util, json, sys
    import numpy as np
    spec = importlib.util.spec_from_file_location("_dc", sys.argv[1])
    dc = importlib.util.module_from_spec(spec)
    sys.modules["_dc"] = dc
    spec.loader.exec_module(dc)
    dc._source_hash = lambda: sys.argv[4]
    if sys.argv[3] == "no-compile":
        def refuse(self, *a, **k):
            raise AssertionError("compiled")
        jax.stages.Lowered.compile = refuse
    args = np.load(sys.argv[2], allow_pickle=True).item()
    out = dc.Program(toy, ("toy",))(args["params"], args["x"], args["n"])
    np.save(sys.argv[2] + ".out.npy", np.asarray(out[0]["h"]))
    print(json.dumps({"traces": len(TRACES), "stats": dict(dc.STATS)}))
    """
)


def start_fresh_process(tmp_path, mode, tag="fresh"):
    """A fresh process calling a Program on ``toy_args()``; its output goes
    to ``tmp_path / (tag + ".npy.out.npy")``."""
    params, x, n = toy_args()
    np.save(tmp_path / f"{tag}.npy", {"params": params, "x": x, "n": n})
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            FRESH,
            _disk_cache.__file__,
            str(tmp_path / f"{tag}.npy"),
            mode,
            PINNED_SOURCE,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def test_a_fresh_process_loads_the_program_without_tracing_or_compiling(
    folder, tmp_path
):
    jitted = jax.jit(toy)(*toy_args())
    run_once()
    assert STATS["compiled"] == 1 and len(entries(folder)) == 1
    report = finish(start_fresh_process(tmp_path, "no-compile"))
    assert report == {"traces": 0, "stats": {"loaded": 1}}
    loaded = np.load(tmp_path / "fresh.npy.out.npy")
    assert loaded.tobytes() == np.asarray(jitted[0]["h"]).tobytes()


def test_processes_writing_one_entry_at_once_leave_one_whole_entry(folder, tmp_path):
    procs = [start_fresh_process(tmp_path, "compile", f"writer{i}") for i in range(2)]
    reports = [finish(p) for p in procs]
    for r in reports:
        assert r["stats"].get("written", 0) + r["stats"].get("loaded", 0) == 1, reports
    # One entry, and no temporary file is left.
    assert [p.suffix for p in entries(folder)] == [".prog"], entries(folder)
    STATS.clear()
    assert_identical(run_once(), jax.jit(toy)(*toy_args()))
    assert dict(STATS) == {"loaded": 1}


def test_a_loaded_program_gives_the_results_of_jax_jit_bit_for_bit(folder):
    jitted = jax.jit(toy)(*toy_args())
    compiled_here = run_once()
    traces = len(TRACES)
    loaded = run_once()
    assert len(TRACES) == traces  # not traced again
    assert dict(STATS) == {"compiled": 1, "written": 1, "loaded": 1}
    assert_identical(compiled_here, jitted)
    assert_identical(loaded, jitted)


def test_each_signature_has_its_own_entry(folder):
    program = Program(toy, ("toy",))
    params, x, n = toy_args()
    program(params, x, n)
    program(params, x, n)  # from memory
    program(*toy_args(rows=16))
    # A Python int is weakly typed: another program than an int32 array's.
    weak = jax.jit(lambda a, k: a * k)
    p = Program(lambda a, k: a * k, ("scale",))
    assert_identical(p(x, 2), weak(x, 2))
    assert_identical(p(x, np.int32(2)), weak(x, np.int32(2)))
    assert STATS["compiled"] == 4 and len(entries(folder)) == 4


def test_another_key_is_another_entry(folder):
    run_once("a")
    run_once("b")
    assert STATS["compiled"] == 2 and STATS["loaded"] == 0
    assert len(entries(folder)) == 2


@pytest.mark.parametrize("change", ["skrobust", "jax", "jaxlib", "source", "x64"])
def test_a_new_version_or_setting_never_loads_an_old_entry(folder, monkeypatch, change):
    import jaxlib

    import skrobust

    run_once()
    monkeypatch.setattr(_disk_cache, "_environment_cache", None)
    if change == "skrobust":
        monkeypatch.setattr(skrobust, "__version__", skrobust.__version__ + ".post1")
    elif change == "jax":
        monkeypatch.setattr(jax, "__version__", jax.__version__ + ".post1")
    elif change == "jaxlib":
        monkeypatch.setattr(jaxlib, "__version__", jaxlib.__version__ + ".post1")
    elif change == "source":
        monkeypatch.setattr(_disk_cache, "_source_hash", lambda: "edited")
    else:
        # What the key reads, flipped, without changing JAX's configuration.
        real = jax.config

        class Flipped:
            jax_enable_x64 = not real.jax_enable_x64

            def __getattr__(self, name):
                return getattr(real, name)

        monkeypatch.setattr(jax, "config", Flipped())
    run_once()
    assert STATS["compiled"] == 2 and STATS["loaded"] == 0
    assert len(entries(folder)) == 2


def test_a_key_whose_repr_differs_between_processes_is_not_kept(folder):
    class Opaque:
        pass

    with pytest.warns(RuntimeWarning, match="not deterministic"):
        assert_identical(
            Program(toy, (Opaque(),))(*toy_args()), jax.jit(toy)(*toy_args())
        )
    assert entries(folder) == [] and STATS["compiled"] == 1


def test_an_edit_of_the_engine_or_spec_source_changes_the_key(tmp_path, monkeypatch):
    import shutil

    package = Path(_disk_cache.__file__).parent.parent
    copy = tmp_path / "skrobust"
    shutil.copytree(package / "engine", copy / "engine")
    shutil.copy(package / "_spec.py", copy / "_spec.py")
    monkeypatch.setattr(
        _disk_cache, "__file__", str(copy / "engine" / "_disk_cache.py")
    )
    original = _disk_cache._source_hash()
    assert original == _disk_cache._source_hash()
    for name in ["engine/_loop.py", "_spec.py"]:
        with open(copy / name, "a") as f:
            f.write("# an edit\n")
        edited = _disk_cache._source_hash()
        assert edited != original
        original = edited


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_damaged_entry_is_compiled_again_and_overwritten(folder, monkeypatch, damage):
    from jax.experimental import serialize_executable

    run_once()
    (entry,) = entries(folder)
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        i = len(data) // 2
        entry.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        entry.write_bytes(os.urandom(len(data)))
    STATS.clear()
    # The damage is found before JAX unpickles anything.
    real = serialize_executable.deserialize_and_load
    handed = []
    monkeypatch.setattr(
        serialize_executable,
        "deserialize_and_load",
        lambda *a, **k: handed.append(1) or real(*a, **k),
    )
    assert_identical(run_once(), jax.jit(toy)(*toy_args()))
    assert dict(STATS) == {"unreadable": 1, "compiled": 1, "written": 1}
    assert handed == []
    # Overwritten: a compilation's bytes may differ a little from the last's.
    assert entry.read_bytes()[:8] == data[:8] and entry.stat().st_size > len(data) // 2
    STATS.clear()
    run_once()
    assert dict(STATS) == {"loaded": 1} and handed == [1]


def test_a_failed_write_leaves_no_entry_and_no_temporary_file(folder, monkeypatch):
    run_once("a")
    (kept,) = entries(folder)

    def fail(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.warns(RuntimeWarning, match="No space left"):
        assert_identical(run_once("b"), jax.jit(toy)(*toy_args()))
    assert entries(folder) == [kept]
    assert STATS["write_failed"] == 1


def test_a_failing_load_is_compiled_again_silently(folder, monkeypatch):
    from jax.experimental import serialize_executable

    run_once()
    STATS.clear()

    def fail(*args, **kwargs):
        raise RuntimeError("unsupported")

    monkeypatch.setattr(serialize_executable, "deserialize_and_load", fail)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_identical(run_once(), jax.jit(toy)(*toy_args()))
    assert STATS["compiled"] == 1 and STATS["unreadable"] == 1


def test_a_program_that_cannot_be_serialized_compiles_and_warns_once(
    folder, monkeypatch
):
    from jax.experimental import serialize_executable

    def fail(compiled):
        raise ValueError("Compilation does not support serialization")

    monkeypatch.setattr(serialize_executable, "serialize", fail)
    with pytest.warns(
        RuntimeWarning, match="could not keep a compiled program"
    ) as seen:
        assert_identical(run_once("a"), jax.jit(toy)(*toy_args()))
        assert_identical(run_once("b"), jax.jit(toy)(*toy_args()))
    assert len(seen) == 1
    assert entries(folder) == []
    assert STATS["unserializable"] == 2


@pytest.mark.parametrize("value", ["0", "off", "false", "OFF", "No"])
def test_the_off_switch_writes_nothing_and_is_plain_jit(folder, monkeypatch, value):
    monkeypatch.setenv("SKROBUST_PROGRAM_CACHE", value)
    program = Program(toy, ("toy",))
    assert_identical(program(*toy_args()), jax.jit(toy)(*toy_args()))
    assert not folder.parent.exists()
    assert dict(STATS) == {}
    assert _disk_cache.settings().directory is None


def test_set_program_cache_overrides_the_environment(folder, tmp_path, monkeypatch):
    from skrobust._compilation_cache import set_program_cache

    monkeypatch.setenv("SKROBUST_PROGRAM_CACHE", "0")
    assert set_program_cache(tmp_path / "mine") == (tmp_path / "mine").absolute()
    run_once()
    assert len(entries(tmp_path / "mine")) == 1
    assert set_program_cache(enabled=False) is None
    STATS.clear()
    run_once()
    assert dict(STATS) == {}
    with pytest.raises(ValueError, match="max_bytes"):
        set_program_cache(max_bytes=-1)


def test_the_default_folder_is_the_users_cache_folder(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.setattr(_disk_cache, "_configured", None)
    monkeypatch.delenv("SKROBUST_CACHE_DIR", raising=False)
    monkeypatch.delenv("SKROBUST_PROGRAM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    want = Path(platformdirs.user_cache_dir("skrobust")) / "programs"
    assert _disk_cache.settings().directory == want.absolute()
    monkeypatch.setenv("SKROBUST_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert _disk_cache.settings().directory == (tmp_path / "elsewhere" / "programs")


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_the_folder_and_entries_are_private(folder):
    run_once()
    assert folder.stat().st_mode & 0o777 == 0o700
    (entry,) = entries(folder)
    assert entry.stat().st_mode & 0o077 == 0


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
@pytest.mark.parametrize("unsafe", ["folder_writable", "entry_writable", "other_owner"])
def test_entries_others_could_have_written_are_not_loaded(folder, monkeypatch, unsafe):
    run_once()
    (entry,) = entries(folder)
    before = entry.read_bytes()
    if unsafe == "folder_writable":
        folder.chmod(0o777)
    elif unsafe == "entry_writable":
        entry.chmod(0o666)
    else:
        uid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    STATS.clear()
    assert_identical(run_once(), jax.jit(toy)(*toy_args()))
    assert STATS["loaded"] == 0 and STATS["compiled"] == 1 and STATS["unsafe"] >= 1
    if unsafe != "entry_writable":
        # Nothing is written where it would not be read.
        assert STATS["written"] == 0 and entry.read_bytes() == before


def test_least_recently_used_entries_are_evicted_to_stay_under_the_bound(folder):
    run_once("a")
    (first,) = entries(folder)
    size = first.stat().st_size
    bound = int(2.5 * size)
    _disk_cache.configure(folder, max_bytes=bound)
    run_once("b")
    a, b = folder / first.name, next(p for p in entries(folder) if p != first)
    os.utime(a, (1000, 1000))
    os.utime(b, (2000, 2000))
    run_once("a")  # loaded: now the most recently used
    run_once("c")
    names = {p.name for p in entries(folder)}
    assert a.name in names and b.name not in names and len(names) == 2
    assert sum(p.stat().st_size for p in entries(folder)) <= bound
    for key in "defg":
        run_once(key)
    assert sum(p.stat().st_size for p in entries(folder)) <= bound
    assert STATS["evicted"] == 5


def test_threads_share_one_compilation(folder):
    program = Program(toy, ("toy",))
    args = toy_args()
    barrier = threading.Barrier(6)
    results = [None] * 6

    def work(i):
        barrier.wait()
        results[i] = program(*args)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert STATS["compiled"] == 1
    for r in results:
        assert_identical(r, results[0])


def test_arguments_jit_rejects_raise_jits_error(folder):
    with pytest.raises(TypeError) as ours:
        Program(toy, ("toy",))("not an array", 1, 2)
    with pytest.raises(TypeError) as jits:
        jax.jit(toy)("not an array", 1, 2)
    assert str(ours.value) == str(jits.value)
    assert entries(folder) == []


def test_program_has_jits_other_methods(folder):
    program = Program(toy, ("toy",))
    shapes = program.eval_shape(*toy_args())
    assert shapes[0]["h"].shape == (8, 4)
    assert repr(program) == "Program(('toy',))"
    assert jnp.asarray(program(*toy_args())[1]).tolist() == [1, 2, 3]
