// Tests of bowlrp::datasets: folder sets on temporary trees, VOC on the real VOC2007 data, and
// the synthetic shapes generator against reference rasterisations written here.
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/datasets/voc.h>

#include "test_util.h"

#include <opencv2/imgcodecs.hpp>

#include <dirent.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace ds = bowlrp::datasets;
using bowlrp::test::TempDir;
using bowlrp::test::voc_root;

namespace {

void touch(const fs::path& p, const std::string& content = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs f, which must throw E, and returns the message.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  BOOST_FAIL("expected an exception");
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Copies the small list files of ImageSets/Main for one set and the given classes.
fs::path copy_lists(const TempDir& tmp, const std::string& set, const std::vector<std::string>& classes) {
  const fs::path src = fs::path(voc_root()) / "ImageSets" / "Main";
  const fs::path dst = tmp.path() / "VOC2007" / "ImageSets" / "Main";
  fs::create_directories(dst);
  fs::copy_file(src / (set + ".txt"), dst / (set + ".txt"));
  for (const auto& c : classes) fs::copy_file(src / (c + "_" + set + ".txt"), dst / (c + "_" + set + ".txt"));
  return tmp.path() / "VOC2007";
}

std::uint64_t fnv1a(const std::vector<unsigned char>& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

// Reference outline test, written independently of the library (std::sin/cos, plain geometry).
bool ref_inside(const std::string& shape, double u, double v) {
  if (shape == "circle") return std::hypot(u, v) <= 0.5;
  if (shape == "square") return std::max(std::fabs(u), std::fabs(v)) <= 0.5;
  if (shape == "triangle") {  // apex (0,-1/2), base corners (+-1/2, 1/2)
    const auto side = [](double ax, double ay, double bx, double by, double px, double py) {
      return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
    };
    const double s1 = side(0, -0.5, 0.5, 0.5, u, v), s2 = side(0.5, 0.5, -0.5, 0.5, u, v),
                 s3 = side(-0.5, 0.5, 0, -0.5, u, v);
    return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
  }
  const bool vertical = std::fabs(u) <= 1.0 / 6 && std::fabs(v) <= 0.5;
  const bool horizontal = std::fabs(v) <= 1.0 / 6 && std::fabs(u) <= 0.5;
  return vertical || horizontal;
}

std::vector<unsigned char> ref_mask(const ds::ShapeImage& img) {
  const double m = std::min(img.width, img.height), side = img.scale * m;
  const double t = img.rotation * M_PI / 180.0;
  std::vector<unsigned char> mask(static_cast<std::size_t>(img.width) * img.height);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const double dx = x + 0.5 - img.center_x, dy = y + 0.5 - img.center_y;
      // rotate the pixel back by -theta into the object's frame
      const double u = (std::cos(t) * dx + std::sin(t) * dy) / side;
      const double v = (-std::sin(t) * dx + std::cos(t) * dy) / side;
      mask[static_cast<std::size_t>(y) * img.width + x] = ref_inside(img.class_name, u, v) ? 1 : 0;
    }
  return mask;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(datasets)

// ---------------------------------------------------------------------------------------------
// Folder-per-class sets

BOOST_AUTO_TEST_CASE(image_extensions_case_insensitive) {
  for (const std::string ext : {"jpg", "jpeg", "png", "bmp", "tif", "tiff", "pgm", "ppm", "pbm", "webp"}) {
    std::string upper = ext;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    BOOST_TEST(ds::has_image_extension("a/b/x." + ext), ext);
    BOOST_TEST(ds::has_image_extension("x." + upper), upper);
  }
  for (const std::string bad : {"x.txt", "x.gif", "x", "jpg", "x.jpg.bak", "x.pn", "dir.png/readme"})
    BOOST_TEST(!ds::has_image_extension(bad), bad);
}

BOOST_AUTO_TEST_CASE(folder_scan_sorted_filtered) {
  TempDir tmp;
  const fs::path root = tmp.path() / "set";
  touch(root / "b_cls" / "z.pbm");
  touch(root / "b_cls" / "y.TIFF");
  touch(root / "b_cls" / "x.webp");
  touch(root / "a_cls" / "2.png");
  touch(root / "a_cls" / "10.jpeg");
  touch(root / "a_cls" / "1.JPG");
  touch(root / "a_cls" / ".hidden.png");    // hidden: ignored
  touch(root / "a_cls" / "notes.txt");      // other extension: ignored
  fs::create_directories(root / "a_cls" / "sub.png");  // a folder named like an image: ignored
  touch(root / ".git" / "x.png");           // hidden folder: not a class
  touch(root / "readme.png");               // file at the top: not a class
  touch(fs::u8path(root.string() + "/\xc3\xa9t\xc3\xa9/\xc3\xb6.png"));  // UTF-8 names: "été/ö.png"

  const ds::FolderDataset d = ds::FolderDataset::scan(root.string());
  const std::vector<std::string> classes{"a_cls", "b_cls", "\xc3\xa9t\xc3\xa9"};
  BOOST_TEST(d.classes == classes, boost::test_tools::per_element());
  std::vector<std::pair<std::string, int>> got;
  for (const auto& im : d.images) got.emplace_back(fs::u8path(im.path).filename().u8string(), im.label);
  const std::vector<std::pair<std::string, int>> want{{"1.JPG", 0},  {"10.jpeg", 0}, {"2.png", 0},
                                                      {"x.webp", 1}, {"y.TIFF", 1},  {"z.pbm", 1},
                                                      {"\xc3\xb6.png", 2}};
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    BOOST_TEST(got[i].first == want[i].first);
    BOOST_TEST(got[i].second == want[i].second);
  }
  for (const auto& im : d.images) BOOST_TEST(fs::is_regular_file(fs::u8path(im.path)), im.path);
}

BOOST_AUTO_TEST_CASE(folder_empty_class_error) {
  TempDir tmp;
  const fs::path root = tmp.path() / "set";
  touch(root / "cats" / "a.png");
  touch(root / "dogs" / "readme.txt");
  touch(root / "dogs" / ".b.png");
  const std::string msg = message_of<std::runtime_error>([&] { ds::FolderDataset::scan(root.string()); });
  BOOST_TEST(contains(msg, "'dogs'"), msg);
  BOOST_TEST(contains(msg, "no image file"), msg);
  BOOST_TEST(contains(msg, root.string()), msg);
}

BOOST_AUTO_TEST_CASE(folder_missing_root_and_no_classes) {
  TempDir tmp;
  const std::string missing = tmp / "nowhere";
  std::string msg = message_of<std::runtime_error>([&] { ds::FolderDataset::scan(missing); });
  BOOST_TEST(contains(msg, missing), msg);
  BOOST_TEST(contains(msg, "does not exist"), msg);

  touch(tmp.path() / "flat" / "a.png");  // images but no class folder
  msg = message_of<std::runtime_error>([&] { ds::FolderDataset::scan(tmp / "flat"); });
  BOOST_TEST(contains(msg, tmp / "flat"), msg);
  BOOST_TEST(contains(msg, "no class sub-folder"), msg);
}

BOOST_AUTO_TEST_CASE(folder_split_deterministic_disjoint_covering) {
  ds::FolderDataset d;
  d.classes = {"a", "b", "c", "d"};
  const int sizes[] = {10, 7, 2, 1};
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < sizes[c]; ++i) d.images.push_back({d.classes[c] + "/" + std::to_string(100 + i) + ".png", c});

  ds::FolderDataset tr1, te1, tr2, te2, tr3, te3;
  d.split(0.3, 42, &tr1, &te1);
  d.split(0.3, 42, &tr2, &te2);
  d.split(0.3, 43, &tr3, &te3);
  const auto paths = [](const ds::FolderDataset& s) {
    std::vector<std::string> p;
    for (const auto& im : s.images) p.push_back(im.path);
    return p;
  };
  BOOST_TEST(paths(te1) == paths(te2), boost::test_tools::per_element());
  BOOST_TEST(paths(tr1) == paths(tr2), boost::test_tools::per_element());
  BOOST_TEST(paths(te1) != paths(te3));  // another seed, another split (10 choose 3 * 7 choose 2 ...)
  BOOST_TEST(tr1.classes == d.classes, boost::test_tools::per_element());
  BOOST_TEST(te1.classes == d.classes, boost::test_tools::per_element());

  // Disjoint, covering, labels kept, original order kept within each part.
  std::map<std::string, int> seen;
  for (const auto* part : {&tr1, &te1})
    for (const auto& im : part->images) ++seen[im.path];
  BOOST_TEST(seen.size() == d.images.size());
  for (const auto& [p, n] : seen) BOOST_TEST(n == 1, p);
  for (const auto* part : {&tr1, &te1}) {
    std::vector<std::string> p = paths(*part), sorted = p;
    std::sort(sorted.begin(), sorted.end());
    BOOST_TEST(p == sorted, boost::test_tools::per_element());
    for (const auto& im : part->images) BOOST_TEST(im.path.substr(0, 1) == d.classes[im.label]);
  }
  // Per-class test counts: round(0.3 n) clamped to [1, n-1]; a lone image trains.
  const int want_test[] = {3, 2, 1, 0};
  for (int c = 0; c < 4; ++c) {
    const auto count = [c](const ds::FolderDataset& s) {
      return std::count_if(s.images.begin(), s.images.end(), [c](const auto& im) { return im.label == c; });
    };
    BOOST_TEST(count(te1) == want_test[c], "class " << c);
    BOOST_TEST(count(tr1) == sizes[c] - want_test[c], "class " << c);
  }
  // Output may alias the input.
  ds::FolderDataset alias = d, other;
  alias.split(0.3, 42, &alias, &other);
  BOOST_TEST(paths(alias) == paths(tr1), boost::test_tools::per_element());
  BOOST_TEST(paths(other) == paths(te1), boost::test_tools::per_element());
  // Over many seeds every image of a class ends up in the test part sometimes.
  std::set<std::string> ever;
  for (std::uint64_t s = 0; s < 200; ++s) {
    ds::FolderDataset tr, te;
    d.split(0.3, s, &tr, &te);
    for (const auto& im : te.images) ever.insert(im.path);
  }
  BOOST_TEST(ever.size() == d.images.size() - 1);  // all but the lone image of class d
}

BOOST_AUTO_TEST_CASE(folder_split_rejects_bad_fraction) {
  ds::FolderDataset d, a, b;
  d.classes = {"x"};
  d.images = {{"x/1.png", 0}, {"x/2.png", 0}};
  for (double f : {0.0, 1.0, -0.1, 1.5, std::nan("")}) {
    const std::string msg = message_of<std::invalid_argument>([&] { d.split(f, 0, &a, &b); });
    BOOST_TEST(contains(msg, "test_fraction"), msg);
  }
  BOOST_CHECK_THROW(d.split(0.5, 0, nullptr, &b), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// PASCAL VOC on the real data

BOOST_AUTO_TEST_CASE(voc_set_sizes) {
  if (!bowlrp::test::have_voc()) return;
  const std::map<std::string, std::size_t> want{{"train", 2500}, {"val", 2508}, {"trainval", 5008}};
  for (const auto& [set, n] : want) {
    const ds::VocSet s = ds::VocSet::load(voc_root(), set);
    BOOST_TEST(s.ids.size() == n, set);
    BOOST_TEST(s.classes == ds::voc_classes(), boost::test_tools::per_element());
    BOOST_TEST(s.labels.size() == n * 20);
    // Ids and the label matrix against a naive read of the lists.
    const auto ids = lines_of(fs::path(voc_root()) / "ImageSets" / "Main" / (set + ".txt"));
    BOOST_REQUIRE_EQUAL(ids.size(), n);
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST(s.ids[i] == ids[i].substr(0, 6));
    for (std::size_t c = 0; c < 20; c += 7) {
      std::map<std::string, int> ref;
      for (const auto& line : lines_of(fs::path(voc_root()) / "ImageSets" / "Main" / (s.classes[c] + "_" + set + ".txt"))) {
        std::istringstream ls(line);
        std::string id;
        int v;
        ls >> id >> v;
        ref[id] = v;
      }
      for (std::size_t i = 0; i < n; ++i) BOOST_TEST(s.label(i, c) == ref.at(s.ids[i]));
    }
  }
  BOOST_TEST(ds::VocSet::load(voc_root(), "train").image_path("000005") ==
             (fs::path(voc_root()) / "JPEGImages" / "000005.jpg").string());
}

BOOST_AUTO_TEST_CASE(voc_positive_counts_match_readme) {
  if (!bowlrp::test::have_voc()) return;
  // README of the data: positive images per class (train / val).
  const std::map<std::string, std::pair<int, int>> readme{
      {"aeroplane", {112, 126}}, {"bicycle", {116, 126}}, {"bird", {180, 150}}, {"boat", {81, 100}},
      {"bottle", {139, 105}},    {"bus", {97, 89}},       {"car", {375, 336}},  {"cat", {163, 174}},
      {"chair", {224, 221}},     {"cow", {69, 72}},       {"diningtable", {97, 103}}, {"dog", {203, 218}},
      {"horse", {139, 148}},     {"motorbike", {120, 125}}, {"person", {1025, 981}},
      {"pottedplant", {133, 112}}, {"sheep", {48, 48}},   {"sofa", {111, 118}}, {"train", {127, 134}},
      {"tvmonitor", {128, 128}}};
  const ds::VocSet train = ds::VocSet::load(voc_root(), "train");
  const ds::VocSet val = ds::VocSet::load(voc_root(), "val", {}, false);
  const ds::VocSet trainval = ds::VocSet::load(voc_root(), "trainval", {}, false);
  std::map<std::string, std::size_t> where;
  for (std::size_t i = 0; i < trainval.ids.size(); ++i) where[trainval.ids[i]] = i;
  for (std::size_t c = 0; c < 20; ++c) {
    int pos_train = 0, pos_val = 0;
    for (std::size_t i = 0; i < train.ids.size(); ++i) {
      pos_train += train.label(i, c) == 1;
      BOOST_TEST(trainval.label(where.at(train.ids[i]), c) == train.label(i, c));  // trainval = train + val
    }
    for (std::size_t i = 0; i < val.ids.size(); ++i) {
      pos_val += val.label(i, c) == 1;
      BOOST_TEST(trainval.label(where.at(val.ids[i]), c) == val.label(i, c));
    }
    BOOST_TEST(pos_train == readme.at(train.classes[c]).first, train.classes[c]);
    BOOST_TEST(pos_val == readme.at(val.classes[c]).second, val.classes[c]);
  }
  // A class subset comes back in VOC order with the same labels.
  const ds::VocSet sub = ds::VocSet::load(voc_root(), "train", {"person", "cat"}, false);
  BOOST_TEST(sub.classes == (std::vector<std::string>{"cat", "person"}), boost::test_tools::per_element());
  for (std::size_t i = 0; i < sub.ids.size(); ++i) {
    BOOST_TEST(sub.label(i, 0) == train.label(i, 7));
    BOOST_TEST(sub.label(i, 1) == train.label(i, 14));
  }
  const std::string msg = message_of<std::runtime_error>([&] { ds::VocSet::load(voc_root(), "train", {"zebra"}); });
  BOOST_TEST(contains(msg, "zebra"), msg);
}

BOOST_AUTO_TEST_CASE(voc_annotation_000005_five_chairs) {
  if (!bowlrp::test::have_voc()) return;
  const ds::VocAnnotation a = ds::load_voc_annotation(voc_root(), "000005");
  BOOST_TEST(a.id == "000005");
  BOOST_TEST(a.width == 500);
  BOOST_TEST(a.height == 375);
  const cv::Mat image = cv::imread((fs::path(voc_root()) / "JPEGImages" / "000005.jpg").string());
  BOOST_TEST(image.cols == a.width);
  BOOST_TEST(image.rows == a.height);
  const int boxes[5][4] = {{5, 244, 67, 374}, {165, 264, 253, 372}, {241, 194, 295, 299},
                           {263, 211, 324, 339}, {277, 186, 312, 220}};
  BOOST_REQUIRE_EQUAL(a.objects.size(), 5u);
  for (int k = 0; k < 5; ++k) {
    const ds::VocObject& o = a.objects[static_cast<std::size_t>(k)];
    BOOST_TEST(o.name == "chair");
    BOOST_TEST(o.xmin == boxes[k][0]);
    BOOST_TEST(o.ymin == boxes[k][1]);
    BOOST_TEST(o.xmax == boxes[k][2]);
    BOOST_TEST(o.ymax == boxes[k][3]);
    BOOST_TEST(!o.difficult);
  }
  const std::string msg = message_of<std::runtime_error>([&] { ds::load_voc_annotation(voc_root(), "123456x"); });
  BOOST_TEST(contains(msg, "123456x.xml"), msg);
}

BOOST_AUTO_TEST_CASE(voc_annotations_consistent_with_labels) {
  if (!bowlrp::test::have_voc()) return;
  const ds::VocSet s = ds::VocSet::load(voc_root(), "trainval", {}, false);
  std::set<std::string> person_missing;
  const fs::path missing_list = fs::path(voc_root()) / ".." / ".." / "person_boxes_missing.txt";
  for (const auto& line : lines_of(missing_list)) person_missing.insert(line.substr(0, 6));
  const std::size_t person = 14;
  std::size_t objects = 0, difficult = 0;
  for (std::size_t i = 0; i < s.ids.size(); ++i) {
    const ds::VocAnnotation a = ds::load_voc_annotation(voc_root(), s.ids[i]);
    std::vector<int> n_easy(20, 0), n_difficult(20, 0);
    for (const auto& o : a.objects) {
      const auto it = std::find(s.classes.begin(), s.classes.end(), o.name);
      BOOST_REQUIRE_MESSAGE(it != s.classes.end(), s.ids[i] << ": class " << o.name);
      const auto c = static_cast<std::size_t>(it - s.classes.begin());
      (o.difficult ? n_difficult : n_easy)[c]++;
      BOOST_TEST((1 <= o.xmin && o.xmin <= o.xmax && o.xmax <= a.width + 1), s.ids[i]);
      BOOST_TEST((1 <= o.ymin && o.ymin <= o.ymax && o.ymax <= a.height + 1), s.ids[i]);
      ++objects;
      difficult += o.difficult;
    }
    for (std::size_t c = 0; c < 20; ++c) {
      const int label = s.label(i, c);
      if (label == -1) BOOST_TEST(n_easy[c] + n_difficult[c] == 0, s.ids[i] << " " << s.classes[c]);
      if (label == 0) BOOST_TEST((n_easy[c] == 0 && n_difficult[c] > 0), s.ids[i] << " " << s.classes[c]);
      if (label == 1 && !(c == person && person_missing.count(s.ids[i])))
        BOOST_TEST(n_easy[c] > 0, s.ids[i] << " " << s.classes[c]);
    }
  }
  BOOST_TEST(objects == 15216u);  // README
  BOOST_TEST(difficult > 0u);
  BOOST_TEST(person_missing.size() == 322u);  // README
}

BOOST_AUTO_TEST_CASE(voc_segmentation_ids_and_mask) {
  if (!bowlrp::test::have_voc()) return;
  const auto trainval = ds::voc_segmentation_ids(voc_root());
  BOOST_TEST(trainval.size() == 422u);
  BOOST_TEST(ds::voc_segmentation_ids(voc_root(), "train").size() + ds::voc_segmentation_ids(voc_root(), "val").size() ==
             422u);
  BOOST_TEST(ds::voc_segmentation_ids(voc_root(), "no_such_set").empty());

  // Reference: OpenCV expands the palette to colours; map them back with the VOC colour map.
  std::map<std::array<int, 3>, int> colour_to_index;
  for (int k = 0; k < 256; ++k) {
    if (k > 20 && k != 255) continue;
    int r = 0, g = 0, b = 0;
    for (int j = 0, c = k; j < 8; ++j, c >>= 3) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    colour_to_index[{b, g, r}] = k;
  }
  const ds::VocSet labels = ds::VocSet::load(voc_root(), "trainval", {}, false);
  std::map<std::string, std::size_t> where;
  for (std::size_t i = 0; i < labels.ids.size(); ++i) where[labels.ids[i]] = i;
  for (std::size_t n = 0; n < trainval.size(); n += 20) {
    const std::string& id = trainval[n];
    const ds::ClassMask mask = ds::load_voc_class_mask(voc_root(), id);
    const cv::Mat image = cv::imread((fs::path(voc_root()) / "JPEGImages" / (id + ".jpg")).string());
    BOOST_TEST(mask.width == image.cols, id);
    BOOST_TEST(mask.height == image.rows, id);
    BOOST_REQUIRE_EQUAL(mask.labels.size(), static_cast<std::size_t>(mask.width) * mask.height);
    const cv::Mat colour = cv::imread((fs::path(voc_root()) / "SegmentationClass" / (id + ".png")).string());
    std::set<int> present;
    std::size_t mismatched = 0;
    for (int y = 0; y < mask.height; ++y)
      for (int x = 0; x < mask.width; ++x) {
        const int v = mask.labels[static_cast<std::size_t>(y) * mask.width + x];
        BOOST_TEST_REQUIRE((v <= 20 || v == 255), id << " value " << v);
        present.insert(v);
        const cv::Vec3b p = colour.at<cv::Vec3b>(y, x);
        const auto it = colour_to_index.find({p[0], p[1], p[2]});
        mismatched += it == colour_to_index.end() || it->second != v;
      }
    BOOST_TEST(mismatched == 0u, id);
    BOOST_TEST(present.size() >= 2u, id);  // background and at least one object
    for (int v : present)
      if (v >= 1 && v <= 20) BOOST_TEST(labels.label(where.at(id), static_cast<std::size_t>(v - 1)) != -1, id << " " << v);
  }
  BOOST_CHECK_THROW(ds::load_voc_class_mask(voc_root(), "000005"), std::runtime_error);  // not segmented
}

BOOST_AUTO_TEST_CASE(voc_missing_image_names_id) {
  if (!bowlrp::test::have_voc()) return;
  TempDir tmp;
  const fs::path root = copy_lists(tmp, "train", {"aeroplane"});
  fs::create_directory_symlink(fs::path(voc_root()) / "JPEGImages", root / "JPEGImages");  // a link, not a copy
  const fs::path main = root / "ImageSets" / "Main";
  std::ofstream(main / "train.txt", std::ios::app) << "999990\n";
  std::ofstream(main / "aeroplane_train.txt", std::ios::app) << "999990 -1\n";
  const std::string msg =
      message_of<std::runtime_error>([&] { ds::VocSet::load(root.string(), "train", {"aeroplane"}); });
  BOOST_TEST(contains(msg, "999990"), msg);
  BOOST_TEST(contains(msg, "missing"), msg);
  BOOST_TEST(!contains(msg, "images missing"), msg);  // only that one
  const ds::VocSet s = ds::VocSet::load(root.string(), "train", {"aeroplane"}, false);
  BOOST_TEST(s.ids.size() == 2501u);
  BOOST_TEST(s.ids.back() == "999990");
  BOOST_TEST(s.label(2500, 0) == -1);
}

BOOST_AUTO_TEST_CASE(voc_malformed_lists) {
  if (!bowlrp::test::have_voc()) return;
  const auto rewrite = [](const fs::path& p, std::size_t line_index, const std::string& replacement) {
    auto lines = lines_of(p);
    lines.at(line_index) = replacement;
    std::ofstream out(p, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  };
  const auto load = [](const fs::path& root) { ds::VocSet::load(root.string(), "train", {"aeroplane", "cat"}, false); };
  {
    TempDir tmp;
    const fs::path root = copy_lists(tmp, "train", {"aeroplane", "cat"});
    const fs::path cat = root / "ImageSets" / "Main" / "cat_train.txt";
    const std::string id = lines_of(cat)[2].substr(0, 6);
    rewrite(cat, 2, id + " 2");
    const std::string msg = message_of<std::runtime_error>([&] { load(root); });
    BOOST_TEST(contains(msg, cat.string()), msg);
    BOOST_TEST(contains(msg, "line 3"), msg);
    BOOST_TEST(contains(msg, "'2'"), msg);
    rewrite(cat, 2, id + " 1 extra");
    const std::string msg2 = message_of<std::runtime_error>([&] { load(root); });
    BOOST_TEST(contains(msg2, "line 3"), msg2);
    rewrite(cat, 2, "123456 1");  // an id not in train.txt
    const std::string msg3 = message_of<std::runtime_error>([&] { load(root); });
    BOOST_TEST(contains(msg3, "123456"), msg3);
  }
  {
    TempDir tmp;  // a label list that misses an image
    const fs::path root = copy_lists(tmp, "train", {"aeroplane", "cat"});
    const fs::path aero = root / "ImageSets" / "Main" / "aeroplane_train.txt";
    auto lines = lines_of(aero);
    const std::string dropped = lines[10].substr(0, 6);
    lines.erase(lines.begin() + 10);
    std::ofstream(aero, std::ios::trunc) << [&] {
      std::string s;
      for (const auto& l : lines) s += l + "\n";
      return s;
    }();
    const std::string msg = message_of<std::runtime_error>([&] { load(root); });
    BOOST_TEST(contains(msg, dropped), msg);
    BOOST_TEST(contains(msg, aero.string()), msg);
  }
  {
    TempDir tmp;  // a missing class list names the file
    const fs::path root = copy_lists(tmp, "train", {"aeroplane"});
    const std::string msg = message_of<std::runtime_error>([&] { load(root); });
    BOOST_TEST(contains(msg, "cat_train.txt"), msg);
  }
  {
    TempDir tmp;  // malformed XML names the file
    touch(tmp.path() / "Annotations" / "000001.xml", "<annotation><size><width>5</width></size>");
    std::string msg = message_of<std::runtime_error>([&] { ds::load_voc_annotation(tmp.path().string(), "000001"); });
    BOOST_TEST(contains(msg, "000001.xml"), msg);
    touch(tmp.path() / "Annotations" / "000002.xml",
          "<annotation><size><width>5</width><height>4</height></size><object><name>cat</name>"
          "<bndbox><xmin>1</xmin><ymin>x</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>");
    msg = message_of<std::runtime_error>([&] { ds::load_voc_annotation(tmp.path().string(), "000002"); });
    BOOST_TEST(contains(msg, "000002.xml"), msg);
    BOOST_TEST(contains(msg, "ymin"), msg);
  }
}

BOOST_AUTO_TEST_CASE(voc_class_mask_grey_rgb_and_broken_png) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "SegmentationClass";
  fs::create_directories(dir);
  // Labels 0..20 and 255 in a 22 x 3 grid, saved once as grey values and once as VOC colours.
  std::vector<int> values;
  for (int k = 0; k <= 20; ++k) values.push_back(k);
  values.push_back(255);
  cv::Mat grey(3, 22, CV_8UC1), colour(3, 22, CV_8UC3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 22; ++x) {
      const int k = values[static_cast<std::size_t>((x + y) % 22)];
      grey.at<unsigned char>(y, x) = static_cast<unsigned char>(k);
      int r = 0, g = 0, b = 0;
      for (int j = 0, c = k; j < 8; ++j, c >>= 3) {
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
      }
      colour.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<unsigned char>(b), static_cast<unsigned char>(g),
                                             static_cast<unsigned char>(r));
    }
  BOOST_REQUIRE(cv::imwrite((dir / "grey.png").string(), grey));
  BOOST_REQUIRE(cv::imwrite((dir / "colour.png").string(), colour));
  for (const std::string id : {"grey", "colour"}) {
    const ds::ClassMask m = ds::load_voc_class_mask(tmp.path().string(), id);
    BOOST_TEST(m.width == 22);
    BOOST_TEST(m.height == 3);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 22; ++x)
        BOOST_TEST(int(m.labels[static_cast<std::size_t>(y * 22 + x)]) == int(grey.at<unsigned char>(y, x)), id);
  }
  colour.at<cv::Vec3b>(1, 1) = cv::Vec3b(1, 2, 3);  // not a VOC colour
  BOOST_REQUIRE(cv::imwrite((dir / "odd.png").string(), colour));
  std::string msg = message_of<std::runtime_error>([&] { ds::load_voc_class_mask(tmp.path().string(), "odd"); });
  BOOST_TEST(contains(msg, "odd.png"), msg);
  BOOST_TEST(contains(msg, "(3,2,1)"), msg);
  const std::string bytes = slurp(dir / "grey.png");
  touch(dir / "cut.png", bytes.substr(0, bytes.size() / 2));
  msg = message_of<std::runtime_error>([&] { ds::load_voc_class_mask(tmp.path().string(), "cut"); });
  BOOST_TEST(contains(msg, "cut.png"), msg);
  touch(dir / "text.png", "not a png at all");
  msg = message_of<std::runtime_error>([&] { ds::load_voc_class_mask(tmp.path().string(), "text"); });
  BOOST_TEST(contains(msg, "text.png"), msg);
  msg = message_of<std::runtime_error>([&] { ds::load_voc_class_mask(tmp.path().string(), "absent"); });
  BOOST_TEST(contains(msg, "absent.png"), msg);
}

// ---------------------------------------------------------------------------------------------
// Synthetic shapes

BOOST_AUTO_TEST_CASE(shapes_deterministic) {
  ds::ShapesOptions o;
  o.images_per_class = 3;
  for (int index : {0, 5, 11}) {
    const ds::ShapeImage a = ds::generate_shape(o, index), b = ds::generate_shape(o, index);
    BOOST_TEST((a.bgr == b.bgr));
    BOOST_TEST((a.mask == b.mask));
  }
  // Each image is its own stream: the set size does not change an image.
  ds::ShapesOptions bigger = o;
  bigger.images_per_class = 10;
  BOOST_TEST((ds::generate_shape(bigger, 7).bgr == ds::generate_shape(o, 7).bgr));
  ds::ShapesOptions other = o;
  other.seed = 1;
  BOOST_TEST((ds::generate_shape(other, 0).bgr != ds::generate_shape(o, 0).bgr));
  BOOST_TEST((ds::generate_shape(o, 1).bgr != ds::generate_shape(o, 0).bgr));
  // Golden hashes: the generator uses only portable arithmetic, so these are the same bytes on
  // every platform; a change here changes the demo data and must be deliberate.
  BOOST_TEST(fnv1a(ds::generate_shape(o, 0).bgr) == 0xae0b0885d7fdcec2ULL);
  BOOST_TEST(fnv1a(ds::generate_shape(o, 6).bgr) == 0xd09d272b5c44856eULL);
}

BOOST_AUTO_TEST_CASE(shapes_mask_matches_reference_geometry) {
  ds::ShapesOptions o;
  o.images_per_class = 10;
  const double m = std::min(o.width, o.height);
  for (int index = 0; index < 40; ++index) {
    const ds::ShapeImage img = ds::generate_shape(o, index);
    BOOST_TEST(img.class_name == o.classes[static_cast<std::size_t>(index % 4)]);
    BOOST_REQUIRE_EQUAL(img.mask.size(), static_cast<std::size_t>(o.width * o.height));
    BOOST_REQUIRE_EQUAL(img.bgr.size(), static_cast<std::size_t>(o.width * o.height * 3));
    BOOST_TEST((img.scale >= o.min_scale && img.scale <= o.max_scale));
    BOOST_TEST(std::fabs(img.rotation) <= o.max_rotation);
    // The whole rotated frame lies inside the image, so the object is never cut.
    const double reach = img.scale * m / std::sqrt(2.0);
    BOOST_TEST((img.center_x - reach >= -1e-9 && img.center_x + reach <= o.width + 1e-9), index);
    BOOST_TEST((img.center_y - reach >= -1e-9 && img.center_y + reach <= o.height + 1e-9), index);
    const auto ref = ref_mask(img);
    std::size_t differ = 0, area = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      differ += ref[i] != img.mask[i];
      area += img.mask[i];
      BOOST_TEST_REQUIRE(img.mask[i] <= 1);
    }
    BOOST_TEST(differ <= 2u, index << " " << img.class_name);  // only ties on the outline may differ
    // Area: factor * side^2 up to the pixelisation of the outline (< its perimeter, ~4 sides).
    const double side = img.scale * m, expected = ds::shape_area_factor(img.class_name) * side * side;
    BOOST_TEST(std::fabs(area - expected) <= 0.02 * expected + 2.0 * side, index << " area " << area << " vs " << expected);
    const double fraction = area / (double(o.width) * o.height);
    BOOST_TEST(fraction >= 0.5 * o.min_scale * o.min_scale * 0.9);
    BOOST_TEST(fraction <= o.max_scale * o.max_scale * 1.05);
  }
  BOOST_TEST(ds::shape_area_factor("cross") == 5.0 / 9.0);
  BOOST_CHECK_THROW(ds::shape_area_factor("star"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(shapes_only_outline_depends_on_class) {
  // Same seed and index, one class each: every pixel off both objects is the same, so colour,
  // texture, place and size carry no class information.
  ds::ShapesOptions a, b;
  a.classes = {"circle"};
  b.classes = {"cross"};
  a.images_per_class = b.images_per_class = 8;
  for (int index = 0; index < 8; ++index) {
    const ds::ShapeImage ia = ds::generate_shape(a, index), ib = ds::generate_shape(b, index);
    BOOST_TEST(ia.scale == ib.scale);
    BOOST_TEST(ia.center_x == ib.center_x);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ia.mask.size(); ++i)
      if (!ia.mask[i] && !ib.mask[i])
        differ += ia.bgr[3 * i] != ib.bgr[3 * i] || ia.bgr[3 * i + 1] != ib.bgr[3 * i + 1] ||
                  ia.bgr[3 * i + 2] != ib.bgr[3 * i + 2];
    BOOST_TEST(differ == 0u, index);
    BOOST_TEST((ia.mask != ib.mask));
  }
}

BOOST_AUTO_TEST_CASE(shapes_outline_has_contrast) {
  // The object's boundary must be a clear edge in grey (what dense SIFT sees).
  ds::ShapesOptions o;
  double worst = 1e9;
  for (int index = 0; index < 160; ++index) {
    const ds::ShapeImage img = ds::generate_shape(o, index);
    const auto grey = [&](std::size_t i) {
      return 0.114 * img.bgr[3 * i] + 0.587 * img.bgr[3 * i + 1] + 0.299 * img.bgr[3 * i + 2];
    };
    double in_sum = 0, out_sum = 0;
    int in_n = 0, out_n = 0;
    for (int y = 1; y + 1 < img.height; ++y)
      for (int x = 1; x + 1 < img.width; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * img.width + x;
        const bool border = img.mask[i] != img.mask[i - 1] || img.mask[i] != img.mask[i + 1] ||
                            img.mask[i] != img.mask[i - img.width] || img.mask[i] != img.mask[i + img.width];
        if (!border) continue;
        (img.mask[i] ? in_sum : out_sum) += grey(i);
        ++(img.mask[i] ? in_n : out_n);
      }
    BOOST_REQUIRE(in_n > 0 && out_n > 0);
    worst = std::min(worst, std::fabs(in_sum / in_n - out_sum / out_n));
  }
  BOOST_TEST_MESSAGE("smallest mean grey step across an outline: " << worst);
  BOOST_TEST(worst >= 25.0);
}

BOOST_AUTO_TEST_CASE(shapes_write_layout_and_mask_path) {
  TempDir tmp;
  ds::ShapesOptions o;
  o.images_per_class = 3;
  o.width = 64;
  o.height = 48;
  o.classes = {"triangle", "circle"};
  const std::string root = tmp / "shapes";
  BOOST_TEST(ds::write_shapes(o, root) == 6);
  const ds::FolderDataset d = ds::FolderDataset::scan((fs::path(root) / "images").string());
  BOOST_TEST(d.classes == (std::vector<std::string>{"circle", "triangle"}), boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(d.images.size(), 6u);
  for (std::size_t k = 0; k < d.images.size(); ++k) {
    const auto& im = d.images[k];
    const int i = static_cast<int>(k % 3);
    const std::string cls = d.classes[static_cast<std::size_t>(im.label)];
    char name[64];
    std::snprintf(name, sizeof name, "%s_%04d.png", cls.c_str(), i);
    BOOST_TEST(fs::path(im.path) == fs::path(root) / "images" / cls / name);
    const std::string mask_path = ds::shape_mask_path(im.path);
    BOOST_TEST(fs::path(mask_path) == fs::path(root) / "masks" / cls / name);
    // Index of this file in the generator: class position in o.classes + 2 * i.
    const int c = cls == "triangle" ? 0 : 1;
    const ds::ShapeImage g = ds::generate_shape(o, c + 2 * i);
    BOOST_TEST(g.class_name == cls);
    const cv::Mat png = cv::imread(im.path, cv::IMREAD_UNCHANGED);
    const cv::Mat mask = cv::imread(mask_path, cv::IMREAD_UNCHANGED);
    BOOST_REQUIRE(png.type() == CV_8UC3);
    BOOST_REQUIRE(mask.type() == CV_8UC1);
    BOOST_TEST(png.cols == 64);
    BOOST_TEST(png.rows == 48);
    BOOST_TEST(std::equal(g.bgr.begin(), g.bgr.end(), png.data));  // lossless
    for (std::size_t p = 0; p < g.mask.size(); ++p) BOOST_TEST_REQUIRE(mask.data[p] == (g.mask[p] ? 255 : 0));
  }
  // Writing again gives the same bytes.
  const std::string again = tmp / "again";
  ds::write_shapes(o, again);
  for (const auto& im : d.images) {
    const fs::path rel = fs::relative(im.path, root);
    BOOST_TEST((slurp(fs::path(root) / rel) == slurp(fs::path(again) / rel)), rel.string());
  }
  BOOST_TEST(ds::shape_mask_path("x/images/cat/a.png") == (fs::path("x") / "masks" / "cat" / "a.png").string());
  BOOST_CHECK_THROW(ds::shape_mask_path("x/pictures/cat/a.png"), std::invalid_argument);
  BOOST_CHECK_THROW(ds::shape_mask_path("a.png"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(shapes_classes_balanced) {
  ds::ShapesOptions o;
  o.images_per_class = 7;
  o.classes = {"cross", "square", "circle"};
  std::map<std::string, int> count;
  for (int index = 0; index < 21; ++index) {
    const auto img = ds::generate_shape(o, index);
    BOOST_TEST(img.class_name == o.classes[static_cast<std::size_t>(index % 3)]);
    ++count[img.class_name];
  }
  for (const auto& c : o.classes) BOOST_TEST(count[c] == 7, c);
  BOOST_CHECK_THROW(ds::generate_shape(o, 21), std::out_of_range);
  BOOST_CHECK_THROW(ds::generate_shape(o, -1), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(shapes_options_validate) {
  const auto check = [](auto mutate, const std::string& field) {
    ds::ShapesOptions o;
    mutate(o);
    const std::string msg = message_of<std::invalid_argument>([&] { o.validate(); });
    BOOST_TEST(contains(msg, field), msg);
  };
  ds::ShapesOptions().validate();
  check([](auto& o) { o.classes = {}; }, "classes");
  check([](auto& o) { o.classes = {"circle", "star"}; }, "star");
  check([](auto& o) { o.classes = {"circle", "circle"}; }, "classes[1]");
  check([](auto& o) { o.images_per_class = 0; }, "images_per_class");
  check([](auto& o) { o.width = 8; }, "width");
  check([](auto& o) { o.height = 0; }, "height");
  check([](auto& o) { o.min_scale = 0.6; }, "min_scale");
  check([](auto& o) { o.min_scale = 0.0; }, "min_scale");
  check([](auto& o) { o.max_scale = 0.8; }, "max_scale");
  check([](auto& o) { o.min_scale = 0.02; }, "min_scale");  // 3 pixels
  check([](auto& o) { o.max_rotation = -1; }, "max_rotation");
  ds::ShapesOptions bad;
  bad.width = 1;
  BOOST_CHECK_THROW(ds::generate_shape(bad, 0), std::invalid_argument);
  BOOST_CHECK_THROW(ds::write_shapes(bad, "/nonexistent"), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Recursive image walk (command-line inputs)

namespace {

// Files of a walk as paths relative to `root`, in walk order.
std::vector<std::string> relative_files(const ds::ImageWalk& w, const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& f : w.files) out.push_back(fs::u8path(f).lexically_relative(root).generic_u8string());
  return out;
}

// The reason the walk gave for `path`, or "" if it did not name it.
std::string reason_for(const std::vector<ds::WalkProblem>& problems, const std::string& path) {
  for (const auto& p : problems)
    if (p.path == path) return p.reason;
  return {};
}

// find_images({root}) with the rights of an ordinary user: as root, in a child process that drops
// to nobody (root reads folders whatever their mode). *blocked says whether that user could list
// `root` but not `locked` (some file systems do not enforce permission bits); false if nothing ran.
ds::ImageWalk find_images_unprivileged(const fs::path& root, const fs::path& locked, bool* blocked) {
  const auto probe = [&] {
    const auto opens = [](const fs::path& p) {
      DIR* d = ::opendir(p.c_str());
      if (d) ::closedir(d);
      return d != nullptr;
    };
    return opens(root) && !opens(locked);
  };
  if (::geteuid() != 0) {
    *blocked = probe();
    return ds::find_images({root.string()});
  }
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {  // the child only walks and writes: no Boost.Test call
    ::close(fds[0]);
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(77);
    std::string text = probe() ? "B\n" : "O\n";
    const ds::ImageWalk w = ds::find_images({root.string()});
    for (const auto& f : w.files) text += "F\t" + f + "\n";
    for (const auto& p : w.problems) text += "P\t" + p.path + "\t" + p.reason + "\n";
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) ::_exit(1);
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  BOOST_REQUIRE(pid > 0);
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  *blocked = false;
  ds::ImageWalk w;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return w;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line == "B") *blocked = true;
    if (line.rfind("F\t", 0) == 0) w.files.push_back(line.substr(2));
    if (line.rfind("P\t", 0) == 0) {
      const auto tab = line.find('\t', 2);
      w.problems.push_back({line.substr(2, tab - 2), line.substr(tab + 1)});
    }
  }
  return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(find_images_follows_each_folder_once) {
  // 20 real images; a loop back to the root, a link to the current folder, a second route to a
  // folder and a link to a folder outside the root. The old walk listed the loop 40 times over.
  TempDir tmp;
  const fs::path root = tmp.path() / "in";
  for (int i = 0; i < 10; ++i) touch(root / "a" / ("a" + std::to_string(i) + ".png"));
  for (int i = 0; i < 5; ++i) touch(root / "b" / "deep" / ("b" + std::to_string(i) + ".jpg"));
  for (int i = 0; i < 5; ++i) touch(tmp.path() / "outside" / ("o" + std::to_string(i) + ".png"));
  fs::create_directory_symlink("..", root / "a" / "loop");
  fs::create_directory_symlink(".", root / "b" / "self");
  fs::create_directory_symlink("../b/deep", root / "a" / "alias");  // sorts before b: the real path must still win
  fs::create_directory_symlink(tmp.path() / "outside", root / "b" / "ext");
  fs::create_directory_symlink(tmp.path() / "outside", root / "b" / "ext2");  // second route outside
  const ds::ImageWalk w = ds::find_images({root.string()});
  const std::vector<std::string> got = relative_files(w, root);
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back("a/a" + std::to_string(i) + ".png");
  for (int i = 0; i < 5; ++i) want.push_back("b/deep/b" + std::to_string(i) + ".jpg");
  for (int i = 0; i < 5; ++i) want.push_back("b/ext/o" + std::to_string(i) + ".png");
  BOOST_TEST(got == want, boost::test_tools::per_element());
  BOOST_TEST(w.problems.empty());
  // Deterministic: the same listing again, and the same with the folder given twice (twice over).
  BOOST_TEST(ds::find_images({root.string()}).files == w.files, boost::test_tools::per_element());
  BOOST_TEST(ds::find_images({root.string(), root.string()}).files.size() == 40u);
}

BOOST_AUTO_TEST_CASE(find_images_reports_unreadable_entries_and_goes_on) {
  TempDir tmp;
  const fs::path root = tmp.path() / "in";
  touch(root / "a" / "1.png");
  touch(root / "m" / "2.png");
  touch(root / "z" / "3.png");
  touch(root / "z" / "notes.txt");                                     // not an image: ignored
  fs::create_symlink("nowhere.png", root / "m" / "dangling.png");      // dangling link
  fs::create_symlink("l2", root / "m" / "l1");                         // link loop: cannot be followed
  fs::create_symlink("l1", root / "m" / "l2");
  BOOST_REQUIRE(::mkfifo((root / "m" / "pipe.jpg").c_str(), 0644) == 0);  // would block a reader
  fs::create_directories(root / "empty");
  const std::string missing = (tmp.path() / "missing.png").string();
  touch(tmp.path() / "given.txt");  // a file named on the command line is taken whatever its extension
  const ds::ImageWalk w =
      ds::find_images({missing, root.string(), (tmp.path() / "given.txt").string(), (root / "empty").string()});
  std::vector<std::string> want_files{(root / "a" / "1.png").string(), (root / "m" / "2.png").string(),
                                      (root / "z" / "3.png").string(), (tmp.path() / "given.txt").string()};
  BOOST_TEST(w.files == want_files, boost::test_tools::per_element());
  BOOST_TEST(contains(reason_for(w.problems, missing), "does not exist"));
  BOOST_TEST(contains(reason_for(w.problems, (root / "m" / "dangling.png").string()), "dangling symbolic link"));
  BOOST_TEST(contains(reason_for(w.problems, (root / "m" / "l1").string()), "cannot follow"));
  BOOST_TEST(contains(reason_for(w.problems, (root / "m" / "l2").string()), "cannot follow"));
  BOOST_TEST(contains(reason_for(w.problems, (root / "m" / "pipe.jpg").string()), "named pipe"));
  BOOST_TEST(contains(reason_for(w.problems, (root / "empty").string()), "no image file"));
  BOOST_TEST(w.problems.size() == 6u);

  // A sub-folder that cannot be listed (chmod 000) is reported, and the folders after it are
  // still listed (the old walk stopped there without a word).
  for (const fs::path& p : {tmp.path(), root, root / "a", root / "z"})  // open to the unprivileged user
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(root / "m", fs::perms::none);
  bool blocked = false;
  const ds::ImageWalk u = find_images_unprivileged(root, root / "m", &blocked);
  fs::permissions(root / "m", fs::perms::owner_all);
  if (!blocked) {
    std::cerr << "\n*** SKIPPED sub-check of find_images_reports_unreadable_entries_and_goes_on: a chmod 000 folder "
                 "stays readable here, or its parent is not (running as root and no unprivileged user could be made, or "
                 "the file system ignores permission bits); the unreadable entries above were still checked ***\n\n";
    return;
  }
  const std::vector<std::string> rest{(root / "a" / "1.png").string(), (root / "z" / "3.png").string()};
  BOOST_TEST(u.files == rest, boost::test_tools::per_element());
  BOOST_TEST(contains(reason_for(u.problems, (root / "m").string()), "cannot list the folder"));
}

BOOST_AUTO_TEST_CASE(folder_scan_reports_unreadable_entries) {
  TempDir tmp;
  const fs::path root = tmp.path() / "set";
  touch(root / "cats" / "a.png");
  touch(root / "dogs" / "b.png");
  fs::create_symlink("gone.png", root / "dogs" / "c.png");  // dangling image: reported, not dropped silently
  fs::create_symlink("nowhere", root / "owls");              // dangling class folder link
  fs::create_symlink("readme", root / "dogs" / "readme.txt");  // not an image name: not even looked at
  const ds::FolderDataset d = ds::FolderDataset::scan(root.string());
  BOOST_TEST(d.classes == std::vector<std::string>({"cats", "dogs"}), boost::test_tools::per_element());
  BOOST_TEST(d.images.size() == 2u);
  BOOST_REQUIRE(d.problems.size() == 2u);
  BOOST_TEST(d.problems[0].path == (root / "dogs" / "c.png").string());
  BOOST_TEST(contains(d.problems[0].reason, "dangling symbolic link"), d.problems[0].reason);
  BOOST_TEST(d.problems[1].path == (root / "owls").string());
}

BOOST_AUTO_TEST_SUITE_END()
