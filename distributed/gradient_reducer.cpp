#include "matcomp/distributed/gradient_reducer.h"

#include <algorithm>
#include <chrono>

#include "matcomp/distributed/model_sync.h"

namespace mc {

GradientReducer::GradientReducer(Communicator& comm, Module& model, double bucket_mib)
    : comm_(comm), model_(model), bucket_floats_(static_cast<int64_t>(bucket_mib * 1024 * 1024 / 4)) {
  MC_CHECK(bucket_floats_ >= 1, ValueError, "GradientReducer: bucket of " << bucket_mib << " MiB holds no float");
}

void GradientReducer::reduce(int64_t local_examples) {
  MC_CHECK(local_examples >= 0, ValueError, "GradientReducer::reduce: negative example count " << local_examples);
  last_ = {};
  // One rank: its gradient already is the gradient of the mean over the whole batch.
  if (comm_.size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  // Every step, not only when the registry's generation changed: a rank whose compression
  // event went differently would otherwise call other collectives than the rest and hang
  // them. Two tiny messages, microseconds against a training step.
  check_all_equal(comm_, structure_hash(model_), "model structure (parameter names and shapes)");

  std::vector<Var> params;
  for (auto& [name, p] : model_.named_parameters())
    if (p.requires_grad()) params.push_back(p);
  const int64_t n = static_cast<int64_t>(params.size());
  // The stream: a header of one "has a gradient" flag per parameter and this rank's example
  // count, then every gradient scaled by that count. The header's sum says which parameters
  // got a gradient anywhere, and the global example count.
  const int64_t header = n + 1;
  std::vector<int64_t> begin(static_cast<size_t>(n));
  int64_t total = header;
  for (int64_t i = 0; i < n; ++i) {
    begin[static_cast<size_t>(i)] = total;
    total += params[static_cast<size_t>(i)].numel();
  }
  const bool contributes = local_examples > 0;
  const float weight = static_cast<float>(local_examples);
  const int64_t bucket = std::max(bucket_floats_, header);  // the header fits in the first bucket
  buffer_.resize(static_cast<size_t>(std::min(bucket, total)));
  std::vector<char> reduced_has(static_cast<size_t>(n), 0);
  float inverse_count = 0;

  int64_t first = 0;  // first parameter that may overlap the current bucket
  for (int64_t start = 0; start < total; start += bucket) {
    const int64_t end = std::min(total, start + bucket);
    float* buf = buffer_.data();
    for (int64_t j = start; j < std::min(end, header); ++j)
      buf[j - start] = j < n ? (contributes && params[static_cast<size_t>(j)].grad().defined() ? 1.0f : 0.0f) : weight;
    for (int64_t i = first; i < n && begin[static_cast<size_t>(i)] < end; ++i) {
      const Var& p = params[static_cast<size_t>(i)];
      const int64_t lo = std::max(start, begin[static_cast<size_t>(i)]);
      const int64_t hi = std::min(end, begin[static_cast<size_t>(i)] + p.numel());
      if (lo >= hi) continue;
      float* dst = buf + (lo - start);
      if (contributes && p.grad().defined()) {
        const float* src = p.grad().data() + (lo - begin[static_cast<size_t>(i)]);
        for (int64_t k = 0; k < hi - lo; ++k) dst[k] = src[k] * weight;
      } else {
        std::fill(dst, dst + (hi - lo), 0.0f);
      }
    }

    comm_.allreduce_sum(buf, end - start);
    ++last_.messages;
    last_.bytes += 4 * (end - start);

    if (start == 0) {
      const float global = buf[n];
      MC_CHECK(global > 0, ValueError, "GradientReducer::reduce: no rank had any example (global count " << global << ")");
      inverse_count = 1.0f / global;
      for (int64_t i = 0; i < n; ++i) reduced_has[static_cast<size_t>(i)] = buf[i] > 0;
    }
    for (int64_t i = first; i < n && begin[static_cast<size_t>(i)] < end; ++i) {
      Var& p = params[static_cast<size_t>(i)];
      const int64_t lo = std::max(start, begin[static_cast<size_t>(i)]);
      const int64_t hi = std::min(end, begin[static_cast<size_t>(i)] + p.numel());
      if (hi == begin[static_cast<size_t>(i)] + p.numel()) first = i + 1;  // done with it after this bucket
      if (lo >= hi || !reduced_has[static_cast<size_t>(i)]) continue;
      Tensor& g = p.mutable_grad();
      if (!g.defined()) g = Tensor::zeros(p.shape());  // no gradient here, but on another rank
      float* dst = g.data() + (lo - begin[static_cast<size_t>(i)]);
      const float* src = buf + (lo - start);
      for (int64_t k = 0; k < hi - lo; ++k) dst[k] = src[k] * inverse_count;
      if (hi == begin[static_cast<size_t>(i)] + p.numel()) g.mark_modified();
    }
  }
  last_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  total_.bytes += last_.bytes;
  total_.messages += last_.messages;
  total_.seconds += last_.seconds;
}

}  // namespace mc
