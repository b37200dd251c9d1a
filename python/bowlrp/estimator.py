"""A scikit-learn style classifier over the bindings: :class:`BowClassifier`.

scikit-learn is not required; when it is installed, ``sklearn.base.clone``, ``get_params`` /
``set_params``, pipelines and grid searches work, and an unfitted estimator raises sklearn's own
``NotFittedError``.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import _bowlrp


class _StandInNotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before fit (sklearn.exceptions.NotFittedError's stand-in)."""


_not_fitted_error: Optional[type] = None


def _not_fitted_error_class() -> type:
    """sklearn.exceptions.NotFittedError when scikit-learn is installed, else the stand-in. Looked up
    on first need, not at import: importing scikit-learn (and SciPy with it) takes several times
    longer than importing bowlrp."""
    global _not_fitted_error
    if _not_fitted_error is None:
        try:  # the real thing when scikit-learn is there
            from sklearn.exceptions import NotFittedError as found
        except ImportError:  # pragma: no cover - depends on the environment
            found = _StandInNotFittedError
        _not_fitted_error = found
    return _not_fitted_error


def __getattr__(name: str) -> Any:  # PEP 562: NotFittedError resolved on first access
    if name == "NotFittedError":
        return _not_fitted_error_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BowClassifier", "NotFittedError"]

# FitOptions knobs under their scikit-learn names; every other knob keeps its library name.
_RENAMED = {"seed": "random_state", "threads": "n_jobs"}


def _param_defaults() -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, value in _bowlrp.FitOptions.defaults().items():
        if name in _RENAMED:
            out[_RENAMED[name]] = None  # None: the library's default seed / all cores
        else:
            out[name] = value
    return out


_DEFAULTS = _param_defaults()


class BowClassifier:
    """Bag-of-Words or Fisher-vector image classifier (one-vs-rest kernel or linear SVMs, or a
    multilayer ReLU perceptron) with LRP explanations, scikit-learn style.

    Parameters are the knobs of :class:`bowlrp.FitOptions` (``words``, ``step``, ``bin_sizes``,
    ``max_side``, ``pyramid``, ``pooling``, ``mapping``, ``kernel``, ``C``, ...; the defaults are
    the library's), with two renamed as scikit-learn names them: ``random_state`` (the seed; None:
    the library's default seed, so fits are reproducible either way) and ``n_jobs`` (threads; None
    or -1: all cores, -2: all but one, ...). Results do not depend on ``n_jobs``.

    ``encoding`` picks the encoding: ``"bag-of-words"`` (the default; also ``"bow"``) or
    ``"fisher"`` / ``"fisher-vector"``, whose knobs are ``pca``, ``components``,
    ``fisher_samples``, ``fisher_C``, ``fisher_iterations``, ``fisher_pyramid``, ``append_xy``, ``root_sift``,
    ``skip_zeroed`` and ``posterior_threshold``. ``mirror_training`` (None: on for Fisher vectors, off for
    Bag-of-Words) also trains on each training image mirrored left-right. ``head`` picks the head: None (kernel SVMs for Bag-of-Words, linear
    SVMs for Fisher vectors), ``"kernel"`` or ``"linear"`` (also ``"kernel-svm"`` /
    ``"linear-svm"``), or ``"mlp"`` (also ``"network"``): a ReLU network trained with libtorch,
    whose knobs are ``hidden`` (hidden layer sizes, e.g. ``(32,)``; empty: one linear layer),
    ``epochs``, ``batch_size``, ``learning_rate``, ``weight_decay`` and ``dropout``; its
    explanations take ``rule=`` (the layers' LRP rules, see :class:`bowlrp.Rules`); or ``"explicit-map"``
    (also ``"explicit-map-svm"``): linear SVMs over the explicit map of the ``kernel`` (``"hik"`` or
    ``"chi2"``), whose knobs are ``map_order`` and ``map_period``. Parameters
    are stored as given (``get_params`` returns ``"fisher"`` if that was passed);
    ``fit_options()`` shows them normalised.

    X is a list of image paths or a list of numpy images (uint8 H x W / H x W x 3 RGB /
    H x W x 4 RGBA, float H x W in [0, 1]); y one label per image (str or int). ``fit("DATA")``
    with y=None trains on a folder DATA/<class>/<image>.

    Attributes after fit: ``classes_`` (sorted distinct labels), ``model_`` (the
    :class:`bowlrp.Model`), ``fit_report_`` (:class:`bowlrp.FitReport`).

    ``decision_function`` follows scikit-learn: n x n_classes one-vs-rest scores in ``classes_``
    order, and for two classes the vector f(classes_[1]) - f(classes_[0]) of shape (n,), positive
    exactly where ``predict`` says classes_[1].
    """

    _estimator_type = "classifier"  # sklearn.base.is_classifier (scikit-learn < 1.6)

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(_DEFAULTS))
        if unknown:
            raise TypeError(f"BowClassifier: unknown parameter(s) {', '.join(unknown)} (known: {', '.join(_DEFAULTS)})")
        for name, default in _DEFAULTS.items():
            setattr(self, name, params.get(name, default))

    # -- scikit-learn protocol -------------------------------------------------------------

    @classmethod
    def _get_param_names(cls) -> List[str]:
        return list(_DEFAULTS)

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor parameters (deep is accepted for scikit-learn; nothing is nested)."""
        return {name: getattr(self, name) for name in _DEFAULTS}

    def set_params(self, **params: Any) -> "BowClassifier":
        """Sets parameters; ValueError for unknown names (as scikit-learn)."""
        for name, value in params.items():
            if name not in _DEFAULTS:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}; "
                                 f"valid parameters are: {', '.join(_DEFAULTS)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, _DEFAULTS[k])]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"X_types": ["string"], "requires_y": False, "non_deterministic": False}

    def __sklearn_tags__(self):  # scikit-learn >= 1.6 (its get_tags, is_classifier and checks read these)
        """The estimator's tags: a classifier of images (paths or arrays, not a 2-D feature matrix),
        y optional (a folder gives the labels), deterministic for a seed."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=False),
                    classifier_tags=ClassifierTags(), input_tags=InputTags(two_d_array=False, string=True),
                    non_deterministic=False)

    # -- options ---------------------------------------------------------------------------

    def _threads(self) -> int:
        n = self.n_jobs
        if n is None or n == -1:
            return 0
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n == 0:
            raise ValueError(f"n_jobs: expected None, a positive int or a negative int (-1: all cores), got {n!r}")
        if n < 0:
            return max(1, (os.cpu_count() or 1) + 1 + int(n))
        return int(n)

    def _seed(self) -> Optional[int]:
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, 2**31 - 1))
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) and rs >= 0:
            return int(rs)
        raise ValueError(f"random_state: expected None, an int >= 0 or a numpy RandomState, got {rs!r}")

    def fit_options(self) -> "_bowlrp.FitOptions":
        """The FitOptions these parameters give (validated)."""
        knobs = {name: getattr(self, name) for name in _DEFAULTS if name not in _RENAMED.values()}
        seed = self._seed()
        if seed is not None:
            knobs["seed"] = seed
        knobs["threads"] = self._threads()
        options = _bowlrp.FitOptions(**knobs)
        options.validate()
        return options

    # -- fitting and prediction ------------------------------------------------------------

    def fit(self, X, y=None, *, progress=None) -> "BowClassifier":
        """Fits on images X with labels y (or on a folder X with y None). progress: see bowlrp.fit."""
        options = self.fit_options()
        if y is None:
            if not (isinstance(X, str) or hasattr(X, "__fspath__")):
                raise ValueError("fit: y is required unless X is a folder DATA/<class>/<image>")
            model, report = _bowlrp.fit(X, options=options, progress=progress, report=True)
            self.classes_ = np.array(model.class_names)
        else:
            y = np.asarray(y)
            if y.ndim != 1:
                raise ValueError(f"fit: y must be one label per image (1-D), got shape {y.shape}")
            classes = np.unique(y)
            names = [str(c) for c in classes]
            if len(set(names)) != len(names):
                raise ValueError(f"fit: labels {list(classes)} are not distinct as class names")
            if len(classes) < 2:
                raise ValueError(f"fit: need at least two classes, got {list(classes)}")
            labels = [str(v) for v in y]
            model, report = _bowlrp.fit(list(X), labels, options=options, progress=progress, report=True)
            self.classes_ = classes
        self.model_ = model
        self.fit_report_ = report
        self._set_columns()
        return self

    def _set_columns(self) -> None:
        names = list(self.model_.class_names)
        self._columns = np.array([names.index(str(c)) for c in self.classes_], dtype=np.int64)
        self._class_of_model_index = np.empty(len(names), dtype=np.int64)
        self._class_of_model_index[self._columns] = np.arange(len(self._columns))

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise _not_fitted_error_class()(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def _predictions(self, X, progress=None):
        self._check_fitted()
        p = self.model_.predict(_as_batch(X), threads=self._threads(), progress=progress)
        if not p.ok.all():
            bad = [f"{i}: {e}" for i, e in enumerate(p.errors) if e]
            raise ValueError("could not read " + str(len(bad)) + " image(s): " + "; ".join(bad[:5]))
        return p

    def decision_function(self, X, *, progress=None) -> np.ndarray:
        """One-vs-rest scores, n x n_classes in classes_ order; (n,) for two classes (see the class doc)."""
        scores = self._predictions(X, progress).scores[:, self._columns]
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X, *, progress=None) -> np.ndarray:
        """The top-scoring class of each image (first of ties in the model's order, as the library)."""
        p = self._predictions(X, progress)
        return self.classes_[self._class_of_model_index[p.top]]

    def score(self, X, y) -> float:
        """Top-1 accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def explain(self, X, class_=None, **options):
        """Explanations of class_ (a label of classes_; None: each image's top class) for one image or
        a list (see Model.explain for the keyword options)."""
        self._check_fitted()
        if class_ is not None:
            matches = [i for i, c in enumerate(self.classes_) if c == class_ or str(c) == str(class_)]
            if not matches:
                raise ValueError(f"class_: {class_!r} is not one of {list(self.classes_)}")
            class_ = int(self._columns[matches[0]])
        options.setdefault("threads", self._threads())
        return self.model_.explain(X, class_, **options)

    # -- persistence -----------------------------------------------------------------------

    def save(self, path) -> None:
        """Writes the fitted model file (readable by ``bowlrp`` and Model.load)."""
        self._check_fitted()
        self.model_.save(path)

    @classmethod
    def load(cls, path, **params: Any) -> "BowClassifier":
        """An estimator around a model file: parameters from the file's encoding (kind and options),
        head, kernel and hidden sizes (SVM and network training options are not stored; ``params``
        overrides), ``classes_`` =
        its class names (strings)."""
        model = _bowlrp.load(path)
        stored = model.fit_options().to_dict()
        kept = {k: v for k, v in stored.items() if k in _DEFAULTS and k not in ("cache_dir", "C", "class_C",
                                                                                   "balanced", "epsilon", "cache_mb",
                                                                                   "mirror_training",
                                                                                   "training_accuracy")}
        if stored.get("seed") is not None:
            kept["random_state"] = stored["seed"]
        kept.update(params)
        est = cls(**kept)
        est.model_ = model
        est.classes_ = np.array(model.class_names)
        est._set_columns()
        return est

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        if "model_" in state:  # the model travels as its file's bytes
            with tempfile.TemporaryDirectory(prefix="bowlrp-") as d:
                p = os.path.join(d, "model.bowlrp")
                state["model_"].save(p)
                with open(p, "rb") as f:
                    state["model_"] = f.read()
        state.pop("fit_report_", None)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        if isinstance(state.get("model_"), bytes):
            with tempfile.TemporaryDirectory(prefix="bowlrp-") as d:
                p = os.path.join(d, "model.bowlrp")
                with open(p, "wb") as f:
                    f.write(state["model_"])
                state["model_"] = _bowlrp.load(p)
        self.__dict__.update(state)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays
        return a is b


def _as_batch(X):
    """A single path or image -> a batch of one; sequences as they are."""
    if isinstance(X, (str, bytes)) or hasattr(X, "__fspath__"):
        return [X]
    if isinstance(X, np.ndarray) and X.dtype != object:
        return [X] if X.ndim in (2, 3) and not (X.ndim == 3 and X.shape[2] > 4) else list(X)
    return list(X)


# Keyword-only parameters with the library's defaults, for inspect.signature (scikit-learn reads it).
BowClassifier.__init__.__signature__ = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in _DEFAULTS.items()])
