"""Explanation quality and model evaluation (the library's bowlrp::evaluation).

- :func:`evaluate_explanation` / :func:`evaluate_explanations`: pixel-flipping curves and AOPC of
  the LRP, occlusion, sensitivity and random orderings for (image, class) pairs, conservation, and
  localisation in your own masks or boxes (``lerf=True``: also least relevant first); per image,
  ``QualityResult.metrics`` (metric -> method -> value);
- :class:`QualityTotals`: their aggregate (``aopc()``, ``localisation_summaries()``,
  ``metric_summaries()``: mean and 95% interval, :class:`MeanInterval`, of every metric per method);
- :func:`mean_interval`: mean and Student-t interval of per-image values;
- :func:`compare_fix`: the proof that an artefact fix held, the model before and after (causal drop,
  relevance share of the region against its area, pasted-artefact score rise, accuracy and mAP);
- :func:`randomisation_check`: sanity checks (the head randomised layer by layer, a random other class) with
  :func:`spearman_correlation` and :func:`map_ssim` of each method's map against the original
  (``Model.with_randomised_head`` gives the randomised model itself);
- :func:`localise`: localisation of any relevance map in a mask or boxes;
- metrics of one relevance map: :func:`sparseness`, :func:`complexity` (how concentrated it is),
  :func:`relevance_mass_accuracy`, :func:`relevance_rank_accuracy`, :func:`mask_auc`,
  :func:`pointing_game` (TorchRay's) against a mask, and :func:`lerf_morf_area` of two flipping curves;
- :func:`evaluate_folder`: accuracy, confusion, AP and explanation quality on DATA/<class>/<image>;
- :func:`run_voc_protocol`: the PASCAL VOC protocol of ``bowlrp voc``.
"""

from ._bowlrp import (
    FolderEvaluation,
    FolderEvaluationOptions,
    GalleryItem,
    Localisation,
    LocalisationSummary,
    MeanInterval,
    QualityOptions,
    QualityResult,
    QualityTotals,
    RandomisationLevel,
    VocEvaluation,
    VocProtocolOptions,
    aopc,
    compare_fix,
    complexity,
    evaluate_explanation,
    evaluate_explanations,
    evaluate_folder,
    lerf_morf_area,
    localise,
    mask_auc,
    mean_interval,
    map_ssim,
    pointing_game,
    randomisation_check,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    run_voc_protocol,
    sparseness,
    spearman_correlation,
    summarise,
)

ORDERINGS = ("lrp", "occlusion", "sensitivity", "random")
"""Names of the flipping curves (QualityResult.curves keys)."""

__all__ = [
    "ORDERINGS",
    "FolderEvaluation",
    "FolderEvaluationOptions",
    "GalleryItem",
    "Localisation",
    "LocalisationSummary",
    "MeanInterval",
    "QualityOptions",
    "QualityResult",
    "QualityTotals",
    "RandomisationLevel",
    "VocEvaluation",
    "VocProtocolOptions",
    "aopc",
    "compare_fix",
    "complexity",
    "evaluate_explanation",
    "evaluate_explanations",
    "evaluate_folder",
    "lerf_morf_area",
    "localise",
    "mask_auc",
    "mean_interval",
    "map_ssim",
    "pointing_game",
    "randomisation_check",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "run_voc_protocol",
    "sparseness",
    "spearman_correlation",
    "summarise",
]
