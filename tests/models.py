"""Toy models shared by the tests (one place: tests import them from here), and the plain
forward-pass ISM used as an oracle."""

import torch
from torch import nn

from tests.helpers import random_one_hot
from xai_widgets.contract import LocalPlan, Residual
from xai_widgets.data.encoding import indices_to_one_hot


def naive_ism(model, X, target="all"):
    """The oracle of every ISM test: each single-base edit as its own forward pass (the edits of a
    sequence batched over positions). ``(N, T, 4, L)`` differences for ``target="all"``, else
    ``(N, 4, L)`` for that output index."""
    n, _, length = X.shape
    rows = torch.arange(length)
    with torch.no_grad():
        reference = model(X)
        delta = torch.zeros(n, reference.shape[1], 4, length)
        for i in range(n):
            for base in range(4):
                edited = X[i].repeat(length, 1, 1)
                edited[rows, :, rows] = 0
                edited[rows, base, rows] = 1
                delta[i, :, base] = (model(edited) - reference[i]).T
    return delta if target == "all" else delta[:, target]


class Reused(nn.Module):
    """The model of issue 11: one nn.ReLU called after both convolutions."""

    def __init__(self, separate=False):
        super().__init__()
        torch.manual_seed(0)
        self.c1, self.c2, self.relu, self.fc = (nn.Conv1d(4, 8, 5, padding=2), nn.Conv1d(8, 8, 3, padding=1),
                                                nn.ReLU(), nn.Linear(8, 1))
        self.relu2 = nn.ReLU() if separate else self.relu

    def forward(self, x):
        return self.fc(self.relu2(self.c2(self.relu(self.c1(x)))).mean(-1))


class ScaledConv(nn.Conv1d):
    """The issue's layer: a Conv1d whose forward triples its output."""

    def forward(self, x):
        return 3.0 * super().forward(x)


class DoubledReLU(nn.ReLU):
    def forward(self, x):
        return x.clamp(min=0) * 2


class DoubledSequential(nn.Sequential):
    def forward(self, x):
        return 2 * super().forward(x)


class LyingPlan(nn.Module):
    """Its forward scales the convolution by ``gain``; its local plan leaves the gain out (so the
    plan is right only while ``gain == 1``)."""

    def __init__(self, gain: float):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 5, padding=2)
        self.act = nn.ReLU()
        self.gain = nn.Parameter(torch.tensor(gain))
        self.head = nn.Linear(6, 2)

    def local_plan(self):
        return LocalPlan([self.conv, self.act], True, self.head)

    def forward(self, x):
        return self.head(self.act(self.gain * self.conv(x)).amax(-1))


class MotifDetector(nn.Module):
    """Filters set to given PWMs; output = max over filters and positions of the ReLU scores."""

    def __init__(self, pwms, bias: float = 0.0):
        super().__init__()
        width = max(p.shape[1] for p in pwms)
        self.conv1 = nn.Conv1d(4, len(pwms), width)
        self.act1 = nn.ReLU()
        with torch.no_grad():
            self.conv1.weight.zero_()
            for i, pwm in enumerate(pwms):
                self.conv1.weight[i, :, : pwm.shape[1]] = torch.as_tensor(pwm, dtype=torch.float32)
            self.conv1.bias.fill_(bias)

    def forward(self, x):
        return self.act1(self.conv1(x)).amax(dim=(1, 2))[:, None]


def plant(motif, n=300, length=60, seed=0):
    """Random sequences, the first half with one site of ``motif`` sampled at position 20."""
    X = random_one_hot(n, length, seed)
    sites = indices_to_one_hot(torch.as_tensor(motif.sample(n // 2, random_state=seed)))  # (n/2, 4, W)
    X[: n // 2, :, 20 : 20 + motif.width] = sites
    return X, torch.cat([torch.ones(n // 2), torch.zeros(n - n // 2)])[:, None]


class TokenAttention(nn.Module):
    """A model from outside the zoo: 5 tokens of 8 bases, no config; or a broken map."""

    def __init__(self, broken=False):
        super().__init__()
        self.broken = broken

    def forward(self, x):
        return x.sum((1, 2))[:, None]

    def attention_maps(self, x):
        n = x.shape[0]
        maps = torch.softmax(torch.randn(n, 1, 2, 5, 5), -1)
        return maps[:, 0] if self.broken else maps


class TinyRNN(nn.Module):
    """A model from outside the zoo: (N, 4, L) -> (N, 2), with an LSTM (no DeepLIFT rule)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.rnn = nn.LSTM(8, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h, _ = self.rnn(torch.relu(self.conv(x)).transpose(1, 2))
        return self.head(h.mean(1))



class Swish(nn.Module):
    """A user's own element-wise activation, ``x * sigmoid(x)`` in its forward: DeepLIFT has no
    rule for it until one is given (``rules={Swish: "rescale"}``)."""

    def forward(self, x):
        return x * torch.sigmoid(x)


class SwishNet(nn.Module):
    """Conv -> activation -> conv -> the same activation again -> mean -> linear, (N, 4, L) -> (N, 1);
    ``activation`` is a :class:`Swish` (or ``nn.SiLU``: the same function with a built-in rule).
    Weights scaled up so that the activation is far from linear over the inputs."""

    def __init__(self, activation=None, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.c1, self.c2, self.fc = nn.Conv1d(4, 6, 5, padding=2), nn.Conv1d(6, 6, 3, padding=1), nn.Linear(6, 1)
        with torch.no_grad():
            self.c1.weight.mul_(4)
            self.c2.weight.mul_(3)
        self.act = Swish() if activation is None else activation

    def forward(self, x):
        return self.fc(self.act(self.c2(self.act(self.c1(x)))).mean(-1))


class ResidualCNN(nn.Module):
    """A toy with a residual block and a local plan: conv -> ReLU -> Residual(dilated conv, ReLU)
    -> max pool -> conv -> ReLU, then a head on the whole map (mean over length, linear);
    ``(N, 4, L) -> (N, 2)`` for any ``L >= 4``. Its plan holds the :class:`Residual` block, so
    fast paths must carry an edit through it (as in BPNet)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1, self.act1 = nn.Conv1d(4, 8, 7, padding=3), nn.ReLU()
        self.res = Residual(nn.Conv1d(8, 8, 3, padding=2, dilation=2), nn.ReLU())
        self.pool = nn.MaxPool1d(2)
        self.conv2, self.act2 = nn.Conv1d(8, 8, 3), nn.ReLU()
        self.head = nn.Linear(8, 2)

    def local_plan(self):
        return LocalPlan([self.conv1, self.act1, self.res, self.pool, self.conv2, self.act2], False,
                         lambda h: self.head(h.mean(-1)))

    def forward(self, x):
        for layer in self.local_plan().layers:
            x = layer(x)
        return self.head(x.mean(-1))


class ToyAttention(nn.Module):
    """A toy with self-attention over positions and no local plan: conv -> ReLU -> multi-head
    self-attention -> mean over length -> linear; ``(N, 4, L) -> (N, 2)`` for any ``L``."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.conv(x)).transpose(1, 2)
        h, _ = self.attention(h, h, h, need_weights=False)
        return self.head(h.mean(1))


class NoPlanCNN(nn.Module):
    """A plain CNN written as its own ``nn.Module`` without ``local_plan()`` (so no fast path):
    conv -> ReLU -> max pool -> conv -> ReLU -> global max -> linear; ``(N, 4, L) -> (N, 2)``."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1, self.pool = nn.Conv1d(4, 8, 7, padding=3), nn.MaxPool1d(2)
        self.conv2 = nn.Conv1d(8, 8, 3)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x)))))
        return self.head(h.amax(-1))
