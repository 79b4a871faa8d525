#!/usr/bin/python3
"""PyTorch reference of one mdprop training step, timed like `mdprop bench`.

The step is bench/pytorch/step.py's, the very step bench/golden/mdprop_step.py checks mdprop's
against: a torchvision ResNet embedding model (head `fc` to D dims, L2-normalised output) whose
every BatchNorm2d is a branched BN; feature-space PGD per auxiliary distribution in eval mode on
its branch; one forward in train mode with each segment normalised by its own branch;
multi-similarity loss; Adam (lr 1e-5, weight decay 4e-4). Batches are normal noise with 2 images
per class.

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

Prints {"ms_per_step", "cpu_ms_per_step", "images_per_s", "peak_rss_mb", ...settings} (the keys
of `mdprop bench`).
Run with Debian's interpreter, which has torch 1.13 and torchvision 0.14:
  /usr/bin/python3 bench/reference/mdprop_step.py --method mdprop --arch resnet18 \
      --image-size 64 --batch-size 32 --steps 10 --threads 2 --json
"""
import argparse
import json
import pathlib
import resource
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "pytorch"))
from step import METHODS, branch_batch_norms, method_step  # noqa: E402


class EmbeddingNet(nn.Module):
    def __init__(self, arch: str, embed_dim: int, branches: int):
        super().__init__()
        self.net = getattr(torchvision.models, arch)(weights=None)
        self.net.fc = nn.Linear(self.net.fc.in_features, embed_dim)
        if branches > 1:
            branch_batch_norms(self.net, branches)
        self.autocast = None  # (device type, dtype) of mixed precision, or None

    def forward(self, x):
        if self.autocast is None:
            return F.normalize(self.net(x), dim=1)
        with torch.autocast(self.autocast[0], dtype=self.autocast[1]):
            return F.normalize(self.net(x), dim=1)


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
            forward_images = method_step(model, optimizer, distributions, images, labels, a.eps, a.iters)["forward_images"]
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
