"""Small sequence-to-activity architectures, each mapping one-hot ``(N, 4, L)`` to ``(N, T)``.

Outputs are logits for classification tasks and raw values for regression. Every model keeps
the keyword arguments it was built with in ``model.config`` so a model card can rebuild it, and
exposes its first convolution as ``model.first_conv`` (the layer whose filters read as PWMs).

=============  ==============================================================================
name           architecture
=============  ==============================================================================
deepbind       one conv layer (the PWM scan), global max pool, small dense head (Alipanahi 2015)
basset         three conv blocks, first-layer ReLU or exponential activation (Kelley 2016;
               Koo & Ploenzke 2021), global max pool, dense head
danq           conv, max pool, bidirectional LSTM, max over time, dense head (Quang 2016)
attention      conv, max pool, sinusoidal positions, multi-head self-attention blocks whose
               maps are returned by :meth:`ConvAttention.attention_maps`
explainn       independent single-filter units, each conv -> BN -> exp -> max pool -> FC(100)
               -> FC(1), combined linearly (Novakovsky 2023); fixed input length
=============  ==============================================================================
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..contract import Exp, GlobalMaxPool, LocalPlan


def _activation(name: str) -> nn.Module:
    options = {"relu": nn.ReLU, "exp": Exp}
    if name not in options:
        raise ValueError(f"activation must be one of {sorted(options)}; got {name!r}")
    return options[name]()


class _ZooModel(nn.Module):
    """Base: stores ``config`` and checks input shape."""

    def __init__(self, **config):
        super().__init__()
        self.config = dict(config)

    @property
    def n_targets(self) -> int:
        return self.config["n_targets"]

    @property
    def first_conv(self) -> nn.Conv1d:
        return self.conv1

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[1] != 4:
            raise ValueError(f"{type(self).__name__} expects one-hot input of shape (N, 4, L); got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.items())


class _LocalStackModel(_ZooModel):
    """A zoo model whose forward is its :class:`LocalPlan`: fast ISM applies to it."""

    def __init__(self, **config):
        super().__init__(**config)
        self.global_pool = GlobalMaxPool()

    def local_plan(self) -> LocalPlan:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        plan = self.local_plan()
        for layer in plan.layers:
            x = layer(x)
        return plan.head(self.global_pool(x) if plan.global_max else x)


class DeepBind(_LocalStackModel):
    """DeepBind-style: one conv layer, ReLU, global max pool, dense head.

    Parameters
    ----------
    n_targets : int
    n_filters, filter_width : int
        First-layer filters (the motif detectors) and their width.
    hidden : int
        Width of the dense layer.
    dropout : float
    """

    def __init__(self, n_targets: int, n_filters: int = 32, filter_width: int = 19, hidden: int = 32,
                 dropout: float = 0.2):
        super().__init__(n_targets=n_targets, n_filters=n_filters, filter_width=filter_width, hidden=hidden,
                         dropout=dropout)
        self.conv1 = nn.Conv1d(4, n_filters, filter_width, padding=filter_width // 2)
        self.act1 = nn.ReLU()
        self.dense = nn.Linear(n_filters, hidden)
        self.act2 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_targets)

    def local_plan(self) -> LocalPlan:
        return LocalPlan([self.conv1, self.act1], True,
                         lambda h: self.output(self.dropout(self.act2(self.dense(h)))))


class Basset(_LocalStackModel):
    """Basset-style CNN: three conv blocks, global max pool, dense head.

    Parameters
    ----------
    n_targets : int
    activation : {"relu", "exp"}
        First-layer activation; ``"exp"`` gives the more interpretable filters of
        Koo & Ploenzke (2021). Deeper layers use ReLU.
    filters, widths : tuple of 3 int
        Channels and kernel widths of the three conv layers.
    pools : tuple of 2 int
        Max-pool sizes after the first and second conv blocks.
    hidden : int
    dropout : float
    """

    def __init__(self, n_targets: int, activation: str = "relu", filters=(32, 64, 96), widths=(19, 7, 5),
                 pools=(4, 4), hidden: int = 64, dropout: float = 0.2):
        super().__init__(n_targets=n_targets, activation=activation, filters=list(filters), widths=list(widths),
                         pools=list(pools), hidden=hidden, dropout=dropout)
        f1, f2, f3 = filters
        w1, w2, w3 = widths
        self.conv1 = nn.Conv1d(4, f1, w1, padding=w1 // 2)
        self.bn1 = nn.BatchNorm1d(f1)
        self.act1 = _activation(activation)
        self.pool1 = nn.MaxPool1d(pools[0])
        self.drop1 = nn.Dropout(dropout / 2)
        self.conv2 = nn.Conv1d(f1, f2, w2, padding=w2 // 2)
        self.bn2 = nn.BatchNorm1d(f2)
        self.act2 = nn.ReLU()
        self.pool2 = nn.MaxPool1d(pools[1])
        self.drop2 = nn.Dropout(dropout / 2)
        self.conv3 = nn.Conv1d(f2, f3, w3, padding=w3 // 2)
        self.bn3 = nn.BatchNorm1d(f3)
        self.act3 = nn.ReLU()
        self.dense = nn.Linear(f3, hidden)
        self.act4 = nn.ReLU()
        self.drop3 = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_targets)

    def local_plan(self) -> LocalPlan:
        layers = [self.conv1, self.bn1, self.act1, self.pool1, self.drop1,
                  self.conv2, self.bn2, self.act2, self.pool2, self.drop2,
                  self.conv3, self.bn3, self.act3]
        return LocalPlan(layers, True, lambda h: self.output(self.drop3(self.act4(self.dense(h)))))


class DanQ(_LocalStackModel):
    """DanQ-style CNN + bidirectional LSTM, max over time, dense head.

    Unlike DanQ, the convolution is batch-normalised (as in Basset) and its global max joins
    the LSTM summary in the dense head (a convolutional shortcut): without both, this small
    model plateaued near AUROC 0.89 on ``motif_presence`` after an hour of CPU training.
    Its convolutional part is position-local, so fast ISM recomputes only windows of it and
    runs the LSTM head on the stitched maps.

    Parameters
    ----------
    n_targets : int
    n_filters, filter_width, pool : int
        Conv layer and the max pool before the LSTM.
    lstm_hidden : int
        Hidden size per direction.
    hidden : int
    dropout : float
    """

    def __init__(self, n_targets: int, n_filters: int = 64, filter_width: int = 19, pool: int = 8,
                 lstm_hidden: int = 48, hidden: int = 64, dropout: float = 0.2):
        super().__init__(n_targets=n_targets, n_filters=n_filters, filter_width=filter_width, pool=pool,
                         lstm_hidden=lstm_hidden, hidden=hidden, dropout=dropout)
        self.conv1 = nn.Conv1d(4, n_filters, filter_width, padding=filter_width // 2)
        self.bn1 = nn.BatchNorm1d(n_filters)
        self.act1 = nn.ReLU()
        self.pool1 = nn.MaxPool1d(pool)
        self.drop1 = nn.Dropout(dropout)
        self.lstm = nn.LSTM(n_filters, lstm_hidden, batch_first=True, bidirectional=True)
        self.dense = nn.Linear(2 * lstm_hidden + n_filters, hidden)
        self.act2 = nn.ReLU()
        self.drop2 = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_targets)

    def _recurrent_head(self, conv: torch.Tensor) -> torch.Tensor:
        recurrent, _ = self.lstm(self.drop1(conv).transpose(1, 2))
        h = torch.cat([self.global_pool(recurrent.transpose(1, 2)), self.global_pool(conv)], dim=1)
        return self.output(self.drop2(self.act2(self.dense(h))))

    def local_plan(self) -> LocalPlan:
        return LocalPlan([self.conv1, self.bn1, self.act1, self.pool1], False, self._recurrent_head)


def sinusoidal_positions(length: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Fixed sinusoidal position encodings, shape ``(length, dim)`` (Vaswani et al. 2017)."""
    position = torch.arange(length, device=device, dtype=dtype)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=dtype) * (-math.log(10_000.0) / dim))
    enc = torch.zeros(length, dim, device=device, dtype=dtype)
    enc[:, 0::2] = torch.sin(position * freq)
    enc[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return enc


class SelfAttentionBlock(nn.Module):
    """Pre-norm transformer block whose forward also returns the attention weights.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Output ``(N, L, D)`` and attention ``(N, H, L, L)`` (rows: queries, softmax over keys).
    """

    def __init__(self, dim: int, n_heads: int, ff_hidden: int, dropout: float):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"dim ({dim}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_hidden), nn.ReLU(), nn.Linear(ff_hidden, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor):
        n, length, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, length, 3, self.n_heads, dim // self.n_heads).permute(2, 0, 3, 1, 4)
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        mixed = (self.dropout(attention) @ v).transpose(1, 2).reshape(n, length, dim)
        x = x + self.dropout(self.proj(mixed))
        x = x + self.dropout(self.ff(self.norm2(x)))
        return x, attention


class ConvAttention(_ZooModel):
    """CNN + multi-head self-attention; attention maps are available per layer and head.

    Parameters
    ----------
    n_targets : int
    n_filters, filter_width, pool : int
        Conv embedding and its max pool; one attention token covers ``pool`` bases.
    n_layers, n_heads : int
    ff_hidden : int
        Feed-forward width in each block.
    dropout : float
    position_scale : float
        Amplitude of the sinusoidal position encodings added to the conv features (small, so
        that motif features dominate early training).
    """

    def __init__(self, n_targets: int, n_filters: int = 64, filter_width: int = 19, pool: int = 4,
                 n_layers: int = 2, n_heads: int = 4, ff_hidden: int = 128, dropout: float = 0.1,
                 position_scale: float = 0.1):
        super().__init__(n_targets=n_targets, n_filters=n_filters, filter_width=filter_width, pool=pool,
                         n_layers=n_layers, n_heads=n_heads, ff_hidden=ff_hidden, dropout=dropout,
                         position_scale=position_scale)
        self.conv1 = nn.Conv1d(4, n_filters, filter_width, padding=filter_width // 2)
        self.bn1 = nn.BatchNorm1d(n_filters)
        self.act1 = nn.ReLU()
        self.pool1 = nn.MaxPool1d(pool)
        self.blocks = nn.ModuleList(SelfAttentionBlock(n_filters, n_heads, ff_hidden, dropout)
                                    for _ in range(n_layers))
        self.pool2 = GlobalMaxPool()
        self.output = nn.Linear(n_filters, n_targets)

    def forward_with_attention(self, x: torch.Tensor):
        """Predictions ``(N, T)`` and a list (one per layer) of attention ``(N, H, L', L')``,
        where ``L' = L // pool`` tokens and token ``j`` covers bases ``[j*pool, (j+1)*pool)``."""
        self._check_input(x)
        h = self.pool1(self.act1(self.bn1(self.conv1(x)))).transpose(1, 2)
        h = h + self.config["position_scale"] * sinusoidal_positions(h.shape[1], h.shape[2], device=h.device,
                                                                     dtype=h.dtype)
        maps = []
        for block in self.blocks:
            h, attention = block(h)
            maps.append(attention)
        return self.output(self.pool2(h.transpose(1, 2))), maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x)[0]

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights of every layer and head, shape ``(N, n_layers, n_heads, L', L')``."""
        return torch.stack(self.forward_with_attention(x)[1], dim=1)


class ExplaiNN(_LocalStackModel):
    """ExplaiNN: independent, individually interpretable units combined linearly.

    Unit ``u`` is Conv1d(4 -> 1, width) -> BatchNorm -> exp -> MaxPool(pool) -> FC(hidden) ->
    BatchNorm -> ReLU -> Dropout -> FC(1); the outputs are ``Linear(n_units -> n_targets)`` of
    the unit outputs. The per-unit layers are grouped convolutions, so all units run at once.

    Parameters
    ----------
    n_targets : int
    n_units : int
    input_length : int
        The model is tied to one sequence length (its per-unit FC spans the pooled positions).
    filter_width, pool, hidden : int
    dropout : float
    """

    def __init__(self, n_targets: int, n_units: int = 32, input_length: int = 200, filter_width: int = 19,
                 pool: int = 7, hidden: int = 100, dropout: float = 0.3):
        super().__init__(n_targets=n_targets, n_units=n_units, input_length=input_length,
                         filter_width=filter_width, pool=pool, hidden=hidden, dropout=dropout)
        pooled = (input_length - filter_width + 1) // pool
        if pooled < 1:
            raise ValueError(f"input_length {input_length} is too short for filter_width {filter_width} "
                             f"and pool {pool}")
        self.conv1 = nn.Conv1d(4, n_units, filter_width)
        self.bn1 = nn.BatchNorm1d(n_units)
        self.act1 = Exp()
        self.pool1 = nn.MaxPool1d(pool)
        self.unit_fc1 = nn.Conv1d(n_units, n_units * hidden, pooled, groups=n_units)
        self.bn2 = nn.BatchNorm1d(n_units * hidden)
        self.act2 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.unit_fc2 = nn.Conv1d(n_units * hidden, n_units, 1, groups=n_units)
        self.output = nn.Linear(n_units, n_targets)

    def _check_input(self, x: torch.Tensor) -> None:
        super()._check_input(x)
        if x.shape[-1] != self.config["input_length"]:
            raise ValueError(f"ExplaiNN was built for sequences of length {self.config['input_length']}; "
                             f"got length {x.shape[-1]}. Crop or pad the input, or build a new model.")

    def _units_from_pooled(self, h: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.act2(self.bn2(self.unit_fc1(h))))
        return self.unit_fc2(h).squeeze(-1)

    def unit_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Each unit's scalar output, shape ``(N, n_units)``; the model output is linear in these."""
        self._check_input(x)
        return self._units_from_pooled(self.pool1(self.act1(self.bn1(self.conv1(x)))))

    def local_plan(self) -> LocalPlan:
        return LocalPlan([self.conv1, self.bn1, self.act1, self.pool1], False,
                         lambda h: self.output(self._units_from_pooled(h)))

    @torch.no_grad()
    def init_filters_from_motifs(self, motifs, freeze: bool = False) -> None:
        """Set the first ``len(motifs)`` unit filters to the motifs' log-odds PWMs.

        Each PWM is centred in the filter (cropped to its most informative window when wider);
        ``freeze=True`` keeps those filters fixed during training.
        """
        motifs = list(motifs.values()) if isinstance(motifs, dict) else list(motifs)
        width = self.config["filter_width"]
        if len(motifs) > self.config["n_units"]:
            raise ValueError(f"{len(motifs)} motifs but only {self.config['n_units']} units")
        for u, motif in enumerate(motifs):
            pwm = torch.as_tensor(motif.log_odds(), dtype=self.conv1.weight.dtype)
            if pwm.shape[1] > width:
                ic = torch.as_tensor(motif.information_content())
                best = int(ic.unfold(0, width, 1).sum(-1).argmax())
                pwm = pwm[:, best : best + width]
            offset = (width - pwm.shape[1]) // 2
            self.conv1.weight[u].zero_()
            self.conv1.weight[u, :, offset : offset + pwm.shape[1]] = pwm
            self.conv1.bias[u] = 0.0
        if freeze:
            n = len(motifs)
            mask = torch.zeros_like(self.conv1.weight)
            mask[:n] = 1
            self.conv1.weight.register_hook(lambda grad: grad * (1 - mask))
            bias_mask = torch.zeros_like(self.conv1.bias)
            bias_mask[:n] = 1
            self.conv1.bias.register_hook(lambda grad: grad * (1 - bias_mask))


ARCHITECTURES: dict[str, type[_ZooModel]] = {
    "deepbind": DeepBind,
    "basset": Basset,
    "danq": DanQ,
    "attention": ConvAttention,
    "explainn": ExplaiNN,
}


def build(architecture: str, **config) -> _ZooModel:
    """Instantiate an architecture of :data:`ARCHITECTURES` by name."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](**config)
