#!/usr/bin/python3
"""Golden fixture: one MDProp training step computed in plain PyTorch.

Regenerate (Debian's python3-torch 1.13 is enough; nothing else is needed):

    /usr/bin/python3 bench/golden/mdprop_step.py

It writes test/methods/fixtures/mdprop_step.safetensors, which test/methods/golden-step.test.ts
replays through mdprop's own step. Same seed, same file: rerunning without changes is a no-op.

The model has mdprop's `resnet-small` layout and parameter names (3x3 stride-1 stem conv1/bn1,
three stages of two basic blocks layer1..layer3 with strides 1-2-2 and 1x1 downsample.0/1
projections, global average pool, linear head `fc`, L2-normalised output) with narrower stages
(WIDTHS) so that the initial and the updated weights together stay a few hundred kB. Every
BatchNorm2d is a three-branch BN: branch 0 under the layer's own name (`bn1.weight`), branches 1
and 2 under `bn1.aux.0.*` and `bn1.aux.1.*`. Each branch gets its own scale, shift and running
statistics here, so a step that normalises with the wrong branch gives different numbers.

The step is bench/pytorch/step.py's, the one bench/reference/mdprop_step.py times: STAX on rows
[0, B/2) through branch 1, MTAX (T = 5) on rows [B/2, B) through branch 2, the joint forward in
train mode, the multi-similarity loss and one Adam step.

The randomness (target permutations, start noise) is stored in the fixture and handed to the
TypeScript step, so the two sides need not share a generator. The permutations are derangements:
a row that is its own target sits 5e-4 from it, and the sign of so small a gradient is decided
by rounding, which no two libraries share. The script also runs the step in float64 and refuses
to write a fixture whose float32 result depends on rounding (a sign that flips).
"""
import json
import pathlib
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "pytorch"))
from step import METHODS, MS, BranchedBatchNorm, method_step  # noqa: E402

# Chosen among nearby seeds for the widest sign margins (see check_robust).
SEED = 20261132
IN_CHANNELS = 1
IMAGE_SIZE = 16
WIDTHS = (8, 16, 32)
EMBED_DIM = 8
BRANCHES = 3
LABELS = (3, 3, 0, 0, 4, 4, 1, 1, 2, 2)  # two images per class, as the class-balanced sampler gives
EPS = 0.01
ITERS = 1
START = 5e-4
STAX_TARGETS = 1
MTAX_TARGETS = 5
LR = 1e-3
WEIGHT_DECAY = 4e-4

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "methods" / "fixtures" / "mdprop_step.safetensors"


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = BranchedBatchNorm(cout, BRANCHES)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = BranchedBatchNorm(cout, BRANCHES)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), BranchedBatchNorm(cout, BRANCHES))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv3x3(IN_CHANNELS, WIDTHS[0])
        self.bn1 = BranchedBatchNorm(WIDTHS[0], BRANCHES)
        self.relu = nn.ReLU()
        cin = WIDTHS[0]
        for stage, width in enumerate(WIDTHS):
            stride = 1 if stage == 0 else 2
            setattr(self, f"layer{stage + 1}", nn.Sequential(Block(cin, width, stride), Block(width, width, 1)))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, EMBED_DIM)

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return F.normalize(self.fc(torch.flatten(self.avgpool(h), 1)), dim=1)


def initialise(model, gen):
    """Conv and fc weights at the usual scales; every BN branch its own scale, shift and statistics."""
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_out) ** 0.5)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / m.in_features ** 0.5
                m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * bound)
                m.bias.copy_((torch.rand(m.bias.shape, generator=gen) * 2 - 1) * bound)
            elif isinstance(m, BranchedBatchNorm):
                for k in range(BRANCHES):
                    weight, bias, mean, var, seen = m.tensors(k)
                    c = weight.shape[0]
                    weight.copy_(1 + 0.25 * torch.randn(c, generator=gen))
                    bias.copy_(0.2 * torch.randn(c, generator=gen))
                    mean.copy_(0.3 * torch.randn(c, generator=gen))
                    var.copy_(0.5 + torch.rand(c, generator=gen))
                    seen.fill_(10 + k)


def derangement(n, gen):
    while True:
        p = torch.randperm(n, generator=gen)
        if bool((p != torch.arange(n)).all()):
            return p


def mdprop_step(model, images, labels, draws):
    """The step with this fixture's draws, one fresh Adam step, and the margins check_robust reads."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    out = method_step(model, optimizer, METHODS["mdprop"], images, labels, EPS, ITERS, draws, track_margins=True)
    return out["loss"], out["advs"], out["embeddings"], out["margins"]


def make_inputs():
    gen = torch.Generator().manual_seed(SEED)
    model = Embedder()
    initialise(model, gen)
    n = len(LABELS)
    images = torch.randn(n, IN_CHANNELS, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    labels = torch.tensor(LABELS, dtype=torch.long)
    half = n // 2
    draws = {}
    for k, rows, count in ((1, half, STAX_TARGETS), (2, n - half, MTAX_TARGETS)):
        draws[k] = {
            "perms": [derangement(rows, gen) for _ in range(count)],
            "noise": (torch.rand(rows, IN_CHANNELS, IMAGE_SIZE, IMAGE_SIZE, generator=gen) * 2 - 1) * START,
        }
    return model, images, labels, draws


def in_double(model, images, draws):
    twin = Embedder()
    twin.load_state_dict(model.state_dict())
    twin = twin.double()
    return twin, images.double(), {k: {"perms": d["perms"], "noise": d["noise"].double()} for k, d in draws.items()}


def check_robust(model32, out32, model64, out64):
    """The float32 result must not hinge on rounding. Every attack sign and Adam direction agrees
    with float64, and each has room to spare: the smallest input gradient is at least 1e-5 of the
    largest (float32 rounding is ~1e-7 of it), and every |grad + wd*p| is at least 1e-7, where a
    gradient error of ~1e-9 moves Adam's first update (lr*g/(|g| + 1e-8)) by less than 1e-9."""
    loss32, advs32, emb32, margins = out32
    loss64, advs64, emb64, _ = out64
    adv_gap = max(float((a - b.float()).abs().max()) for a, b in zip(advs32, advs64))
    w64 = model64.state_dict()
    weight_gap = max(float((t.double() - w64[name]).abs().max()) for name, t in model32.state_dict().items())
    report = {
        "loss_float32": float(loss32),
        "loss_gap": abs(float(loss32) - float(loss64)),
        "adversarial_gap": adv_gap,
        "embedding_gap": float((emb32.double() - emb64).abs().max()),
        "state_gap": weight_gap,
        **margins,
    }
    print(json.dumps(report, indent=1))
    if adv_gap > 1e-6 or weight_gap > 1e-6 or margins["attack_sign"] < 1e-5 or margins["adam_direction"] < 1e-7:
        raise SystemExit("this seed's fixture would hinge on rounding; choose another SEED")


def write_safetensors(path, tensors, metadata):
    kinds = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": kinds[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.set_num_threads(1)
    model, images, labels, draws = make_inputs()
    initial = {name: t.clone() for name, t in model.state_dict().items()}
    model64, images64, draws64 = in_double(model, images, draws)

    out32 = mdprop_step(model, images, labels, draws)
    out64 = mdprop_step(model64, images64, labels, draws64)
    check_robust(model, out32, model64, out64)
    loss, advs, embeddings, _ = out32

    tensors = {f"initial.{name}": t for name, t in initial.items()}
    tensors.update({f"expected.{name}": t for name, t in model.state_dict().items()})
    tensors["batch.images"] = images
    tensors["batch.labels"] = labels
    for k, name in ((1, "stax"), (2, "mtax")):
        tensors[f"draws.{name}.noise"] = draws[k]["noise"]
        tensors[f"draws.{name}.permutations"] = torch.stack(draws[k]["perms"])
        tensors[f"expected.adversarial.{name}"] = advs[k - 1]
    tensors["expected.loss"] = loss.reshape(1)
    tensors["expected.embeddings"] = embeddings
    metadata = {
        "widths": json.dumps(list(WIDTHS)),
        "in_channels": str(IN_CHANNELS),
        "embed_dim": str(EMBED_DIM),
        "branches": str(BRANCHES),
        "eps": repr(EPS),
        "iters": str(ITERS),
        "mtax_targets": str(MTAX_TARGETS),
        "lr": repr(LR),
        "weight_decay": repr(WEIGHT_DECAY),
        "multi_similarity": json.dumps(MS),
        "torch": torch.__version__,
        "seed": str(SEED),
    }
    write_safetensors(OUT, tensors, metadata)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
