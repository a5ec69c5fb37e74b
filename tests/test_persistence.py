"""skrobust's pickle-free save/load, and pickle/joblib for trusted use."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor, load, save
from skrobust._persistence import FORMAT_VERSION

TINY = dict(hidden_layer_sizes=(4,), epochs=5, random_state=0)
RNG = np.random.default_rng(0)
X12 = RNG.normal(size=(12, 3))

# Label types a classifier may hold in classes_, each stored without pickle.
LABELS = {
    "int": np.array([3, 1, 2] * 4),
    "float": np.array([0.0, 2.0] * 6),
    "str": np.array(["cat", "dog"] * 6),
    "object_str": pd.Series(["no", "yes", "maybe"] * 4),
    "bool": np.array([True, False] * 6),
}

# What Keras builds and reads is checked on every Keras backend (tests/run.py).
pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def fitted():
    """Fitted estimators covering every piece of fitted state save() writes."""
    out = {
        f"clf_{name}": NoisyMLPClassifier(**TINY).fit(X12, y)
        for name, y in LABELS.items()
    }
    out["clf_full"] = NoisyMLPClassifier(
        hidden_layer_sizes=(5, 4),
        noise_std=0.2,
        noise_position=("input", "post_activation"),
        dropout=0.1,
        input_dropout=0.1,
        batchnorm="before",
        max_norm=2.0,
        class_weight="balanced",
        epochs=5,
        random_state=np.random.RandomState(3),
    ).fit(pd.DataFrame(X12, columns=["a", "b", "c"]), LABELS["str"])
    out["reg_multi"] = NoisyMLPRegressor(
        **{**TINY, "random_state": np.random.default_rng(1)},
        early_stopping=True,
        batchnorm="after",
        optimizer="sgd",
        momentum=0.5,
    ).fit(X12, X12[:, :2] @ np.array([[1.0, -1.0], [0.5, 2.0]]))
    out["reg_1d"] = NoisyMLPRegressor(**TINY).fit(X12, X12[:, 0])
    return out


def _inputs(name):
    return pd.DataFrame(X12, columns=["a", "b", "c"]) if name == "clf_full" else X12


def _outputs(est, X):
    """Predictions as JSON-able values (types kept: bool, int, float, str)."""
    out = {"predict": np.asarray(est.predict(X)).tolist()}
    if hasattr(est, "predict_proba"):
        out["proba"] = est.predict_proba(X).tolist()
    return out


def _run_python(code, backend=None):
    """Run ``code`` in a fresh interpreter (nothing of this process shared)."""
    env = dict(os.environ, KERAS_BACKEND=backend or keras.backend.backend())
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


_FRESH_LOAD = """
    import json, pickle, sys
    import joblib, numpy as np, pandas as pd
    import skrobust._persistence as P
    files, X = json.loads(sys.argv[1]), np.load(sys.argv[2])
    out = {}
    for key, path in files.items():
        if path.endswith(".skrobust"):
            est = P.load(path)
        elif path.endswith(".pickle"):
            with open(path, "rb") as f:
                est = pickle.load(f)
        else:
            est = joblib.load(path)
        name = key.split(":")[-1]
        Xi = pd.DataFrame(X, columns=["a", "b", "c"]) if name == "clf_full" else X
        res = {"predict": np.asarray(est.predict(Xi)).tolist()}
        if hasattr(est, "predict_proba"):
            res["proba"] = est.predict_proba(Xi).tolist()
        out[key] = res
    print(json.dumps(out))
"""


def _load_in_fresh_process(files, tmp_path, backend=None):
    """Load ``{key: path}`` (by suffix: .skrobust, .pickle, .joblib) in a new
    interpreter; return each estimator's predictions."""
    x_path = tmp_path / "X.npy"
    np.save(x_path, X12)
    code = (
        "import sys; sys.argv = [''] + "
        + repr([json.dumps(files), str(x_path)])
        + "\n"
        + textwrap.dedent(_FRESH_LOAD)
    )
    return _run_python(code, backend)


# Every structure (binary, multiclass, batch norm, multi-output) and the label
# types whose Python types could change on the way; the other label types are
# checked in-process (a fresh process costs seconds).
FRESH = ["clf_full", "clf_int", "clf_bool", "reg_multi"]


@pytest.fixture(scope="module")
def fresh_loads(fitted, tmp_path_factory):
    """The files of the two round-trip tests below, all loaded in one fresh
    interpreter (starting one costs seconds): ``{key: (want, got)}``."""
    tmp_path = tmp_path_factory.mktemp("fresh")
    files, want = {}, {}
    for name in FRESH:
        files[f"skrobust:{name}"] = str(tmp_path / f"{name}.skrobust")
        save(fitted[name], files[f"skrobust:{name}"])
        want[f"skrobust:{name}"] = _outputs(fitted[name], _inputs(name))
    for name in ["clf_full", "reg_multi"]:
        est = fitted[name]
        assert est.model_ is not None  # a built Keras model must not break pickling
        files[f"pickle:{name}"] = str(tmp_path / f"{name}.pickle")
        with open(files[f"pickle:{name}"], "wb") as f:
            pickle.dump(est, f)
        files[f"joblib:{name}"] = str(tmp_path / f"{name}.joblib")
        joblib.dump(est, files[f"joblib:{name}"])
        want[f"pickle:{name}"] = want[f"joblib:{name}"] = _outputs(est, _inputs(name))
    got = _load_in_fresh_process(files, tmp_path)
    return {key: (want[key], got[key]) for key in files}


def test_round_trip_in_fresh_process_gives_identical_predictions(fresh_loads):
    loaded = {k: v for k, v in fresh_loads.items() if k.startswith("skrobust:")}
    assert len(loaded) == len(FRESH)
    for key, (want, got) in loaded.items():
        assert got == want, key


def test_pickle_and_joblib_round_trip_in_fresh_process(fresh_loads):
    loaded = {
        k: v for k, v in fresh_loads.items() if k.startswith(("pickle:", "joblib:"))
    }
    assert len(loaded) == 4
    for key, (want, got) in loaded.items():
        assert got == want, key


def test_file_saved_on_one_backend_loads_on_the_other(fitted, tmp_path):
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    names = ["clf_full", "reg_multi"]
    files = {n: str(tmp_path / f"{n}.skrobust") for n in names}
    for n in names:
        save(fitted[n], files[n])
    got = _load_in_fresh_process(files, tmp_path, backend=other)
    for n in names:
        want = _outputs(fitted[n], _inputs(n))
        key = "proba" if "proba" in want else "predict"
        np.testing.assert_allclose(got[n][key], want[key], rtol=1e-5, atol=1e-6)


def test_loaded_estimator_keeps_params_and_fitted_attributes(fitted, tmp_path):
    for est in fitted.values():
        save(est, tmp_path / "m.skrobust")
        back = load(tmp_path / "m.skrobust")
        assert type(back) is type(est)
        params, back_params = est.get_params(), back.get_params()
        rs, back_rs = params.pop("random_state"), back_params.pop("random_state")
        assert back_params == params
        assert type(back_rs) is type(rs)
        if isinstance(rs, np.random.RandomState):
            assert back_rs.randint(10**9) == rs.randint(10**9)
        elif isinstance(rs, np.random.Generator):
            assert back_rs.integers(10**9) == rs.integers(10**9)
        assert back._spec == est._spec
        for attr in ("history_", "loss_curve_", "n_iter_", "n_features_in_"):
            assert getattr(back, attr) == getattr(est, attr)
        for attr in ("best_epoch_", "best_loss_", "_y_ndim"):
            assert getattr(back, attr, None) == getattr(est, attr, None)
        for attr in ("classes_", "feature_names_in_"):
            if hasattr(est, attr):
                want, got = getattr(est, attr), getattr(back, attr)
                assert got.dtype == want.dtype and got.tolist() == want.tolist()
                assert [type(v) for v in got] == [type(v) for v in want]
            else:
                assert not hasattr(back, attr)


def test_loaded_model_has_the_saved_layers_rates_and_weights(fitted, tmp_path):
    est = fitted["clf_full"]  # noise, dropout, input dropout and batchnorm
    save(est, tmp_path / "m.skrobust")
    got, want = load(tmp_path / "m.skrobust").model_, est.model_
    assert [type(layer) for layer in got.layers] == [
        type(layer) for layer in want.layers
    ]
    for a, b in zip(got.layers, want.layers, strict=True):
        assert a.get_config() == b.get_config()
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)


def test_loaded_estimator_can_be_cloned_and_refitted(fitted, tmp_path):
    save(fitted["clf_str"], tmp_path / "m.skrobust")
    refit = clone(load(tmp_path / "m.skrobust")).fit(X12, LABELS["str"])
    np.testing.assert_array_equal(
        refit.predict_proba(X12), fitted["clf_str"].predict_proba(X12)
    )


def test_file_holds_a_native_keras_model_loadable_in_safe_mode(fitted, tmp_path):
    save(fitted["clf_full"], tmp_path / "m.skrobust")
    with zipfile.ZipFile(tmp_path / "m.skrobust") as zf:
        (tmp_path / "inner.keras").write_bytes(zf.read("model.keras"))
    model = keras.saving.load_model(tmp_path / "inner.keras", safe_mode=True)
    proba = np.asarray(model.predict(X12.astype("float32"), verbose=0))
    np.testing.assert_allclose(
        proba[:, 0],
        fitted["clf_full"].predict_proba(_inputs("clf_full"))[:, 1],
        rtol=1e-6,
        atol=1e-7,
    )


def test_save_refuses_unfitted_and_foreign_estimators(tmp_path):
    with pytest.raises(NotFittedError):
        save(NoisyMLPClassifier(), tmp_path / "m.skrobust")
    foreign = LogisticRegression().fit(X12, LABELS["int"])
    with pytest.raises(TypeError, match="NoisyMLPClassifier and NoisyMLPRegressor"):
        save(foreign, tmp_path / "m.skrobust")
    assert not (tmp_path / "m.skrobust").exists()


def test_save_and_load_accept_file_objects(fitted):
    buf = io.BytesIO()
    save(fitted["reg_1d"], buf)
    buf.seek(0)
    np.testing.assert_array_equal(load(buf).predict(X12), fitted["reg_1d"].predict(X12))


# -- hostile files -------------------------------------------------------------


@pytest.fixture(scope="module")
def good_file(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "clf.skrobust"
    save(fitted["clf_str"], path)
    return path


def _rewrite(src, dst, replace=None, meta=None):
    """Copy the zip ``src`` to ``dst`` with members replaced (``None`` drops
    one) and ``meta`` applied to the parsed skrobust.json."""
    replace = dict(replace or {})
    with zipfile.ZipFile(src) as zin:
        if meta is not None:
            doc = json.loads(zin.read("skrobust.json"))
            meta(doc)
            replace["skrobust.json"] = json.dumps(doc).encode()
        with zipfile.ZipFile(dst, "w") as zout:
            for name in zin.namelist():
                data = replace.pop(name, zin.read(name))
                if data is not None:
                    zout.writestr(name, data)
            for name, data in replace.items():
                zout.writestr(name, data)
    return dst


class _CreatesFile:
    """Pickles to a call of ``open(path, "w")``: unpickling creates the file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_npy_with_pickled_object_payload_is_refused_and_runs_nothing(
    good_file, tmp_path
):
    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    np.save(buf, np.array([_CreatesFile(str(marker))], dtype=object), allow_pickle=True)
    # The payload is live: unpickling it creates the marker.
    np.load(io.BytesIO(buf.getvalue()), allow_pickle=True)
    assert marker.exists()
    marker.unlink()

    bad = _rewrite(
        good_file,
        tmp_path / "bad.skrobust",
        replace={"arrays/classes_.npy": buf.getvalue()},
    )
    with pytest.raises(ValueError, match="cannot be read without pickle"):
        load(bad)
    assert not marker.exists()


def test_pickle_member_added_to_the_zip_is_refused_and_runs_nothing(
    good_file, tmp_path
):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_CreatesFile(str(marker)))
    bad = _rewrite(good_file, tmp_path / "bad.skrobust", replace={"model.pkl": payload})
    with pytest.raises(ValueError, match=r"unexpected: \['model.pkl'\]"):
        load(bad)
    assert not marker.exists()


@pytest.mark.parametrize(
    "cls_name", ["subprocess.Popen", "Popen", "LogisticRegression", "BaseNoisyMLP"]
)
def test_json_naming_another_class_is_refused_and_runs_nothing(
    good_file, tmp_path, cls_name
):
    marker = tmp_path / "pwned"

    def attack(doc):
        doc["estimator"] = cls_name
        doc["params"] = {"args": ["touch", str(marker)]}

    bad = _rewrite(good_file, tmp_path / "bad.skrobust", meta=attack)
    with pytest.raises(ValueError, match="only creates"):
        load(bad)
    assert not marker.exists()


@pytest.mark.parametrize(
    "value, message",
    [
        ({"__reduce__": ["os.system", ["touch pwned"]]}, "unknown JSON tag"),
        ({"__numpy__": ["|O", "x"]}, "not allowed"),
        ({"__generator__": {"__dict__": [["bit_generator", "Evil"]]}}, "unknown bit"),
        ("not a size", "invalid saved parameters"),
    ],
)
def test_json_with_unknown_tags_or_invalid_values_is_refused(
    good_file, tmp_path, value, message
):
    def attack(doc):
        doc["params"]["hidden_layer_sizes"] = value

    bad = _rewrite(good_file, tmp_path / "bad.skrobust", meta=attack)
    with pytest.raises(ValueError, match=message):
        load(bad)


def test_network_larger_than_the_file_can_hold_is_refused_before_building(
    good_file, tmp_path
):
    def attack(doc):
        # 10**12 weights: building this network would exhaust memory.
        doc["spec"]["hidden_layer_sizes"] = {"__tuple__": [10**6, 10**6]}
        doc["params"]["hidden_layer_sizes"] = {"__tuple__": [10**6, 10**6]}

    bad = _rewrite(good_file, tmp_path / "bad.skrobust", meta=attack)
    with pytest.raises(ValueError, match="more than its .* can hold"):
        load(bad)


def test_parameters_changed_after_fit_do_not_prevent_loading(fitted, tmp_path):
    est = clone(fitted["clf_str"]).fit(X12, LABELS["str"])
    est.set_params(hidden_layer_sizes=(7, 7))  # the fitted network keeps (4,)
    save(est, tmp_path / "m.skrobust")
    back = load(tmp_path / "m.skrobust")
    assert back.hidden_layer_sizes == (7, 7)
    np.testing.assert_array_equal(back.predict_proba(X12), est.predict_proba(X12))


def _lambda_model_bytes(marker, tmp_path):
    """A .keras file whose Lambda layer creates ``marker`` when it is run."""
    src = f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]"
    inputs = keras.Input(shape=(3,), name="input")
    x = keras.layers.Lambda(eval(src), name="evil")(inputs)  # noqa: S307
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    return path


def test_keras_lambda_layer_is_refused_and_runs_nothing(good_file, tmp_path):
    marker = tmp_path / "pwned"
    evil = _lambda_model_bytes(marker, tmp_path)
    # The payload is live: Keras's unsafe loading runs the Lambda's code.
    marker.unlink(missing_ok=True)
    keras.saving.load_model(evil, safe_mode=False)
    assert marker.exists()
    marker.unlink()

    bad = _rewrite(
        good_file, tmp_path / "bad.skrobust", replace={"model.keras": evil.read_bytes()}
    )
    with pytest.raises(ValueError, match=r"'evil' \(Lambda\).*Refusing"):
        load(bad)
    assert not marker.exists()


def test_weights_file_that_is_not_hdf5_gives_a_clear_error(good_file, tmp_path):
    with zipfile.ZipFile(good_file) as zf:
        inner = tmp_path / "inner.keras"
        inner.write_bytes(zf.read("model.keras"))
    broken = _rewrite(
        inner,
        tmp_path / "broken.keras",
        replace={"model.weights.h5": b"\x89HDF garbage"},
    )
    bad = _rewrite(
        good_file,
        tmp_path / "bad.skrobust",
        replace={"model.keras": broken.read_bytes()},
    )
    with pytest.raises(ValueError, match="weights in model.keras cannot be read"):
        load(bad)


@pytest.mark.parametrize("keep", [0.0, 0.05, 0.5, 0.95, 0.999])
def test_truncated_file_gives_a_clear_value_error(good_file, tmp_path, keep):
    data = good_file.read_bytes()
    bad = tmp_path / "bad.skrobust"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load(bad)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
def test_corrupted_byte_gives_value_error_or_the_same_model(
    good_file, fitted, position, flip
):
    data = bytearray(good_file.read_bytes())
    data[int(position * len(data))] ^= flip
    try:
        back = load(io.BytesIO(bytes(data)))
    except ValueError:
        return
    # Only bytes no reader checks (e.g. a header's timestamp) may be damaged.
    np.testing.assert_array_equal(
        back.predict_proba(X12), fitted["clf_str"].predict_proba(X12)
    )


def test_file_from_a_newer_format_version_says_so(good_file, tmp_path):
    def newer(doc):
        doc["format_version"] = FORMAT_VERSION + 1
        doc["skrobust_version"] = "9.0"

    bad = _rewrite(good_file, tmp_path / "bad.skrobust", meta=newer)
    with pytest.raises(
        ValueError,
        match=rf"format version {FORMAT_VERSION + 1} by skrobust 9.0.*Upgrade skrobust",
    ):
        load(bad)


def test_file_that_is_not_a_skrobust_file_is_refused(tmp_path):
    (tmp_path / "a.zip").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("skrobust.json", json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a skrobust model file"):
        load(tmp_path / "a.zip")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skrobust")
