#!/usr/bin/python3
"""PyTorch reference for bench/embed-throughput.ts: embedding throughput of torchvision's ResNet.

The model is what mdprop embeds with: torchvision's ResNet, fc replaced by Linear(in_features, D),
L2-normalised rows; eval mode, no autograd, float32, contiguous. Each timed call embeds one batch
of uniform noise in [0, 1] after `warmup` untimed calls. Prints {"ms": [...per call...], ...}.

    /usr/bin/python3 bench/reference/embed_throughput.py --arch resnet50 --image-size 224 \
        --batch-size 32 --iters 4 --warmup 1 --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn


class EmbeddingNet(nn.Module):
    def __init__(self, arch: str, embed_dim: int):
        super().__init__()
        self.net = getattr(torchvision.models, arch)(weights=None)
        self.net.fc = nn.Linear(self.net.fc.in_features, embed_dim)

    def forward(self, x):
        return F.normalize(self.net(x), dim=1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True, choices=["resnet18", "resnet34", "resnet50"])
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = EmbeddingNet(a.arch, a.embed_dim).eval()
    images = torch.rand(a.batch_size, 3, a.image_size, a.image_size)
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.iters):
            started = time.perf_counter()
            model(images)
            if i >= a.warmup:
                times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"ms": times, "threads": torch.get_num_threads(), "engine": f"pytorch {torch.__version__}"}))


if __name__ == "__main__":
    main()
