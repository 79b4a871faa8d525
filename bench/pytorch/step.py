"""One MDProp training step in plain PyTorch: the step bench/golden/mdprop_step.py verifies
mdprop's against (test/methods/golden-step.test.ts) and bench/reference/mdprop_step.py times
beside `mdprop bench`. Written independently of mdprop, from the method as README.md states it
("The method"):

 1. eval mode; for each auxiliary distribution (kind, T targets, batch part, BN branch), on its
    slice of the batch through its own branch: clean embeddings e (no grad), targets t_j = e[perm_j]
    (T random in-batch permutations), start = slice + noise (uniform in +-5e-4), box =
    [x - eps, x + eps] clipped to the slice's min and max; `iters` sign steps of eps/iters
    descending L = ((1/T) sum_j mean_i ||t_j,i - f(adv)_i||_2)^2, gradients for the images only;
 2. train mode; one forward of cat(clean, adv_1, adv_2, ...), each segment normalised by its own
    branch with its own batch statistics;
 3. multi-similarity loss (alpha 2, beta 40, lambda 0.5, margin 0.1) over all embeddings with
    labels cat(y, y_1, y_2, ...); one optimizer step.

Permutations and start noise may be given instead of drawn, so a step can be replayed exactly.
"""
import torch
import torch.nn.functional as F
from torch import nn

START = 5e-4
MS = dict(alpha=2.0, beta=40.0, base=0.5, margin=0.1)
BN_EPS = 1e-5
BN_MOMENTUM = 0.1

METHODS = {
    # (kind, targets, batch part [from, to), branch); eps and iters are the step's.
    "baseline": [],
    "advprop-d": [("targeted", 1, (0.0, 1.0), 1)],
    "mdprop": [("targeted", 1, (0.0, 0.5), 1), ("targeted", 5, (0.5, 1.0), 2)],
}


class BranchedBatchNorm(nn.Module):
    """K batch norms over the same channels. Branch 0's tensors are this module's own (so its
    keys are the plain layer name, as mdprop's model file has them); branches 1..K-1 live in
    `aux`. `route` is a branch number, or a list of (rows, branch) for consecutive segments."""

    def __init__(self, channels, branches):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.aux = nn.Sequential(*[nn.BatchNorm2d(channels) for _ in range(branches - 1)])
        self.route = 0

    def tensors(self, k):
        m = self if k == 0 else self.aux[k - 1]
        return m.weight, m.bias, m.running_mean, m.running_var, m.num_batches_tracked

    def normalise(self, x, k):
        weight, bias, mean, var, seen = self.tensors(k)
        if self.training:
            seen.add_(1)
        return F.batch_norm(x, mean, var, weight, bias, self.training, BN_MOMENTUM, BN_EPS)

    def forward(self, x):
        if isinstance(self.route, int):
            return self.normalise(x, self.route)
        pieces = torch.split(x, [rows for rows, _ in self.route])
        return torch.cat([self.normalise(p, k) for p, (_, k) in zip(pieces, self.route)])


def branch_batch_norms(module, branches):
    """Replaces every BatchNorm2d below `module` with a BranchedBatchNorm of `branches` branches."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, BranchedBatchNorm(child.num_features, branches))
        else:
            branch_batch_norms(child, branches)


def route(model, how):
    for m in model.modules():
        if isinstance(m, BranchedBatchNorm):
            m.route = how


def targeted_attack(model, x, branch, eps, iters, targets=1, perms=None, noise=None, track_margin=False):
    """Sign-descent PGD towards in-batch targets, in eval mode through one BN branch. Returns the
    adversarial images and, with track_margin, the smallest |gradient| relative to the largest
    (how safely each sign is decided)."""
    model.eval()
    route(model, branch)
    with torch.no_grad():
        clean = model(x)
    if perms is None:
        perms = [torch.randperm(len(x), device=x.device) for _ in range(targets)]
    target_sets = [clean[p] for p in perms]
    if noise is None:
        noise = torch.empty_like(x).uniform_(-START, START)
    lo = torch.clamp(x - eps, min=x.min().item())
    hi = torch.clamp(x + eps, max=x.max().item())
    adv = torch.min(torch.max(x + noise, lo), hi)
    margin = float("inf")
    for _ in range(iters):
        adv = adv.detach().requires_grad_(True)
        f = model(adv)
        mean_distance = sum((t - f).norm(dim=1).mean() for t in target_sets) / len(target_sets)
        (g,) = torch.autograd.grad(mean_distance**2, adv)
        if track_margin:
            margin = min(margin, float(g.abs().min() / g.abs().max()))
        adv = torch.min(torch.max(adv.detach() - (eps / iters) * g.sign(), lo), hi)
    return adv.detach(), margin


def multi_similarity(emb, labels, alpha, beta, base, margin):
    z = F.normalize(emb, dim=1)
    s = z @ z.t()
    n = s.shape[0]
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(n, dtype=torch.bool, device=s.device)
    neg = ~same
    sd = s.detach()
    inf = torch.tensor(float("inf"), dtype=s.dtype, device=s.device)
    hardest_pos = torch.where(pos, sd, inf).min(dim=1, keepdim=True).values  # least similar positive
    hardest_neg = torch.where(neg, sd, -inf).max(dim=1, keepdim=True).values  # most similar negative
    keep_neg = neg & (hardest_pos - sd < margin)
    keep_pos = pos & (sd - hardest_neg < margin)

    def soft_count(logits, mask):  # log(1 + sum over mask of exp(logits)), stably
        zero = torch.zeros(n, 1, dtype=s.dtype, device=s.device)
        return torch.logsumexp(torch.cat([zero, logits.masked_fill(~mask, float("-inf"))], dim=1), dim=1)

    per_anchor = soft_count(-alpha * (s - base), keep_pos) / alpha + soft_count(beta * (s - base), keep_neg) / beta
    active = keep_pos.any(dim=1) & keep_neg.any(dim=1)
    if not bool(active.any()):
        return (per_anchor * 0).sum()
    return per_anchor[active].mean()


def part_rows(part, batch):
    start, end = part
    lo = min(batch - 1, int(start * batch))
    return lo, max(lo + 1, min(batch, round(end * batch)))


def method_step(model, optimizer, distributions, images, labels, eps, iters, draws=None, track_margins=False):
    """One step of a method given as its distributions (METHODS). `draws`, by branch, may fix each
    distribution's permutations and start noise. Returns the loss, the adversarial images, the
    embeddings of the joint forward, the images it held, and with track_margins how safely the
    attack's signs and Adam's directions were decided."""
    batch = images.shape[0]
    slices = [(*part_rows(part, batch), kind, targets, branch) for kind, targets, part, branch in distributions]
    attacks = []
    for lo, hi, _kind, targets, branch in slices:
        fixed = (draws or {}).get(branch, {})
        attacks.append(targeted_attack(model, images[lo:hi], branch, eps, iters, targets, fixed.get("perms"), fixed.get("noise"), track_margins))
    advs = [adv for adv, _ in attacks]
    model.train()
    route(model, [(batch, 0)] + [(hi - lo, branch) for lo, hi, _, _, branch in slices] if slices else 0)
    embeddings = model(torch.cat([images] + advs))
    all_labels = torch.cat([labels] + [labels[lo:hi] for lo, hi, _, _, _ in slices])
    loss = multi_similarity(embeddings, all_labels, **MS)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    margins = {}
    if track_margins:
        weight_decay = optimizer.param_groups[0]["weight_decay"]
        margins = {
            "attack_sign": min((m for _, m in attacks), default=float("inf")),
            "adam_direction": min(float((p.grad + weight_decay * p.detach()).abs().min()) for p in model.parameters()),
        }
    optimizer.step()
    route(model, 0)
    return {"loss": loss.detach(), "advs": advs, "embeddings": embeddings.detach(), "forward_images": embeddings.shape[0], "margins": margins}
