#!/usr/bin/python3
"""The same benchmark in PyTorch: chapter 8's 784-400-20 VAE (the PyTorch example's model), one epoch
on the 60,000 Fashion-MNIST training images, batch 128, Adam lr 1e-3, float32; prints seconds per
epoch, images per second, the test ELBO and the peak resident memory, and which BLAS torch loaded.

Run with Debian's own interpreter and torch:  /usr/bin/python3 bench/vae_epoch/vae_epoch.py --threads 2
Reads the IDX .gz files with gzip + numpy (no downloads). See bench/README.md."""
import argparse
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def loaded_blas():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() or "lapack" in line.lower()}
    return ", ".join(sorted(os.path.realpath(p) for p in libs if p.startswith("/"))) or "none found in /proc/self/maps"


class Vae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 400)
        self.fc21 = torch.nn.Linear(400, 20)
        self.fc22 = torch.nn.Linear(400, 20)
        self.fc3 = torch.nn.Linear(20, 400)
        self.fc4 = torch.nn.Linear(400, 784)

    def forward(self, x):
        h1 = F.relu(self.fc1(x))
        mu, log_var = self.fc21(h1), self.fc22(h1)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.fc4(F.relu(self.fc3(z))), mu, log_var


def loss_per_image(logits, x, mu, log_var):
    """-ELBO summed over the batch: BCE summed over pixels (from logits) + the closed-form KL."""
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = 0.5 * torch.sum(mu.pow(2) + log_var.exp() - 1 - log_var)
    return rec + kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("COURSE_DATA", "/usr/share/datasets/fashion-mnist"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    # The C++ side flushes subnormal floats to zero (course::parallel::flush_subnormals); the peer
    # gets the same mode, so neither pays for Adam moments that decay into the subnormal range.
    flushed = torch.set_flush_denormal(True)
    torch.manual_seed(a.seed)
    train = torch.from_numpy(read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 784).copy())
    test = torch.from_numpy(read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 784).copy())
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, flush denormals: {flushed}, BLAS loaded: {loaded_blas()}", file=sys.stderr)
    info = [t.strip(" ,") for t in torch.__config__.show().split() if t.startswith(("BLAS_INFO", "LAPACK_INFO"))]
    print("# torch.__config__.show(): " + " ".join(info), file=sys.stderr)
    model = Vae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, batch = train.shape[0], 128
    for epoch in range(a.epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(n).split(batch):
            x = train[idx].float().div_(255)
            logits, mu, log_var = model(x)
            loss = loss_per_image(logits, x, mu, log_var) / x.shape[0]  # mean over the batch, as the C++
            if not torch.isfinite(loss):
                sys.exit(f"non-finite loss in epoch {epoch}")
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            total = 0.0
            for x in test.split(500):
                x = x.float().div_(255)
                logits, mu, log_var = model(x)
                total += float(loss_per_image(logits, x, mu, log_var))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"pytorch threads={a.threads} epoch={epoch + 1} seconds={seconds:.3f} images_per_second={n / seconds:.0f} "
              f"test_elbo={-total / test.shape[0]:.3f} peak_rss_mb={peak:.1f}")


if __name__ == "__main__":
    main()
