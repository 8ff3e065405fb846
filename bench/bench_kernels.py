"""Fused kernels vs materialised logits: pool scoring and linear cross-entropy.

Every measurement runs in a fresh subprocess that reports its own peak memory
(a sampler thread reads /proc/self/status every 5 ms; tracemalloc would miss
torch's allocations). Two figures are kept: ``peak_anon`` (anonymous memory:
tensors, arrays) and ``peak_rss`` (VmHWM, which also counts the pages of a
memory-mapped input file the process touched — reclaimable page cache, not
memory the process needs). ``baseline_anon`` is the anonymous memory before
the measured work (inputs already created), so ``peak_anon - baseline_anon``
is what the method itself needs.

On a CPU the "fused" rows run the chunked torch reference (what the heads use
without CUDA); on a CUDA machine they run the Triton kernels. A materialised
baseline whose estimated footprint exceeds ``--cap-gb`` is not started and is
reported as such (the machine is shared).

    python bench/bench_kernels.py [--parts pool stream ce accuracy] [--cap-gb 8] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GB = 1024**3


# --------------------------------------------------------------------------- child side
class MemorySampler:
    """Peak anonymous memory and VmHWM of this process, sampled every 5 ms."""

    def __init__(self):
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def read(field: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak_anon = max(self.peak_anon, self.read("RssAnon"))
            time.sleep(0.005)

    def __enter__(self):
        self.peak_anon = self.read("RssAnon")
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_anon = max(self.peak_anon, self.read("RssAnon"))


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _materialised_scores(x, w, b):
    """The baseline a head without the kernel runs: softmax(X Wᵀ + b), then the statistics."""
    import torch

    z = x @ w.T + b
    p = torch.softmax(z, dim=1)
    top = torch.topk(p, k=2, dim=1).values
    ent = -(p * torch.log(p.clamp_min(1e-30))).sum(dim=1)
    return torch.logsumexp(z, dim=1), top[:, 0], top[:, 1], ent, torch.argmax(z, dim=1)


def child_pool(spec: dict) -> dict:
    import torch

    from alabel.core.heads.kernels import pool_scores

    device = _device()
    g = torch.Generator().manual_seed(0)
    n, c, d = spec["n"], spec["c"], spec["d"]
    x = torch.randn(n, d, generator=g).to(device)
    w = (torch.randn(c, d, generator=g) * 0.05).to(device)
    b = torch.zeros(c).to(device)
    _sync(device)
    base = MemorySampler.read("RssAnon")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        if spec["method"] == "fused":
            out = pool_scores(x, w, b)
            del out
        else:
            out = _materialised_scores(x, w, b)
            del out
        _sync(device)
        seconds = time.perf_counter() - t0
    result = {"seconds": seconds, "rows_per_s": n / seconds, "baseline_anon": base, "peak_anon": mem.peak_anon,
              "peak_rss": MemorySampler.read("VmHWM")}
    if device.type == "cuda":
        result["gpu_peak"] = torch.cuda.max_memory_allocated()
    return result


def child_stream(spec: dict) -> dict:
    import numpy as np
    import torch

    from alabel.core.heads.kernels import pool_scores

    device = _device()
    X = np.load(spec["path"], mmap_mode="r")
    n, d = X.shape
    c = spec["c"]
    g = torch.Generator().manual_seed(0)
    w = (torch.randn(c, d, generator=g) * 0.05).to(device)
    b = torch.zeros(c).to(device)
    chunk = spec["chunk_rows"]
    base = MemorySampler.read("RssAnon")
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        if spec["method"] == "fused":
            top1 = np.empty(n, dtype=np.float32)
            for start in range(0, n, chunk):
                xc = torch.from_numpy(np.ascontiguousarray(X[start:start + chunk])).to(device)
                top1[start:start + chunk] = pool_scores(xc, w, b)["top1"].cpu().numpy()
        else:
            # Materialised: all N × C logits first (as a head returning predict_proba does), then scores.
            z = torch.empty((n, c), dtype=torch.float32, device=device)
            for start in range(0, n, chunk):
                xc = torch.from_numpy(np.ascontiguousarray(X[start:start + chunk])).to(device)
                z[start:start + chunk] = xc @ w.T + b
            p = torch.softmax(z, dim=1)
            top = torch.topk(p, k=2, dim=1).values
            ent = -(p * torch.log(p.clamp_min(1e-30))).sum(dim=1)
            del z, p, top, ent
        _sync(device)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows_per_s": n / seconds, "baseline_anon": base, "peak_anon": mem.peak_anon,
            "peak_rss": MemorySampler.read("VmHWM")}


def child_ce(spec: dict) -> dict:
    import torch
    import torch.nn.functional as F

    from alabel.core.heads.kernels import linear_cross_entropy

    device = _device()
    g = torch.Generator().manual_seed(0)
    n, c, d = spec["n"], spec["c"], spec["d"]
    x = torch.randn(n, d, generator=g).to(device).requires_grad_()
    w = (torch.randn(c, d, generator=g) * 0.05).to(device).requires_grad_()
    b = torch.zeros(c).to(device).requires_grad_()
    y = torch.randint(0, c, (n,), generator=g).to(device)
    _sync(device)
    base = MemorySampler.read("RssAnon")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        if spec["method"] == "fused":
            loss = linear_cross_entropy(x, w, y, b)
        else:
            loss = F.cross_entropy(x @ w.T + b, y)
        loss.backward()
        _sync(device)
        seconds = time.perf_counter() - t0
    result = {"seconds": seconds, "baseline_anon": base, "peak_anon": mem.peak_anon,
              "peak_rss": MemorySampler.read("VmHWM"), "loss": float(loss)}
    if device.type == "cuda":
        result["gpu_peak"] = torch.cuda.max_memory_allocated()
    return result


def child_accuracy(spec: dict) -> dict:
    """Fused vs materialised (float64 oracle) on one problem: loss, gradients, pool statistics."""
    import torch
    import torch.nn.functional as F

    from alabel.core.heads.kernels import linear_cross_entropy, pool_scores

    device = _device()
    g = torch.Generator().manual_seed(1)
    n, c, d = spec["n"], spec["c"], spec["d"]
    x0 = torch.randn(n, d, generator=g)
    w0 = torch.randn(c, d, generator=g) * 0.05
    b0 = torch.randn(c, generator=g)
    y = torch.randint(0, c, (n,), generator=g)

    def grads(fn, dtype, dev):
        x, w, b = (t.to(dev, dtype).requires_grad_() for t in (x0, w0, b0))
        loss = fn(x, w, b, y.to(dev))
        loss.backward()
        return [t.detach().double().cpu() for t in (loss, x.grad, w.grad, b.grad)]

    ref = grads(lambda x, w, b, y: F.cross_entropy(x @ w.T + b, y), torch.float64, "cpu")
    got = grads(lambda x, w, b, y: linear_cross_entropy(x, w, y, b), torch.float32, device)
    rel = {name: float((a - r).abs().max() / r.abs().max()) for name, a, r in zip(("loss", "dx", "dw", "db"), got, ref)}
    z = x0.double() @ w0.double().T + b0.double()
    p = torch.softmax(z, dim=1)
    scores = pool_scores(x0.to(device), w0.to(device), b0.to(device))
    rel["top1"] = float(((scores["top1"].cpu().double() - p.max(1).values).abs() / p.max(1).values).max())
    rel["entropy_abs"] = float((scores["entropy"].cpu().double() + (p * p.log()).sum(1)).abs().max())
    return rel


CHILDREN = {"pool": child_pool, "stream": child_stream, "ce": child_ce, "accuracy": child_accuracy}


# --------------------------------------------------------------------------- parent side
def run_child(spec: dict, timeout: int = 900) -> dict:
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gb(v) -> str:
    return f"{v / GB:.2f}"


def make_memmap(path: Path, n: int, d: int) -> None:
    import numpy as np

    if path.exists() and np.load(path, mmap_mode="r").shape == (n, d):
        return
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 262_144):
        stop = min(n, start + 262_144)
        X[start:stop] = rng.standard_normal((stop - start, d), dtype=np.float32)
    X.flush()
    del X


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--parts", nargs="+", default=["pool", "stream", "ce", "accuracy"],
                        choices=["pool", "stream", "ce", "accuracy"])
    parser.add_argument("--n-pool", type=int, default=1_000_000, help="rows scored in memory")
    parser.add_argument("--n-stream", type=int, default=2_000_000, help="rows streamed from a memmap")
    parser.add_argument("--n-ce", type=int, default=4096, help="rows of the cross-entropy problem")
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--ce-classes", type=int, nargs="+", default=[1000, 32768, 131072])
    parser.add_argument("--cap-gb", type=float, default=8.0, help="skip baselines estimated to need more")
    parser.add_argument("--memmap", type=Path, default=Path("/tmp/alabel_bench_pool.npy"))
    parser.add_argument("--json", type=Path, default=RESULTS / "kernels.json")
    args = parser.parse_args(argv)

    if args.child:
        spec = json.loads(args.child)
        import torch

        torch.set_num_threads(spec.get("threads") or os.cpu_count() or 1)
        print(json.dumps(CHILDREN[spec["kind"]](spec)))
        return 0

    import torch

    cuda = torch.cuda.is_available()
    machine = (torch.cuda.get_device_name(0) if cuda else
               f"{platform.machine()} CPU, {os.cpu_count()} cores, no GPU")
    print(f"machine: {machine}; torch {torch.__version__}; fused = "
          f"{'Triton kernels' if cuda else 'chunked torch reference (CPU path)'}")
    cap = args.cap_gb * GB
    rows = []
    d = args.d

    def record(part, spec, result, **extra):
        rows.append({"part": part, **spec, **result, **extra})
        if "error" in result or "skipped" in result:
            print(f"| {part} | {spec.get('method')} | C={spec.get('c')} | {result.get('error') or result['skipped']} |")
            return
        line = [part, spec.get("method"), f"C={spec.get('c')}", f"{result['seconds']:.2f} s"]
        if "rows_per_s" in result:
            line.append(f"{result['rows_per_s'] / 1e6:.2f} M rows/s")
        line += [f"peak anon {gb(result['peak_anon'])} GB (+{gb(result['peak_anon'] - result['baseline_anon'])})",
                 f"VmHWM {gb(result['peak_rss'])} GB"]
        print("| " + " | ".join(line) + " |", flush=True)

    if "pool" in args.parts:
        for c in args.classes:
            for method in ("fused", "materialised"):
                spec = {"kind": "pool", "method": method, "n": args.n_pool, "c": c, "d": d}
                need = args.n_pool * (d + (4 * c if method == "materialised" else 0)) * 4
                if need > cap:
                    record("pool", spec, {"skipped": f"not run: needs ≈{need / GB:.1f} GB > cap {args.cap_gb} GB"})
                    continue
                record("pool", spec, run_child(spec))
    if "stream" in args.parts:
        make_memmap(args.memmap, args.n_stream, d)
        for c in args.classes:
            for method in ("fused", "materialised"):
                spec = {"kind": "stream", "method": method, "path": str(args.memmap), "c": c,
                        "chunk_rows": 65_536, "n": args.n_stream}
                need = args.n_stream * 4 * c * 4 if method == "materialised" else 0
                if need > cap:
                    record("stream", spec, {"skipped": f"not run: needs ≈{need / GB:.1f} GB > cap {args.cap_gb} GB"})
                    continue
                record("stream", spec, run_child(spec))
    if "ce" in args.parts:
        for c in args.ce_classes:
            for method in ("fused", "materialised"):
                spec = {"kind": "ce", "method": method, "n": args.n_ce, "c": c, "d": d}
                need = args.n_ce * c * 4 * (3 if method == "materialised" else 0)
                if need > cap:
                    record("ce", spec, {"skipped": f"not run: needs ≈{need / GB:.1f} GB > cap {args.cap_gb} GB"})
                    continue
                record("ce", spec, run_child(spec))
    if "accuracy" in args.parts:
        spec = {"kind": "accuracy", "n": 1024, "c": 32768, "d": d}
        result = run_child(spec)
        rows.append({"part": "accuracy", **spec, **result})
        print("accuracy vs float64 materialised oracle (N=1024, C=32768):", json.dumps(result))

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "torch": torch.__version__, "rows": rows}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
