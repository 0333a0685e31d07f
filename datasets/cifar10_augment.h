// The reference CIFAR-10 input pipeline (TensorFlow's cifar10 tutorial), one image at a time:
//   training:   random 24x24 crop, random left-right flip, brightness + U(-63, 63),
//               contrast factor U(0.2, 1.8) around each channel's mean,
//               per-image standardization (x - mean) / max(std, 1/sqrt(3*24*24));
//   evaluation: centre 24x24 crop, standardization.
// Pixels stay on the 0..255 scale throughout, as in the reference (no clipping). One consequence
// of that reference design: standardization removes any constant shift, so the brightness
// jitter cancels exactly (up to rounding); it is kept, and drawn, for fidelity.
#pragma once

#include <cstdint>
#include <span>

#include "matcomp/core/rng.h"
#include "matcomp/datasets/cifar10.h"

namespace mc::data {

constexpr int64_t kCropSide = 24;
constexpr int64_t kCropPixels = kCifarChannels * kCropSide * kCropSide;  // 1728 floats per image

struct AugmentParams {
  int y0 = 4, x0 = 4;        // top-left corner of the crop, 0..8
  bool flip = false;         // mirror left-right
  float brightness = 0.0f;   // added to every pixel (0..255 scale)
  float contrast = 1.0f;     // scales each channel's deviations from its mean
};

// Centre crop, no jitter.
AugmentParams eval_params();
// Draws, in this order: y0, x0, flip, brightness, contrast.
AugmentParams sample_augment(Rng& rng);

// image (3, 32, 32) uint8 -> out (3, 24, 24) float32, standardized.
void transform_image(const uint8_t* image, const AugmentParams& params, float* out);

// The images and labels at `indices` into images (n, 3, 24, 24) and labels (n), n = indices.size().
// With augment, parameters are drawn from rng image by image in index order; otherwise the
// evaluation transform is used and rng is untouched.
void assemble_batch(const Cifar10Split& split, std::span<const int64_t> indices, bool augment, Rng& rng,
                    float* images, int32_t* labels);

}  // namespace mc::data
