#!/usr/bin/python3
"""PyTorch reference of one mdprop training step, timed like `mdprop bench`.

The same step as src/methods + src/train/bench.ts, written independently in plain PyTorch:
a torchvision ResNet embedding model (head `fc` to D dims, L2-normalised output) whose every
BatchNorm2d is a multi-branch BN; for each auxiliary distribution, feature-space PGD in eval mode
on its BN branch (targets: T random in-batch permutations of the slice's clean embeddings;
random start +-5e-4; box [x - eps, x + eps] clipped to the slice's min and max; `iters` sign steps
of eps/iters on L = ((1/T) sum_j mean_i ||t_j,i - f(adv)_i||_2)^2, descending); then one forward of
cat(clean, adv_1, adv_2) in train mode with each segment normalised by its own branch,
multi-similarity loss (alpha 2, beta 40, lambda 0.5, margin 0.1, cosine), Adam (lr 1e-5,
weight decay 4e-4). Batches are normal noise with 2 images per class.

--task embed times no-grad forwards of a batch (embedding throughput); --task attack times a
10-iteration untargeted feature-space PGD on a batch in eval mode (attacked queries per second),
the weights out of autograd. --precision bf16/fp16 (or --bf16) runs every forward pass in its own
torch.autocast region, as PyTorch's documentation advises (autocast around the forward passes,
backward and optimizer step outside). One region around the whole step would be wrong in PyTorch
1.13: autocast caches each weight's cast for the rest of its region, and a cast first made under
torch.no_grad (the attacks' clean embeddings) is cached without its graph, so the training forward
reuses it and the convolution and linear weights get no gradient at all; the step then trains only
the batch norms. The script checks after its first step that every parameter has a gradient.
--memory-format channels-last (or --channels-last) converts the model and the batches.

Prints {"ms_per_step", "cpu_ms_per_step", "images_per_s", "peak_rss_mb", ...settings} (the keys of `mdprop bench`).
Run with Debian's interpreter, which has torch 1.13 and torchvision 0.14:
  /usr/bin/python3 bench/reference/mdprop_step.py --method mdprop --arch resnet18 \
      --image-size 64 --batch-size 32 --steps 10 --threads 2 --json
"""
import argparse
import copy
import json
import resource
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

METHODS = {
    # (kind, targets, batch part [from, to), branch); eps and iters come from the flags.
    "baseline": [],
    "advprop-d": [("targeted", 1, (0.0, 1.0), 1)],
    "mdprop": [("targeted", 1, (0.0, 0.5), 1), ("targeted", 5, (0.5, 1.0), 2)],
}


class MultiBranchBN(nn.Module):
    """K copies of a BatchNorm2d; routes the whole input to one branch, or segments to theirs."""

    def __init__(self, bn: nn.BatchNorm2d, branches: int):
        super().__init__()
        self.branches = nn.ModuleList([bn] + [copy.deepcopy(bn) for _ in range(branches - 1)])
        self.routing = ("branch", 0)

    def forward(self, x):
        kind, value = self.routing
        if kind == "branch":
            return self.branches[value](x)
        sizes = [size for size, _ in value]
        parts = torch.split(x, sizes, dim=0)
        return torch.cat([self.branches[b](p) for p, (_, b) in zip(parts, value)], dim=0)


def convert_bn(module: nn.Module, branches: int) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, MultiBranchBN(child, branches))
        else:
            convert_bn(child, branches)


def set_routing(model: nn.Module, routing) -> None:
    for m in model.modules():
        if isinstance(m, MultiBranchBN):
            m.routing = routing


class EmbeddingNet(nn.Module):
    def __init__(self, arch: str, embed_dim: int, branches: int):
        super().__init__()
        self.net = getattr(torchvision.models, arch)(weights=None)
        self.net.fc = nn.Linear(self.net.fc.in_features, embed_dim)
        if branches > 1:
            convert_bn(self.net, branches)
        self.autocast = None  # (device type, dtype) of mixed precision, or None

    def forward(self, x):
        if self.autocast is None:
            return F.normalize(self.net(x), dim=1)
        with torch.autocast(self.autocast[0], dtype=self.autocast[1]):
            return F.normalize(self.net(x), dim=1)


def multi_similarity(emb, labels, alpha=2.0, beta=40.0, base=0.5, margin=0.1):
    sim = emb @ emb.t()
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    pos_mask = same & ~eye
    neg_mask = ~same
    with torch.no_grad():
        s = sim.detach()
        min_pos = torch.where(pos_mask, s, torch.full_like(s, float("inf"))).min(dim=1, keepdim=True).values
        max_neg = torch.where(neg_mask, s, torch.full_like(s, float("-inf"))).max(dim=1, keepdim=True).values
        keep_neg = neg_mask & (s + margin > min_pos)
        keep_pos = pos_mask & (s - margin < max_neg)
    pos_exp = torch.where(keep_pos, torch.exp(-alpha * (sim - base)), torch.zeros_like(sim))
    neg_exp = torch.where(keep_neg, torch.exp(beta * (sim - base)), torch.zeros_like(sim))
    per_anchor = torch.log1p(pos_exp.sum(1)) / alpha + torch.log1p(neg_exp.sum(1)) / beta
    active = keep_pos.any(1) & keep_neg.any(1)
    if not active.any():
        return (sim * 0).sum()
    return per_anchor[active].mean()


def feature_pgd(model, x, targets, eps, iters, random_start=5e-4):
    lo = torch.clamp(x - eps, min=x.min().item(), max=x.max().item())
    hi = torch.clamp(x + eps, min=x.min().item(), max=x.max().item())
    adv = torch.max(torch.min(x + torch.empty_like(x).uniform_(-random_start, random_start), hi), lo)
    step = eps / iters
    for _ in range(iters):
        adv = adv.detach().requires_grad_(True)
        emb = model(adv)
        dist = sum((emb - t).norm(dim=1).mean() for t in targets) / len(targets)
        (grad,) = torch.autograd.grad(dist.square(), [adv])
        adv = torch.max(torch.min(adv.detach() - step * grad.sign(), hi), lo)
    return adv.detach()


def method_step(model, optimizer, distributions, images, labels, eps, iters):
    batch = images.shape[0]
    pieces = [(images, labels, 0)]
    model.eval()
    for kind, targets, (start, end), branch in distributions:
        lo = min(batch - 1, int(start * batch))
        hi = max(lo + 1, min(batch, round(end * batch)))
        xs, ys = images[lo:hi], labels[lo:hi]
        set_routing(model, ("branch", branch))
        with torch.no_grad():
            clean = model(xs)
        target_sets = [clean[torch.randperm(len(xs), device=xs.device)] for _ in range(targets)]
        pieces.append((feature_pgd(model, xs, target_sets, eps, iters), ys, branch))
    model.train()
    pieces.sort(key=lambda p: p[2])
    set_routing(model, ("segments", [(p[0].shape[0], p[2]) for p in pieces]) if len(pieces) > 1 else ("branch", 0))
    all_images = torch.cat([p[0] for p in pieces])
    all_labels = torch.cat([p[1] for p in pieces])
    loss = multi_similarity(model(all_images), all_labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    set_routing(model, ("branch", 0))
    return loss.item(), all_images.shape[0]


def untargeted_pgd(model, x, eps=0.1, iters=10):
    """Away from the clean embeddings: step 2.5 eps / iters, random start in the eps box."""
    with torch.no_grad():
        clean = model(x)
    lo, hi = x - eps, x + eps
    adv = x + torch.empty_like(x).uniform_(-eps, eps)
    for _ in range(iters):
        adv = adv.detach().requires_grad_(True)
        loss = (model(adv).float() - clean.float()).norm(dim=1).mean()
        (grad,) = torch.autograd.grad(loss, [adv])
        adv = torch.max(torch.min(adv.detach() + (2.5 * eps / iters) * grad.sign(), hi), lo)
    with torch.no_grad():
        return model(adv)


def op_table(averages):
    """The 30 ops with the most self time per step, with the keys `mdprop bench --profile` prints."""
    totals = {}
    for step in averages:
        for e in step:
            t = totals.setdefault(e.key, [0, 0.0, 0.0])
            t[0] += e.count
            t[1] += e.self_cpu_time_total / 1000
            t[2] += e.cpu_time_total / 1000
    n = len(averages)
    rows = sorted(totals.items(), key=lambda kv: -kv[1][1])[:30]
    return [{"name": k, "calls_per_step": round(c / n, 1), "self_ms_per_step": round(sm / n, 2), "total_ms_per_step": round(tm / n, 2)} for k, (c, sm, tm) in rows]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", default="mdprop", choices=sorted(METHODS))
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet34", "resnet50"])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--eps", type=float, default=0.01)
    p.add_argument("--iters", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--task", default="step", choices=["step", "embed", "attack"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--memory-format", default="contiguous", choices=["contiguous", "channels-last"])
    p.add_argument("--bf16", action="store_true", help="same as --precision bf16: torch.autocast with bfloat16")
    p.add_argument("--channels-last", action="store_true", help="same as --memory-format channels-last")
    p.add_argument("--json", action="store_true")
    p.add_argument("--profile", action="store_true", help="add each aten op's time per step (torch.profiler)")
    a = p.parse_args()
    if a.bf16:
        a.precision = "bf16"
    if a.channels_last:
        a.memory_format = "channels-last"
    device_type = "cuda" if a.device.startswith("cuda") else "cpu"
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)
    fmt = torch.channels_last if a.memory_format == "channels-last" else torch.contiguous_format

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    distributions = METHODS[a.method]
    model = EmbeddingNet(a.arch, a.embed_dim, 1 + len(distributions))
    if a.channels != 3:
        model.net.conv1 = nn.Conv2d(a.channels, 64, 7, 2, 3, bias=False)
    model = model.to(a.device, memory_format=fmt)
    if autocast_dtype is not None:
        model.autocast = (device_type, autocast_dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5, weight_decay=4e-4)
    labels = (torch.arange(a.batch_size) // 2).to(a.device)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    times = []
    cpu_times = []
    forward_images = 0
    profiled = []
    for i in range(a.warmup + a.steps):
        images = torch.randn(a.batch_size, a.channels, a.image_size, a.image_size, device=a.device).contiguous(memory_format=fmt)
        sync()
        profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if a.profile and i >= a.warmup else None
        if profiler:
            profiler.__enter__()
        started = time.perf_counter()
        cpu_started = time.process_time()
        if a.task == "step":
            _, forward_images = method_step(model, optimizer, distributions, images, labels, a.eps, a.iters)
        elif a.task == "embed":
            model.eval()
            with torch.no_grad():
                model(images)
        else:
            model.eval()
            for q in model.parameters():
                q.requires_grad_(False)
            untargeted_pgd(model, images)
            for q in model.parameters():
                q.requires_grad_(True)
        sync()
        if a.task == "step" and i == 0:
            missing = [name for name, q in model.named_parameters() if q.grad is None]
            if missing:
                raise SystemExit(f"mdprop_step.py: the step left {len(missing)} parameters without a gradient, e.g. {', '.join(missing[:3])}")
        if i >= a.warmup:
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
        if profiler:
            profiler.__exit__(None, None, None)
            profiled.append(profiler.key_averages())
    mean = sum(times) / len(times)
    report = {
        "ms_per_step": round(mean, 1),
        "ms_per_step_min": round(min(times), 1),
        "cpu_ms_per_step": round(sum(cpu_times) / len(cpu_times), 1),
        "images_per_s": round(a.batch_size * 1000 / mean, 2),
        "forward_images_per_step": forward_images,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "task": a.task,
        "precision": a.precision,
        "memory_format": a.memory_format,
        "method": a.method,
        "arch": a.arch,
        "image_size": a.image_size,
        "batch_size": a.batch_size,
        "steps": a.steps,
        "warmup": a.warmup,
        "threads": a.threads,
        "embed_dim": a.embed_dim,
        "device": a.device,
        "engine": f"pytorch {torch.__version__}",
    }
    if a.profile:
        report["ops"] = op_table(profiled)
    if a.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
