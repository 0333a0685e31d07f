#!/usr/bin/python3
"""PyTorch (CPU) throughput of the reference CIFAR-10 CNN, the model matcomp trains
(layers/models/cifar10_cnn.h): the same layers, SGD lr 0.1, batch 128, random data.

Prints one JSON line: train_images_per_s and infer_images_per_s, medians over --repeats
blocks of --steps steps. scripts/compare_torch.sh runs it interleaved with matcomp-bench.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def max_pool_same(x):
    """3x3 stride-2 max pool with TensorFlow's SAME padding (24 -> 12 -> 6): one -inf row and
    column after the input, none before."""
    return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)


class Cifar10Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 5, padding=2)
        self.conv2 = nn.Conv2d(64, 64, 5, padding=2)
        # TensorFlow's LRN (depth radius 4, bias 1, alpha 0.001/9, beta 0.75); torch's alpha is
        # divided by the window size (9), so it is given 9 times TensorFlow's.
        self.lrn = nn.LocalResponseNorm(size=9, alpha=0.001, beta=0.75, k=1.0)
        self.local3 = nn.Linear(6 * 6 * 64, 384)
        self.local4 = nn.Linear(384, 192)
        self.logits = nn.Linear(192, 10)

    def forward(self, x):  # x (N, 3, 24, 24)
        x = self.lrn(max_pool_same(F.relu(self.conv1(x))))
        x = max_pool_same(self.lrn(F.relu(self.conv2(x))))
        x = F.relu(self.local3(torch.flatten(x, 1)))
        return self.logits(F.relu(self.local4(x)))


def images_per_s(run_block, images, repeats):
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_block()
        rates.append(images / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="timed blocks (the median is reported)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Cifar10Cnn()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = 4
    x = torch.randn(batches, a.batch, 3, 24, 24)
    y = torch.randint(0, 10, (batches, a.batch))

    def train_steps(count):
        for i in range(count):
            sgd.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[i % batches]), y[i % batches]).backward()
            sgd.step()

    train_steps(a.warmup)
    train = images_per_s(lambda: train_steps(a.steps), a.batch * a.steps, a.repeats)
    model.eval()
    with torch.no_grad():
        infer = images_per_s(lambda: [model(x[i % batches]) for i in range(a.steps)], a.batch * a.steps, a.repeats)
    print(json.dumps({"anchor": "torch_cifar_reference", "torch": torch.__version__, "threads": a.threads,
                      "batch": a.batch, "train_images_per_s": round(train, 1), "infer_images_per_s": round(infer, 1)}))


if __name__ == "__main__":
    main()
