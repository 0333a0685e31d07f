#!/usr/bin/python3
"""PyTorch (CPU) training throughput of the PTB LSTM language models of Zaremba et al. (2014),
the models matcomp trains (layers/models/ptb_lstm.h):
  small   vocabulary 10000, 2 LSTM layers of 200, unrolled 20, batch 20, no dropout;
  medium  vocabulary 10000, 2 LSTM layers of 650, unrolled 35, batch 20, dropout 0.5.
SGD lr 1, gradient norm clipped at 5, the state carried (detached) from step to step, random
tokens. Prints one JSON line: results.<config>.tokens_per_s, the median over --repeats blocks.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "small": dict(hidden=200, unroll=20, dropout=0.0, steps=50, warmup=5),
    "medium": dict(hidden=650, unroll=35, dropout=0.5, steps=10, warmup=2),
}
VOCAB, LAYERS, BATCH = 10000, 2, 20


class LanguageModel(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, hidden)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(hidden, hidden, LAYERS, dropout=dropout)
        self.softmax = nn.Linear(hidden, VOCAB)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, tokens, state):  # tokens (T, B)
        h, state = self.lstm(self.dropout(self.embedding(tokens)), state)
        return self.softmax(self.dropout(h)), state


def measure(name, repeats):
    cfg = CONFIGS[name]
    torch.manual_seed(0)
    model = LanguageModel(cfg["hidden"], cfg["dropout"])
    sgd = torch.optim.SGD(model.parameters(), lr=1.0)
    tokens = torch.randint(0, VOCAB, (cfg["unroll"] + 1, BATCH))
    state = None

    def step():
        nonlocal state
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = model(tokens[:-1], state)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[1:].reshape(-1))
        sgd.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        sgd.step()

    for _ in range(cfg["warmup"]):
        step()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(cfg["steps"]):
            step()
        rates.append(BATCH * cfg["unroll"] * cfg["steps"] / (time.perf_counter() - start))
    return {"tokens_per_s": round(statistics.median(rates), 1), "each_repeat": [round(r, 1) for r in rates]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(CONFIGS), help="one configuration (default: both)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    names = [a.only] if a.only else sorted(CONFIGS)
    print(json.dumps({"anchor": "torch_ptb_lstm", "torch": torch.__version__, "threads": a.threads,
                      "results": {n: measure(n, a.repeats) for n in names}}))


if __name__ == "__main__":
    main()
