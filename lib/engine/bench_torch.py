"""PyTorch side of `tessera bench`: the same nets as lib/engine/bench.ts, batch 64, Adam, best of --reps.

Prints one JSON line: {"version", "threads", "nets": {"reference": {"nchw": {"train_ips", "infer_ips", "train_cpu_ips",
"infer_cpu_ips"},
"channels_last": {...}}, ...}}. Each net runs in both memory formats: PyTorch's default (contiguous NCHW) and
channels_last (model and input converted), which oneDNN runs up to 3x faster on AVX-512 machines. Inference runs under
torch.inference_mode(), PyTorch's fastest eager setting.

With --serve it is a worker for `tessera bench`'s interleaved rounds instead: it reads one JSON request a line from
stdin, {"net", "format", "step": "train" | "infer", "steps", "reps"}, and answers each with one line, {"ips", "cpu_ips"}
(the best of reps timed runs of steps calls), so that the engine and PyTorch can alternate run by run. A net's model in
a format is built (seed 0) and warmed up on its first request; a bad request is answered {"error"}.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn


def conv(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU()]


class BagNetBlock(nn.Module):
    """Bottleneck 1x1 > kxk valid (stride s) > 1x1 (x2), residual centre-cropped, as lib/models/bagnet.ts."""

    def __init__(self, cin, width, k, stride):
        super().__init__()
        out = width * 2
        self.main = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, k, stride=stride, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out))
        self.crop = (k - 1) // 2
        self.down = None
        if stride != 1 or cin != out:
            self.down = nn.Sequential(nn.Conv2d(cin, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
        self.relu = nn.ReLU()

    def forward(self, x):
        r = x
        if self.crop:
            c = self.crop
            r = r[:, :, c:-c, c:-c]
        if self.down is not None:
            r = self.down(r)
        return self.relu(self.main(x) + r)


class BagNet(nn.Module):
    """BagNet-17 (q=17: 3x3 in all three stages), widths 32-64-128, strides 2-2-1, 64x64x3, 10 classes."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        blocks, cin = [], 32
        for w, s in ((32, 2), (64, 2), (128, 1)):
            blocks.append(BagNetBlock(cin, w, 3, s))
            cin = w * 2
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(cin, 10, 1)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))


class BlurPool(nn.Module):
    """Tri-3 binomial blur, reflect padding 1, depthwise at stride 2 (lib/models/blurpool.ts)."""

    def __init__(self, channels):
        super().__init__()
        row = torch.tensor([1.0, 2.0, 1.0])
        k = (row[:, None] * row[None, :]) / 16
        self.register_buffer("kernel", k[None, None].repeat(channels, 1, 1, 1))
        self.pad = nn.ReflectionPad2d(1)

    def forward(self, x):
        return nn.functional.conv2d(self.pad(x), self.kernel, stride=2, groups=x.shape[1])


def build(name):
    if name == "bagnet":
        return BagNet(), (3, 64, 64)
    if name == "reference":
        layers = conv(1, 32) + [nn.MaxPool2d(2)] + conv(32, 64) + [nn.MaxPool2d(2)] + conv(64, 64)
        last, shape = 64, (1, 28, 28)
    elif name in ("conv64", "antialiased"):
        layers, cin = [], 3
        for w in (32, 64, 128, 128):
            if name == "antialiased":
                layers += conv(cin, w) + conv(w, w) + [BlurPool(w)]
            else:
                layers += conv(cin, w) + conv(w, w, 2)
            cin = w
        last, shape = 128, (3, 64, 64)
    else:
        raise ValueError(f"unknown net {name!r}; expected reference, conv64, bagnet or antialiased")
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, 10)]
    return nn.Sequential(*layers), shape


def best_ips(fn, steps, reps, batch):
    """Best images/s of wall time and per CPU-second of the process (all threads) over reps runs."""
    fn()
    best, best_cpu = 0.0, 0.0
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            fn()
        best = max(best, steps * batch / (time.perf_counter() - t0))
        best_cpu = max(best_cpu, steps * batch / max(1e-6, time.process_time() - c0))
    return best, best_cpu


def steps_for(fn, batch, seconds):
    fn()
    t0 = time.perf_counter()
    fn()
    ips = batch / max(1e-3, time.perf_counter() - t0)
    return max(2, min(50, round(ips * seconds / batch)))


FORMATS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


def steps_of(name, fmt, batch):
    """A net's model in a memory format, and its training and inference steps (train mode, eval mode) on one batch."""
    torch.manual_seed(0)
    model, shape = build(name)
    model = model.to(memory_format=FORMATS[fmt])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, *shape).contiguous(memory_format=FORMATS[fmt])
    y = torch.randint(0, 10, (batch,))

    def train():
        model.train()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    def infer():
        model.eval()
        with torch.inference_mode():
            model(x).sum().item()

    return model, train, infer


def bench(name, fmt, reps, batch):
    model, train, infer = steps_of(name, fmt, batch)
    train_ips, train_cpu = best_ips(train, steps_for(train, batch, 1.5), reps, batch)
    model.eval()
    infer_ips, infer_cpu = best_ips(infer, steps_for(infer, batch, 1.0), reps, batch)
    return {"train_ips": round(train_ips, 1), "infer_ips": round(infer_ips, 1),
            "train_cpu_ips": round(train_cpu, 1), "infer_cpu_ips": round(infer_cpu, 1)}


def serve(batch):
    """The worker loop of --serve (see the module docstring)."""
    steps = {}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            net, fmt, step = req["net"], req["format"], req["step"]
            if fmt not in FORMATS or step not in ("train", "infer"):
                raise ValueError(f"format must be one of {list(FORMATS)} and step train or infer, found {fmt!r}, {step!r}")
            if (net, fmt) not in steps:
                _, train, infer = steps_of(net, fmt, batch)
                for _ in range(2):
                    train()
                    infer()
                steps[(net, fmt)] = {"train": train, "infer": infer}
            fn = steps[(net, fmt)][step]
            best, best_cpu = 0.0, 0.0
            for _ in range(int(req.get("reps", 1))):
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(int(req["steps"])):
                    fn()
                best = max(best, req["steps"] * batch / (time.perf_counter() - t0))
                best_cpu = max(best_cpu, req["steps"] * batch / max(1e-6, time.process_time() - c0))
            out = {"ips": best, "cpu_ips": best_cpu}
        except Exception as e:  # answered, so the caller reports it instead of waiting
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--nets", default="reference,conv64,bagnet,antialiased")
    ap.add_argument("--formats", default="nchw,channels_last")
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.serve:
        print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        serve(a.batch)
        return
    nets = {n: {f: bench(n, f, a.reps, a.batch) for f in a.formats.split(",")} for n in a.nets.split(",")}
    print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "nets": nets}))


if __name__ == "__main__":
    main()
