"""Small helpers shared by the tests."""

import torch
from torch import nn


def random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    """Uniform random one-hot DNA, ``(n, 4, length)``, reproducible from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4).permute(0, 2, 1).float()
