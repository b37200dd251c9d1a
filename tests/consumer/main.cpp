// Pools a hand-made assignment and evaluates an intersection kernel through the installed headers.
// With a folder argument it also writes a small shapes set there for the README example.
#include <bowlrp/bow/pooling.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/svm/kernel.h>

#include <cmath>
#include <cstdio>

int main(int argc, char** argv) {
  // With a folder argument, also writes a small synthetic folder-per-class set there (for the README example).
  if (argc > 1) {
    bowlrp::datasets::ShapesOptions o;
    o.images_per_class = 8;
    bowlrp::datasets::write_shapes(o, argv[1]);
  }
  bowlrp::bow::FeatureTrace features;
  features.width = features.height = 32;
  features.frames.resize(2);
  features.frames[0].x = 8;
  features.frames[1].x = 24;
  bowlrp::bow::Assignment a;
  a.offsets = {0, 1, 2};
  a.words = {0, 1};
  a.weights = {1.0f, 1.0f};
  const bowlrp::bow::Pooler pooler(2);
  const bowlrp::bow::PoolTrace t = pooler.pool(features, a);
  bowlrp::svm::Kernel k;
  const double v = k(t.histogram.data(), t.histogram.data(), t.histogram.size());
  std::printf("histogram %.3f %.3f, k(h,h) = %.3f, %zu VOC classes\n", t.histogram[0], t.histogram[1], v,
              bowlrp::datasets::voc_classes().size());
  return std::fabs(v - 1.0) < 1e-12 && bowlrp::datasets::voc_classes().size() == 20 ? 0 : 1;
}
