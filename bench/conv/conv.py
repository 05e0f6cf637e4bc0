#!/usr/bin/python3
"""The same benchmark in PyTorch: forward + backward of bench_conv.cpp's convolutional autoencoder
on one batch of 128 Fashion-MNIST images, float32 (torch uses oneDNN for the convolutions).

    /usr/bin/python3 bench/conv/conv.py --threads 2 [--repeats 30] [--data DIR]

Prints: pytorch threads=N batch=128 ms_per_batch=... images_per_second=... loss=...
The median over the repeats, after 3 warm-up steps, as the C++ program. See bench/README.md."""
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--data", default=os.environ.get("COURSE_DATA", "/usr/share/datasets/fashion-mnist"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    path = os.path.join(a.data, "train-images-idx3-ubyte.gz")
    if os.path.exists(path):
        with gzip.open(path, "rb") as f:
            images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:128]
        x = torch.from_numpy(images.copy()).float().div_(255)
    else:
        print(f"# {path} not found: random images", file=sys.stderr)
        x = torch.rand(128, 1, 28, 28)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1))

    def step():
        net.zero_grad()
        logits = net(x)
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        loss.backward()
        return float(loss)

    for _ in range(3):
        loss = step()
    ms = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        loss = step()
        ms.append(1000 * (time.perf_counter() - start))
    m = statistics.median(ms)
    print(f"pytorch threads={a.threads} batch=128 ms_per_batch={m:.2f} images_per_second={1000 * 128 / m:.0f} loss={loss:.3f}")


if __name__ == "__main__":
    main()
