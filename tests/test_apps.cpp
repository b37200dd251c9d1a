// Suite `apps`: the command-line tool end to end (train -> predict -> explain -> demo), its argument
// parsing, and its handling of bad input. The tool runs as a process where the user-visible
// behaviour (exit code, files, messages) is what is tested.
#include "test_util.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "report/json_out.h"
#include "report/report.h"
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <bowlrp/core/io.h>
#include <bowlrp/core/utf8.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/evaluation/shapes_experiment.h>
#include <bowlrp/model/predict.h>
#include <bowlrp/render/heatmap.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace fs = std::filesystem;
using bowlrp::test::run_cli;
using bowlrp::test::TempDir;

namespace {

// A small folder-per-class set of synthetic shapes: root/images/<class>/*.png.
std::string make_shapes(const TempDir& dir, int per_class, std::vector<std::string> classes = {"circle", "cross", "square"}) {
  bowlrp::datasets::ShapesOptions o;
  o.classes = std::move(classes);
  o.images_per_class = per_class;
  o.width = o.height = 96;
  bowlrp::datasets::write_shapes(o, dir / "shapes");
  return dir / "shapes/images";
}

// Cheap pipeline flags for tests.
const char* kSmall = "--words 32 --step 6 --bin-sizes 4,6 --kmeans-samples 5000 --quiet";

// Trains a model with the kSmall flags (after `flags`) on root into dir/name; the test stops, showing
// the tool's output, if training fails.
std::string train_small_model(const TempDir& dir, const std::string& root, const std::string& name = "m.bowlrp",
                              const std::string& flags = "") {
  const std::string model = dir / name;
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli("train --data '" + root + "' --out '" + model + "' " + flags + kSmall, &out) == 0, out);
  return model;
}

bowlrp::apps::PipelineArgs small_args() {
  bowlrp::apps::PipelineArgs p;
  p.flags.give("words", "32");
  p.flags.give("step", "6");
  p.flags.give("bin_sizes", "4,6");
  p.flags.give("samples", "5000");
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(apps)

BOOST_AUTO_TEST_CASE(argument_parsing_names_the_flag) {
  using namespace bowlrp::apps;
  auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  PipelineArgs p;
  p.flags.give("C", "0");
  BOOST_TEST(message([&] { p.fit_options(); }) == "--C '0': expected a value > 0");
  p = PipelineArgs();
  p.flags.give("kernel", "poly");
  BOOST_TEST(message([&] { p.fit_options(); }).rfind("--kernel: unknown kernel 'poly'", 0) == 0);
  p = PipelineArgs();
  p.flags.give("bin_sizes", "4,,6");
  BOOST_TEST(message([&] { p.fit_options(); }).find("--bin-sizes '4,,6': expected whole numbers 1 .. 256") == 0);
  p = PipelineArgs();
  p.flags.give("seed", "-1");
  BOOST_TEST(message([&] { p.fit_options(); }).find("--seed '-1'") == 0);
  // The command line's defaults are the library's, text flags included, and every option's text
  // form reads back as itself.
  const PipelineArgs d;
  const bowlrp::model::FitOptions lib, cli = d.fit_options();
  const auto& schema = bowlrp::model::FitOptions::schema();
  BOOST_TEST(bowlrp::core::find_option(schema, "pyramid")->get(lib).value() == "1x1,2x2");
  BOOST_TEST(bowlrp::core::find_option(schema, "bin_sizes")->get(lib).value() == "4,6,8,10");
  BOOST_TEST(bowlrp::core::find_option(schema, "pooling")->get(lib).value() == "sum");
  for (const auto& o : schema) BOOST_TEST((o.get(cli) == o.get(lib)), o.name);
  BOOST_TEST(bowlrp::bow::canonical_codebook_options(cli.pipeline) == bowlrp::bow::canonical_codebook_options(lib.pipeline));
  BOOST_TEST(cli.svm.C == lib.svm.C);
  BOOST_TEST(bowlrp::svm::to_string(cli.kernel.type) == bowlrp::svm::to_string(lib.kernel.type));
  // --seed seeds every random choice.
  p = PipelineArgs();
  p.flags.give("seed", "18446744073709551615");
  const bowlrp::model::FitOptions seeded = p.fit_options();
  BOOST_TEST(seeded.pipeline.kmeans.seed == 18446744073709551615ull);
  BOOST_TEST(seeded.fisher.seed == seeded.pipeline.kmeans.seed);
  BOOST_TEST(seeded.vlad.seed == seeded.pipeline.kmeans.seed);
  BOOST_TEST(seeded.network.seed == seeded.pipeline.kmeans.seed);
  // Mirrored training: neither flag keeps the encoding's default, each flag says it, both are refused.
  BOOST_TEST(!cli.mirror_training.has_value());
  CLI::App app;
  PipelineArgs parsed;
  parsed.flags.add_to(&app);
  app.parse("--encoding fisher --no-mirror-training --no-xy --hidden none", false);
  const bowlrp::model::FitOptions f = parsed.fit_options();
  BOOST_TEST(f.encoding == "fisher-vector");
  BOOST_TEST(!f.mirrors());
  BOOST_TEST(!f.fisher.append_xy);
  BOOST_TEST(f.network.hidden.empty());
  CLI::App app2;
  PipelineArgs both;
  both.flags.add_to(&app2);
  app2.parse("--no-mirror-training --mirror-training", false);
  BOOST_TEST(message([&] { both.fit_options(); }) ==
             "--mirror-training and --no-mirror-training: expected at most one of them");
}

// Every option with a flag in the library's schemas is on the commands that take those options, with
// its help line, and a flag value is checked by the schema's parser and range (exit 1, flag named).
BOOST_AUTO_TEST_CASE(commands_offer_every_schema_flag) {
  std::string out;
  const auto offers = [&](const std::string& command, const auto& schema) {
    BOOST_REQUIRE(run_cli(command + " --help", &out) == 0);
    for (const auto& o : schema) {
      if (o.flag.empty()) continue;
      BOOST_TEST(out.find(o.flag) != std::string::npos, command << " lacks " << o.flag);
      BOOST_TEST(out.find(o.help) != std::string::npos, command << " lacks the help of " << o.flag);
    }
  };
  offers("train", bowlrp::model::FitOptions::schema());
  offers("voc", bowlrp::evaluation::VocProtocolOptions::schema());  // the fit and quality options among them
  offers("evaluate", bowlrp::evaluation::FolderEvaluationOptions::schema());
  offers("explain", bowlrp::model::ExplainOptions::schema());
  offers("explain", bowlrp::render::HeatmapFileOptions::schema());
  offers("spray", bowlrp::evaluation::SprayImagesOptions::schema());
  offers("demo", bowlrp::evaluation::ShapesExperimentOptions::schema());
  BOOST_TEST(run_cli("train --data x --out y --magnif 0", &out) == 1);
  BOOST_TEST(out.find("--magnif '0': expected a value >= 0.01") != std::string::npos, out);
  BOOST_TEST(run_cli("spray --model m --class c --out o --grid-width 0 x", &out) == 1);
  BOOST_TEST(out.find("--grid-width '0': expected a value >= 1") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(train_predict_round_trip_gives_identical_scores) {
  TempDir dir;
  const std::string root = make_shapes(dir, 12);
  const std::string model = dir / "m.bowlrp";
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli("train --data '" + root + "' --out '" + model + "' " + kSmall, &out) == 0, out);
  BOOST_TEST(out.find("training accuracy") != std::string::npos);
  BOOST_TEST(out.find("classes    3") != std::string::npos);
  // Scores in memory before saving equal the CLI's scores after loading the file, to the last bit.
  const std::string json = dir / "scores.json";
  BOOST_REQUIRE_MESSAGE(run_cli("predict --quiet --model '" + model + "' --json '" + json + "' '" + root + "'", &out) == 0, out);
  const nlohmann::json scores = nlohmann::json::parse(bowlrp::core::read_file(json));
  BOOST_TEST(scores.size() == 36u);
  const bowlrp::model::Model loaded = bowlrp::model::Model::load(model);
  const bowlrp::bow::Pipeline& pipeline = loaded.encoding_as<bowlrp::bow::Pipeline>();
  for (const auto& item : scores) {
    const std::vector<double> f = loaded.head_as<bowlrp::svm::KernelSvm>().decision(pipeline.encode_file(item["image"].get<std::string>()).histogram().data());
    for (std::size_t c = 0; c < f.size(); ++c)
      BOOST_TEST(item["scores"][loaded.head_as<bowlrp::svm::KernelSvm>().classes()[c].name].get<double>() == f[c]);
    BOOST_TEST(item.contains("predicted"));
  }
  // Save -> load -> save gives the same bytes; decisions of the reloaded model are identical.
  const std::string again = dir / "again.bowlrp";
  loaded.save(again);
  BOOST_TEST(bowlrp::core::read_file(again) == bowlrp::core::read_file(model));
}

BOOST_AUTO_TEST_CASE(training_is_independent_of_thread_count) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const auto set = bowlrp::datasets::FolderDataset::scan(root);
  const bowlrp::model::LabelledImages data = bowlrp::model::LabelledImages::from_folder(set);
  bowlrp::model::FitOptions one = small_args().fit_options(), two = one;
  one.threads = 1;
  two.threads = 2;
  const bowlrp::model::Model a = bowlrp::model::fit(data, one), b = bowlrp::model::fit(data, two);
  BOOST_TEST(a.encoding_as<bowlrp::bow::Pipeline>().codebook().centres() == b.encoding_as<bowlrp::bow::Pipeline>().codebook().centres());
  BOOST_TEST(a.head_as<bowlrp::svm::KernelSvm>().support() == b.head_as<bowlrp::svm::KernelSvm>().support());
  for (std::size_t c = 0; c < a.head_as<bowlrp::svm::KernelSvm>().classes().size(); ++c) {
    BOOST_TEST(a.head_as<bowlrp::svm::KernelSvm>().classes()[c].bias == b.head_as<bowlrp::svm::KernelSvm>().classes()[c].bias);
    BOOST_TEST(a.head_as<bowlrp::svm::KernelSvm>().classes()[c].coef == b.head_as<bowlrp::svm::KernelSvm>().classes()[c].coef);
  }
  BOOST_TEST(a.fingerprint().hex() == b.fingerprint().hex());
}

BOOST_AUTO_TEST_CASE(bad_training_input_gets_a_clear_error) {
  TempDir dir;
  std::string out;
  // Missing folder.
  BOOST_TEST(run_cli("train --data '" + (dir / "nothing") + "' --out '" + (dir / "m") + "' " + kSmall, &out) == 2);
  BOOST_TEST(out.find("nothing") != std::string::npos);
  // Empty class folder.
  fs::create_directories(dir.path() / "empty_set" / "a");
  BOOST_TEST(run_cli("train --data '" + (dir / "empty_set") + "' --out '" + (dir / "m") + "' " + kSmall, &out) == 2);
  BOOST_TEST(out.find("error") != std::string::npos);
  // A single class.
  const std::string one = make_shapes(dir, 4, {"circle"});
  BOOST_TEST(run_cli("train --data '" + one + "' --out '" + (dir / "m") + "' " + kSmall, &out) == 2);
  BOOST_TEST(out.find("single class") != std::string::npos);
  BOOST_TEST(!fs::exists(dir.path() / "m"));
  // A class whose only image is corrupt: named, and no model is written.
  TempDir two;
  const std::string root = make_shapes(two, 6, {"circle", "cross"});
  for (const auto& e : fs::directory_iterator(fs::path(root) / "cross")) fs::remove(e.path());
  bowlrp::core::write_file_atomic((fs::path(root) / "cross" / "broken.png").string(), "not a png at all");
  BOOST_TEST(run_cli("train --data '" + root + "' --out '" + (two / "m") + "' " + kSmall, &out) == 2);
  BOOST_TEST(out.find("cross") != std::string::npos);
  BOOST_TEST(!fs::exists(two.path() / "m"));
}

BOOST_AUTO_TEST_CASE(unreadable_images_are_skipped_and_reported) {
  TempDir dir;
  const std::string root = make_shapes(dir, 8);
  const std::string bad = (fs::path(root) / "circle" / "zz_truncated.png").string();
  const std::string good = bowlrp::core::read_file((fs::path(root) / "circle" / "circle_0000.png").string());
  bowlrp::core::write_file_atomic(bad, good.substr(0, good.size() / 3));
  bowlrp::core::write_file_atomic((fs::path(root) / "cross" / "zz_empty.jpg").string(), "");
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli("train --data '" + root + "' --out '" + (dir / "m.bowlrp") + "' " + kSmall, &out) == 3, out);
  BOOST_TEST(out.find("skipped " + bad) != std::string::npos);
  BOOST_TEST(out.find("zz_empty.jpg") != std::string::npos);
  BOOST_TEST(out.find("24 used, 2 skipped") != std::string::npos);
  // predict reports the bad file, scores the rest and says so in its exit code.
  BOOST_TEST(run_cli("predict --quiet --model '" + (dir / "m.bowlrp") + "' '" + root + "'", &out) == 3);
  BOOST_TEST(out.find("zz_truncated.png") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_model_files_are_rejected_by_the_tool) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const std::string model = train_small_model(dir, root);
  std::string out;
  const std::string bytes = bowlrp::core::read_file(model);
  bowlrp::core::write_file_atomic(dir / "cut.bowlrp", bytes.substr(0, bytes.size() / 2));
  BOOST_TEST(run_cli("predict --model '" + (dir / "cut.bowlrp") + "' '" + root + "'", &out) == 2);
  BOOST_TEST(out.find("cut.bowlrp") != std::string::npos);
  BOOST_TEST(out.find("truncated") != std::string::npos);
  bowlrp::core::write_file_atomic(dir / "text.bowlrp", "hello\n");
  BOOST_TEST(run_cli("predict --model '" + (dir / "text.bowlrp") + "' '" + root + "'", &out) == 2);
  BOOST_TEST(out.find("text.bowlrp") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(non_ascii_paths_work_end_to_end) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const fs::path renamed = fs::u8path(dir / "données_猫");
  fs::rename(fs::path(root), renamed);
  const std::string model = dir / "modèle.bowlrp";
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli("train --data '" + renamed.u8string() + "' --out '" + model + "' " + kSmall, &out) == 0, out);
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + (dir / "expl") + "' '" +
                     (renamed / "circle" / "circle_0000.png").u8string() + "'", &out) == 0, out);
  BOOST_TEST(fs::exists(fs::u8path(dir / "expl") / "circle_0000.heatmap.png"));
}

BOOST_AUTO_TEST_CASE(explain_on_real_voc_images_conserves_relevance) {
  if (!bowlrp::test::have_voc()) return;
  const auto set = bowlrp::datasets::VocSet::load(bowlrp::test::voc_root(), "train", {"aeroplane", "cat"});
  // A few positives of each class and some negatives.
  TempDir dir;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < set.ids.size() && ids.size() < 24; ++i)
    if (set.label(i, 0) == 1 || set.label(i, 1) == 1 || i % 50 == 0) ids.push_back(set.ids[i]);
  for (const auto& id : ids) {
    const std::size_t i = std::find(set.ids.begin(), set.ids.end(), id) - set.ids.begin();
    const std::string cls = set.label(i, 0) == 1 ? "aeroplane" : set.label(i, 1) == 1 ? "cat" : "other";
    fs::create_directories(dir.path() / "set" / cls);
    fs::create_symlink(set.image_path(id), dir.path() / "set" / cls / (id + ".jpg"));
  }
  const std::string model = dir / "voc.bowlrp";
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli("train --data '" + (dir / "set") + "' --out '" + model +
                                "' --words 64 --step 8 --max-side 200 --kmeans-samples 10000 --quiet", &out) == 0, out);
  std::string images;
  for (std::size_t k = 0; k < 4; ++k) images += " '" + set.image_path(ids[k]) + "'";
  BOOST_REQUIRE_MESSAGE(run_cli("explain --quiet --view all --model '" + model + "' --out '" + (dir / "ex") + "'" + images, &out) == 0, out);
  for (std::size_t k = 0; k < 4; ++k) {
    const fs::path base = dir.path() / "ex" / ids[k];
    const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(base.string() + ".json"));
    const double f = j["score"], pixels = j["relevance_sum"]["pixels"], absorbed = j["absorbed"];
    BOOST_TEST(std::fabs(f - pixels - absorbed) <= 1e-6 * std::max(1.0, std::fabs(f)));
    BOOST_TEST(j["conserved"].get<bool>());
    const cv::Mat heat = cv::imread(base.string() + ".heatmap.png");
    const cv::Mat image = cv::imread(set.image_path(ids[k]));
    BOOST_TEST(heat.cols == image.cols);
    BOOST_TEST(heat.rows == image.rows);
    BOOST_TEST(fs::exists(base.string() + ".edges.png"));
    BOOST_TEST(fs::exists(base.string() + ".mask.png"));
    // The .npy holds H x W float32 after its header.
    const std::string npy = bowlrp::core::read_file(base.string() + ".relevance.npy");
    BOOST_TEST(npy.size() > std::size_t(image.cols) * image.rows * 4);
  }
  // An unknown class is named with the known ones (a usage error: exit 1, nothing written).
  BOOST_TEST(run_cli("explain --model '" + model + "' --class dog --out '" + (dir / "ex2") + "'" + images, &out) == 1);
  BOOST_TEST(out.find("dog") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(demo_runs_and_relevance_lands_on_the_objects) {
  TempDir dir;
  bowlrp::apps::DemoArgs args;
  args.out = dir / "demo";
  args.options.give("images_per_class", "30");
  args.options.give("gallery", "1");
  args.options.give("words", "128");
  args.options.give("samples", "20000");
  // Two images per class through 25 flipping steps: what this case checks (accuracy, conservation,
  // relevance on the object) is measured on every test image; flipping is tested elsewhere.
  args.options.give("explain", "2");
  args.options.give("steps", "25");
  args.run.quiet = true;
  const bowlrp::apps::DemoResult r = bowlrp::apps::run_demo(args);
  BOOST_TEST(r.test_images == 60u);
  BOOST_TEST(r.max_conservation_error < 1e-9);
  BOOST_TEST(r.test_accuracy > 0.25);  // above chance on 4 classes
  BOOST_TEST(r.positive_in_mask > 1.5 * r.mask_area);
  BOOST_TEST(fs::exists(dir.path() / "demo" / "model.bowlrp"));
  BOOST_TEST(fs::exists(dir.path() / "demo" / "demo.json"));
}

BOOST_AUTO_TEST_CASE(explain_reports_the_svm_layer_of_rbf_models_honestly) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const std::string model = train_small_model(dir, root, "rbf.bowlrp", "--kernel rbf ");
  std::string out;
  const std::string image = (fs::path(root) / "circle" / "circle_0000.png").string();
  auto json = [&](const std::string& folder) {
    return nlohmann::json::parse(bowlrp::core::read_file((dir.path() / folder / "circle_0000.json").string()));
  };
  // Taylor (Eq 16): the remainder is reported, "conserved" is false, and the tool warns naming the image.
  const int taylor_status = run_cli("explain --quiet --svm-rule taylor --residual-warning 1e-6 --model '" + model +
                                    "' --out '" + (dir / "taylor") + "' '" + image + "'", &out);
  nlohmann::json j = json("taylor");
  const double f = j["score"], dims = j["relevance_sum"]["dimensions"];
  const double rel = std::fabs(f - dims) / std::max(1.0, std::fabs(f));
  BOOST_REQUIRE_MESSAGE(rel > 1e-6, "this case needs a visible Taylor remainder; got " << rel);
  BOOST_TEST(j["svm"]["rule"] == "taylor");
  BOOST_TEST(!j["svm"]["conserved"].get<bool>());
  BOOST_TEST(std::fabs(j["svm"]["relative_residual"].get<double>() - rel) <= 1e-12);
  BOOST_TEST(std::fabs(j["svm"]["residual"].get<double>() - std::fabs(f - dims)) <= 1e-12);
  BOOST_TEST(!j["layers"]["svm"].get<bool>());
  BOOST_TEST(j["layers"]["features"].get<bool>());
  BOOST_TEST(j["layers"]["pixels"].get<bool>());
  BOOST_TEST(!j["conserved"].get<bool>());  // every layer, not only the ones below the SVM
  BOOST_TEST(taylor_status == 3, out);
  BOOST_TEST(out.find("circle_0000.png is not conserved: svm layer relative residual") != std::string::npos, out);
  // Above the warning threshold the JSON still says "not conserved", but the run is not failed.
  BOOST_TEST(run_cli("explain --quiet --svm-rule taylor --residual-warning 1e9 --model '" + model + "' --out '" +
                     (dir / "taylor2") + "' '" + image + "'", &out) == 0, out);
  BOOST_TEST(!json("taylor2")["conserved"].get<bool>());
  // Integrated gradients, the default: conserved at every layer.
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + (dir / "ig") + "' '" + image + "'", &out) == 0, out);
  j = json("ig");
  BOOST_TEST(j["svm"]["rule"] == "integrated-gradients");
  BOOST_TEST(j["svm"]["relative_residual"].get<double>() <= 1e-9);
  BOOST_TEST(j["svm"]["conserved"].get<bool>());
  BOOST_TEST(j["conserved"].get<bool>());
  BOOST_TEST(j["svm"]["root_found"].get<bool>());
  BOOST_TEST(std::fabs(j["svm"]["quadrature_error"].get<double>()) <= 1e-10);
  BOOST_TEST(run_cli("explain --quiet --svm-rule ig --model '" + model + "' --out '" + (dir / "bad") + "' '" + image + "'",
                     &out) == 1);
  BOOST_TEST(out.find("'ig' unknown") != std::string::npos, out);
  BOOST_TEST(run_cli("explain --quiet --ig-nodes 0 --model '" + model + "' --out '" + (dir / "bad") + "' '" + image + "'",
                     &out) == 1);
  BOOST_TEST(out.find("--ig-nodes '0': expected a value 1 .. 64") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(json_strings_survive_any_bytes) {
  using namespace bowlrp::apps;
  using bowlrp::core::hex_bytes;
  using bowlrp::core::is_utf8;
  using bowlrp::core::utf8_display;
  BOOST_TEST(is_utf8("plain \xc3\xa9t\xc3\xa9 \xe7\x8c\xab \xf0\x9f\x90\x88"));
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
                                std::string("\xf4\x90\x80\x80"), std::string("\xe7\x8c"), std::string("a\x80")})
    BOOST_TEST(!is_utf8(bad), hex_bytes(bad));
  BOOST_TEST(utf8_display("a\xff" "b") == "a\xef\xbf\xbd" "b");
  BOOST_TEST(hex_bytes("a\xff") == "61ff");
  nlohmann::json j;
  set_path(j, "image", "dir/\xff.png");
  BOOST_TEST(j["image"].get<std::string>() == "dir/\xef\xbf\xbd.png");
  BOOST_TEST(j["image_hex"].get<std::string>() == hex_bytes("dir/\xff.png"));
  set_path(j, "ok", "d\xc3\xa9.png");
  BOOST_TEST(!j.contains("ok_hex"));
  nlohmann::json raw;
  raw["name"] = std::string("x\xfe");
  BOOST_CHECK_THROW(raw.dump(), nlohmann::json::type_error);  // what the tool used to do
  BOOST_TEST(dump_json(raw, -1) == "{\"name\":\"x\xef\xbf\xbd\"}");
}

BOOST_AUTO_TEST_CASE(non_utf8_file_names_keep_every_result) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const std::string model = train_small_model(dir, root);
  std::string out;
  // A file name with byte 0xff (Latin-1 'y with diaeresis'), legal on Linux, not UTF-8.
  const std::string odd = (fs::path(root) / "circle" / "caf\xff.png").string();
  fs::copy_file(fs::path(root) / "circle" / "circle_0000.png", odd);
  const std::string json = dir / "scores.json";
  BOOST_TEST(run_cli("predict --quiet --model '" + model + "' --json '" + json + "' '" + root + "'", &out) == 0, out);
  BOOST_REQUIRE(fs::exists(json));
  const nlohmann::json scores = nlohmann::json::parse(bowlrp::core::read_file(json));
  BOOST_TEST(scores.size() == 19u);  // 18 + the odd one: nothing lost
  std::size_t with_hex = 0;
  for (const auto& item : scores) {
    BOOST_TEST(item.contains("scores"));
    if (!item.contains("image_hex")) continue;
    ++with_hex;
    BOOST_TEST(item["image_hex"].get<std::string>() == bowlrp::core::hex_bytes(odd));
    BOOST_TEST(item["image"].get<std::string>().find("caf\xef\xbf\xbd.png") != std::string::npos);
  }
  BOOST_TEST(with_hex == 1u);
  // explain writes its .json for that image too (named by the raw bytes, like the input).
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + (dir / "ex") + "' '" + odd + "'", &out) == 0, out);
  const std::string ej = (fs::path(dir / "ex") / "caf\xff.json").string();
  BOOST_REQUIRE(fs::exists(ej));
  BOOST_TEST(nlohmann::json::parse(bowlrp::core::read_file(ej))["image_hex"].get<std::string>() ==
             bowlrp::core::hex_bytes(odd));
}

BOOST_AUTO_TEST_CASE(explain_gives_each_input_its_own_outputs) {
  const auto output_names = bowlrp::datasets::unique_output_stems;
  BOOST_TEST(output_names({"a/x.jpg", "b/x.jpg", "x.png", "x-2.jpg", "y.png"}) ==
                 std::vector<std::string>({"x", "x-3", "x-4", "x-2", "y"}),
             boost::test_tools::per_element());
  BOOST_TEST(output_names({"X.jpg", "x.png"}) == std::vector<std::string>({"X", "x-2"}),
             boost::test_tools::per_element());
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const std::string model = train_small_model(dir, root);
  std::string out;
  // Four inputs, three stems alike: a/x.png, b/x.png, c/x.jpg and one literally named x-2.png.
  const fs::path in = dir.path() / "in";
  const std::vector<std::string> inputs{(in / "a" / "x.png").string(), (in / "b" / "x.png").string(),
                                        (in / "c" / "x.jpg").string(), (in / "x-2.png").string()};
  const std::vector<std::string> sources{"circle/circle_0000.png", "cross/cross_0000.png", "square/square_0000.png",
                                         "circle/circle_0001.png"};
  std::string args;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    fs::create_directories(fs::path(inputs[k]).parent_path());
    fs::copy_file(fs::path(root) / sources[k], inputs[k]);
    args += " '" + inputs[k] + "'";
  }
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + (dir / "ex") + "'" + args, &out) == 0, out);
  BOOST_TEST(out.find("explained 4 of 4") != std::string::npos, out);
  std::set<std::string> images;
  std::size_t jsons = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "ex")) {
    if (e.path().extension() != ".json") continue;
    ++jsons;
    images.insert(nlohmann::json::parse(bowlrp::core::read_file(e.path().string()))["image"].get<std::string>());
  }
  BOOST_TEST(jsons == 4u);
  BOOST_TEST(images == std::set<std::string>(inputs.begin(), inputs.end()), boost::test_tools::per_element());
  std::size_t heatmaps = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "ex")) heatmaps += e.path().string().find(".heatmap.png") != std::string::npos;
  BOOST_TEST(heatmaps == 4u);
}

BOOST_AUTO_TEST_CASE(batches_go_on_past_bad_inputs) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);
  const std::string model = train_small_model(dir, root);
  std::string out;
  // A loop back to the root (followed once: no image twice), a corrupt image, a dangling link, a
  // missing path and a folder without images, among 18 good images.
  fs::create_directory_symlink("..", fs::path(root) / "circle" / "loop");
  const std::string corrupt = (fs::path(root) / "cross" / "zz_corrupt.png").string();
  bowlrp::core::write_file_atomic(corrupt, "not a png");
  const std::string dangling = (fs::path(root) / "square" / "zz_gone.png").string();
  fs::create_symlink("nowhere.png", dangling);
  const std::string missing = dir / "missing.jpg";
  fs::create_directories(dir.path() / "empty");
  const std::string inputs = " '" + root + "' '" + missing + "' '" + (dir / "empty") + "'";
  const std::string json = dir / "scores.json";
  BOOST_TEST(run_cli("predict --quiet --model '" + model + "' --json '" + json + "'" + inputs, &out) == 3, out);
  for (const std::string& bad : std::vector<std::string>{corrupt, dangling, missing, dir / "empty"})
    BOOST_TEST(out.find("skipped " + bad + ": ") != std::string::npos, bad);
  BOOST_TEST(out.find("predicted 18 images; 4 inputs failed") != std::string::npos, out);
  const nlohmann::json scores = nlohmann::json::parse(bowlrp::core::read_file(json));
  std::size_t scored = 0, failed = 0;
  for (const auto& item : scores) {
    scored += item.contains("scores");
    failed += item.contains("error");
  }
  BOOST_TEST(scored == 18u);
  BOOST_TEST(failed == 4u);
  // explain: the same inputs, the same accounting.
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + (dir / "ex") + "'" + inputs, &out) == 3, out);
  for (const std::string& bad : std::vector<std::string>{corrupt, dangling, missing, dir / "empty"})
    BOOST_TEST(out.find("skipped " + bad + ": ") != std::string::npos, bad);
  BOOST_TEST(out.find("explained 18 of 19 images") != std::string::npos, out);
  // train: the image it cannot read and the link it cannot follow are both named.
  fs::remove(fs::path(root) / "circle" / "loop");
  BOOST_TEST(run_cli("train --data '" + root + "' --out '" + (dir / "m2.bowlrp") + "' " + kSmall, &out) == 3, out);
  BOOST_TEST(out.find("skipped " + corrupt + ": ") != std::string::npos, out);
  BOOST_TEST(out.find("skipped " + dangling + ": dangling symbolic link") != std::string::npos, out);
  BOOST_TEST(out.find("18 used, 2 skipped") != std::string::npos, out);
  BOOST_TEST(fs::exists(dir.path() / "m2.bowlrp"));
}

BOOST_AUTO_TEST_CASE(threads_and_usage_errors_have_their_exit_codes) {
  // The library validates thread counts itself, in every options struct that has one.
  for (const int ok : {0, 1, 2, bowlrp::core::kMaxThreads}) {
    BOOST_CHECK_NO_THROW(bowlrp::core::validate_threads(ok));
    bowlrp::model::FitOptions f;
    f.threads = ok;
    BOOST_CHECK_NO_THROW(f.validate());
  }
  for (const int bad : {-1, bowlrp::core::kMaxThreads + 1, 100000}) {
    BOOST_CHECK_THROW(bowlrp::core::validate_threads(bad), std::invalid_argument);
    BOOST_CHECK_THROW(bowlrp::core::resolve_threads(bad), std::invalid_argument);
    bowlrp::model::FitOptions f;
    f.threads = bad;
    BOOST_CHECK_THROW(f.validate(), std::invalid_argument);
    bowlrp::model::PredictOptions p;
    p.threads = bad;
    BOOST_CHECK_THROW(p.validate(), std::invalid_argument);
    bowlrp::model::ExplainOptions e;
    e.threads = bad;
    BOOST_CHECK_THROW(e.validate(), std::invalid_argument);
    bowlrp::svm::TrainOptions t;
    t.threads = bad;
    BOOST_CHECK_THROW(t.validate(1), std::invalid_argument);
  }
  TempDir dir;
  const std::string root = make_shapes(dir, 4, {"circle", "cross"});
  std::string out;
  // Every subcommand refuses a thread count TBB cannot take (100000 crashed demo) before any work.
  for (const std::string& cmd : std::vector<std::string>{"train --data '" + root + "' --out '" + (dir / "m") + "' ", "predict --model x y ",
                                "explain --model x --out '" + (dir / "e") + "' y ", "demo --out '" + (dir / "d") + "' ",
                                "voc --root x --out '" + (dir / "v") + "' "}) {
    BOOST_TEST(run_cli(cmd + "--threads 100000", &out) == 1, cmd);
    BOOST_TEST(out.find("1024") != std::string::npos, out);
    BOOST_TEST(run_cli(cmd + "--threads -3", &out) == 1, cmd);
  }
  BOOST_TEST(!fs::exists(dir.path() / "m"));
  BOOST_TEST(!fs::exists(dir.path() / "d"));
  // Unknown flags and missing required options are usage errors; --help lists the exit codes.
  BOOST_TEST(run_cli("predict --no-such-flag x", &out) == 1);
  BOOST_TEST(run_cli("predict x", &out) == 1);
  BOOST_TEST(run_cli("--help", &out) == 0);
  BOOST_TEST(out.find("Exit codes") != std::string::npos);
  BOOST_TEST(run_cli("explain --help", &out) == 0);
  BOOST_TEST(out.find("3  ran to the end, but some inputs failed") != std::string::npos);
  // An error that stops the command is 2.
  BOOST_TEST(run_cli("predict --model '" + (dir / "none.bowlrp") + "' '" + root + "'", &out) == 2);
}

BOOST_AUTO_TEST_CASE(evaluate_reports_accuracy_confusion_ap_quality_and_masks) {
  TempDir dir;
  const std::string root = make_shapes(dir, 6);  // dir/shapes/images, masks in dir/shapes/masks
  const std::string model = train_small_model(dir, root);
  std::string out;
  const std::string report = dir / "eval";
  BOOST_REQUIRE_MESSAGE(run_cli("evaluate --model '" + model + "' --data '" + root + "' --out '" + report +
                                    "' --explain 1 --flip-steps 5 --quiet", &out) == 0, out);
  BOOST_TEST(out.find("confusion") != std::string::npos, out);
  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(report + "/report.json"));
  BOOST_TEST(j["test_images"].get<int>() == 18);
  BOOST_TEST(j["confusion"].size() == 3u);
  int total = 0;
  for (const auto& row : j["confusion"])
    for (const auto& v : row) total += v.get<int>();
  BOOST_TEST(total == 18);
  BOOST_TEST(j["masked_images"].get<int>() == 18);  // the default mask folder beside images/
  BOOST_TEST(j["explained_images"].get<int>() == 3);
  BOOST_TEST(j["aopc"].contains("lrp"));
  BOOST_TEST(j["localisation"].contains("lrp_masks_relevance_share"));
  BOOST_TEST(j["positive_relevance_in_mask"].get<double>() > j["mask_area_fraction"].get<double>());
  BOOST_TEST(j["conservation_max_error"].get<double>() < 1e-9);
  BOOST_TEST(fs::exists(report + "/index.html"));
  // --no-masks: no localisation; a class folder the model does not know: an error naming it.
  BOOST_REQUIRE(run_cli("evaluate --model '" + model + "' --data '" + root + "' --out '" + report +
                        "' --explain 0 --no-masks --quiet", &out) == 0);
  BOOST_TEST(nlohmann::json::parse(bowlrp::core::read_file(report + "/report.json"))["masked_images"].get<int>() == 0);
  fs::create_directories(fs::path(root) / "boat");
  fs::copy_file(fs::path(root) / "circle" / "circle_0000.png", fs::path(root) / "boat" / "b.png");
  BOOST_TEST(run_cli("evaluate --model '" + model + "' --data '" + root + "' --out '" + report + "' --quiet", &out) == 2);
  BOOST_TEST(out.find("class folder 'boat'") != std::string::npos, out);
  // A mask of the wrong size is named.
  fs::remove_all(fs::path(root) / "boat");
  const std::string mask = dir / "shapes/masks/cross/cross_0000.png";
  const cv::Mat small(5, 5, CV_8UC1, cv::Scalar(255));
  cv::imwrite(mask, small);
  BOOST_TEST(run_cli("evaluate --model '" + model + "' --data '" + root + "' --out '" + report + "' --quiet", &out) == 3);
  BOOST_TEST(out.find("cross_0000.png") != std::string::npos, out);
}

// Every metric on: two runs, and 1 against 2 threads, give the same report.json apart from the timings.
BOOST_AUTO_TEST_CASE(evaluate_reports_the_same_numbers_from_two_runs_and_any_thread_count) {
  TempDir dir;
  const std::string root = make_shapes(dir, 4);
  const std::string model = train_small_model(dir, root);
  auto report = [&](const std::string& name, int threads) {
    std::string out;
    const std::string where = dir / name;
    BOOST_REQUIRE_MESSAGE(run_cli("evaluate --model '" + model + "' --data '" + root + "' --out '" + where +
                                      "' --explain 1 --flip-steps 5 --lerf --flip-fill blur --faithfulness-subsets 4 "
                                      "--randomisation --robustness-samples 2 --threads " + std::to_string(threads) +
                                      " --quiet",
                                  &out) == 0,
                          out);
    nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(where + "/report.json"));
    BOOST_TEST(j.contains("timings"));
    j.erase("timings");
    return j;
  };
  const nlohmann::json one = report("t1", 1), two = report("t2", 2), again = report("t2b", 2);
  for (const char* m : {"abc", "faithfulness_correlation", "randomisation_spearman", "max_sensitivity", "mirror_spearman"})
    BOOST_TEST(one["metrics"].contains(m), m);
  BOOST_TEST(one["explained_images"].get<int>() == 3);
  BOOST_TEST(one == two, one.dump() << "\n" << two.dump());
  BOOST_TEST(two == again);
  // The per-class breakdown: each class's pairs, which together are every pair.
  const nlohmann::json& per_class = one["metrics_per_class"];
  BOOST_TEST(per_class.size() == 3u);
  for (const auto& [metric, methods] : one["metrics"].items())
    for (const auto& [method, all] : methods.items()) {
      double n = 0, sum = 0;
      for (const auto& [cls, metrics] : per_class.items()) {
        if (!metrics.contains(metric) || !metrics[metric].contains(method)) continue;
        n += metrics[metric][method]["n"].get<double>();
        sum += metrics[metric][method]["n"].get<double>() * metrics[metric][method]["mean"].get<double>();
      }
      BOOST_TEST(n == all["n"].get<double>(), metric << " " << method);
      BOOST_TEST(std::fabs(sum / n - all["mean"].get<double>()) <= 1e-12, metric << " " << method);
    }
}

BOOST_AUTO_TEST_CASE(spray_clusters_a_class_and_writes_its_report) {
  TempDir dir;
  const std::string root = make_shapes(dir, 12);
  const std::string model = train_small_model(dir, root);
  const std::string report = dir / "spray";
  std::string out;
  const std::string base = "spray --model '" + model + "' --class circle --out '" + report +
                           "' --grid-width 8 --grid-height 8 --neighbours 3 --eigenvalues 6 --causal-images 3 --quiet ";
  BOOST_REQUIRE_MESSAGE(run_cli(base + "'" + root + "/circle'", &out) == 0, out);
  BOOST_TEST(out.find("maps of class circle") != std::string::npos, out);
  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(report + "/report.json"));
  BOOST_TEST(j["images"].get<int>() == 12);
  BOOST_TEST(j["assignments"].size() == 12u);
  const int clusters = j["clusters"].get<int>();
  BOOST_TEST(clusters >= 1);
  BOOST_TEST(j["cluster_details"].size() == static_cast<std::size_t>(clusters));
  BOOST_TEST(j["eigenvalues"].size() == 6u);
  BOOST_TEST(j["cluster_details"][0].contains("causal"));
  const std::string html = bowlrp::core::read_file(report + "/index.html");
  BOOST_TEST(html.find("Eigenvalue spectrum") != std::string::npos);
  BOOST_TEST(html.find("Cluster 0") != std::string::npos);
  // --clusters overrides the eigengap; bad values are refused with the flag or field named.
  BOOST_REQUIRE(run_cli(base + "--clusters 2 '" + root + "/circle'", &out) == 0);
  BOOST_TEST(nlohmann::json::parse(bowlrp::core::read_file(report + "/report.json"))["clusters"].get<int>() == 2);
  BOOST_TEST(run_cli(base + "--fill paint '" + root + "/circle'", &out) == 1);
  BOOST_TEST(out.find("--fill: unknown fill 'paint': expected mean or noise") != std::string::npos, out);
  BOOST_TEST(run_cli("spray --model '" + model + "' --class circle --out '" + report + "' --neighbours 0 --quiet '" + root +
                         "/circle'", &out) == 1);
  BOOST_TEST(out.find("neighbours") != std::string::npos, out);
  BOOST_TEST(run_cli("spray --model '" + model + "' --class boat --out '" + report + "' '" + root + "'", &out) == 1);
  BOOST_TEST(out.find("unknown class 'boat'") != std::string::npos, out);
}

// bowlrp fix: a SpRAy cluster projected out (P-ClArC) and the model refitted with it pasted (A-ClArC);
// the fixed models load and predict; bad values exit 1 naming the flag, a missing file exits 2.
BOOST_AUTO_TEST_CASE(fix_compensates_a_spray_cluster_and_refuses_bad_values) {
  TempDir dir;
  const std::string root = make_shapes(dir, 12);
  const std::string model = train_small_model(dir, root);
  const std::string report = dir / "spray";
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli("spray --model '" + model + "' --class circle --out '" + report +
                                    "' --grid-width 8 --grid-height 8 --neighbours 3 --eigenvalues 6 --causal-images 3 --quiet '" +
                                    root + "/circle'", &out) == 0, out);
  const std::string fixed = dir / "fixed.bowlrp", refit = dir / "refit.bowlrp";
  const std::string spec = report + "/report.json:cluster=0";
  BOOST_REQUIRE_MESSAGE(run_cli("fix --model '" + model + "' --artefact '" + spec + "' --out '" + fixed + "' --check '" + root +
                                    "/square' --quiet", &out) == 0, out);
  BOOST_TEST(out.find("artefact direction from") != std::string::npos, out);
  BOOST_TEST(out.find("check, class circle, before -> after the fix") != std::string::npos, out);
  BOOST_TEST(out.find("score rise from pasting the artefact into 12 images") != std::string::npos, out);
  const bowlrp::model::Model m = bowlrp::model::Model::load(fixed);
  BOOST_TEST(m.artefact_projection() != nullptr);
  BOOST_TEST(!bowlrp::model::Model::load(model).artefact_projection());
  BOOST_TEST(run_cli("predict --model '" + fixed + "' --quiet '" + root + "/circle'", &out) == 0, out);
  // explain through the projection: conserved, the projection's block in the JSON balances.
  const std::string first = root + "/circle/circle_0000.png";
  BOOST_REQUIRE_MESSAGE(run_cli("explain --quiet --model '" + fixed + "' --out '" + (dir / "ex") + "' '" + first + "'", &out) == 0, out);
  const nlohmann::json e = nlohmann::json::parse(
      bowlrp::core::read_file((fs::path(dir / "ex") / (fs::path(first).stem().string() + ".json")).string()));
  BOOST_TEST(e["conserved"].get<bool>());
  BOOST_TEST(e["projection"]["conserved"].get<bool>());
  BOOST_TEST(std::abs(e["projection"]["upper"].get<double>() - e["projection"]["lower"].get<double>() -
                      e["projection"]["absorbed"].get<double>()) < 1e-9);
  BOOST_REQUIRE_MESSAGE(run_cli("fix --model '" + model + "' --artefact '" + spec + "' --method augment --data '" + root +
                                    "' --seed 2 --out '" + refit + "' --quiet", &out) == 0, out);
  BOOST_TEST(out.find("A-ClArC") != std::string::npos, out);
  BOOST_TEST(!bowlrp::model::Model::load(refit).artefact_projection());
  const std::string base = "fix --model '" + model + "' --out '" + dir / "x.bowlrp" + "' ";
  BOOST_TEST(run_cli(base + "--artefact '" + report + "/report.json'", &out) == 1);
  BOOST_TEST(out.find("expected REPORT.json:cluster=N") != std::string::npos, out);
  BOOST_TEST(run_cli(base + "--artefact '" + report + "/report.json:cluster=x'", &out) == 1);
  BOOST_TEST(run_cli(base + "--artefact '" + spec + "' --regions r.json", &out) == 1);
  BOOST_TEST(out.find("one of them") != std::string::npos, out);
  BOOST_TEST(run_cli(base + "--artefact '" + spec + "' --method paint", &out) == 1);
  BOOST_TEST(out.find("expected project or augment") != std::string::npos, out);
  BOOST_TEST(run_cli(base + "--artefact '" + spec + "' --method augment", &out) == 1);
  BOOST_TEST(out.find("--data DIR") != std::string::npos, out);
  BOOST_TEST(run_cli(base + "--artefact '" + spec + "' --fill paint", &out) == 1);
  BOOST_TEST(run_cli(base + "--artefact '" + report + "/report.json:cluster=99'", &out) == 2);
  BOOST_TEST(out.find("has no cluster 99") != std::string::npos, out);
  BOOST_TEST(run_cli(base + "--regions '" + dir / "missing.json" + "'", &out) == 2);
  BOOST_TEST(run_cli(base + "--regions r.json --check '" + root + "'", &out) == 1);
  BOOST_TEST(out.find("--class C") != std::string::npos, out);
  BOOST_TEST(!fs::exists(dir / "x.bowlrp"));
}

// bowlrp fix --report DIR: the before/after comparison written as DIR/report.json (the numbers of both
// models) and a self-contained DIR/index.html; --report and --test need --check; a DIR that cannot be a
// folder is refused before any work (exit 2, naming it), and no model is written.
BOOST_AUTO_TEST_CASE(fix_report_writes_the_before_after_comparison_and_refuses_an_unwritable_folder) {
  TempDir dir;
  const std::string root = make_shapes(dir, 8);
  const std::string model = train_small_model(dir, root);
  nlohmann::json regions = nlohmann::json::array();
  for (int i = 0; i < 4; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "/circle/circle_%04d.png", i);
    regions.push_back({{"image", root + name}, {"x", 16}, {"y", 16}, {"width", 64}, {"height", 64}});
  }
  const std::string rfile = dir / "regions.json";
  bowlrp::core::write_file_atomic(rfile, regions.dump());
  const std::string rep = dir / "rep", fixed = dir / "fixed.bowlrp";
  const std::string base = "fix --model '" + model + "' --regions '" + rfile + "' --class circle --quiet ";
  std::string out;
  BOOST_REQUIRE_MESSAGE(run_cli(base + "--out '" + fixed + "' --check '" + root + "/square' --test '" + root +
                                    "' --report '" + rep + "'", &out) == 0, out);
  BOOST_TEST(out.find("causal drop") != std::string::npos, out);
  BOOST_TEST(out.find("test set (24 images): accuracy") != std::string::npos, out);
  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(rep + "/report.json"));
  BOOST_TEST(j["class"].get<std::string>() == "circle");
  BOOST_TEST(j["images"]["regions"].get<int>() == 4);
  BOOST_TEST(j["images"]["others"].get<int>() == 8);
  BOOST_TEST(j["images"]["test"].get<int>() == 24);
  BOOST_TEST(j["area_share"].get<double>() > 0);
  for (const char* m : {"before", "after"}) {
    for (const char* k : {"causal_drop", "relevance_share", "pasted_rise", "accuracy", "mean_ap"})
      BOOST_TEST(j[m][k].is_number(), m << "." << k);
    for (const char* k : {"region_scores", "erased_scores", "relevance_shares", "other_scores", "pasted_scores", "ap"})
      BOOST_TEST(j[m][k].is_array(), m << "." << k);
    BOOST_TEST(j[m]["pasted_scores"].size() == 8u);
    BOOST_TEST(j[m]["ap"].size() == 3u);
  }
  const std::string html = bowlrp::core::read_file(rep + "/index.html");
  for (const char* k : {"causal drop", "relevance share of the region", "pasted-artefact score rise", "accuracy", "mAP",
                        "heatmap before", "heatmap after", "with the artefact", "data:image/png;base64,"})
    BOOST_TEST(html.find(k) != std::string::npos, k);
  BOOST_TEST(html.find("<script") == std::string::npos);
  // --report and --test need --check; a file where the folder should be is refused before the work.
  const std::string other = dir / "other.bowlrp";
  BOOST_TEST(run_cli(base + "--out '" + other + "' --report '" + rep + "'", &out) == 1);
  BOOST_TEST(out.find("--check") != std::string::npos, out);
  BOOST_TEST(run_cli(base + "--out '" + other + "' --test '" + root + "'", &out) == 1);
  const std::string file = dir / "a-file";
  bowlrp::core::write_file_atomic(file, "x");
  BOOST_TEST(run_cli(base + "--out '" + other + "' --check '" + root + "/square' --report '" + file + "'", &out) == 2);
  BOOST_TEST(out.find("--report '" + file + "': cannot be made a folder") != std::string::npos, out);
  BOOST_TEST(!fs::exists(other));
}

// Every value that fails the checks is a usage error (exit 1, README "exit codes") found before any
// work, named in the message: no model, cache or output folder is written. Before, they exited 2, some
// only after training (--hidden 1048577 failed to save; --kernel chi2 over Fisher vectors failed after
// encoding), and some were accepted (--batch-size -5 wrapped to 2^64 - 5, --hidden 16, read as 16).
BOOST_AUTO_TEST_CASE(malformed_values_exit_1_before_any_work) {
  TempDir dir;
  const std::string root = make_shapes(dir, 4, {"circle", "cross"});
  const std::string model = dir / "m.bowlrp";
  const std::string train = "train --data '" + root + "' --out '" + model + "' --cache '" + (dir / "cache") + "' ";
  const std::vector<std::pair<std::string, std::string>> bad_train = {
      {"--encoding foo", "--encoding: encoding 'foo'"},
      {"--encoding fisher --components 0", "components"},
      {"--encoding fisher --pca 129", "129"},
      {"--encoding fisher --fisher-pyramid 0x1", "--fisher-pyramid '0x1'"},
      {"--encoding fisher --fisher-pyramid 1x1,", "--fisher-pyramid '1x1,'"},
      {"--head tree", "--head: head 'tree'"},
      {"--head ''", "--head: head ''"},
      {"--head mlp --hidden 0", "hidden layer 1 has 0 neurons"},
      {"--head mlp --hidden 16,", "--hidden '16,'"},
      {"--head mlp --epochs 0", "--epochs '0': expected a value >= 1"},
      {"--head mlp --batch-size -5", "-5"},
      {"--kmeans-samples -1", "-1"},
      {"--head mlp --hidden 1048577", "1048577 neurons; expected 1 .. 1048576"},
      {"--head mlp --hidden 2000000", "2000000 neurons"},
      {"--kernel foo", "--kernel: unknown kernel 'foo'"},
      {"--encoding fisher --head kernel --kernel chi2", "FitOptions.kernel = chi2"},
      {"--encoding fisher --head kernel --kernel hellinger", "FitOptions.kernel = hellinger"},
      {"--encoding fisher --head kernel --kernel expchi2", "FitOptions.kernel = expchi2"},
  };
  std::string out;
  for (const auto& [flags, named] : bad_train) {
    BOOST_TEST(run_cli(train + flags + " --quiet", &out) == 1, flags << "\n" << out);
    BOOST_TEST(out.find(named) != std::string::npos, flags << ": the message does not name '" << named << "':\n" << out);
  }
  BOOST_TEST(!fs::exists(model));
  BOOST_TEST(!fs::exists(dir.path() / "cache"));
  BOOST_TEST(run_cli("train --out '" + model + "' --quiet", &out) == 1, out);  // no --data or --voc
  BOOST_TEST(out.find("--data DIR or --voc ROOT") != std::string::npos, out);

  // voc: checked before the root is read or the output folder made.
  const std::string voc = "voc --root '" + (dir / "no-voc") + "' --out '" + (dir / "v") + "' --quiet ";
  for (const auto& [flags, named] : std::vector<std::pair<std::string, std::string>>{
           {"--max-images -1", "-1"}, {"--fisher-epsilon 0", "--fisher-epsilon '0': expected a value > 0"}, {"--rule 'input='", "network composite 'input='"},
           {"--rule 'epsilon:-1'", "'epsilon:-1'"}, {"--rule 'alpha-beta:1:1'", "'alpha-beta:1:1'"},
           {"--rule ''", "network composite ''"}, {"--bias everywhere", "bias policy 'everywhere'"},
           {"--head mlp --hidden 4 --rule 'z;z;z'", "the network has 2 layers"},
           {"--head mlp --hidden 4 --bias absorbed", "applies to SVM heads only"}}) {
    BOOST_TEST(run_cli(voc + flags, &out) == 1, flags << "\n" << out);
    BOOST_TEST(out.find(named) != std::string::npos, flags << ": the message does not name '" << named << "':\n" << out);
  }
  BOOST_TEST(!fs::exists(dir.path() / "v"));

  // explain: values first, then against the model; no output folder.
  const std::string m = train_small_model(dir, root);
  const std::string image = (fs::path(root) / "circle" / "circle_0000.png").string();
  const std::string explain = "explain --quiet --model '" + m + "' --out '" + (dir / "e") + "' ";
  for (const auto& [flags, named] : std::vector<std::pair<std::string, std::string>>{
           {"--class ''", "--class ''"}, {"--class zebra", "unknown class 'zebra'"}, {"--percentile nan", "--percentile"},
           {"--percentile 101", "--percentile '101'"}, {"--percentile 0", "--percentile '0'"},
           {"--view pie", "heatmap view 'pie'"}, {"--view heatmap,heatmap", "heatmap twice"},
           {"--colormap jet", "colour map 'jet'"}, {"--scaling sqrt", "heatmap scaling 'sqrt'"},
           {"--edge-low 9 --edge-high 8", "edge_low/edge_high"},
           {"--rule 'input='", "network composite 'input='"}, {"--fisher-epsilon 0", "epsilon"},
           {"--bias sideways", "bias policy 'sideways'"}}) {
    BOOST_TEST(run_cli(explain + flags + " '" + image + "'", &out) == 1, flags << "\n" << out);
    BOOST_TEST(out.find(named) != std::string::npos, flags << ": the message does not name '" << named << "':\n" << out);
  }
  BOOST_TEST(!fs::exists(dir.path() / "e"));
  BOOST_TEST(run_cli("spray --quiet --model '" + m + "' --class zebra --out '" + (dir / "s") + "' '" + root + "'", &out) ==
             1, out);
  BOOST_TEST(out.find("unknown class 'zebra'") != std::string::npos, out);
  BOOST_TEST(run_cli("evaluate --quiet --model '" + m + "' --data '" + root + "' --out '" + (dir / "ev") +
                         "' --flip-steps 0",
                     &out) == 1,
             out);
  BOOST_TEST(run_cli("compare --out '" + (dir / "c") + "' --names a,b x.json", &out) == 1, out);
  BOOST_TEST(!fs::exists(dir.path() / "s"));
  BOOST_TEST(!fs::exists(dir.path() / "ev"));
  BOOST_TEST(!fs::exists(dir.path() / "c"));
  // An error of the work itself stays 2 (an unreadable model).
  BOOST_TEST(run_cli("explain --quiet --model '" + (dir / "none.bowlrp") + "' --out '" + (dir / "e") + "' '" + image + "'",
                     &out) == 2);
}

// A long value is quoted shortened, once: a 100,000-character --rule gave a 200 KB message.
BOOST_AUTO_TEST_CASE(long_values_are_quoted_shortened) {
  TempDir dir;
  std::string out;
  const std::string rule(100000, 'z');
  BOOST_TEST(run_cli("voc --root x --out '" + (dir / "v") + "' --rule '" + rule + "'", &out) == 1);
  BOOST_TEST(out.size() < 2000u, out.size());
  BOOST_TEST(out.find("'" + std::string(60, 'z') + "\u2026' (100000 characters)") != std::string::npos, out);
  BOOST_TEST(run_cli("train --data x --out '" + (dir / "m") + "' --kernel " + std::string(5000, 'k'), &out) == 1);
  BOOST_TEST(out.size() < 1000u, out.size());
  BOOST_TEST(out.find("(5000 characters)") != std::string::npos, out);
}

// A network head has no single bias to share: --bias is refused (exit 1) rather than ignored while the
// JSON reported it, and the JSON reports no policy; a rule list that does not fit the layers is refused
// before any image is read or the output folder made.
BOOST_AUTO_TEST_CASE(network_heads_refuse_bias_and_rule_lists_of_another_length) {
  TempDir dir;
  const std::string root = make_shapes(dir, 4, {"circle", "cross"});
  const std::string m = train_small_model(dir, root, "mlp.bowlrp", "--head mlp --hidden 4 --epochs 2 ");
  const std::string image = (fs::path(root) / "circle" / "circle_0000.png").string();
  const std::string explain = "explain --quiet --model '" + m + "' --out '" + (dir / "e") + "' ";
  std::string out;
  for (const std::string bias : {"uniform", "proportional", "absorbed"}) {
    BOOST_TEST(run_cli(explain + "--bias " + bias + " '" + image + "'", &out) == 1, bias << "\n" << out);
    BOOST_TEST(out.find("--bias '" + bias + "': applies to SVM heads only") != std::string::npos, out);
  }
  BOOST_TEST(run_cli(explain + "--rule 'z;z;z' '" + image + "'", &out) == 1, out);
  BOOST_TEST(out.find("explicit list has 3 rules") != std::string::npos, out);
  BOOST_TEST(out.find("the network has 2 layers") != std::string::npos, out);
  BOOST_TEST(!fs::exists(dir.path() / "e"));
  BOOST_TEST(run_cli("voc --quiet --root x --model '" + m + "' --out '" + (dir / "v") + "' --bias absorbed", &out) == 1,
             out);
  BOOST_TEST(!fs::exists(dir.path() / "v"));
  BOOST_REQUIRE_MESSAGE(run_cli(explain + "--rule 'flat;epsilon' '" + image + "'", &out) == 0, out);
  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(dir / "e/circle_0000.json"));
  BOOST_TEST(j.at("bias_policy").is_null());
  BOOST_TEST(j.at("network").at("composite").get<std::string>() == "flat;epsilon:0.01");
  // An SVM head reports the policy it applied.
  const std::string svm = train_small_model(dir, root);
  BOOST_REQUIRE(run_cli("explain --quiet --model '" + svm + "' --out '" + (dir / "e2") + "' --bias absorbed '" + image + "'",
                        &out) == 0);
  BOOST_TEST(nlohmann::json::parse(bowlrp::core::read_file(dir / "e2/circle_0000.json")).at("bias_policy") == "absorbed");
}

BOOST_AUTO_TEST_CASE(explain_lists_training_images_and_refuses_them_for_a_linear_head) {
  // --training-images K: the listed training images are files training was given, each with its
  // matching map as <stem>.supporting-<rank>.npy (H x W, summing to c_i); a linear head has no support
  // vectors: exit 1 naming the flag and why, nothing written. Tiny models (4 images, 8 words).
  TempDir dir;
  bowlrp::datasets::ShapesOptions o;
  o.classes = {"circle", "cross"};
  o.images_per_class = 2;
  o.width = o.height = 48;
  bowlrp::datasets::write_shapes(o, dir / "shapes");
  const std::string root = dir / "shapes/images";
  const std::string tiny = "--words 8 --step 4 --bin-sizes 4 --pyramid 1x1 --kmeans-samples 500 --quiet ";
  const std::string image = (fs::path(root) / "circle" / "circle_0000.png").string();
  std::string out;
  const std::string kernel = dir / "k.bowlrp", linear = dir / "l.bowlrp";
  BOOST_REQUIRE_MESSAGE(run_cli("train --data '" + root + "' --out '" + kernel + "' " + tiny, &out) == 0, out);
  // The same encoding under a linear head (no training needed to be refused).
  const bowlrp::model::Model k = bowlrp::model::Model::load(kernel);
  const std::vector<double> w(k.dimension(), 0.5);
  bowlrp::model::Model(k.encoding(), bowlrp::model::Head(std::make_shared<const bowlrp::svm::LinearSvm>(
                                          k.dimension(), std::vector<bowlrp::svm::LinearClass>{{"circle", 0.1, w},
                                                                                               {"cross", -0.1, w}})))
      .save(linear);
  BOOST_REQUIRE_MESSAGE(run_cli("explain --quiet --training-images 2 --model '" + kernel + "' --out '" + (dir / "e") +
                                    "' '" + image + "'", &out) == 0, out);
  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(dir / "e/circle_0000.json"));
  const nlohmann::json& supporting = j.at("training_images").at("supporting");
  BOOST_TEST_REQUIRE(!supporting.empty());
  for (std::size_t r = 0; r < supporting.size(); ++r) {
    BOOST_TEST(supporting[r].at("image").get<std::string>().rfind(root, 0) == 0);
    const std::string npy = bowlrp::core::read_file(dir / ("e/circle_0000.supporting-" + std::to_string(r + 1) + ".npy"));
    BOOST_TEST(npy.find("'shape': (48, 48)") != std::string::npos);
    BOOST_TEST(supporting[r].at("training_map") == true);
    BOOST_TEST(fs::is_regular_file(dir.path() / ("e/circle_0000.supporting-" + std::to_string(r + 1) + ".training.npy")));
  }
  // The page lists the explained image and each listed training image with its three pictures.
  const std::string page = bowlrp::core::read_file(dir / "e/training-images.html");
  BOOST_TEST(page.find("<h2>" + image + "</h2>") != std::string::npos);
  BOOST_TEST(page.find(supporting[0].at("image").get<std::string>()) != std::string::npos);
  const std::size_t listed = supporting.size() + j.at("training_images").at("opposing").size();
  std::size_t pictures = 0;
  for (std::size_t at = page.find("<img"); at != std::string::npos; at = page.find("<img", at + 1)) ++pictures;
  BOOST_TEST(pictures == 2 + 3 * listed);
  BOOST_TEST(run_cli("explain --quiet --training-images 2 --model '" + linear + "' --out '" + (dir / "l") + "' '" + image +
                         "'", &out) == 1, out);
  BOOST_TEST(out.find("--training-images 2: training-image attribution needs a kernel-SVM head") != std::string::npos, out);
  BOOST_TEST(out.find("linear-svm") != std::string::npos, out);
  BOOST_TEST(!fs::exists(dir.path() / "l"));
}

// ---- outputs and caches that are not ours to break (issue 25) ----

BOOST_AUTO_TEST_CASE(train_refuses_an_output_that_is_a_folder_before_training) {
  TempDir dir;
  const std::string root = make_shapes(dir, 2);
  const std::string folder = dir / "existing";
  fs::create_directories(folder);
  const std::string cache = dir / "cache";
  std::string out;
  BOOST_TEST(run_cli("train --data '" + root + "' --out '" + folder + "' --cache '" + cache + "' " + kSmall, &out) == 2,
             out);
  BOOST_TEST(out.find(folder) != std::string::npos, out);
  BOOST_TEST(out.find("a directory") != std::string::npos, out);
  BOOST_TEST(out.find("Success") == std::string::npos, out);
  BOOST_TEST(!fs::exists(cache), "the training started: " << out);
  BOOST_TEST(fs::is_directory(folder));
}

BOOST_AUTO_TEST_CASE(outputs_are_written_only_over_regular_files) {
  TempDir dir;
  const std::string root = make_shapes(dir, 2);
  const std::string model = train_small_model(dir, root);
  // A device node where the test may create one (/dev/full's numbers), else a FIFO.
  const std::string node = dir / "full";
  const bool device = ::mknod(node.c_str(), S_IFCHR | 0600, makedev(1, 7)) == 0;
  if (!device) {
    std::cerr << "\n*** NOTE: cannot create a device node (needs root): a FIFO stands for it ***\n\n";
    BOOST_REQUIRE(::mkfifo(node.c_str(), 0600) == 0);
  }
  std::string out;
  BOOST_TEST(run_cli("predict --quiet --model '" + model + "' --json '" + node + "' '" + root + "'", &out) == 2, out);
  BOOST_TEST(out.find(node) != std::string::npos, out);
  BOOST_TEST(out.find("only over regular files") != std::string::npos, out);
  struct stat st {};
  BOOST_TEST((::lstat(node.c_str(), &st) == 0 && (device ? S_ISCHR(st.st_mode) : S_ISFIFO(st.st_mode))));
  BOOST_TEST(run_cli("train --data '" + root + "' --out '" + node + "' " + kSmall, &out) == 2, out);
  BOOST_TEST((::lstat(node.c_str(), &st) == 0 && !S_ISREG(st.st_mode)));
}

BOOST_AUTO_TEST_CASE(explain_stops_with_exit_2_when_its_output_cannot_be_written) {
  // An output that cannot be written is not a skipped input (exit 3): exit 2, "output not writable".
  TempDir dir;
  const std::string root = make_shapes(dir, 2);
  const std::string model = train_small_model(dir, root);
  const std::string image = (fs::path(root) / "circle" / "circle_0000.png").string();
  const std::string ex = dir / "ex";
  fs::create_directories(ex + "/circle_0000.heatmap.png");  // a folder where a heatmap goes
  std::string out;
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + ex + "' '" + image + "'", &out) == 2, out);
  BOOST_TEST(out.find("circle_0000.heatmap.png") != std::string::npos, out);
  BOOST_TEST(out.find("skipped") == std::string::npos, out);
  // A full disk: a 420 KB tmpfs filled to the last byte.
  const std::string disk = dir / "disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=420k") != 0) {
    std::cerr << "\n*** SKIPPED: cannot mount a tmpfs (needs root): explain onto a full disk is not tested ***\n\n";
    return;
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{disk};
  fs::create_directories(disk + "/ex");
  {
    std::ofstream fill(disk + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    for (int i = 0; i < 200 && fill.write(block.data(), block.size()).flush(); ++i) {
    }
  }
  BOOST_TEST(run_cli("explain --quiet --model '" + model + "' --out '" + disk + "/ex' '" + image + "'", &out) == 2, out);
  BOOST_TEST(out.find("No space left on device") != std::string::npos, out);
  BOOST_TEST(out.find("skipped") == std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(train_with_a_cache_that_cannot_be_written_warns_once_and_loses_no_image) {
  TempDir dir;
  const std::string root = make_shapes(dir, 3);
  const std::string flags = "--encoding fisher --components 2 --pca 8 --fisher-samples 2000 ";
  const std::string plain = train_small_model(dir, root, "plain.bowlrp", flags);
  bowlrp::core::write_file_atomic(dir / "file", "x");
  const std::string model = dir / "cached.bowlrp";
  std::string out;
  BOOST_TEST(run_cli("train --data '" + root + "' --out '" + model + "' --cache '" + (dir / "file/cache") + "' " + flags +
                         kSmall,
                     &out) == 0,
             out);
  BOOST_TEST(out.find("skipped /") == std::string::npos, out);
  BOOST_TEST(out.find("0 skipped") != std::string::npos, out);
  BOOST_TEST(out.find("going on without caching") != std::string::npos, out);
  // Once per stage (the mixture's, the encoding's), not once per image.
  std::size_t warnings = 0;
  for (std::size_t at = out.find("warning: "); at != std::string::npos; at = out.find("warning: ", at + 1)) ++warnings;
  BOOST_TEST(warnings == 2u, out);
  BOOST_TEST((bowlrp::core::read_file(model) == bowlrp::core::read_file(plain)));
}

// The HTML / JSON report of `bowlrp voc` (report/report.h): base64, escaping, AP, AOPC, localisation,
// gallery and timings in both forms.
BOOST_AUTO_TEST_CASE(report_json_and_html) {
  namespace ap = bowlrp::apps;
  BOOST_CHECK_EQUAL(ap::base64(""), "");
  BOOST_CHECK_EQUAL(ap::base64("f"), "Zg==");
  BOOST_CHECK_EQUAL(ap::base64("fo"), "Zm8=");
  BOOST_CHECK_EQUAL(ap::base64("foo"), "Zm9v");
  BOOST_CHECK_EQUAL(ap::base64("foobar"), "Zm9vYmFy");
  BOOST_CHECK_EQUAL(ap::base64(std::string("\xff\x00\x10", 3)), "/wAQ");
  BOOST_CHECK_EQUAL(ap::html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");

  ap::ReportData d;
  d.title = "test <report>";
  d.settings = {{"codebook", "1024 words"}};
  d.classes.push_back(ap::report_class("cat", {0.9, 0.8, 0.7, 0.6}, {1, -1, 1, -1}));
  d.classes.push_back(ap::report_class("dog", {0.9, 0.1}, {1, -1}));
  BOOST_CHECK_CLOSE(d.classes[0].ap, 28.0 / 33.0, 1e-12);
  BOOST_CHECK_CLOSE(d.classes[0].ap_area, 5.0 / 6.0, 1e-12);
  BOOST_CHECK_EQUAL(d.classes[0].recall.size(), 4u);
  bowlrp::evaluation::FlipSummary fs;
  fs.add({{"random", {1.0, 0.9, 0.8}}, {"lrp", {1.0, 0.5, 0.0}}, {"occlusion", {1.0, 0.7, 0.4}}});
  d.flipping = ap::report_curves(fs);
  BOOST_REQUIRE_EQUAL(d.flipping.size(), 3u);
  BOOST_CHECK_EQUAL(d.flipping.front().name, "lrp");
  BOOST_CHECK_EQUAL(d.flipping.back().name, "random");
  BOOST_CHECK_CLOSE(d.flipping.front().aopc, 0.5, 1e-12);
  bowlrp::evaluation::LocalisationSummary ls;
  ls.images = 4;
  ls.mean_relevance_share = 0.6;
  ls.pointing_accuracy = 0.75;
  d.localisation = ap::report_localisation("box", ls);
  ap::ReportGalleryItem g;
  g.group = "top-scoring";
  g.id = "000005";
  g.class_name = "cat";
  g.score = 1.5;
  g.label = 1;
  g.heatmap.bytes = "foo";
  d.gallery.push_back(g);
  d.timings.push_back({"encode", 2.5, 10});

  const nlohmann::json j = ap::report_json(d);
  BOOST_CHECK_EQUAL(j.at("ap_definition").get<std::string>(), "voc07-11pt");
  BOOST_CHECK_CLOSE(j.at("ap").at("cat").get<double>(), 28.0 / 33.0, 1e-12);
  BOOST_CHECK_CLOSE(j.at("ap_area").at("cat").get<double>(), 5.0 / 6.0, 1e-12);
  BOOST_CHECK_CLOSE(j.at("map").get<double>(), (28.0 / 33.0 + 1.0) / 2, 1e-12);
  BOOST_CHECK_CLOSE(j.at("aopc").at("lrp").get<double>(), 0.5, 1e-12);
  BOOST_CHECK(j.at("aopc").contains("random"));
  BOOST_CHECK_CLOSE(j.at("localisation").at("box_pointing").get<double>(), 0.75, 1e-12);
  BOOST_CHECK_EQUAL(j.at("timings").at("encode").get<double>(), 2.5);
  BOOST_CHECK(ap::report_json(ap::ReportData{}).at("map").is_null());

  const std::string html = ap::report_html(d);
  BOOST_CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  BOOST_CHECK(html.find("<script") == std::string::npos);
  BOOST_CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no other link
  BOOST_CHECK(html.find("test &lt;report&gt;") != std::string::npos);
  BOOST_CHECK(html.find("data:image/png;base64,Zm9v") != std::string::npos);
  BOOST_CHECK(html.find("<polyline") != std::string::npos);
  BOOST_CHECK(html.find("84.85") != std::string::npos);  // AP 28/33 in percent
  bowlrp::test::TempDir tmp;
  ap::write_report_html(tmp / "r/report.html", d);
  ap::write_report_json(tmp / "r/report.json", d);
  BOOST_CHECK_EQUAL(bowlrp::core::read_file(tmp / "r/report.html"), html);
  BOOST_CHECK(nlohmann::json::parse(bowlrp::core::read_file(tmp / "r/report.json")) == j);
}

BOOST_AUTO_TEST_SUITE_END()
