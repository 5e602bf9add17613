"""Small helpers shared by the tests: paths, random sequences and toy models."""

from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
"""The repository root."""
REALDATA = REPO.parent / "shared" / "realdata"
"""The project's real data beside the checkout (``../shared/realdata``)."""


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


def example_chr17() -> str:
    """The shipped genome piece (hg19 chr17, first 40 kb) as one upper-case string."""
    from xai_widgets.data import example_genome
    from xai_widgets.data.io import open_genome

    with open_genome(example_genome().genome) as fasta:
        return str(fasta["chr17"][:]).upper()


def small_variant_model(length: int = 200) -> nn.Module:
    """A small local CNN with a flatten head and two outputs, input length ``length`` (variant tests)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 8, 9, padding=4), nn.ReLU(), nn.MaxPool1d(4), nn.Conv1d(8, 4, 5), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * ((length // 4) - 4), 2))
    model.input_length = length
    return model.eval()
