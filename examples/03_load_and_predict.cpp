// Example 3: run an exported model file on your own batch of images.
//
// A training run (cifar10-compare, or your own code calling export_model) leaves a model file,
// e.g. <out>/branches/lowrank-0.25/model.mcz. That file is all you need: it says which model it
// is (the architecture), how each layer was compressed (method, settings) and holds the values.
// Here we load it, run it on a batch stored as a .npy file, and print each image's class.
//
// Build against an installed matcomp (see examples/CMakeLists.txt), then run:
//   ./03_load_and_predict model.mcz images.npy      (images: float32, shape (N, 3, 24, 24))
#include <algorithm>
#include <cstdio>
#include <exception>

#include "matcomp/autograd/variable.h"
#include "matcomp/compression/export.h"
#include "matcomp/core/npy.h"
#include "matcomp/layers/cifar10_cnn.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.mcz IMAGES.npy\n", argv[0]);
    return 2;
  }
  try {
    // One call: checks the file (its checksum, its version), builds the model it describes,
    // rebuilds every compressed layer and loads the values. The model comes back in eval mode.
    std::shared_ptr<mc::Module> model = mc::load_exported_model(argv[1]);

    // The file knows its architecture; we only need to know which kind of model we expect.
    auto* cnn = dynamic_cast<mc::Cifar10Cnn*>(model.get());
    if (cnn == nullptr) {
      std::fprintf(stderr, "%s holds a %s, this example runs a Cifar10Cnn\n", argv[1], model->type().c_str());
      return 1;
    }

    // A batch of images (N, 3, 24, 24), float32 (float64 files are converted).
    const mc::Tensor images = mc::read_npy(argv[2]);

    // No gradients needed for inference: the guard tells autograd not to record anything.
    mc::NoGradGuard no_grad;
    const mc::Tensor logits = cnn->forward(mc::Var(images)).value();  // (N, 10)

    // The predicted class of each image is the index of its largest logit.
    const char* names[] = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    const int64_t classes = logits.size(1);
    for (int64_t i = 0; i < logits.size(0); ++i) {
      const float* row = logits.data() + i * classes;
      const int64_t best = std::max_element(row, row + classes) - row;
      std::printf("image %lld: %s\n", static_cast<long long>(i), best < 10 ? names[best] : "?");
    }
  } catch (const std::exception& e) {  // every matcomp error says what went wrong and where
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
