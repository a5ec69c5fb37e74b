"""What :func:`~skrobust._persistence.loading.load` verifies in a file's
JSON before using it: the parameters, the network description (with the
fields older files lack), each fitted attribute, their agreement with one
another, and a network no larger than the file can hold."""

from __future__ import annotations

import dataclasses

from skrobust._persistence.codec import decode, short
from skrobust._persistence.layout import MODEL, SCALAR_ATTRIBUTES


def json_object(meta, key, label):
    value = meta.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"{label}: {key!r} is missing or not an object.")
    return value


def restore_params(cls, meta, label):
    from skrobust._validation import validate_params

    params = {k: decode(v, k) for k, v in json_object(meta, "params", label).items()}
    estimator = cls()
    known = estimator.get_params(deep=False)
    unknown = sorted(set(params) - set(known), key=str)
    if unknown:
        raise ValueError(f"{label}: unknown parameters {unknown} for {cls.__name__}.")
    estimator.set_params(**params)
    try:
        validate_params(estimator)
    except ValueError as exc:
        raise ValueError(f"{label}: invalid saved parameters: {exc}") from None
    return estimator


def later_spec_fields() -> dict:
    """Spec fields an older file may lack, with the value that describes it:
    the noise type (added to format version 1 after its first files) and the
    flag of every knob's switch (``_knobs.TRAINING_SWITCHES``), off in a file
    written before the knob existed. A file lacking the flag of a knob it
    used is still refused: its Keras model has layers the spec does not
    describe."""
    from skrobust._knobs import TRAINING_SWITCHES
    from skrobust._spec import NetworkSpec

    defaults = {f.name: f.default for f in dataclasses.fields(NetworkSpec)}
    return {name: defaults[name] for name in ("noise_type", *TRAINING_SWITCHES)}


def restore_spec(meta, label):
    from skrobust._knobs import NOISE_POSITIONS, NOISE_TYPES, TRAINING_SWITCHES
    from skrobust._spec import NetworkSpec

    fields = {
        k: decode(v, f"spec.{k}") for k, v in json_object(meta, "spec", label).items()
    }
    names = {f.name for f in dataclasses.fields(NetworkSpec)}
    # Files written before a training-noise kind existed lack its flag: it
    # was off.
    for name, value in later_spec_fields().items():
        fields.setdefault(name, value)
    if set(fields) != names:
        raise ValueError(f"{label}: the network description is malformed.")

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    sizes = fields["hidden_layer_sizes"]
    sites = fields["noise_sites"]
    ok = (
        count(fields["n_features"])
        and count(fields["n_outputs"])
        and isinstance(sizes, tuple)
        and len(sizes) > 0
        and all(map(count, sizes))
        and fields["task"] in ("binary", "multiclass", "regression")
        and isinstance(fields["activation"], str)
        and isinstance(fields["kernel_initializer"], str)
        and isinstance(sites, tuple)
        and all(s in NOISE_POSITIONS for s in sites)
        and all(isinstance(fields[f], bool) for f in TRAINING_SWITCHES)
        and fields["batchnorm"] in (None, "before", "after")
        and fields["noise_type"] in NOISE_TYPES
        and (
            fields["max_norm"] is None
            or (isinstance(fields["max_norm"], float) and fields["max_norm"] > 0)
        )
    )
    if not ok:
        raise ValueError(
            f"{label}: the network description is invalid: {short(fields)}."
        )
    return NetworkSpec(**fields)


def check_attribute(attr, value, label):
    kind = SCALAR_ATTRIBUTES.get(attr)

    def real(v):
        return isinstance(v, int | float) and not isinstance(v, bool)

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def history(v):
        return isinstance(v, dict) and all(
            isinstance(k, str) and isinstance(c, list) and all(map(real, c))
            for k, c in v.items()
        )

    def history_list(v):
        return isinstance(v, list) and all(map(history, v))

    ok = {
        None: False,
        "int": count(value),
        "ints": isinstance(value, list) and all(map(count, value)),
        "float": real(value),
        "floats": isinstance(value, list) and all(map(real, value)),
        "history": history(value),
        "histories": history_list(value),
    }[kind]
    if not ok:
        raise ValueError(f"{label}: unexpected fitted attribute {attr}={short(value)}.")
    if kind == "floats":
        return [float(v) for v in value]
    if kind == "history":
        return {k: [float(x) for x in v] for k, v in value.items()}
    if kind == "histories":
        return [{k: [float(x) for x in c] for k, c in h.items()} for h in value]
    return value


def n_members(estimator) -> int:
    """Networks in the file: the members of an ensemble, else 1."""
    return len(getattr(estimator, "members_n_iter_", [None]))


def check_consistency(estimator, spec, label):
    """The JSON parts must describe one estimator: a crafted file cannot make
    the spec, parameters and attributes disagree."""
    problems = []
    if getattr(estimator, "n_features_in_", None) != spec.n_features:
        problems.append("n_features_in_ differs from the network's input width")
    for attr in ("n_iter_", "history_", "loss_curve_"):
        if not hasattr(estimator, attr):
            problems.append(f"{attr} is missing")
    if "loss" not in getattr(estimator, "history_", {"loss": None}):
        problems.append("history_ has no 'loss'")
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and len(names) != spec.n_features:
        problems.append("feature_names_in_ has the wrong length")
    best = getattr(estimator, "best_epoch_", None)
    if best is not None and not (
        isinstance(getattr(estimator, "history_", None), dict)
        and best < len(estimator.history_.get("val_loss", ()))
    ):
        problems.append("best_epoch_ is not an epoch of the validation history")
    outputs = estimator._outputs_problem(spec)
    if outputs:
        problems.append(outputs)
    problems.extend(_members_problems(estimator))
    if problems:
        raise ValueError(f"{label}: inconsistent file: {'; '.join(problems)}.")


def _members_problems(estimator):
    """An ensemble's per-member attributes, one entry per member (at least
    2); a single network has none."""
    found = [
        a for a in ("members_history_", "members_best_epoch_") if a in vars(estimator)
    ]
    if "members_n_iter_" not in vars(estimator):
        return [f"{a} without members_n_iter_" for a in found]
    n = len(estimator.members_n_iter_)
    problems = [] if n >= 2 else ["an ensemble needs at least 2 members"]
    if len(getattr(estimator, "members_history_", ())) != n:
        problems.append("members_history_ does not have one entry per member")
    elif not all("loss" in h for h in estimator.members_history_):
        problems.append("a member's history has no 'loss'")
    best = getattr(estimator, "members_best_epoch_", None)
    if best is not None and not (
        len(best) == n
        and all(
            b < len(h.get("val_loss", ()))
            for b, h in zip(best, estimator.members_history_, strict=False)
        )
    ):
        problems.append("members_best_epoch_ are not epochs of the members' histories")
    return problems


def _n_weights(spec) -> int:
    sizes = spec.layer_sizes
    n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if spec.batchnorm:
        n += 4 * sum(spec.hidden_layer_sizes)
    return n


def check_size(spec, inner_bytes, label, n_members=1):
    """Refuse, before allocating it, a network larger than the file can hold.

    The weights are float32 arrays in an HDF5 file inside a deflated zip;
    deflate compresses at most about 1032:1, so a genuine file is never
    smaller than 4 * n_weights / 1032 bytes.
    """
    n = _n_weights(spec) * n_members
    if 4 * n > 1100 * inner_bytes:
        raise ValueError(
            f"{label} describes a network of {n} weights, more than its "
            f"{inner_bytes}-byte {MODEL} can hold. Refusing to load it."
        )
