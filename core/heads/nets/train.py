"""The training loop of the torch heads: epochs of shuffled mini-batches.

The loss is :func:`..kernels.linear_cross_entropy` on the output layer (the
fused Triton kernel on CUDA, the chunked torch reference on CPU), so training
with many classes never holds the batch × classes logits. Cancellation is
checked before each epoch and progress reported after each one: this loop runs
in the trainer's background thread while the dashboard shows its progress.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ...errors import ConfigError
from ...training.retrain import TrainingCancelled
from ..kernels import linear_cross_entropy
from .modules import HeadNet

ProgressCallback = Callable[[int, int, float], None]

# torch.set_num_threads is process-wide: the first of several concurrent users
# saves the setting and the last one restores it. Nobody waits for anybody (a
# prediction on the UI thread must not queue behind a background fit).
_threads_lock = threading.Lock()
_threads_users = 0
_threads_before = 0


def resolve_device(name: str) -> torch.device:
    """``'auto'`` → CUDA when available else CPU; anything else as torch spells it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"head: device: {name!r} is not a torch device ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"head: device: {name!r} requested but CUDA is not available (use 'auto' or 'cpu')")
    return device


def default_threads() -> int:
    """Leave one core to the server and the browser session."""
    return max(1, (os.cpu_count() or 2) - 1)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Cap torch's intra-op CPU threads to ``n`` (default: all cores but one) inside the block."""
    global _threads_users, _threads_before
    with _threads_lock:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        _threads_users += 1
        torch.set_num_threads(int(n or default_threads()))
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_before)


@dataclass
class TrainLog:
    """What one call of :func:`train` did."""

    epochs: int
    steps: int
    last_loss: float


def train(
    net: HeadNet,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    shuffle_generator: torch.Generator,
    dropout_generator: torch.Generator,
    row_weight: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    who: str = "head",
) -> TrainLog:
    """Train ``net`` in place with AdamW on ``(X, y)``.

    Parameters
    ----------
    net
        The network, on X's device.
    X, y
        Network inputs (n, d) float32 and class indices (n,) int64.
    epochs, lr, weight_decay, batch_size
        Optimisation settings (weight decay applies to weights, not biases).
    shuffle_generator, dropout_generator
        Seeded generators for batch order (CPU) and dropout masks (X's device).
    row_weight
        Optional per-row loss weights (class weight × sample weight). Each
        batch's summed loss is divided by ``batch size × mean row weight``, so
        a batch of zero-weight rows contributes nothing instead of 0/0.
    progress
        Called after each epoch as ``progress(epoch, epochs, mean_loss)``.
    cancel
        Checked before each epoch; when set, :class:`TrainingCancelled` is raised.
    who
        Name used in the cancellation message.
    """
    decay = [p for name, p in net.named_parameters() if "_w" in name]
    no_decay = [p for name, p in net.named_parameters() if "_b" in name]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
    )
    n = X.shape[0]
    size = max(1, min(int(batch_size), n))
    steps, loss_value = 0, float("nan")
    norm = 1.0 if row_weight is None else float(row_weight.mean())
    if not norm > 0:
        raise ValueError(f"{who}: the sample/class weights of the labelled rows sum to zero")
    net.train()
    for epoch in range(1, epochs + 1):
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled(f"{who}: training cancelled before epoch {epoch}/{epochs}")
        order = torch.randperm(n, generator=shuffle_generator).to(X.device)
        total, weight_sum = torch.zeros((), device=X.device), 0
        for start in range(0, n, size):
            idx = order[start:start + size]
            h = net.features(X[idx], dropout_generator)
            loss = linear_cross_entropy(
                h, net.out_w, y[idx], net.out_b,
                sample_weight=None if row_weight is None else row_weight[idx],
                reduction="sum",
            ) / (len(idx) * norm)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
            weight_sum += len(idx)
            steps += 1
        loss_value = float(total) / max(1, weight_sum)
        if progress is not None:
            progress(epoch, epochs, loss_value)
    net.eval()
    return TrainLog(epochs=epochs, steps=steps, last_loss=loss_value)
