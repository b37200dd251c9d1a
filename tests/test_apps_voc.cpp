// Suite apps/voc: the `bowlrp voc` command (the VOC protocol through the CLI): its flags, and end to end on
// the real VOC2007 data: report structure and ranges, devkit results files, cache reuse on a second run,
// recomputation of a corrupt cache entry; the network head and Fisher vectors conserving layer by layer;
// unreadable images named and counted (exit code 3).
#include <bowlrp/core/io.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/model/fit.h>

#include "test_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using bowlrp::test::run_cli;
using bowlrp::test::TempDir;

namespace {

// All files below a folder.
std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(apps)
BOOST_AUTO_TEST_SUITE(voc)

BOOST_AUTO_TEST_CASE(bad_arguments_name_the_flag) {
  bowlrp::evaluation::VocProtocolOptions a;
  a.root = "/x";
  a.validate();
  auto message = [](bowlrp::evaluation::VocProtocolOptions v) {
    try {
      v.validate();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  bowlrp::evaluation::VocProtocolOptions b = a;
  b.quality.flip.steps = 0;
  BOOST_TEST(message(b).find("steps") != std::string::npos);
  b = a;
  b.explain = -1;
  BOOST_TEST(message(b).find("explain") != std::string::npos);
  b = a;
  b.root.clear();
  BOOST_TEST(message(b).find("root") != std::string::npos);
  std::string out;
  BOOST_TEST(run_cli("voc --out /tmp/x", &out) != 0);
  BOOST_TEST(out.find("--root") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(end_to_end_on_voc_with_cache_reuse_and_corruption) {
  if (!bowlrp::test::have_voc()) return;
  TempDir dir;
  const std::string out = dir / "run";
  const std::string root = bowlrp::test::voc_root();
  const std::string flags = "voc --root '" + root + "' --train-set train --test-set val --classes car,dog,person " +
                            "--max-images 30 --words 64 --step 8 --bin-sizes 4,8 --kmeans-samples 20000 " +
                            "--flip-steps 10 --out '" + out + "'";
  const std::string flags_explain = flags + " --explain 1";
  std::string log;
  // Time is not asserted here (a loaded CI machine would fail a correct build); bench/run.sh times
  // the voc command against the peer in the same run.
  BOOST_TEST_REQUIRE(run_cli(flags_explain, &log) == 0, log);

  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(out + "/report.json"));
  BOOST_TEST(j["ap_definition"] == "voc07-11pt");
  const std::vector<std::string> classes = {"car", "dog", "person"};
  double sum = 0;
  for (const auto& c : classes) {
    const double ap = j["ap"][c].get<double>(), area = j["ap_area"][c].get<double>();
    BOOST_TEST(ap >= 0.0);
    BOOST_TEST(ap <= 1.0);
    BOOST_TEST(area >= 0.0);
    BOOST_TEST(area <= 1.0);
    sum += ap;
  }
  BOOST_TEST(std::fabs(j["map"].get<double>() - sum / 3) < 1e-12);
  BOOST_TEST(j["test_images"] == 30);
  BOOST_TEST(j["train_images"] == 30);
  for (const char* m : {"lrp", "random", "occlusion"}) {
    BOOST_REQUIRE(j["aopc"].contains(m));
    BOOST_TEST(std::isfinite(j["aopc"][m].get<double>()));
    BOOST_TEST(j["flipping_curves"][m].size() == 11u);
  }
  BOOST_TEST(j["explained_images"] == 3);  // 1 per class
  BOOST_TEST(j["conservation_max_error"].get<double>() < 1e-6);
  BOOST_REQUIRE(j["localisation"].contains("lrp_boxes_relevance_share"));
  for (const auto& [k, v] : j["localisation"].items()) {
    if (k.find("_images") != std::string::npos) continue;
    BOOST_TEST(v.get<double>() >= 0.0, k);
    BOOST_TEST(v.get<double>() <= 1.0, k);
  }
  BOOST_TEST(j["localisation"]["lrp_boxes_images"].get<double>() > 0);
  for (const char* t : {"encode test", "explain + flip + occlusion", "total"}) BOOST_TEST(j["timings"].contains(t));

  const std::string html = bowlrp::core::read_file(out + "/index.html");
  BOOST_TEST(html.find("AP (VOC2007)") != std::string::npos);
  BOOST_TEST(html.find("<svg") != std::string::npos);
  BOOST_TEST(html.find("data:image/png;base64,") != std::string::npos);
  BOOST_TEST(fs::exists(out + "/model.bowlrp"));

  // Devkit results: one "<id> <score>" line per test image, ids of the val set.
  std::map<std::string, std::string> results;
  for (const auto& c : classes) {
    const std::string path = out + "/results/comp1_cls_val_" + c + ".txt";
    results[c] = bowlrp::core::read_file(path);
    const auto rows = bowlrp::datasets::read_voc_results(path);
    BOOST_TEST(rows.size() == 30u);
    const auto val = bowlrp::datasets::VocSet::load(root, "val", {c}, false);
    const std::set<std::string> ids(val.ids.begin(), val.ids.end());
    for (const auto& r : rows) BOOST_TEST(ids.count(r.id) == 1u);
  }

  // Second run: every histogram and the codebook come from the cache; same scores.
  auto stage = [](const nlohmann::json& r) {
    return r["timings"]["codebook sample"].get<double>() + r["timings"]["k-means"].get<double>() +
           r["timings"]["encode train"].get<double>() + r["timings"]["encode test"].get<double>();
  };
  BOOST_TEST_REQUIRE(run_cli(flags_explain, &log) == 0, log);
  BOOST_TEST(log.find("codebook: 64 words from the cache") != std::string::npos);
  BOOST_TEST(log.find("encode test cache: 30 read, 0 computed, 0 corrupt") != std::string::npos, log);
  const nlohmann::json j2 = nlohmann::json::parse(bowlrp::core::read_file(out + "/report.json"));
  BOOST_TEST(stage(j2) < 0.5 * stage(j), stage(j2) << " vs " << stage(j));
  for (const auto& c : classes) BOOST_TEST(bowlrp::core::read_file(out + "/results/comp1_cls_val_" + c + ".txt") == results[c]);
  BOOST_TEST(j2["aopc"] == j["aopc"]);

  // A corrupt histogram entry is detected, recomputed and rewritten; scores are unchanged.
  const std::vector<fs::path> entries = files_under(fs::path(out) / "cache" / "histograms");
  BOOST_REQUIRE(entries.size() >= 60u);
  std::string bytes = bowlrp::core::read_file(entries[3].string());
  bytes[bytes.size() / 2] ^= 0x55;
  bowlrp::core::write_file_atomic(entries[3].string(), bytes);
  const std::string before = bowlrp::core::read_file(entries[5].string());
  bowlrp::core::write_file_atomic(entries[5].string(), before.substr(0, before.size() / 3));
  BOOST_TEST_REQUIRE(run_cli(flags + " --explain 0 --gallery 0", &log) == 0, log);
  // "<label> cache: R read, C computed, X corrupt entries recomputed" per encoding pass.
  std::size_t corrupt = 0, computed = 0;
  for (std::size_t at = log.find(" cache: "); at != std::string::npos; at = log.find(" cache: ", at + 1)) {
    std::size_t r = 0, c = 0, x = 0;
    if (std::sscanf(log.c_str() + at, " cache: %zu read, %zu computed, %zu corrupt", &r, &c, &x) == 3) {
      corrupt += x;
      computed += c;
    }
  }
  BOOST_TEST(corrupt == 2u, log);
  BOOST_TEST(computed == 2u, log);
  BOOST_TEST(bowlrp::core::read_file(entries[5].string()) == before);
  for (const auto& c : classes) BOOST_TEST(bowlrp::core::read_file(out + "/results/comp1_cls_val_" + c + ".txt") == results[c]);
  const nlohmann::json j3 = nlohmann::json::parse(bowlrp::core::read_file(out + "/report.json"));
  BOOST_TEST(j3["aopc"].empty());
}

// The network head on real images: `voc --head mlp` trains it over Bag-of-Words, explanations are
// conserved at every layer under the default composite, `explain --rule` gives per-layer sums and
// absorbed parts that add up (f = Σ_d R_d + Σ absorbed, upper = lower + absorbed per layer, and the
// layers chain), and `compare --heatmaps` puts two rules' heatmaps of the same image side by side.
BOOST_AUTO_TEST_CASE(network_head_end_to_end_on_voc_conserves_layer_by_layer) {
  if (!bowlrp::test::have_voc()) return;
  TempDir dir;
  const std::string root = bowlrp::test::voc_root();
  const std::string out = dir / "mlp";
  std::string log;
  BOOST_TEST_REQUIRE(run_cli("voc --root '" + root + "' --train-set train --test-set val --classes car,dog,person "
                             "--max-images 30 --step 8 --bin-sizes 4,8 --flip-steps 10 --explain 1 --words 64 "
                             "--kmeans-samples 20000 --head mlp --hidden 32 --epochs 15 --rule alpha2beta1 --out '" +
                                 out + "'",
                             &log) == 0,
                     log);
  const nlohmann::json r = nlohmann::json::parse(bowlrp::core::read_file(out + "/report.json"));
  BOOST_TEST(r["explained_images"] == 3);
  BOOST_TEST(r["conservation_max_error"].get<double>() < 1e-9);
  BOOST_TEST(r["settings"]["head"].get<std::string>().find("network (ReLU) 320-32-3") == 0, r["settings"].dump());
  for (const char* m : {"lrp", "sensitivity", "occlusion", "random"}) BOOST_TEST(std::isfinite(r["aopc"][m].get<double>()));

  const std::string model = out + "/model.bowlrp";
  const std::string image = root + "/JPEGImages/000005.jpg";
  for (const std::string rule : {"z", "epsilon", "alpha1beta0", "w2;epsilon"}) {
    const std::string where = dir / ("explained_" + std::to_string(rule.size()));
    BOOST_TEST_REQUIRE(run_cli("explain --model '" + model + "' --class car --rule '" + rule + "' --out '" + where +
                                   "' '" + image + "'",
                               &log) == 0,
                       rule << ": " << log);
    const nlohmann::json e = nlohmann::json::parse(bowlrp::core::read_file(where + "/000005.json"));
    BOOST_TEST(e["method"] == "layer-wise");
    BOOST_TEST(e["conserved"] == true, rule);
    BOOST_TEST_REQUIRE(e["network"]["layers"].size() == 2u, rule);
    BOOST_TEST(e["network"]["conserved"] == true);
    const double f = e["score"].get<double>(), tol = 1e-9 * std::max(1.0, std::fabs(f));
    double absorbed = 0;
    for (const auto& l : e["network"]["layers"]) {
      BOOST_TEST(std::fabs(l["upper"].get<double>() - l["lower"].get<double>() - l["absorbed"].get<double>()) <= tol, rule);
      absorbed += l["absorbed"].get<double>();
    }
    const auto& L = e["network"]["layers"];
    BOOST_TEST(std::fabs(L[1]["upper"].get<double>() - f) <= tol);                                  // output layer gets f
    BOOST_TEST(std::fabs(L[0]["upper"].get<double>() - L[1]["lower"].get<double>()) <= tol);       // layers chain
    BOOST_TEST(std::fabs(e["relevance_sum"]["dimensions"].get<double>() + absorbed - f) <= tol);   // f = Σ R_d + absorbed
    BOOST_TEST(std::fabs(e["absorbed"].get<double>() - absorbed) <= tol);
    const double total = e["relevance_sum"]["pixels"].get<double>() + e["absorbed"].get<double>() +
                         e["unassigned"]["features"].get<double>() + e["unassigned"]["pixels"].get<double>();
    BOOST_TEST(std::fabs(f - total) <= tol, rule);
    if (rule == "w2;epsilon") BOOST_TEST(L[0]["rule"] == "w2");
  }
  std::string bad;
  BOOST_TEST(run_cli("explain --model '" + model + "' --rule 'alpha-beta:2:2' --out '" + (dir / "x") + "' '" + image + "'",
                     &bad) == 1, bad);  // a malformed rule is a usage error
  BOOST_TEST(bad.find("alpha") != std::string::npos, bad);

  BOOST_TEST_REQUIRE(run_cli("compare --out '" + (dir / "cmp") + "' --names z,alpha1beta0 --heatmaps '" +
                                 (dir / "explained_1") + "," + (dir / "explained_11") + "' '" + out + "' '" + out + "'",
                             &log) == 0,
                     log);
  const std::string html = bowlrp::core::read_file(dir / "cmp/index.html");
  BOOST_TEST(html.find("Heatmaps side by side") != std::string::npos);
  BOOST_TEST(html.find("data:image/png;base64,") != std::string::npos);
  BOOST_TEST(html.find("000005") != std::string::npos);
}

// `voc --encoding fisher` on real images beside Bag-of-Words: conserved explanations, a version 2 model
// file whose explanations report the absorbed part, and `compare` of the two runs.
BOOST_AUTO_TEST_CASE(fisher_vectors_end_to_end_on_voc_conserve_and_compare_with_bag_of_words) {
  if (!bowlrp::test::have_voc()) return;
  TempDir dir;
  const std::string root = bowlrp::test::voc_root();
  const std::string common = "voc --root '" + root + "' --train-set train --test-set val --classes car,dog,person " +
                             "--max-images 30 --step 8 --bin-sizes 4,8 --flip-steps 10 --explain 1 ";
  const std::string fisher_out = dir / "fisher", bow_out = dir / "bow";
  std::string log;
  BOOST_TEST_REQUIRE(run_cli(common + "--encoding fisher --components 8 --pca 24 --fisher-samples 20000 --out '" +
                                 fisher_out + "'",
                             &log) == 0,
                     log);
  BOOST_TEST_REQUIRE(run_cli(common + "--words 64 --kmeans-samples 20000 --out '" + bow_out + "'", &log) == 0, log);
  const nlohmann::json f = nlohmann::json::parse(bowlrp::core::read_file(fisher_out + "/report.json"));
  BOOST_TEST(f["test_images"] == 30);
  BOOST_TEST(f["explained_images"] == 3);
  // Conservation of the Fisher model once the bias share and the ε-absorbed part are counted.
  BOOST_TEST(f["conservation_max_error"].get<double>() < 1e-9);
  for (const char* m : {"lrp", "sensitivity", "occlusion", "random"}) {
    BOOST_REQUIRE(f["aopc"].contains(m));
    BOOST_TEST(std::isfinite(f["aopc"][m].get<double>()));
  }
  BOOST_TEST(f["settings"]["encoding"].get<std::string>().find("fisher-vector") == 0);
  BOOST_TEST(f["settings"]["head"].get<std::string>().find("linear SVM") == 0);

  // The model file is version 2 and explains images with the absorbed part in the JSON.
  const std::string model = fisher_out + "/model.bowlrp";
  const std::string image = root + "/JPEGImages/000005.jpg";
  BOOST_TEST_REQUIRE(run_cli("explain --model '" + model + "' --class car --out '" + (dir / "explained") + "' '" +
                                 image + "'",
                             &log) == 0,
                     log);
  const nlohmann::json e = nlohmann::json::parse(bowlrp::core::read_file(dir / "explained/000005.json"));
  BOOST_TEST(e["encoding"] == "fisher-vector");
  BOOST_TEST(e["conserved"] == true);
  const double total = e["relevance_sum"]["pixels"].get<double>() + e["absorbed"].get<double>() +
                       e["absorbed_features"].get<double>() + e["unassigned"]["features"].get<double>() +
                       e["unassigned"]["pixels"].get<double>();
  BOOST_TEST(std::fabs(e["score"].get<double>() - total) <= 1e-9 * std::max(1.0, std::fabs(e["score"].get<double>())));

  // Side by side: the compare page lists both runs' mAP and AOPC.
  BOOST_TEST_REQUIRE(run_cli("compare --out '" + (dir / "cmp") + "' --names fisher,bow '" + fisher_out + "' '" +
                                 bow_out + "'",
                             &log) == 0,
                     log);
  const nlohmann::json c = nlohmann::json::parse(bowlrp::core::read_file(dir / "cmp/compare.json"));
  BOOST_TEST_REQUIRE(c["runs"].size() == 2u);
  BOOST_TEST(c["runs"][0]["name"] == "fisher");
  BOOST_TEST(c["runs"][0]["map"].get<double>() == f["map"].get<double>());
  BOOST_TEST(c["runs"][1]["aopc"].contains("lrp"));
  const std::string html = bowlrp::core::read_file(dir / "cmp/index.html");
  BOOST_TEST(html.find("Explanation quality") != std::string::npos);
}

// One unreadable test image and one unreadable training image: the run goes on without them, names
// each on stderr, counts them in report.json and exits 3 (ran to the end, some inputs failed).
BOOST_AUTO_TEST_CASE(unreadable_images_are_named_and_exit_code_is_3) {
  if (!bowlrp::test::have_voc()) return;
  TempDir dir;
  const fs::path voc(bowlrp::test::voc_root());
  const fs::path root = fs::path(dir.path()) / "VOC2007";
  const std::string out = dir / "run";
  auto flags = [&](const fs::path& r) {
    return "voc --root '" + r.string() + "' --train-set train --test-set val --classes car,dog " +
           "--max-images 12 --words 32 --step 8 --bin-sizes 4,8 --kmeans-samples 5000 --explain 0 " +
           "--gallery 0 --no-cache --out '" + out + "'";
  };
  std::string log;
  BOOST_TEST_REQUIRE(run_cli(flags(voc), &log) == 0, log);
  const auto rows = bowlrp::datasets::read_voc_results(out + "/results/comp1_cls_val_car.txt");
  BOOST_REQUIRE(rows.size() == 12u);
  const std::string bad_test = rows[3].id;
  // A training image the run uses: the seeded choice of --max-images, as voc makes it.
  const auto train = bowlrp::datasets::VocSet::load(voc.string(), "train", {"car", "dog"});
  const auto chosen = bowlrp::evaluation::choose_images(train.labels, train.classes.size(), 12, bowlrp::model::FitOptions{}.pipeline.kmeans.seed);
  BOOST_REQUIRE(chosen.size() == 12u);
  const std::string bad_train = train.ids[chosen[5]];
  // A VOC root holding only the images of this run (its lists cut to them, the rest linked to the real
  // root), so that single images can be replaced; linking all 5008 images costs seconds.
  fs::create_directories(root / "JPEGImages");
  fs::create_directories(root / "ImageSets" / "Main");
  for (const char* d : {"Annotations", "SegmentationClass", "ImageSets/Segmentation"})
    if (fs::exists(voc / d)) fs::create_directory_symlink(voc / d, root / d);
  std::map<std::string, std::set<std::string>> kept;
  for (const auto& r : rows) kept["val"].insert(r.id);
  for (const std::size_t i : chosen) kept["train"].insert(train.ids[i]);
  for (const auto& [set, ids] : kept) {
    std::string list;
    for (const std::string& id : ids) {
      list += id + "\n";
      fs::create_symlink(voc / "JPEGImages" / (id + ".jpg"), root / "JPEGImages" / (id + ".jpg"));
    }
    bowlrp::core::write_file_atomic((root / "ImageSets" / "Main" / (set + ".txt")).string(), list);
    for (const char* c : {"car", "dog"}) {
      const std::string name = std::string(c) + "_" + set + ".txt";
      std::istringstream in(bowlrp::core::read_file((voc / "ImageSets" / "Main" / name).string()));
      std::string line, cut;
      while (std::getline(in, line))
        if (ids.count(line.substr(0, line.find(' '))) == 1) cut += line + "\n";
      bowlrp::core::write_file_atomic((root / "ImageSets" / "Main" / name).string(), cut);
    }
  }
  for (const std::string& id : {bad_test, bad_train}) {
    const fs::path jpg = root / "JPEGImages" / (id + ".jpg");
    const std::string bytes = bowlrp::core::read_file(jpg.string());
    fs::remove(jpg);
    bowlrp::core::write_file_atomic(jpg.string(), bytes.substr(0, bytes.size() / 3));  // truncated scan
  }

  BOOST_TEST(run_cli(flags(root), &log) == 3, log);
  BOOST_TEST(log.find(bad_test + ".jpg") != std::string::npos, log);
  const nlohmann::json j = nlohmann::json::parse(bowlrp::core::read_file(out + "/report.json"));
  BOOST_TEST(j["failed_images"] == 1);
  BOOST_TEST(j["test_images"] == 12);
  const auto after = bowlrp::datasets::read_voc_results(out + "/results/comp1_cls_val_car.txt");
  // The devkit needs a row per test image: the unreadable one is ranked last, at -inf.
  BOOST_TEST_REQUIRE(after.size() == 12u);
  for (std::size_t k = 0; k < after.size(); ++k) {
    BOOST_TEST(kept["val"].count(after[k].id) == 1u);
    if (after[k].id == bad_test) BOOST_TEST(after[k].score == -std::numeric_limits<double>::infinity());
    else BOOST_TEST(std::isfinite(after[k].score));
  }
  BOOST_TEST(log.find("skipped " + (root / "JPEGImages" / (bad_train + ".jpg")).string()) != std::string::npos, log);
  BOOST_TEST(j["train_images"] == 12);
  BOOST_TEST(j["skipped_train_images"] == 1);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
