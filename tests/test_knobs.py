"""The table of training knobs (skrobust/_knobs/) agrees with everything it
describes: the signatures, the network spec, the engine's inputs and old
files."""

import dataclasses
import inspect
import numbers

import numpy as np
import pytest

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor, engine
from skrobust._knobs import (
    CLASSIFIER,
    ENGINE_VALUES,
    KNOBS,
    READ_WHEN,
    REGRESSOR,
    TRAINING_SWITCHES,
    knobs_of,
)
from skrobust._network import NetworkSpec
from skrobust._validation import (
    Interval,
    InvalidParameterError,
    Options,
    validate_params,
)

ESTIMATORS = [(NoisyMLPClassifier, CLASSIFIER), (NoisyMLPRegressor, REGRESSOR)]


@pytest.mark.parametrize(("cls", "owner"), ESTIMATORS)
def test_signature_lists_the_knobs_with_their_defaults_in_order(cls, owner):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == [
        (k.name, k.default) for k in knobs_of(owner)
    ]


def _just_outside(constraint):
    """Values that ``constraint`` (an Interval, Options or Check) describes
    as outside it: past each end of an interval (on a closed end, the
    nearest value beyond; on an open one, the end itself), a float where an
    int is asked, a string where a number is; a string no option names;
    for a free-form check, an object nothing accepts."""
    if isinstance(constraint, Interval):
        integral = constraint.kind is numbers.Integral
        values = [1.5] if integral else ["1"]
        for end, away in ((constraint.left, -np.inf), (constraint.right, np.inf)):
            if end is None:
                continue
            is_left = away < 0
            closed = constraint.closed in (
                ("both", "left") if is_left else ("both", "right")
            )
            if not closed:
                values.append(end)
            elif integral:
                values.append(end - 1 if is_left else end + 1)
            else:
                values.append(float(np.nextafter(end, away)))
        return values
    if isinstance(constraint, Options):
        return ["no-such-option"]
    return [object()]


@pytest.mark.parametrize(("cls", "owner"), ESTIMATORS)
def test_constraints_cover_every_parameter(cls, owner):
    # Every parameter refuses the values just outside its constraints,
    # naming the parameter, what it allows and the value, before any
    # training; the defaults pass.
    X, y = np.arange(16.0).reshape(8, 2), np.array([0, 1] * 4)
    for knob in knobs_of(owner):
        constraints = [c for c in knob.constraints if c is not None]
        assert constraints, knob.name
        for value in (v for c in constraints for v in _just_outside(c)):
            try:
                cls(**{knob.name: value}).fit(X, y)
            except InvalidParameterError as exc:
                message = str(exc)
            else:
                pytest.fail(f"{cls.__name__}({knob.name}={value!r}) was accepted")
            assert message.startswith(
                f"The '{knob.name}' parameter of {cls.__name__} must be "
            ), message
            assert message.endswith(f"Got {value!r} instead."), message
            assert all(str(c) in message for c in constraints), message
    validate_params(cls())


def test_every_knob_belongs_to_an_estimator():
    assert all(set(k.owners) <= {CLASSIFIER, REGRESSOR} and k.owners for k in KNOBS)


def test_switches_are_boolean_spec_flags_off_by_default():
    fields = {f.name: f for f in dataclasses.fields(NetworkSpec)}
    for flag in TRAINING_SWITCHES:
        assert fields[flag].type in (bool, "bool")
        assert fields[flag].default is False


def test_every_engine_value_is_read_under_a_known_condition():
    for v in ENGINE_VALUES:
        assert v.read_when in READ_WHEN or v.read_when in TRAINING_SWITCHES, v


def test_hyper_arrays_holds_every_engine_value_with_table_defaults():
    hyper = engine.hyper_arrays(learning_rate=0.1)
    assert list(hyper) == [v.name for v in ENGINE_VALUES]
    for v in ENGINE_VALUES:
        if v.name != "learning_rate":
            assert hyper[v.name] == np.float32(v.default)
    with pytest.raises(TypeError, match="no_such_value"):
        engine.hyper_arrays(learning_rate=0.1, no_such_value=1.0)


@pytest.mark.parametrize(("cls", "owner"), ESTIMATORS)
def test_each_switch_knob_switches_its_flag_alone(cls, owner):
    task = "binary" if owner == CLASSIFIER else "regression"
    plain = cls()._network_spec(2, 1, task)
    for k in knobs_of(owner):
        if k.switches:
            spec = cls(**{k.name: 0.5})._network_spec(2, 1, task)
            assert spec == dataclasses.replace(plain, **{k.switches: True}), k.name


def test_files_without_later_flags_load_them_switched_off():
    from skrobust._persistence.checks import later_spec_fields

    later = later_spec_fields()
    assert set(TRAINING_SWITCHES) - {"input_dropout", "dropout"} <= set(later)
    assert all(v is False for k, v in later.items() if k != "noise_type")


def test_none_in_a_constraint_list_allows_none():
    class Reg(NoisyMLPRegressor):
        _parameter_constraints = {
            **NoisyMLPRegressor._parameter_constraints,
            "noise_std": [None, Interval(float, 0, None, closed="left")],
        }

    validate_params(Reg(noise_std=None))
    with pytest.raises(InvalidParameterError, match="None or a float"):
        validate_params(Reg(noise_std=-1.0))


@pytest.mark.parametrize(
    ("cls", "y", "n_outputs", "activation"),
    [
        (NoisyMLPClassifier, [0, 1] * 4, 1, "logistic"),
        (NoisyMLPClassifier, [0, 1, 2, 3] * 2, 4, "softmax"),
        (NoisyMLPRegressor, np.zeros((8, 2)), 2, "identity"),
    ],
)
def test_fit_sets_n_outputs_and_out_activation(cls, y, n_outputs, activation):
    X = np.arange(16.0).reshape(8, 2)
    est = cls((2,), epochs=1, random_state=0).fit(X, y)
    assert est.n_outputs_ == n_outputs
    assert est.out_activation_ == activation
