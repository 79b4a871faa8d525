#!/usr/bin/python3
"""Write the state-dict layout (name, shape, dtype, in order) of torchvision's ResNet-18/34/50.

The mdprop tests compare src/nn's ResNets against this list, so torchvision checkpoints converted
to safetensors keep loading. Run with Debian's python3 (it has torch and torchvision):

    /usr/bin/python3 bench/parity/resnet_names.py test/nn/fixtures/torchvision-resnet-layout.json
"""
import json
import sys

import torchvision


def layout(model):
    return [
        {"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
        for name, t in model.state_dict().items()
    ]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "test/nn/fixtures/torchvision-resnet-layout.json"
    archs = {}
    for arch in ("resnet18", "resnet34", "resnet50"):
        archs[arch] = layout(getattr(torchvision.models, arch)(weights=None))
    doc = {"torchvision": torchvision.__version__, "num_classes": 1000, "archs": archs}
    with open(out, "w") as f:
        # One entry a line keeps the fixture small and its diffs readable.
        f.write("{\n")
        f.write(f'  "torchvision": {json.dumps(doc["torchvision"])},\n')
        f.write('  "num_classes": 1000,\n')
        f.write('  "archs": {\n')
        for i, (arch, entries) in enumerate(archs.items()):
            f.write(f'    "{arch}": [\n')
            lines = [f"      {json.dumps(e)}" for e in entries]
            f.write(",\n".join(lines))
            f.write("\n    ]" + ("," if i < len(archs) - 1 else "") + "\n")
        f.write("  }\n}\n")


if __name__ == "__main__":
    main()
