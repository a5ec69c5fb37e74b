"""What training does to the targets: label smoothing and label noise,
class weights (classifier), target noise (regressor)."""

from __future__ import annotations

import numbers

from skrobust._knobs.knob import CLASSIFIER, REGRESSOR, Knob, non_negative, rate
from skrobust._validation import Check, Interval, Options

KNOBS = (
    Knob(
        "label_smoothing",
        0.0,
        rate(),
        "float",
        """
        Keras's label smoothing, in [0, 1): targets become
        ``onehot * (1 - label_smoothing) + label_smoothing / n_classes``
        (``n_classes`` is 2 for binary problems) in the training loss.
        """,
        owners=(CLASSIFIER,),
        switches="label_smoothing",
        engine="scalar",
    ),
    Knob(
        "label_flip_rate",
        0.0,
        (Interval(numbers.Real, 0, 1, closed="both"),),
        "float",
        """
        Label noise, in [0, 1]: in every mini-batch each training label is
        replaced, with this probability and afresh each time, by another
        class drawn uniformly from the rest (binary: the other class). The
        data are never changed; the recorded training accuracy compares with
        the true labels.
        """,
        owners=(CLASSIFIER,),
        switches="label_flip",
        engine="scalar",
    ),
    Knob(
        "class_weight",
        None,
        (Options((None, "balanced")), Check(lambda v: isinstance(v, dict), "a dict")),
        'dict, "balanced" or None',
        "Weights of the classes in the loss, multiplied into ``sample_weight``.",
        owners=(CLASSIFIER,),
    ),
    Knob(
        "target_noise_std",
        0.0,
        non_negative(),
        "float",
        """
        Target noise: every mini-batch, the regression targets are fitted
        with Gaussian noise of this std added (in the target's units, or
        relative to each target column's training std with
        ``noise_scale="feature"``). The data are never changed.
        """,
        owners=(REGRESSOR,),
        switches="target_noise",
        engine="scalar",
    ),
)
