// Suite evaluation/voc: the VOC protocol's pieces (evaluation/voc_protocol.h): the seeded, sorted and
// stratified image choices and the id lists. The protocol end to end is run by apps/voc.
#include <bowlrp/core/io.h>
#include <bowlrp/evaluation/voc_protocol.h>

#include "test_util.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using bowlrp::test::TempDir;

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(voc)

BOOST_AUTO_TEST_CASE(image_choice_is_seeded_sorted_and_stratified) {
  // 200 images, 3 classes: class 2 is rare (4 positives).
  const std::size_t N = 200, C = 3;
  std::vector<int> labels(N * C, -1);
  for (std::size_t i = 0; i < N; ++i) {
    labels[i * C + 0] = i % 2 ? 1 : -1;
    labels[i * C + 1] = i % 5 == 0 ? 1 : (i % 5 == 1 ? 0 : -1);
    labels[i * C + 2] = (i == 17 || i == 101 || i == 150 || i == 199) ? 1 : -1;
  }
  const auto a = bowlrp::evaluation::choose_images(labels, C, 30, 7);
  BOOST_TEST(a == bowlrp::evaluation::choose_images(labels, C, 30, 7));
  BOOST_TEST(a != bowlrp::evaluation::choose_images(labels, C, 30, 8));
  BOOST_TEST(a.size() == 30u);
  BOOST_TEST(std::is_sorted(a.begin(), a.end()));
  BOOST_TEST((std::adjacent_find(a.begin(), a.end()) == a.end()));
  BOOST_TEST(a.back() < N);
  // Quota max(1, 30 / 6) = 5 per class: the rare class keeps all 4 of its positives.
  std::vector<std::size_t> pos(C, 0);
  for (std::size_t i : a)
    for (std::size_t c = 0; c < C; ++c) pos[c] += labels[i * C + c] == 1;
  BOOST_TEST(pos[0] >= 5u);
  BOOST_TEST(pos[1] >= 5u);
  BOOST_TEST(pos[2] == 4u);
  // n = 0 or n >= N: everything.
  BOOST_TEST(bowlrp::evaluation::choose_images(labels, C, 0, 7).size() == N);
  BOOST_TEST(bowlrp::evaluation::choose_images(labels, C, 500, 7).size() == N);
  BOOST_CHECK_THROW(bowlrp::evaluation::choose_images(labels, 7, 3, 1), std::invalid_argument);

  std::vector<char> usable(N, 1);
  usable[101] = 0;
  const auto p = bowlrp::evaluation::choose_positives(labels, C, 2, usable, 10, 3);
  BOOST_TEST(p == std::vector<std::size_t>({17, 150, 199}));
  const auto q = bowlrp::evaluation::choose_positives(labels, C, 0, usable, 10, 3);
  BOOST_TEST(q.size() == 10u);
  BOOST_TEST(std::is_sorted(q.begin(), q.end()));
  for (std::size_t i : q) BOOST_TEST(labels[i * C] == 1);
  BOOST_TEST(q == bowlrp::evaluation::choose_positives(labels, C, 0, usable, 10, 3));
  BOOST_TEST(q != bowlrp::evaluation::choose_positives(labels, C, 0, usable, 10, 4));
}

BOOST_AUTO_TEST_CASE(id_list_ignores_blank_lines_and_spaces) {
  TempDir dir;
  bowlrp::core::write_file_atomic(dir / "ids.txt", "000021\r\n\n  000162 \n000278");
  BOOST_TEST(bowlrp::evaluation::read_id_list(dir / "ids.txt") == std::vector<std::string>({"000021", "000162", "000278"}));
  BOOST_CHECK_THROW(bowlrp::evaluation::read_id_list(dir / "missing.txt"), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
