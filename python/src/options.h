// The knob tables of the option structs that more than one binding file uses (fit options inside
// the VOC protocol, rules inside the quality options, ...). Defined once, in the file of their area.
#pragma once

#include "bindings.h"

#include <bowlrp/render/heatmap.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/model/fit.h>

#include <memory>

namespace bowlrp::python {

/// FitOptions: words, step, bin_sizes, max_side, pyramid, pooling, mapping, kernel, C, seed, threads, ...
std::shared_ptr<const Knobs<model::FitOptions>> fit_knobs();
/// Composite (the relevance rules): bias, svm_rule, ig_nodes, ...
std::shared_ptr<const Knobs<decompose::Composite>> composite_knobs();
/// ExplainOptions: the rules plus residual_warning, tolerance, threads.
std::shared_ptr<const Knobs<model::ExplainOptions>> explain_knobs();
/// QualityOptions: region_size, steps, random_orders, flip_seed, occlusion_patch, occlusion_seed and the rules.
std::shared_ptr<const Knobs<evaluation::QualityOptions>> quality_knobs();
/// HeatmapOptions: colormap, scaling, percentile, view, mask_top_percent, ...
std::shared_ptr<const Knobs<render::HeatmapOptions>> heatmap_knobs();

}  // namespace bowlrp::python
