#!/usr/bin/env python3
"""The anchor U-Net of unet-anchor.json in PyTorch, timed side by side with segrad's `npm run bench -- unet`.

Same model (widths 16..256, conv3x3 without bias -> BN -> ReLU twice per block, max-pool, ConvTranspose
2x2 with bias, concat [skip, up], conv1x1 head with bias), same deterministic data, soft Dice on
sigmoid(logits) over the whole batch (smooth 1), Adam lr 1e-4, batch 8, float32, CPU,
torch.set_num_threads(2), OMP_WAIT_POLICY=PASSIVE unless set (spinning OpenMP workers collapse on a
shared machine).

  train step: forward + loss + backward + Adam step (+ BN running stats); images/s = 8 / median
  inference:  eval mode, torch.no_grad(), forward + sigmoid;             images/s = 8 / median

Each workload runs in a fresh process, so its peak RSS (resource.getrusage ru_maxrss) is its own.
Prints one JSON row per workload, in the format of bench/table.ts's BenchRow:
  {"workload": "unet train", "size": 64, "backend": "pytorch 1.13 cpu", "ms": ..., "imagesPerSecond": ...,
   "peakRssMB": ..., "firstStepMs": ..., "gflops": ...}

On a GPU (`--device cuda`, what bench/gpu.sh uses): the same model and step in eager mode with PyTorch's
defaults (cuDNN may use TF32 for convolutions unless `--strict-fp32`); every timed step ends in `.item()`,
which waits for the device. Peak RSS is then the host process's, not the GPU's memory.

Usage:  python3 bench/peers/pytorch_unet.py [--size 64|128] [--workload train|inference] [--reps N] [--warmup N]
                                            [--device cpu|cuda] [--strict-fp32]
Without --workload it runs every (size, workload) pair, each in a child process, and prints a JSON array.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

BATCH = 8
WIDTHS = [16, 32, 64, 128, 256]
# FLOPs per image from unet-anchor.json (convolutions only)
FLOPS = {64: {"forward": 376700928, "train": 1128923136}, 128: {"forward": 1506803712, "train": 4515692544}}


def build(torch):
    nn = torch.nn

    def block(cin, c):
        return nn.Sequential(
            nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c, eps=1e-5, momentum=0.1), nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c, eps=1e-5, momentum=0.1), nn.ReLU(inplace=False),
        )

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            cins = [1] + WIDTHS[:3]
            for l in range(4):
                setattr(self, f"enc{l}", block(cins[l], WIDTHS[l]))
            self.enc4 = block(WIDTHS[3], WIDTHS[4])
            for l in range(4):
                setattr(self, f"up{l}", nn.ConvTranspose2d(WIDTHS[l + 1], WIDTHS[l], 2, stride=2, bias=True))
                setattr(self, f"dec{l}", block(2 * WIDTHS[l], WIDTHS[l]))
            self.head = nn.Conv2d(WIDTHS[0], 1, 1, bias=True)
            self.pool = nn.MaxPool2d(2, 2)

        def forward(self, x):
            skips = []
            for l in range(4):
                x = getattr(self, f"enc{l}")(x)
                skips.append(x)
                x = self.pool(x)
            x = self.enc4(x)
            for l in range(3, -1, -1):
                x = getattr(self, f"up{l}")(x)
                x = getattr(self, f"dec{l}")(torch.cat([skips[l], x], dim=1))
            return self.head(x)

    return UNet()


def anchor_batch(torch, size):
    n = torch.arange(BATCH, dtype=torch.float64).view(BATCH, 1, 1, 1)
    i = torch.arange(size, dtype=torch.float64).view(1, 1, size, 1)
    j = torch.arange(size, dtype=torch.float64).view(1, 1, 1, size)
    x = 0.5 + 0.5 * torch.sin(0.3 * i + 0.7 * n) * torch.cos(0.2 * j - 0.5 * n)
    x = x.to(torch.float32)  # computed in float64 like segrad's Math.sin, then rounded
    t = (x > 0.5).to(torch.float32)
    return x.contiguous(), t.contiguous()


def dice_loss(logits, t):
    p = logits.sigmoid()
    return 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def blas_library():
    """Which BLAS this process loaded (Debian's torch links libblas.so.3: reference BLAS unless OpenBLAS is installed)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown BLAS"
    if any("openblas" in p for p in paths):
        return "OpenBLAS"
    if any("mkl" in p for p in paths):
        return "MKL"
    if any("/blas/libblas" in p for p in paths):
        return "reference BLAS"
    return "BLAS " + (", ".join(sorted(os.path.basename(p) for p in paths)) or "not loaded")


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def one(size, workload, reps, warmup=3, device="cpu", strict_fp32=False):
    # Busy-waiting OpenMP workers collapse on a machine shared with other jobs (measured here: 64² inference
    # 75 ms passive, 550-980 ms active with 2 threads on 2 loaded cores). Set before torch loads libgomp.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(1)
    if strict_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model = build(torch).to(device)
    x, t = (v.to(device) for v in anchor_batch(torch, size))
    version = ".".join(torch.__version__.split(".")[:2])
    where = "cpu" if device == "cpu" else f"{device} ({torch.cuda.get_device_name()})"
    if workload == "train":
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
        last = [math.nan]

        def step():
            opt.zero_grad(set_to_none=True)
            loss = dice_loss(model(x), t)
            loss.backward()
            opt.step()
            last[0] = loss.item()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                p = model(x).sigmoid()
            p.sum().item()

    t0 = time.perf_counter()
    step()
    first = (time.perf_counter() - t0) * 1000
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    ms = median(times)
    flops = FLOPS.get(size, {}).get("train" if workload == "train" else "forward")
    row = {
        "workload": f"unet {workload}",
        "size": size,
        "backend": f"pytorch {version} {device}" + (" fp32" if strict_fp32 else ""),
        "ms": ms,
        "imagesPerSecond": BATCH * 1000 / ms,
        "peakRssMB": peak_rss_mb(),
        "firstStepMs": first,
        "note": (f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, {blas_library()}" if device == "cpu"
                 else f"{where}, eager, cuDNN TF32 {'off' if strict_fp32 else 'allowed (default)'}") + f", first step {first:.0f} ms" + (f", loss {last[0]:.4f}" if workload == "train" else ""),
    }
    if flops:
        row["gflops"] = flops * BATCH / (ms * 1e6)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, choices=[64, 128])
    ap.add_argument("--workload", choices=["train", "inference"])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--strict-fp32", action="store_true")
    a = ap.parse_args()
    if a.workload and a.size:
        print(json.dumps(one(a.size, a.workload, a.reps, a.warmup, a.device, a.strict_fp32)))
        return
    rows = []
    for size in [a.size] if a.size else [64, 128]:
        for workload in [a.workload] if a.workload else ["train", "inference"]:
            cmd = [sys.executable, __file__, "--size", str(size), "--workload", workload, "--reps", str(a.reps), "--warmup", str(a.warmup), "--device", a.device]
            if a.strict_fp32:
                cmd.append("--strict-fp32")
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                sys.stderr.write(out.stderr)
                rows.append({"workload": f"unet {workload}", "size": size, "backend": f"pytorch {a.device}", "ms": None, "peakRssMB": None, "note": f"failed: exit {out.returncode}"})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
