"""Type stubs of the compiled module bowlrp._bowlrp (hand-written; checked against the module by
tests/python/test_stubs.py). Option classes list their knobs; defaults are the library's."""

from __future__ import annotations

import os
import types
from typing import Any, Callable, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str
MAX_THREADS: int

PathLike = Union[str, os.PathLike]
Image = Union[PathLike, np.ndarray]
Progress = Union[None, bool, Callable[["ProgressEvent"], Any]]
ClassArg = Union[None, str, int]
Box = Tuple[int, int, int, int]

datasets: types.ModuleType

class ProgressEvent:
    """One progress report of a stage."""
    @property
    def kind(self) -> Literal["start", "step", "finish", "note"]: ...
    @property
    def stage(self) -> str: ...
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def text(self) -> str: ...
    def __iter__(self) -> Iterator[Union[str, int]]: ...

class _Options:
    def to_dict(self) -> Dict[str, Any]: ...
    @staticmethod
    def defaults() -> Dict[str, Any]: ...
    @staticmethod
    def names() -> List[str]: ...
    def replace(self, **options: Any) -> Any: ...
    def validate(self) -> None: ...

class FitOptions(_Options):
    """Options of fit(): the encoding (dense SIFT; codebook, mapping, pooling for bag-of-words; PCA, mixture, pyramid for fisher-vector), the head, kernel, SVM and run options, as flat keyword knobs over bowlrp::model::FitOptions."""
    encoding: str
    head: Optional[str]
    seed: int
    words: int
    samples: int
    kmeans_iterations: int
    kmeans_algorithm: str
    kmeans_tolerance: float
    max_side: int
    max_pixels: int
    bin_sizes: Tuple[int, ...]
    step: int
    magnif: float
    contrast_threshold: float
    window_size: float
    fast: bool
    mapping: str
    neighbours: int
    beta: float
    rank_decay: float
    pooling: str
    pyramid: str
    normalisation: str
    hellinger: bool
    pca: int
    root_sift: bool
    append_xy: bool
    components: int
    fisher_samples: int
    fisher_iterations: int
    posterior_threshold: float
    fisher_pyramid: str
    skip_zeroed: bool
    fisher_C: float
    vlad_words: int
    vlad_samples: int
    vlad_iterations: int
    vlad_root_sift: bool
    signed_sqrt: bool
    intra_normalisation: bool
    vlad_pyramid: str
    kernel: str
    gamma: float
    C: float
    class_C: Tuple[float, ...]
    balanced: bool
    epsilon: float
    cache_mb: float
    hidden: Tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    dropout: float
    map_order: int
    map_period: float
    mirror_training: Optional[bool]
    threads: int
    cache_dir: str
    training_accuracy: bool
    def __init__(self, *, encoding: str = ..., head: Optional[str] = ..., seed: int = ..., words: int = ..., samples: int = ..., kmeans_iterations: int = ..., kmeans_algorithm: str = ..., kmeans_tolerance: float = ..., max_side: int = ..., max_pixels: int = ..., bin_sizes: Tuple[int, ...] = ..., step: int = ..., magnif: float = ..., contrast_threshold: float = ..., window_size: float = ..., fast: bool = ..., mapping: str = ..., neighbours: int = ..., beta: float = ..., rank_decay: float = ..., pooling: str = ..., pyramid: str = ..., normalisation: str = ..., hellinger: bool = ..., pca: int = ..., root_sift: bool = ..., append_xy: bool = ..., components: int = ..., fisher_samples: int = ..., fisher_iterations: int = ..., posterior_threshold: float = ..., fisher_pyramid: str = ..., skip_zeroed: bool = ..., fisher_C: float = ..., vlad_words: int = ..., vlad_samples: int = ..., vlad_iterations: int = ..., vlad_root_sift: bool = ..., signed_sqrt: bool = ..., intra_normalisation: bool = ..., vlad_pyramid: str = ..., kernel: str = ..., gamma: float = ..., C: float = ..., class_C: Tuple[float, ...] = ..., balanced: bool = ..., epsilon: float = ..., cache_mb: float = ..., hidden: Tuple[int, ...] = ..., epochs: int = ..., batch_size: int = ..., learning_rate: float = ..., weight_decay: float = ..., dropout: float = ..., map_order: int = ..., map_period: float = ..., mirror_training: Optional[bool] = ..., threads: int = ..., cache_dir: str = ..., training_accuracy: bool = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class Rules(_Options):
    """The relevance rules (a zennit-like composite): the SVM layer's and the Fisher-vector layer's ε."""
    bias: str
    svm_rule: str
    ig_nodes: int
    ig_segments: int
    ig_max_segments: int
    ig_tolerance: float
    root_bisections: int
    root_tolerance: float
    root_candidates: int
    root_scan_steps: int
    fisher_epsilon: float
    rule: str
    def __init__(self, *, bias: str = ..., svm_rule: str = ..., ig_nodes: int = ..., ig_segments: int = ..., ig_max_segments: int = ..., ig_tolerance: float = ..., root_bisections: int = ..., root_tolerance: float = ..., root_candidates: int = ..., root_scan_steps: int = ..., fisher_epsilon: float = ..., rule: str = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class ExplainOptions(_Options):
    """Options of Model.explain: the rules, the conservation verdict and threads."""
    bias: str
    svm_rule: str
    ig_nodes: int
    ig_segments: int
    ig_max_segments: int
    ig_tolerance: float
    root_bisections: int
    root_tolerance: float
    root_candidates: int
    root_scan_steps: int
    fisher_epsilon: float
    rule: str
    residual_warning: float
    tolerance: float
    threads: int
    training_images: int
    def __init__(self, *, bias: str = ..., svm_rule: str = ..., ig_nodes: int = ..., ig_segments: int = ..., ig_max_segments: int = ..., ig_tolerance: float = ..., root_bisections: int = ..., root_tolerance: float = ..., root_candidates: int = ..., root_scan_steps: int = ..., fisher_epsilon: float = ..., rule: str = ..., residual_warning: float = ..., tolerance: float = ..., threads: int = ..., training_images: int = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class HeatmapOptions(_Options):
    """Options of the library's heatmap rendering (the CLI's PNGs)."""
    colormap: str
    scaling: str
    percentile: float
    view: str
    mask_top_percent: float
    mask_dim: float
    edge_low: float
    edge_high: float
    def __init__(self, *, colormap: str = ..., scaling: str = ..., percentile: float = ..., view: str = ..., mask_top_percent: float = ..., mask_dim: float = ..., edge_low: float = ..., edge_high: float = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class QualityOptions(_Options):
    """Settings of the explanation-quality measurements (pixel flipping, occlusion, rules)."""
    region_size: int
    steps: int
    regions_per_step: int
    random_orders: int
    flip_seed: int
    flip_fill: str
    flip_blur_sigma: float
    lerf: bool
    methods: List[str]
    occlusion_patch: int
    occlusion_seed: int
    faithfulness_subsets: int
    faithfulness_regions: int
    randomisation: bool
    robustness_samples: int
    robustness_noise: float
    robustness_shift: float
    bias: str
    svm_rule: str
    ig_nodes: int
    ig_segments: int
    ig_max_segments: int
    ig_tolerance: float
    root_bisections: int
    root_tolerance: float
    root_candidates: int
    root_scan_steps: int
    fisher_epsilon: float
    rule: str
    def __init__(self, *, region_size: int = ..., steps: int = ..., regions_per_step: int = ..., random_orders: int = ..., flip_seed: int = ..., flip_fill: str = ..., flip_blur_sigma: float = ..., lerf: bool = ..., methods: List[str] = ..., occlusion_patch: int = ..., occlusion_seed: int = ..., faithfulness_subsets: int = ..., faithfulness_regions: int = ..., randomisation: bool = ..., robustness_samples: int = ..., robustness_noise: float = ..., robustness_shift: float = ..., bias: str = ..., svm_rule: str = ..., ig_nodes: int = ..., ig_segments: int = ..., ig_max_segments: int = ..., ig_tolerance: float = ..., root_bisections: int = ..., root_tolerance: float = ..., root_candidates: int = ..., root_scan_steps: int = ..., fisher_epsilon: float = ..., rule: str = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class FolderEvaluationOptions(_Options):
    """Options of evaluate_folder."""
    masks: str
    no_masks: bool
    explain: int
    gallery: int
    region_size: int
    steps: int
    regions_per_step: int
    random_orders: int
    flip_seed: int
    flip_fill: str
    flip_blur_sigma: float
    lerf: bool
    methods: List[str]
    occlusion_patch: int
    occlusion_seed: int
    faithfulness_subsets: int
    faithfulness_regions: int
    randomisation: bool
    robustness_samples: int
    robustness_noise: float
    robustness_shift: float
    bias: str
    svm_rule: str
    ig_nodes: int
    ig_segments: int
    ig_max_segments: int
    ig_tolerance: float
    root_bisections: int
    root_tolerance: float
    root_candidates: int
    root_scan_steps: int
    fisher_epsilon: float
    rule: str
    threads: int
    cache_dir: str
    def __init__(self, *, masks: str = ..., no_masks: bool = ..., explain: int = ..., gallery: int = ..., region_size: int = ..., steps: int = ..., regions_per_step: int = ..., random_orders: int = ..., flip_seed: int = ..., flip_fill: str = ..., flip_blur_sigma: float = ..., lerf: bool = ..., methods: List[str] = ..., occlusion_patch: int = ..., occlusion_seed: int = ..., faithfulness_subsets: int = ..., faithfulness_regions: int = ..., randomisation: bool = ..., robustness_samples: int = ..., robustness_noise: float = ..., robustness_shift: float = ..., bias: str = ..., svm_rule: str = ..., ig_nodes: int = ..., ig_segments: int = ..., ig_max_segments: int = ..., ig_tolerance: float = ..., root_bisections: int = ..., root_tolerance: float = ..., root_candidates: int = ..., root_scan_steps: int = ..., fisher_epsilon: float = ..., rule: str = ..., threads: int = ..., cache_dir: str = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class VocProtocolOptions(_Options):
    """Options of run_voc_protocol: the sets, the fit and the quality settings."""
    root: str
    train_set: str
    test_set: str
    classes: List[str]
    max_images: int
    explain: int
    gallery: int
    person_boxes_missing: str
    encoding: str
    head: Optional[str]
    seed: int
    words: int
    samples: int
    kmeans_iterations: int
    kmeans_algorithm: str
    kmeans_tolerance: float
    max_side: int
    max_pixels: int
    bin_sizes: Tuple[int, ...]
    step: int
    magnif: float
    contrast_threshold: float
    window_size: float
    fast: bool
    mapping: str
    neighbours: int
    beta: float
    rank_decay: float
    pooling: str
    pyramid: str
    normalisation: str
    hellinger: bool
    pca: int
    root_sift: bool
    append_xy: bool
    components: int
    fisher_samples: int
    fisher_iterations: int
    posterior_threshold: float
    fisher_pyramid: str
    skip_zeroed: bool
    fisher_C: float
    vlad_words: int
    vlad_samples: int
    vlad_iterations: int
    vlad_root_sift: bool
    signed_sqrt: bool
    intra_normalisation: bool
    vlad_pyramid: str
    kernel: str
    gamma: float
    C: float
    class_C: Tuple[float, ...]
    balanced: bool
    epsilon: float
    cache_mb: float
    hidden: Tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    dropout: float
    map_order: int
    map_period: float
    mirror_training: Optional[bool]
    threads: int
    cache_dir: str
    training_accuracy: bool
    region_size: int
    steps: int
    regions_per_step: int
    random_orders: int
    flip_fill: str
    flip_blur_sigma: float
    lerf: bool
    methods: List[str]
    occlusion_patch: int
    faithfulness_subsets: int
    faithfulness_regions: int
    randomisation: bool
    robustness_samples: int
    robustness_noise: float
    robustness_shift: float
    bias: str
    svm_rule: str
    ig_nodes: int
    ig_segments: int
    ig_max_segments: int
    ig_tolerance: float
    root_bisections: int
    root_tolerance: float
    root_candidates: int
    root_scan_steps: int
    fisher_epsilon: float
    rule: str
    def __init__(self, *, root: str = ..., train_set: str = ..., test_set: str = ..., classes: List[str] = ..., max_images: int = ..., explain: int = ..., gallery: int = ..., person_boxes_missing: str = ..., encoding: str = ..., head: Optional[str] = ..., seed: int = ..., words: int = ..., samples: int = ..., kmeans_iterations: int = ..., kmeans_algorithm: str = ..., kmeans_tolerance: float = ..., max_side: int = ..., max_pixels: int = ..., bin_sizes: Tuple[int, ...] = ..., step: int = ..., magnif: float = ..., contrast_threshold: float = ..., window_size: float = ..., fast: bool = ..., mapping: str = ..., neighbours: int = ..., beta: float = ..., rank_decay: float = ..., pooling: str = ..., pyramid: str = ..., normalisation: str = ..., hellinger: bool = ..., pca: int = ..., root_sift: bool = ..., append_xy: bool = ..., components: int = ..., fisher_samples: int = ..., fisher_iterations: int = ..., posterior_threshold: float = ..., fisher_pyramid: str = ..., skip_zeroed: bool = ..., fisher_C: float = ..., vlad_words: int = ..., vlad_samples: int = ..., vlad_iterations: int = ..., vlad_root_sift: bool = ..., signed_sqrt: bool = ..., intra_normalisation: bool = ..., vlad_pyramid: str = ..., kernel: str = ..., gamma: float = ..., C: float = ..., class_C: Tuple[float, ...] = ..., balanced: bool = ..., epsilon: float = ..., cache_mb: float = ..., hidden: Tuple[int, ...] = ..., epochs: int = ..., batch_size: int = ..., learning_rate: float = ..., weight_decay: float = ..., dropout: float = ..., map_order: int = ..., map_period: float = ..., mirror_training: Optional[bool] = ..., threads: int = ..., cache_dir: str = ..., training_accuracy: bool = ..., region_size: int = ..., steps: int = ..., regions_per_step: int = ..., random_orders: int = ..., flip_fill: str = ..., flip_blur_sigma: float = ..., lerf: bool = ..., methods: List[str] = ..., occlusion_patch: int = ..., faithfulness_subsets: int = ..., faithfulness_regions: int = ..., randomisation: bool = ..., robustness_samples: int = ..., robustness_noise: float = ..., robustness_shift: float = ..., bias: str = ..., svm_rule: str = ..., ig_nodes: int = ..., ig_segments: int = ..., ig_max_segments: int = ..., ig_tolerance: float = ..., root_bisections: int = ..., root_tolerance: float = ..., root_candidates: int = ..., root_scan_steps: int = ..., fisher_epsilon: float = ..., rule: str = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...
class FitReport:
    @property
    def skipped(self) -> List[Tuple[str, str]]: ...
    @property
    def used(self) -> int: ...
    @property
    def training_accuracy(self) -> float: ...
    @property
    def times(self) -> Dict[str, float]: ...
    @property
    def histograms(self) -> npt.NDArray[np.float64]: ...
    @property
    def encoded(self) -> npt.NDArray[np.bool_]: ...

class Predictions:
    @property
    def scores(self) -> npt.NDArray[np.float64]: ...
    @property
    def top(self) -> npt.NDArray[np.int64]: ...
    @property
    def labels(self) -> List[Optional[str]]: ...
    @property
    def ok(self) -> npt.NDArray[np.bool_]: ...
    @property
    def errors(self) -> List[str]: ...
    @property
    def class_names(self) -> List[str]: ...
    def __len__(self) -> int: ...

class ConservationReport:
    f: float
    sum_dimensions: float
    sum_features: float
    sum_pixels: float
    absorbed: float
    residual: float
    unassigned_features: float
    absorbed_features: float
    unassigned_pixels: float
    relative_residual: float
    method: str
    root_found: bool
    f_root: float
    quadrature_error: float
    finite: bool
    tolerance: float
    svm_conserved: bool
    features_conserved: bool
    pixels_conserved: bool
    network_conserved: bool  # mlp heads (True for SVM heads)
    projection: bool  # the model has an artefact projection (sum_dimensions is then over Φ')
    sum_projected: float  # Σ_d R_d on the encoding Φ
    absorbed_projection: float  # what the artefact projection absorbed
    projection_conserved: bool
    # mlp heads, input layer first: dicts rule, inputs, outputs, upper, lower, absorbed, relative_residual,
    # conserved (empty for SVM heads)
    network_layers: List[Dict[str, Any]]
    ok: bool
    lower_layers_ok: bool
    def summary(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Explanation:
    index: int
    path: str
    error: str
    warning: str
    ok: bool
    class_name: str
    class_index: int
    scores: npt.NDArray[np.float64]
    score: float
    bias: float
    absorbed: float
    residual: float
    method: str
    root_found: bool
    f_root: float
    quadrature_error: float
    quadrature_segments: int
    relevance: npt.NDArray[np.float64]
    width: int
    height: int
    pixel_unassigned: float
    dimension_relevance: npt.NDArray[np.float64]
    root: npt.NDArray[np.float64]
    feature_relevance: npt.NDArray[np.float64]
    feature_unassigned: float
    absorbed_features: float
    per_word: npt.NDArray[np.float64]
    per_cell: npt.NDArray[np.float64]
    frames: np.ndarray
    feature_positions: npt.NDArray[np.float64]
    feature_sizes: npt.NDArray[np.float64]
    n_features: int
    conservation: ConservationReport
    # mlp heads, input layer first: dicts rule, inputs, outputs, upper, lower, absorbed, with
    # upper = lower + absorbed and score = Σ dimension_relevance + Σ absorbed (empty for SVM heads)
    network_layers: List[Dict[str, Any]]
    # training_images=K (kernel-SVM heads): dicts support_index, contribution, share, path, mirrored, relevance
    # (H x W matching map, None for rbf / expchi2), training_relevance (on the training file, or None) and
    # training_error (why not, or None); [] otherwise
    supporting: List[Dict[str, Any]]
    opposing: List[Dict[str, Any]]
    totals: Dict[str, float]
    def check_conservation(self, rel_tol: float = ...) -> ConservationReport: ...
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class SupportContributions:
    """A kernel-SVM score split over the support vectors: score = bias + Σ_i contributions[i]."""
    class_name: str
    class_index: int
    contributions: npt.NDArray[np.float64]  # S, the order of the model file's support_vectors
    bias: float
    score: float
    def total(self) -> float: ...
    def top_supporting(self, k: int = 10) -> npt.NDArray[np.int64]: ...
    def top_opposing(self, k: int = 10) -> npt.NDArray[np.int64]: ...

class ArtefactProjection:
    def __init__(self, direction: npt.ArrayLike, reference: npt.ArrayLike, clamp: str = "none") -> None: ...
    @staticmethod
    def from_encodings(with_artefact: npt.ArrayLike, without_artefact: npt.ArrayLike, clamp: str = "none") -> ArtefactProjection: ...
    direction: npt.NDArray[np.float64]  # v, unit length
    reference: npt.NDArray[np.float64]  # z
    clamp: str  # "none" | "non-negative"
    dimension: int
    def project(self, encodings: npt.ArrayLike) -> npt.NDArray[np.float64]: ...

class Model:
    @staticmethod
    def load(path: PathLike) -> Model: ...
    def save(self, path: PathLike) -> None: ...
    class_names: List[str]
    n_classes: int
    dimension: int
    encoding: Literal["bag-of-words", "fisher-vector"]
    head: Literal["kernel-svm", "linear-svm", "mlp"]
    encoding_kind: str
    head_kind: str
    encoding_summary: str
    head_summary: str
    # Properties of one kind of model only: AttributeError on the others.
    words: int  # bag-of-words
    components: int  # fisher-vector
    pca_dimension: int  # fisher-vector
    descriptor_dimension: int  # fisher-vector
    fisher_parameters: Dict[str, npt.NDArray[np.float64]]  # fisher-vector
    support_size: int  # kernel-svm
    kernel: str  # kernel-svm
    gamma: float  # kernel-svm
    weights: npt.NDArray[np.float64]  # linear-svm, C x V
    # mlp, input layer first: {"weights": n_l x n_{l-1}, "biases": n_l}, read-only views;
    # z_l = weights @ a + biases, a = max(0, z) between layers, f = z_L
    layers: List[Dict[str, npt.NDArray[np.float64]]]
    hidden_sizes: Tuple[int, ...]  # mlp
    biases: npt.NDArray[np.float64]  # b_c of every class (the output layer's biases for mlp)
    head_parameter_layers: int  # layers cascading randomisation replaces (SVMs 1; mlp its layers)
    fingerprint: str
    def with_randomised_head(self, layers: int, seed: int = 0) -> Model: ...
    def with_artefact_projection(self, projection: ArtefactProjection) -> Model: ...
    def without_artefact_projection(self) -> Model: ...
    artefact_projection: Optional[ArtefactProjection]
    def class_index(self, name: str) -> int: ...
    def fit_options(self) -> FitOptions: ...
    def predict(self, images: Union[Image, Sequence[Image]], *, threads: int = 0, cache_dir: str = "",
                progress: Progress = None) -> Predictions: ...
    def scores(self, image: Image, *, threads: int = 0) -> npt.NDArray[np.float64]: ...
    def encode(self, image: Image) -> npt.NDArray[np.float64]: ...
    def decision(self, histograms: npt.ArrayLike, *, threads: int = 0) -> npt.NDArray[np.float64]: ...
    @overload
    def explain(self, images: Image, class_: ClassArg = None, *, options: Optional[ExplainOptions] = None,
                progress: Progress = None, **options_kw: Any) -> Explanation: ...
    @overload
    def explain(self, images: Sequence[Image], class_: ClassArg = None, *, options: Optional[ExplainOptions] = None,
                progress: Progress = None, **options_kw: Any) -> List[Explanation]: ...
    # Training-image attribution, kernel-SVM heads only (ValueError otherwise).
    training_images: List[Dict[str, Any]]  # per support vector: {"path", "mirrored"}; [] when not recorded
    def support_contributions(self, encoding: npt.ArrayLike, class_: Union[str, int]) -> SupportContributions: ...
    def support_dimension_relevance(self, encoding: npt.ArrayLike, class_: Union[str, int],
                                    support_index: int) -> npt.NDArray[np.float64]: ...
    # {"support_index", "contribution", "dimension_relevance", "test": {...}, "training": {...}}, the inner dicts
    # holding relevance (H x W), feature_relevance, feature_unassigned, absorbed_features, pixel_unassigned
    def support_pixel_maps(self, image: Image, training_image: Image, class_: Union[str, int], support_index: int, *,
                           rules: Optional[Rules] = None, **rules_kw: Any) -> Dict[str, Any]: ...

def load(path: PathLike) -> Model: ...
def fit(data: Union[PathLike, Sequence[Image]], labels: Optional[Union[Sequence[Union[str, int]], np.ndarray]] = None, *,
        class_names: Optional[Sequence[str]] = None, options: Optional[FitOptions] = None, progress: Progress = None,
        report: bool = False, **options_kw: Any) -> Any: ...
def fit_voc(root: PathLike, image_set: str = "train", classes: Sequence[str] = ..., *, options: Optional[FitOptions] = None,
            progress: Progress = None, report: bool = False, **options_kw: Any) -> Any: ...
def resolve_threads(threads: int = 0) -> int: ...
def read_image(path: PathLike) -> npt.NDArray[np.uint8]: ...
def write_png(path: PathLike, image: np.ndarray) -> None: ...

def render_heatmap(relevance: Union[Explanation, npt.ArrayLike], image: Optional[Image] = None, *,
                   options: Optional[HeatmapOptions] = None, **options_kw: Any) -> npt.NDArray[np.uint8]: ...
def write_heatmap_png(path: PathLike, relevance: Union[Explanation, npt.ArrayLike], image: Optional[Image] = None, *,
                      options: Optional[HeatmapOptions] = None, **options_kw: Any) -> None: ...
def write_heatmap_files(base: PathLike, relevance: Union[Explanation, npt.ArrayLike], image: Optional[Image] = None, *,
                        views: Union[str, Sequence[str]] = "heatmap", options: Optional[HeatmapOptions] = None,
                        **options_kw: Any) -> None: ...
def write_npy(path: PathLike, relevance: Union[Explanation, npt.ArrayLike]) -> None: ...
def colormap_names() -> List[str]: ...
def apply_colormap(values: npt.ArrayLike, colormap: str = "bwr") -> npt.NDArray[np.uint8]: ...

class Localisation:
    relevance_share: float
    area_share: float
    positive_total: float
    share_defined: bool
    pointing_hit: bool
    pointing_defined: bool
    point: Tuple[int, int]
    def to_dict(self) -> Dict[str, Any]: ...

class LocalisationSummary:
    images: int
    share_images: int
    mean_relevance_share: float
    mean_area_share: float
    hits: int
    pointing_accuracy: float
    def to_dict(self) -> Dict[str, Any]: ...

class MeanInterval:
    n: int
    mean: float
    sd: float
    half_width: float
    level: float

def mean_interval(values: Sequence[float], level: float = 0.95) -> MeanInterval: ...
def spearman_correlation(a: npt.ArrayLike, b: npt.ArrayLike) -> float: ...
def map_ssim(a: npt.ArrayLike, b: npt.ArrayLike) -> float: ...

class RandomisationLevel:
    name: str
    layers: int
    compared_class: int
    spearman: Dict[str, float]
    ssim: Dict[str, float]

def randomisation_check(model: Model, image: Image, class_: ClassArg = None, *, seed: int = 0,
                        options: Optional[QualityOptions] = None, **options_kw: Any) -> List[RandomisationLevel]: ...

class QualityResult:
    curves: Dict[str, npt.NDArray[np.float64]]
    aopc: Dict[str, float]
    localisation: Dict[str, Localisation]
    metrics: Dict[str, Dict[str, float]]
    conservation_error: float
    error: str
    ok: bool

class QualityTotals:
    max_conservation_error: float
    explained: int
    def __init__(self) -> None: ...
    def add(self, result: QualityResult) -> None: ...
    def aopc(self) -> Dict[str, float]: ...
    def localisation_summaries(self) -> Dict[str, LocalisationSummary]: ...
    def metric_summaries(self) -> Dict[str, Dict[str, MeanInterval]]: ...
    def names(self) -> List[str]: ...
    def mean_curve(self, name: str) -> npt.NDArray[np.float64]: ...
    def count(self, name: str) -> int: ...

def aopc(curve: Sequence[float]) -> float: ...
def compare_fix(before: Model, after: Model, class_name: str, regions: Sequence[Dict[str, Any]], others: Sequence[str],
                test_images: Sequence[str] = ..., test_labels: Sequence[str] = ..., *, seed: int = 0, fill: str = "mean",
                threads: int = 0) -> Dict[str, Any]: ...
def summarise(scores: Sequence[Localisation]) -> LocalisationSummary: ...
def localise(relevance: Union[Explanation, npt.ArrayLike], mask: Optional[npt.ArrayLike] = None,
             boxes: Optional[Sequence[Box]] = None, *, voc_boxes: bool = False, void: Optional[npt.ArrayLike] = None,
             sigma: float = ..., tolerance: float = ...) -> Localisation: ...
def sparseness(relevance: Union[Explanation, npt.ArrayLike]) -> float: ...
def complexity(relevance: Union[Explanation, npt.ArrayLike]) -> float: ...
def relevance_mass_accuracy(relevance: Union[Explanation, npt.ArrayLike], mask: npt.ArrayLike, *,
                            void: Optional[npt.ArrayLike] = None) -> float: ...
def relevance_rank_accuracy(relevance: Union[Explanation, npt.ArrayLike], mask: npt.ArrayLike, *,
                            void: Optional[npt.ArrayLike] = None) -> float: ...
def mask_auc(relevance: Union[Explanation, npt.ArrayLike], mask: npt.ArrayLike, *,
             void: Optional[npt.ArrayLike] = None) -> float: ...
def pointing_game(relevance: Union[Explanation, npt.ArrayLike], mask: npt.ArrayLike, *, tolerance: float = ...,
                  void: Optional[npt.ArrayLike] = None) -> bool: ...
def lerf_morf_area(fractions: Sequence[float], lerf: Sequence[float], morf: Sequence[float]) -> float: ...
def evaluate_explanation(model: Model, image: Image, class_: ClassArg = None, *,
                         mask: Union[None, npt.ArrayLike, Mapping[str, npt.ArrayLike]] = None,
                         boxes: Optional[Sequence[Box]] = None, voc_boxes: bool = False,
                         void: Optional[npt.ArrayLike] = None, options: Optional[QualityOptions] = None,
                         **options_kw: Any) -> QualityResult: ...
def evaluate_explanations(model: Model, jobs: Sequence[Union[Tuple[PathLike, Union[str, int]], Mapping[str, Any]]], *,
                          threads: int = 0, progress: Progress = None, options: Optional[QualityOptions] = None,
                          **options_kw: Any) -> List[QualityResult]: ...

class FolderEvaluation:
    classes: List[str]
    paths: List[str]
    truth: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]
    predicted: npt.NDArray[np.int64]
    ok: npt.NDArray[np.bool_]
    failures: List[Tuple[str, str]]
    accuracy: float
    confusion: npt.NDArray[np.int64]
    ap: npt.NDArray[np.float64]
    ap_area: npt.NDArray[np.float64]
    map: float
    map_area: float
    masks: str
    masked_images: int
    relevance_in_mask: npt.NDArray[np.float64]
    mask_area: npt.NDArray[np.float64]
    mean_relevance_in_mask: float
    mean_mask_area: float
    max_conservation_error: float
    gallery: List[Dict[str, Any]]
    explained_images: npt.NDArray[np.int64]
    quality_results: List[QualityResult]
    quality: QualityTotals
    quality_per_class: Dict[str, QualityTotals]
    timings: Dict[str, float]

def evaluate_folder(model: Model, data: PathLike, *, options: Optional[FolderEvaluationOptions] = None,
                    progress: Progress = None, **options_kw: Any) -> FolderEvaluation: ...

class GalleryItem:
    group: str
    id: str
    class_name: str
    score: float
    label: int
    image: npt.NDArray[np.uint8]
    heatmap: npt.NDArray[np.uint8]
    note: str

class VocEvaluation:
    classes: List[str]
    test_ids: List[str]
    scores: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int32]
    ap: npt.NDArray[np.float64]
    ap_area: npt.NDArray[np.float64]
    map: float
    map_area: float
    train_images: int
    failed_test: List[Tuple[str, str]]
    skipped_train: List[Tuple[str, str]]
    quality: QualityTotals
    quality_per_class: Dict[str, QualityTotals]
    quality_failures: List[Tuple[str, str]]
    gallery: List[GalleryItem]
    timings: Dict[str, float]
    timing_items: Dict[str, int]
    person_boxes_missing: int
    model: Optional[Model]

def run_voc_protocol(root: Optional[PathLike] = None, *, model: Optional[Model] = None,
                     options: Optional[VocProtocolOptions] = None, progress: Progress = None,
                     **options_kw: Any) -> VocEvaluation: ...

class SprayOptions(_Options):
    """Options of spray(): grid, preprocessing (positive part, normalisation), k-nearest-neighbour graph, Laplacian eigenpairs, clusters (0: eigengap), seeded k-means."""
    grid_width: int
    grid_height: int
    normalisation: str
    positive: bool
    neighbours: int
    eigenvalues: int
    clusters: int
    min_clusters: int
    restarts: int
    max_iterations: int
    seed: int
    def __init__(self, *, grid_width: int = ..., grid_height: int = ..., normalisation: str = ..., positive: bool = ..., neighbours: int = ..., eigenvalues: int = ..., clusters: int = ..., min_clusters: int = ..., restarts: int = ..., max_iterations: int = ..., seed: int = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...

class SprayImagesOptions(_Options):
    """Options of spray_images(): the SpRAy options (k-means seed as kmeans_seed), thumbnails, causal test, rules, threads."""
    grid_width: int
    grid_height: int
    normalisation: str
    positive: bool
    neighbours: int
    eigenvalues: int
    clusters: int
    min_clusters: int
    restarts: int
    max_iterations: int
    kmeans_seed: int
    thumbnail: int
    causal_share: float
    fill: str
    causal_images: int
    flip_region: int
    seed: int
    bias: str
    svm_rule: str
    ig_nodes: int
    ig_segments: int
    ig_max_segments: int
    ig_tolerance: float
    root_bisections: int
    root_tolerance: float
    root_candidates: int
    root_scan_steps: int
    fisher_epsilon: float
    rule: str
    threads: int
    spray: SprayOptions
    def __init__(self, *, spray: SprayOptions = ..., grid_width: int = ..., grid_height: int = ..., normalisation: str = ..., positive: bool = ..., neighbours: int = ..., eigenvalues: int = ..., clusters: int = ..., min_clusters: int = ..., restarts: int = ..., max_iterations: int = ..., kmeans_seed: int = ..., thumbnail: int = ..., causal_share: float = ..., fill: str = ..., causal_images: int = ..., flip_region: int = ..., seed: int = ..., bias: str = ..., svm_rule: str = ..., ig_nodes: int = ..., ig_segments: int = ..., ig_max_segments: int = ..., ig_tolerance: float = ..., root_bisections: int = ..., root_tolerance: float = ..., root_candidates: int = ..., root_scan_steps: int = ..., fisher_epsilon: float = ..., rule: str = ..., threads: int = ...) -> None: ...
    @staticmethod
    def schema() -> List[Dict[str, Any]]: ...
    def replace(self, *, spray: SprayOptions = ..., **options: Any) -> SprayImagesOptions: ...

class SprayResult:
    """What SpRAy found over n maps (arrays are read-only views)."""
    @property
    def images(self) -> int: ...
    @property
    def grid_width(self) -> int: ...
    @property
    def grid_height(self) -> int: ...
    @property
    def eigenvalues(self) -> npt.NDArray[np.float64]: ...
    @property
    def eigengap_clusters(self) -> int: ...
    @property
    def clusters(self) -> int: ...
    @property
    def embedding(self) -> npt.NDArray[np.float64]: ...
    @property
    def labels(self) -> npt.NDArray[np.int64]: ...
    @property
    def sizes(self) -> npt.NDArray[np.int64]: ...
    @property
    def mean_maps(self) -> npt.NDArray[np.float64]: ...
    @property
    def typical(self) -> npt.NDArray[np.int64]: ...
    @property
    def ranked_members(self) -> List[npt.NDArray[np.int64]]: ...
    @property
    def layout(self) -> npt.NDArray[np.float64]: ...
    @property
    def inertia(self) -> float: ...
    def __len__(self) -> int: ...

class SprayCausal:
    """The causal test of one cluster."""
    @property
    def region(self) -> npt.NDArray[np.bool_]: ...
    @property
    def members(self) -> int: ...
    @property
    def others(self) -> int: ...
    @property
    def member_drop(self) -> float: ...
    @property
    def other_drop(self) -> float: ...

class SprayAnalysis:
    """SpRAy over the explanations of one class (arrays are read-only views)."""
    @property
    def paths(self) -> List[str]: ...
    @property
    def cls(self) -> int: ...
    @property
    def class_name(self) -> str: ...
    @property
    def failures(self) -> List[Tuple[str, str]]: ...
    @property
    def analysed(self) -> npt.NDArray[np.int64]: ...
    @property
    def scores(self) -> npt.NDArray[np.float64]: ...
    @property
    def grid_maps(self) -> npt.NDArray[np.float64]: ...
    @property
    def thumbnails(self) -> npt.NDArray[np.float32]: ...
    @property
    def result(self) -> SprayResult: ...
    @property
    def mean_images(self) -> npt.NDArray[np.float32]: ...
    @property
    def causal(self) -> List[SprayCausal]: ...
    @property
    def timings(self) -> Dict[str, float]: ...
    @property
    def grid_width(self) -> int: ...
    @property
    def grid_height(self) -> int: ...
    @property
    def thumbnail(self) -> int: ...

def downsize_map(map: Union[Explanation, npt.ArrayLike], grid_width: int, grid_height: int) -> npt.NDArray[np.float64]: ...
def spray(maps: Union[Sequence[Union[Explanation, npt.ArrayLike]], np.ndarray], options: Optional[SprayOptions] = None,
          **options_kw: Any) -> SprayResult: ...
def spray_images(model: Model, paths: Sequence[PathLike], class_: Union[str, int], *,
                 options: Optional[SprayImagesOptions] = None, progress: Progress = None,
                 **options_kw: Any) -> SprayAnalysis: ...
