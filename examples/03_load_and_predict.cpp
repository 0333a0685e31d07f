// Example 3: run an exported model file on your own batch of images.
//
// A training run (cifar10-compare, or your own code calling export_model) leaves a model file,
// e.g. <out>/branches/lowrank-0.25/model.mcz. That file is all you need: it says which model it
// is (the architecture), how each layer was compressed (method, settings) and holds the values.
// Here we load it, run it on a batch stored as a .npy file, and print each image's class.
//
// Build against an installed matcomp (see examples/CMakeLists.txt), then run:
//   ./03_load_and_predict model.mcz images.npy      (images: float32, shape (N, 3, 24, 24))
//   ./03_load_and_predict                            (makes a sample model file and batch first)
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "matcomp/autograd/variable.h"
#include "matcomp/formats/export.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/models/cifar10_cnn.h"

// Without arguments the example makes both files itself (a freshly initialised CNN and a
// random batch) in the current folder, so it runs anywhere, even without a trained model.
void write_sample_files(const std::string& model_path, const std::string& images_path) {
  mc::Rng rng(1);
  mc::Cifar10Cnn fresh(rng);
  mc::export_model(model_path, fresh);
  mc::Tensor images = mc::Tensor::empty({4, 3, 24, 24});
  rng.fill_normal(images, 0.0f, 1.0f);
  mc::write_npy(images_path, images);
  std::printf("wrote %s and %s\n", model_path.c_str(), images_path.c_str());
}

int main(int argc, char** argv) {
  if (argc != 1 && argc != 3) {
    std::fprintf(stderr, "usage: %s [MODEL.mcz IMAGES.npy]\n", argv[0]);
    return 2;
  }
  try {
    if (argc == 1) write_sample_files("example03.mcz", "example03_images.npy");
    const char* model_path = argc == 3 ? argv[1] : "example03.mcz";
    const char* images_path = argc == 3 ? argv[2] : "example03_images.npy";
    // One call: checks the file (its checksum, its version), builds the model it describes,
    // rebuilds every compressed layer and loads the values. The model comes back in eval mode.
    std::shared_ptr<mc::Module> model = mc::load_exported_model(model_path);

    // The file knows its architecture; we only need to know which kind of model we expect.
    auto* cnn = dynamic_cast<mc::Cifar10Cnn*>(model.get());
    if (cnn == nullptr) {
      std::fprintf(stderr, "%s holds a %s, this example runs a Cifar10Cnn\n", model_path, model->type().c_str());
      return 1;
    }

    // A batch of images (N, 3, 24, 24), float32 (float64 files are converted).
    const mc::Tensor images = mc::read_npy(images_path);

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
