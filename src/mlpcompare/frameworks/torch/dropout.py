"""Inverted dropout with masks drawn from raw random integers, in parallel chunks where large."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

# Dropout masks of at least this many units on the CPU are drawn in MASK_CHUNKS parallel chunks.
PARALLEL_UNITS = 2**20
MASK_CHUNKS = 4


@functools.cache
def _mask_pool() -> ThreadPoolExecutor:
    """Threads that draw dropout chunks: as many as torch's (pinned before the first step)."""
    return ThreadPoolExecutor(max_workers=min(MASK_CHUNKS, torch.get_num_threads()))


class Dropout(nn.Module):
    """Inverted dropout, as ``nn.Dropout``, with masks drawn from raw random integers.

    ``nn.Dropout`` on the CPU draws one Bernoulli variate per unit, which measured ~9 ns each
    here: a third of a MNIST training step. A unit is dropped here when a uniform 31-bit integer
    from torch's generator (``random_()``, ~3 ns) falls below ``round(p * 2**31)``: the same test
    as ``uniform(0, 1) < p`` to within 2**-31, and the NumPy MLP's. Kept units are scaled by
    ``1 / (1 - p)``; autograd differentiates the product.

    One instance per layer keeps its bits, its keep flags and its mask between steps, as large as
    the largest batch seen: on the CPU torch takes an array this large fresh from the system and
    gives it back when freed (the C library maps anything over 32 MB anew), so a 64 MB array
    (batch 4096, width 4096) paid ~20 ms of page faults, each of them every step. Autograd keeps the
    mask for the backward pass, and the next step overwrites it only after that; a second
    forward before the backward is refused by autograd's version check, never given a stale
    mask.

    torch's CPU generator is serial (~2 ns a unit, a tenth of a step at batch 4096 x width 4096),
    so a mask of at least :data:`PARALLEL_UNITS` units on the CPU is drawn in
    :data:`MASK_CHUNKS` chunks, each from a generator of its own (seeded from torch's seed, the
    layer and the chunk) on the job's threads. The chunks are fixed, so the masks do not depend
    on the thread count; smaller masks, and every mask on a GPU, come from torch's generator.

    A compiled step (:mod:`.compiled`) cannot trace ``random_()`` into a generator's stream: it
    calls :meth:`draw` for every layer before its graph, in the order the eager forward draws,
    and passes the bits to ``forward``, so its masks are bit for bit the eager step's.
    """

    def __init__(self, p: float, layer: int = 0):
        super().__init__()
        self.p = p
        self.layer = layer
        self.threshold = min(round(p * 2**31), 2**31 - 1)
        # Plain attributes, not in the state dict: storage (see _views) and chunk generators.
        self.storage: tuple[torch.Tensor, ...] = ()
        self.generators: list[torch.Generator] = []

    def forward(self, x: torch.Tensor, bits: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` with its units dropped; ``bits``, when given, are this step's from :meth:`draw`."""
        if not self.training:
            return x
        if bits is not None:  # inside a compiled graph: one fused elementwise pass, no storage
            return x * ((bits >= self.threshold).to(x.dtype) * (1 / (1 - self.p)))
        bits, keep, mask = self._views(x)
        self._draw(bits)
        torch.ge(bits, self.threshold, out=keep)
        mask.copy_(keep).mul_(1 / (1 - self.p))  # 0 or 1 / (1 - p)
        return x * mask

    def draw(self, n: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """This step's bits for ``n`` rows of ``width`` units (``like``'s device and dtype),
        drawn now, into the storage ``forward`` would draw them into."""
        bits, _, _ = self._storage_views(n, width, like)
        self._draw(bits)
        return bits

    def _views(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Bits, keep flags and mask shaped like ``x``, from storage reallocated to fit."""
        return self._storage_views(*x.shape, x)

    def _storage_views(self, n: int, width: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mask = self.storage[-1] if self.storage else None
        if mask is None or mask.shape[0] < n or mask.shape[1] != width or (
            mask.device != like.device or mask.dtype != like.dtype
        ):  # fmt: skip
            self.storage = tuple(
                torch.empty((n, width), dtype=dtype, device=like.device)
                for dtype in (torch.int32, torch.bool, like.dtype)
            )
        # The first n rows of C-ordered storage: contiguous, so random_() fills them in the
        # order it fills a fresh (n, width) tensor, and the masks are the same.
        return tuple(t[:n] for t in self.storage)

    def _draw(self, bits: torch.Tensor) -> None:
        """Fill ``bits`` with uniform 31-bit integers (in chunks on threads where it is large)."""
        if bits.device.type != "cpu" or bits.numel() < PARALLEL_UNITS:
            bits.random_()
            return
        if not self.generators:  # seeded on first use: torch's own stream is left untouched
            base = torch.initial_seed() * 2**16 + self.layer * 2**8
            self.generators = [
                torch.Generator().manual_seed((base + chunk) % 2**63)
                for chunk in range(MASK_CHUNKS)
            ]
        chunks = bits.view(-1).chunk(MASK_CHUNKS)
        # random_ releases the GIL, so the chunks fill side by side.
        list(_mask_pool().map(lambda c, g: c.random_(generator=g), chunks, self.generators))
