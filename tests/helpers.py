"""Small helpers shared by the tests."""

import torch
from torch import nn


def random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    """Uniform random one-hot DNA, ``(n, 4, length)``, reproducible from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4).permute(0, 2, 1).float()


def randomise_batchnorm(model: nn.Module, scales: bool = False) -> nn.Module:
    """Give every BatchNorm1d non-trivial running statistics (and, with ``scales``, random
    affine weights, some negative), so fast paths are tested away from the identity; eval mode."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            if scales:
                m.weight.data.copy_(torch.randn(m.weight.shape, generator=g))
    return model.eval()
