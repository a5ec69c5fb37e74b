"""scikit-learn-style displays: training history and robustness curves.

Like scikit-learn's displays, each class stores the numbers to draw, builds
them with ``from_...`` class methods and draws with :meth:`plot`, which sets
``figure_``, ``ax_`` and the artists. matplotlib is imported only when a plot
is drawn, so it stays an optional dependency.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from skrobust.inspection._robustness import robustness_curve

_SCORE_LABELS = {"accuracy": "Accuracy", "r2": "R²", "score": "Score"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "Plotting with skrobust's displays requires matplotlib. Install it "
            'with: pip install "skrobust[plot]" (or pip install matplotlib).'
        ) from None
    return plt


def _final_estimator(estimator):
    """The last step of a Pipeline (recursively), else the estimator."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


class TrainingHistoryDisplay:
    """Training and validation curves of a fitted skrobust estimator.

    One panel per metric (by default the loss and the score), each with the
    training curve per epoch and, when the estimator held out a validation
    fraction, the validation curve: the plot the noise-regularization tutorials
    use to show overfitting. Build it with :meth:`from_estimator`.

    Parameters
    ----------
    history : dict of str to list of float
        Per-epoch values, as in a skrobust estimator's ``history_``: ``loss``
        and the score (``accuracy`` or ``r2``), optionally ``val_loss`` and
        ``val_<score>``.
    estimator_name : str, default=None
        Shown in the panel titles.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes
        One Axes per metric, ``ax_[0]`` the first.
    figure_ : matplotlib Figure
        The figure holding the panels.
    lines_ : dict of str to matplotlib Line2D
        The curve of each history key drawn (``"loss"``, ``"val_loss"`` ...).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_circles
    >>> from skrobust import NoisyMLPClassifier
    >>> from skrobust.inspection import TrainingHistoryDisplay
    >>> X, y = make_circles(n_samples=60, noise=0.1, random_state=1)
    >>> clf = NoisyMLPClassifier((8,), epochs=5, validation_fraction=0.3,
    ...                          random_state=0).fit(X, y)
    >>> disp = TrainingHistoryDisplay.from_estimator(clf)
    >>> sorted(disp.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """

    def __init__(self, history: dict, *, estimator_name: str | None = None):
        self.history = history
        self.estimator_name = estimator_name

    def _default_metrics(self) -> tuple[str, ...]:
        metrics = [k for k in self.history if not k.startswith("val_")]
        # Loss first, then the score, whatever order the dict has.
        return tuple(sorted(metrics, key=lambda k: k != "loss"))

    def plot(self, ax=None, *, metrics=None, name: str | None = None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of Axes, default=None
            One Axes per metric; ``None`` makes a new figure with the panels
            side by side.
        metrics : sequence of str, default=None
            History keys to draw (without the ``val_`` prefix), e.g.
            ``("loss",)``. ``None`` draws every training metric, loss first.
        name : str, default=None
            Overrides ``estimator_name`` in the titles.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        plt = _pyplot()
        metrics = self._default_metrics() if metrics is None else tuple(metrics)
        unknown = [m for m in metrics if m not in self.history]
        if not metrics or unknown:
            raise ValueError(
                f"metrics must name keys of the history; unknown: {unknown!r}, "
                f"available: {sorted(self.history)!r}."
            )
        if ax is None:
            fig, axes = plt.subplots(
                1, len(metrics), figsize=(4.5 * len(metrics), 3.6), squeeze=False
            )
            axes = axes[0]
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
            if axes.size != len(metrics):
                raise ValueError(
                    f"Expected {len(metrics)} Axes, one per metric {metrics!r}; "
                    f"got {axes.size}."
                )
            fig = axes[0].figure
        name = self.estimator_name if name is None else name

        self.lines_ = {}
        for axis, metric in zip(axes, metrics, strict=True):
            epochs = np.arange(1, len(self.history[metric]) + 1)
            (self.lines_[metric],) = axis.plot(
                epochs, self.history[metric], label="train"
            )
            val_key = f"val_{metric}"
            if val_key in self.history:
                (self.lines_[val_key],) = axis.plot(
                    epochs, self.history[val_key], label="validation"
                )
            label = "Loss" if metric == "loss" else _SCORE_LABELS.get(metric, metric)
            axis.set_xlabel("Epoch")
            axis.set_ylabel(label)
            axis.set_title(label if name is None else f"{name}: {label.lower()}")
            axis.legend()
        self.ax_ = axes
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, metrics=None, ax=None, name: str | None = None
    ):
        """Plot the ``history_`` of a fitted skrobust estimator.

        Parameters
        ----------
        estimator : NoisyMLPClassifier, NoisyMLPRegressor or Pipeline
            A fitted skrobust estimator, or a fitted pipeline whose last step
            is one. Validation curves appear when it was fitted with
            ``validation_fraction`` (or ``early_stopping``).
        metrics : sequence of str, default=None
            See :meth:`plot`.
        ax : matplotlib Axes or sequence of Axes, default=None
            See :meth:`plot`.
        name : str, default=None
            Shown in the titles; defaults to the estimator's class name.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        final = _final_estimator(estimator)
        history = getattr(final, "history_", None)
        if not isinstance(history, dict):
            raise ValueError(
                f"{type(final).__name__} has no history_: pass a fitted skrobust "
                f"estimator (NoisyMLPClassifier or NoisyMLPRegressor) or a "
                f"fitted pipeline ending in one."
            )
        if name is None:
            name = type(final).__name__
        return cls(history, estimator_name=name).plot(ax=ax, metrics=metrics)


class RobustnessCurveDisplay:
    """Robustness curves of one or several estimators on one axis.

    Each curve is the mean score (with a band of ± one standard deviation over
    the repeats) as Gaussian noise of growing standard deviation is added to
    the test inputs; see :func:`~skrobust.inspection.robustness_curve`. Build
    it with :meth:`from_estimators` or :meth:`from_estimator`.

    Parameters
    ----------
    curves : dict of str to Bunch
        Results of :func:`~skrobust.inspection.robustness_curve` by name.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the plot.
    figure_ : matplotlib Figure
        The figure holding it.
    lines_ : dict of str to matplotlib Line2D
        The mean curve of each estimator.
    bands_ : dict of str to matplotlib PolyCollection
        The ± one std band of each estimator (empty with ``std=False``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skrobust.inspection import RobustnessCurveDisplay
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> models = {"logistic": LogisticRegression().fit(X, y),
    ...           "tree": DecisionTreeClassifier(random_state=0).fit(X, y)}
    >>> disp = RobustnessCurveDisplay.from_estimators(
    ...     models, X, y, [0.0, 0.5, 1.0], random_state=0)
    >>> sorted(disp.lines_)
    ['logistic', 'tree']
    """

    def __init__(self, curves: dict):
        self.curves = curves

    def plot(self, ax=None, *, std: bool = True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        std : bool, default=True
            Shade ± one standard deviation over the repeats.

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        plt = _pyplot()
        if not self.curves:
            raise ValueError("RobustnessCurveDisplay needs at least one curve.")
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4))
        self.lines_, self.bands_ = {}, {}
        for name, curve in self.curves.items():
            levels, mean, sd = curve.noise_levels, curve.mean_scores, curve.std_scores
            (line,) = ax.plot(levels, mean, marker="o", label=name)
            self.lines_[name] = line
            if std:
                self.bands_[name] = ax.fill_between(
                    levels, mean - sd, mean + sd, color=line.get_color(), alpha=0.2
                )
        first = next(iter(self.curves.values()))
        ax.set_xlabel(
            "Test-time noise std (relative to each feature's std)"
            if first.relative
            else "Test-time noise std"
        )
        scoring = first.scoring
        ax.set_ylabel(_SCORE_LABELS.get(scoring, scoring))
        ax.set_title("Robustness to noisy inputs")
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimators(
        cls,
        estimators: dict,
        X,
        y,
        noise_levels,
        *,
        n_repeats: int = 5,
        scoring=None,
        relative: bool = False,
        random_state=None,
        ax=None,
        std: bool = True,
    ):
        """Compute and plot the robustness curves of several fitted estimators.

        Every estimator is scored on the same noisy copies of ``X`` (the same
        seed is used for each), so the curves differ only by the models.

        Parameters
        ----------
        estimators : dict of str to estimator
            Fitted estimators or pipelines by the name to show in the legend.
        X, y, noise_levels, n_repeats, scoring, relative
            As in :func:`~skrobust.inspection.robustness_curve`.
        random_state : int or None, default=None
            Seed of the noise shared by all estimators; ``None`` draws one
            fresh seed for this call.
        ax : matplotlib Axes, default=None
            Where to draw.
        std : bool, default=True
            Shade ± one standard deviation over the repeats.

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        if not isinstance(estimators, dict) or not estimators:
            raise ValueError(
                "estimators must be a non-empty dict mapping names to fitted "
                f"estimators; got {type(estimators).__name__}."
            )
        if random_state is None or isinstance(random_state, np.random.Generator):
            random_state = int(np.random.default_rng(random_state).integers(2**31))
        curves = {
            str(name): robustness_curve(
                est,
                X,
                y,
                noise_levels,
                n_repeats=n_repeats,
                scoring=scoring,
                relative=relative,
                random_state=random_state,
            )
            for name, est in estimators.items()
        }
        return cls(curves).plot(ax=ax, std=std)

    @classmethod
    def from_estimator(cls, estimator, X, y, noise_levels, *, name=None, **kwargs):
        """Compute and plot the robustness curve of one fitted estimator.

        ``name`` labels the curve (default: the estimator's class name); the
        other arguments are those of :meth:`from_estimators`.

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        name = type(_final_estimator(estimator)).__name__ if name is None else name
        return cls.from_estimators({name: estimator}, X, y, noise_levels, **kwargs)

    @classmethod
    def from_results(cls, results: dict, *, ax=None, std: bool = True):
        """Plot robustness curves already computed.

        Parameters
        ----------
        results : dict of str to Bunch
            Results of :func:`~skrobust.inspection.robustness_curve` by name.
        ax : matplotlib Axes, default=None
            Where to draw.
        std : bool, default=True
            Shade ± one standard deviation over the repeats.

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        for name, res in results.items():
            if not isinstance(res, Bunch) or "mean_scores" not in res:
                raise ValueError(
                    f"results[{name!r}] is not a result of robustness_curve."
                )
        return cls(dict(results)).plot(ax=ax, std=std)
