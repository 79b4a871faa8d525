#!/usr/bin/python3
"""Reference for `mdprop embed`: the same embeddings computed by PyTorch and torchvision.

Builds torchvision's ResNet with fc replaced by Linear(in_features, D), gives it seeded random
weights (BN scale, shift and running statistics too, so eval-mode BN is exercised), writes that
state dict as safetensors, and embeds a folder of images the way `mdprop embed` does:
recursive jpg/jpeg/png/webp in code-point order of the relative path, RGB, shorter side resized,
centre crop, [0, 1], ImageNet mean/std, eval mode, L2-normalised rows.

    /usr/bin/python3 bench/parity/embed_reference.py --arch resnet18 --embed-dim 128 \
        --weights-out W.safetensors --images DIR --out REF.safetensors [--resize 224 --crop 224]

Then `mdprop embed --arch resnet18 --embed-dim 128 --weights W.safetensors --images DIR
--out E.safetensors --resize 224 --crop 224` should match REF to 1e-4.
"""
import argparse
import json
import os
import struct

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms

EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    """The format by hand (the safetensors package may be absent): u64 LE header size, JSON, bytes."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes() if t.dim() else t.reshape(1).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def random_model(arch, embed_dim, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    model.fc = torch.nn.Linear(model.fc.in_features, embed_dim)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(1000)
    return model.eval()


def find_images(root):
    found = []
    for dirpath, _, names in os.walk(root, followlinks=True):
        for name in names:
            if os.path.splitext(name)[1].lower() in EXTENSIONS:
                found.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    return sorted(found)


def embed(model, root, paths, resize, crop, batch_size=32):
    transform = transforms.Compose([
        transforms.Resize(resize),
        transforms.CenterCrop(crop),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    rows = []
    with torch.no_grad():
        for start in range(0, len(paths), batch_size):
            batch = [transform(Image.open(os.path.join(root, p)).convert("RGB")) for p in paths[start:start + batch_size]]
            rows.append(F.normalize(model(torch.stack(batch)), dim=1))
    return torch.cat(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=["resnet18", "resnet34", "resnet50"])
    ap.add_argument("--embed-dim", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights-out", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resize", type=int, default=256)
    ap.add_argument("--crop", type=int, default=224)
    args = ap.parse_args()

    model = random_model(args.arch, args.embed_dim, args.seed)
    write_safetensors(args.weights_out, model.state_dict())
    paths = find_images(args.images)
    embeddings = embed(model, args.images, paths, args.resize, args.crop)
    write_safetensors(args.out, {"embeddings": embeddings.float()}, {"paths": json.dumps(paths)})
    print(json.dumps({"arch": args.arch, "images": len(paths), "embed_dim": args.embed_dim, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
