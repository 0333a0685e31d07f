#include "matcomp/datasets/cifar10_loader.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/datasets/cifar10_augment.h"

namespace mc::data {

namespace {
struct Batch {
  Tensor images;
  std::vector<int32_t> labels;
  bool end_of_epoch = false;
};
}  // namespace

struct Cifar10Loader::State {
  const Cifar10Split& split;
  int64_t batch;
  bool augment;
  uint64_t seed;
  size_t capacity;
  int64_t per_epoch;
  int64_t start_batch;
  ExampleRange share;
  int64_t epochs_completed = 0;

  std::mutex mu;
  std::condition_variable changed;
  std::deque<Batch> ready;
  std::exception_ptr error;
  bool stop = false;
  std::thread producer;

  State(const Cifar10Split& s, int64_t b, bool a, uint64_t sd, int prefetch, int64_t start, ExampleRange sh)
      : split(s), batch(b), augment(a), seed(sd), capacity(static_cast<size_t>(prefetch)), start_batch(start), share(sh) {
    const int64_t n = split.size();
    per_epoch = augment ? n / batch : (n + batch - 1) / batch;
    epochs_completed = start_batch / per_epoch;
  }

  // Blocks while the queue is full; false when the loader is being destroyed.
  bool push(Batch&& b) {
    std::unique_lock lock(mu);
    changed.wait(lock, [&] { return stop || ready.size() < capacity; });
    if (stop) return false;
    ready.push_back(std::move(b));
    changed.notify_all();
    return true;
  }

  void produce() {
    try {
      const int64_t n = split.size();
      const auto first_epoch = static_cast<uint64_t>(start_batch / per_epoch);
      const int64_t first_batch = start_batch % per_epoch;
      for (uint64_t epoch = first_epoch;; ++epoch) {
        Rng rng = Rng(seed).split(epoch);
        std::vector<int64_t> order;
        if (augment) {
          order = rng.permutation(n);
        } else {
          order.resize(static_cast<size_t>(n));
          std::iota(order.begin(), order.end(), int64_t{0});
        }
        for (int64_t b = 0; b < per_epoch; ++b) {
          const int64_t begin = b * batch, count = std::min(batch, n - begin);
          if (epoch == first_epoch && b < first_batch) {
            // Resuming: draw what assemble_batch would have drawn for this batch, nothing more.
            if (augment)
              for (int64_t i = 0; i < count; ++i) sample_augment(rng);
            continue;
          }
          // This loader's share of the batch; the others' random draws are still taken, in order.
          const int64_t from = std::min(share.begin, count), to = share.end < 0 ? count : std::min(share.end, count);
          if (augment)
            for (int64_t i = 0; i < from; ++i) sample_augment(rng);
          Batch out;
          out.images = Tensor::empty({to - from, kCifarChannels, kCropSide, kCropSide});
          out.labels.resize(static_cast<size_t>(to - from));
          assemble_batch(split,
                         std::span<const int64_t>(order).subspan(static_cast<size_t>(begin + from), static_cast<size_t>(to - from)),
                         augment, rng, out.images.data(), out.labels.data());
          if (augment)
            for (int64_t i = to; i < count; ++i) sample_augment(rng);
          if (!push(std::move(out))) return;
        }
        Batch end;
        end.end_of_epoch = true;
        if (!push(std::move(end))) return;
      }
    } catch (...) {
      std::lock_guard lock(mu);
      error = std::current_exception();
      changed.notify_all();
    }
  }
};

Cifar10Loader::Cifar10Loader(const Cifar10Split& split, int64_t batch, bool augment, uint64_t seed, int prefetch,
                             int64_t start_batch, ExampleRange share) {
  MC_CHECK(start_batch >= 0, ValueError, "Cifar10Loader: start_batch must not be negative, got " << start_batch);
  MC_CHECK(batch > 0, ValueError, "Cifar10Loader: batch must be positive, got " << batch);
  MC_CHECK(prefetch > 0, ValueError, "Cifar10Loader: prefetch must be positive, got " << prefetch);
  MC_CHECK(split.size() > 0 && static_cast<int64_t>(split.pixels.size()) == split.size() * kCifarImageBytes, ValueError,
           "Cifar10Loader: the split is empty or its pixels and labels disagree (" << split.pixels.size() << " bytes, "
                                                                              << split.size() << " labels)");
  MC_CHECK(!augment || split.size() >= batch, ValueError,
           "Cifar10Loader: batch " << batch << " is larger than the split (" << split.size()
                                   << " images), so training would get no full batch");
  MC_CHECK(share.begin >= 0 && share.begin < batch && (share.end < 0 || (share.end > share.begin && share.end <= batch)), ValueError,
           "Cifar10Loader: share [" << share.begin << ", " << share.end << ") is not a non-empty part of a batch of " << batch);
  state_ = std::make_unique<State>(split, batch, augment, seed, prefetch, start_batch, share);
  state_->producer = std::thread([s = state_.get()] { s->produce(); });
}

Cifar10Loader::~Cifar10Loader() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->changed.notify_all();
  state_->producer.join();
}

bool Cifar10Loader::next(Tensor& images, std::vector<int32_t>& labels) {
  State& s = *state_;
  std::unique_lock lock(s.mu);
  s.changed.wait(lock, [&] { return !s.ready.empty() || s.error; });
  if (s.ready.empty()) std::rethrow_exception(s.error);
  Batch b = std::move(s.ready.front());
  s.ready.pop_front();
  if (b.end_of_epoch) ++s.epochs_completed;
  lock.unlock();
  s.changed.notify_all();
  if (b.end_of_epoch) return false;
  images = std::move(b.images);
  labels = std::move(b.labels);
  return true;
}

int64_t Cifar10Loader::batches_per_epoch() const { return state_->per_epoch; }

int64_t Cifar10Loader::epochs_completed() const {
  std::lock_guard lock(state_->mu);
  return state_->epochs_completed;
}

}  // namespace mc::data
