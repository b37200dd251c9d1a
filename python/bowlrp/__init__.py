"""bowlrp: Bag-of-Words or Fisher-vector image classification with SVMs, explained pixel by pixel.

Layer-wise Relevance Propagation for Bag-of-Words models (Bach, Binder, Montavon, Klauschen, Müller,
Samek 2015, PLoS ONE 10(7): e0130140), over the C++ library of the same name:

    import bowlrp
    model = bowlrp.fit("data/", words=256)            # DATA/<class>/<image>; FitOptions knobs as keywords
    print(model.predict(["a.jpg", "b.png"]).labels)   # or numpy images (uint8 RGB/grey, float grey)
    e = model.explain("a.jpg")                        # top class; e.relevance is H x W float64
    bowlrp.write_png("a.heatmap.png", bowlrp.render.heatmap(e))
    q = bowlrp.evaluate_explanation(model, "a.jpg", e.class_name)
    print(q.aopc["lrp"], q.aopc["random"])
    fv = bowlrp.fit("data/", encoding="fisher", components=64, pca=64)   # Fisher vectors + linear SVMs

Spectral relevance analysis (SpRAy; Lapuschkin et al. 2019) clusters many relevance maps into the
strategies behind the decisions: ``bowlrp.spray(maps)`` on numpy maps of any sizes,
``bowlrp.spray_images(model, paths, class_)`` on a model's explanations, with a causal test per cluster.

Every long call releases the GIL and takes ``progress=`` (None, True for a bar on stderr, or a
callable receiving a :class:`ProgressEvent`). Library errors arrive with the library's message:
std::invalid_argument as ValueError, std::out_of_range as IndexError, other errors (unreadable or
corrupt files, ...) as RuntimeError. Importing sets up the runtime as the command-line tool does
(single-threaded BLAS), so results are bit-identical to ``bowlrp`` CLI runs. Option defaults are
the library's (``FitOptions.defaults()``), never restated here.
"""

from ._bowlrp import (
    MAX_THREADS,
    ArtefactProjection,
    ConservationReport,
    Explanation,
    ExplainOptions,
    FitOptions,
    FitReport,
    FolderEvaluation,
    FolderEvaluationOptions,
    GalleryItem,
    HeatmapOptions,
    Localisation,
    LocalisationSummary,
    MeanInterval,
    Model,
    Predictions,
    ProgressEvent,
    QualityOptions,
    QualityResult,
    QualityTotals,
    RandomisationLevel,
    Rules,
    SprayAnalysis,
    SprayCausal,
    SprayImagesOptions,
    SprayOptions,
    SprayResult,
    VocEvaluation,
    VocProtocolOptions,
    __version__,
    aopc,
    compare_fix,
    complexity,
    downsize_map,
    evaluate_explanation,
    evaluate_explanations,
    evaluate_folder,
    fit,
    fit_voc,
    lerf_morf_area,
    load,
    localise,
    mask_auc,
    mean_interval,
    map_ssim,
    pointing_game,
    randomisation_check,
    read_image,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    resolve_threads,
    run_voc_protocol,
    sparseness,
    spearman_correlation,
    spray,
    spray_images,
    summarise,
    write_png,
)
from . import datasets, evaluation, render
from .estimator import BowClassifier


def __getattr__(name):  # PEP 562: NotFittedError (scikit-learn's when installed) resolved on first access
    if name == "NotFittedError":
        return estimator.NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "MAX_THREADS",
    "BowClassifier",
    "ArtefactProjection",
    "ConservationReport",
    "Explanation",
    "ExplainOptions",
    "FitOptions",
    "FitReport",
    "FolderEvaluation",
    "FolderEvaluationOptions",
    "GalleryItem",
    "HeatmapOptions",
    "Localisation",
    "LocalisationSummary",
    "MeanInterval",
    "Model",
    "NotFittedError",
    "Predictions",
    "ProgressEvent",
    "QualityOptions",
    "QualityResult",
    "QualityTotals",
    "RandomisationLevel",
    "Rules",
    "SprayAnalysis",
    "SprayCausal",
    "SprayImagesOptions",
    "SprayOptions",
    "SprayResult",
    "VocEvaluation",
    "VocProtocolOptions",
    "__version__",
    "aopc",
    "compare_fix",
    "complexity",
    "datasets",
    "downsize_map",
    "evaluate_explanation",
    "evaluate_explanations",
    "evaluate_folder",
    "evaluation",
    "fit",
    "fit_voc",
    "lerf_morf_area",
    "load",
    "localise",
    "mask_auc",
    "mean_interval",
    "map_ssim",
    "pointing_game",
    "randomisation_check",
    "read_image",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "render",
    "resolve_threads",
    "run_voc_protocol",
    "sparseness",
    "spearman_correlation",
    "spray",
    "spray_images",
    "summarise",
    "write_png",
]
