// The heatmap options described once (heatmap.h: HeatmapOptions::schema(), HeatmapFileOptions) and
// the files of one explained image.
#include <bowlrp/render/heatmap.h>

#include <bowlrp/core/option_text.h>

#include <algorithm>
#include <stdexcept>

namespace bowlrp::render {

const core::OptionSchema<HeatmapOptions>& HeatmapOptions::schema() {
  using O = HeatmapOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> s = [] {
    core::OptionSchema<O> s;
    s.push_back(core::choice_option<O>(
        "colormap", "--colormap", "diverging colour map", colormap_names(), [](O& o) -> std::string& { return o.colormap; },
        [](const std::string& name) { return name; },
        [](const std::string& name) {
          (void)colormap_bgr(name, 0.0);  // refuses an unknown name, listing the known ones
          return name;
        }));
    s.push_back(core::choice_option<O>(
        "scaling", "--scaling", "divisor s of R: max_abs (max |R|) or percentile (that percentile of |R|)",
        {"max_abs", "percentile"}, [](O& o) -> HeatmapScaling& { return o.scaling; },
        [](HeatmapScaling v) { return to_string(v); }, &heatmap_scaling_from_string));
    s.push_back(core::real_option<O>("percentile", "--percentile",
                                     "percentile of |R| used as s with scaling percentile (100 = max |R|)",
                                     [](O& o) -> double& { return o.percentile; }, OptionRange::left_open(0, 100)));
    s.push_back(core::choice_option<O>(
        "view", "", "heatmap (colours), edges (image edges over the colours) or mask (image where R is in the top q%)",
        {"heatmap", "edges", "mask"}, [](O& o) -> HeatmapView& { return o.view; },
        [](HeatmapView v) { return to_string(v); }, &heatmap_view_from_string));
    s.push_back(core::real_option<O>("mask_top_percent", "--mask-top-percent",
                                     "mask view: keep the top q% pixels with R > 0",
                                     [](O& o) -> double& { return o.mask_top_percent; }, OptionRange::left_open(0, 100)));
    s.push_back(core::real_option<O>("mask_dim", "--mask-dim", "mask view: brightness kept elsewhere",
                                     [](O& o) -> double& { return o.mask_dim; }, OptionRange::closed(0, 1)));
    s.push_back(core::real_option<O>("edge_low", "--edge-low", "edges view: Canny low threshold",
                                     [](O& o) -> double& { return o.edge_low; }, OptionRange::at_least(0)));
    s.push_back(core::real_option<O>("edge_high", "--edge-high", "edges view: Canny high threshold (>= edge_low)",
                                     [](O& o) -> double& { return o.edge_high; }, OptionRange::at_least(0)));
    return s;
  }();
  return s;
}

void HeatmapFileOptions::validate() const {
  if (views.empty()) throw std::invalid_argument("HeatmapFileOptions.views is empty; expected at least one view");
  for (std::size_t i = 0; i < views.size(); ++i) {
    (void)to_string(views[i]);
    if (std::find(views.begin(), views.begin() + static_cast<std::ptrdiff_t>(i), views[i]) != views.begin() + i)
      throw std::invalid_argument("HeatmapFileOptions.views names " + to_string(views[i]) +
                                  " twice; expected each view once");
  }
  heatmap.validate();
}

const core::OptionSchema<HeatmapFileOptions>& HeatmapFileOptions::schema() {
  using O = HeatmapFileOptions;
  static const core::OptionSchema<O> s = [] {
    core::OptionSchema<O> s;
    s.push_back(core::text_form_option<O>(
        "views", "--view", "heatmap | edges | mask, a list of them, or all: one PNG each", core::OptionType::text_list,
        [](O& o) -> std::vector<HeatmapView>& { return o.views; },
        [](const std::vector<HeatmapView>& views) {
          std::string t;
          for (const HeatmapView v : views) t += (t.empty() ? "" : ",") + to_string(v);
          return t;
        },
        [](const std::string& text, const std::string& what) {
          if (text == "all") return std::vector<HeatmapView>{HeatmapView::heatmap, HeatmapView::edges, HeatmapView::mask};
          std::vector<HeatmapView> views;
          for (const std::string& name : core::split_items(text, what))
            views.push_back(core::detail::prefixed(what, [&] { return heatmap_view_from_string(name); }));
          return views;
        }));
    core::append_nested(&s, HeatmapOptions::schema(), [](O& o) -> HeatmapOptions& { return o.heatmap; }, {"view"});
    return s;
  }();
  return s;
}

void write_heatmap_files(const std::string& base, const decompose::PixelRelevance& relevance,
                         const HeatmapFileOptions& options, const Bgr8Image* image) {
  options.validate();
  // Every view is drawn before any file is written, so a view that cannot be drawn (no image) leaves
  // no file behind.
  std::vector<Bgr8Image> drawn;
  for (const HeatmapView view : options.views) {
    HeatmapOptions o = options.heatmap;
    o.view = view;
    drawn.push_back(render_heatmap(relevance, o, image));
  }
  for (std::size_t v = 0; v < drawn.size(); ++v) write_png(base + "." + to_string(options.views[v]) + ".png", drawn[v]);
  write_npy(base + ".relevance.npy", relevance);
}

}  // namespace bowlrp::render
