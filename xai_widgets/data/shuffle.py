"""Shuffles that keep a sequence's composition: backgrounds for references and insertions.

:func:`dinucleotide_shuffle` implements the Altschul-Erickson (1985) algorithm: a random
Eulerian walk through the sequence's dinucleotide multigraph, so every shuffle has exactly
the original's dinucleotide counts, first and last base, and is uniform among all such
sequences.

Unknown bases (``N`` columns, all-zero or all-0.25, as :func:`.encoding.one_hot` writes them)
stay where they are: each stretch between ``N`` columns is shuffled on its own, so the
shuffles keep the dinucleotide counts of every stretch and the ``N`` columns unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

from .encoding import check_one_hot, indices_to_one_hot


def _rng(random_state) -> np.random.Generator:
    return random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)


def _to_indices(X: torch.Tensor) -> np.ndarray:
    """Base indices ``(N, L)``: 0..3 for A, C, G, T and 4 for an ``N`` column."""
    check_one_hot(X, allow_unknown=True)
    idx = X.argmax(dim=1).cpu().numpy().astype(np.int8)
    idx[(X.max(dim=1).values < 1).cpu().numpy()] = 4
    return idx


def _runs(seq: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of every maximal stretch without ``N`` (index 4)."""
    known = np.concatenate([[False], seq != 4, [False]])
    edges = np.flatnonzero(known[1:] != known[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _per_run(seq: np.ndarray, shuffle_one, rng: np.random.Generator) -> np.ndarray:
    """Apply ``shuffle_one`` to every stretch between ``N`` columns, leaving the ``N`` in place."""
    if not (seq == 4).any():
        return shuffle_one(seq, rng)
    out = seq.copy()
    for start, end in _runs(seq):
        out[start:end] = shuffle_one(seq[start:end], rng)
    return out


def _to_one_hot(idx: np.ndarray, X: torch.Tensor, n_shuffles: int) -> torch.Tensor:
    """One-hot ``(N, n_shuffles, 4, L)`` of shuffled indices, with ``X``'s own ``N`` columns."""
    n, length = X.shape[0], X.shape[2]
    shuffled = indices_to_one_hot(torch.from_numpy(np.where(idx == 4, 0, idx).reshape(-1, length).astype(np.int64)),
                                  dtype=X.dtype).reshape(n, n_shuffles, 4, length).to(X.device)
    unknown = torch.from_numpy(idx == 4).to(X.device)  # (N, S, L)
    if bool(unknown.any()):
        shuffled = torch.where(unknown[:, :, None, :], X[:, None].expand_as(shuffled), shuffled)
    return shuffled


def _dinucleotide_shuffle_one(seq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Altschul-Erickson shuffle of a base-index sequence ``(L,)``."""
    length = len(seq)
    if length < 3:
        return seq.copy()
    last = int(seq[-1])
    edges = [seq[1:][seq[:-1] == v] for v in range(4)]  # successors of v in sequence order
    has_out = [len(e) > 0 for e in edges]
    # 1. a random spanning arborescence towards `last`: each vertex's last exit edge
    while True:
        last_edge = {v: int(edges[v][rng.integers(len(edges[v]))]) for v in range(4) if has_out[v] and v != last}
        ok = True
        for v in last_edge:
            seen, u = set(), v
            while u != last:
                if u in seen:
                    ok = False
                    break
                seen.add(u)
                u = last_edge[u]
            if not ok:
                break
        if ok:
            break
    # 2. shuffle every vertex's other exits, put the tree edge last
    order = []
    for v in range(4):
        succ = list(edges[v])
        if v in last_edge:
            succ.remove(last_edge[v])
            rng.shuffle(succ)
            succ.append(last_edge[v])
        else:
            rng.shuffle(succ)
        order.append(succ)
    # 3. walk the Eulerian path from the first base
    out = np.empty(length, dtype=np.int8)
    out[0] = seq[0]
    pointer = [0, 0, 0, 0]
    for i in range(1, length):
        v = int(out[i - 1])
        out[i] = order[v][pointer[v]]
        pointer[v] += 1
    return out


def dinucleotide_shuffle(X: torch.Tensor, n_shuffles: int = 1, *, random_state=None) -> torch.Tensor:
    """Dinucleotide-preserving shuffles of one-hot sequences.

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences; ``N`` columns stay in place (see the module docstring).
    n_shuffles : int, optional
        Default 1. Shuffles per sequence.
    random_state : int, numpy.random.Generator or None, optional
        Default None. Seed for reproducible shuffles.

    Returns
    -------
    torch.Tensor, shape (N, n_shuffles, 4, L)
        Same dtype and device as ``X``.
    """
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be >= 1; got {n_shuffles}")
    rng = _rng(random_state)
    idx = _to_indices(X)
    out = np.stack([np.stack([_per_run(s, _dinucleotide_shuffle_one, rng) for _ in range(n_shuffles)])
                    for s in idx])
    return _to_one_hot(out, X, n_shuffles)


def shuffle(X: torch.Tensor, n_shuffles: int = 1, *, random_state=None) -> torch.Tensor:
    """Mononucleotide shuffles (base composition kept, ``N`` columns in place); ``(N, n_shuffles, 4, L)``.

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    n_shuffles : int, optional
        Default 1. Shuffles per sequence.
    random_state : int, numpy.random.Generator or None, optional
        Default None. Seed for reproducible shuffles.
    """
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be >= 1; got {n_shuffles}")
    rng = _rng(random_state)
    n, _, length = X.shape
    idx = _to_indices(X)
    if not (idx == 4).any():
        perm = np.argsort(rng.random((n, n_shuffles, length)), axis=-1)
        index = torch.from_numpy(perm).to(X.device)[:, :, None, :].expand(n, n_shuffles, 4, length)
        return torch.gather(X[:, None].expand(n, n_shuffles, 4, length), 3, index)

    out = np.repeat(idx[:, None], n_shuffles, axis=1)
    for i, seq in enumerate(idx):
        known = np.flatnonzero(seq != 4)
        for k in range(n_shuffles):
            out[i, k, known] = seq[known][rng.permutation(len(known))]
    return _to_one_hot(out, X, n_shuffles)


def dinucleotide_counts(X: torch.Tensor) -> torch.Tensor:
    """Dinucleotide counts of one-hot sequences ``(..., 4, L)``; shape ``(..., 4, 4)``."""
    return torch.einsum("...il,...jl->...ij", X[..., :-1], X[..., 1:])


def differing_shuffle(X: torch.Tensor, *, random_state=None, n_tries: int = 20) -> torch.Tensor:
    """A shuffle of each one-hot sequence that differs from it, ``(N, 4, L)``.

    Tries ``n_tries`` dinucleotide shuffles, then (short sequences often have no other
    dinucleotide order) ``n_tries`` mononucleotide shuffles, and for a homopolymer uniformly
    random bases. Used to knock out a motif site.

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
    random_state : int, numpy.random.Generator or None
        Default None (fresh entropy).
    n_tries : int
        Shuffles tried of each kind; default 20.
    """
    check_one_hot(X, allow_unknown=True)
    rng = _rng(random_state)
    out = torch.empty_like(X)
    for i, x in enumerate(X):
        seed = int(rng.integers(2**31))
        bases = torch.from_numpy(rng.integers(0, 4, size=x.shape[1]))
        candidates = torch.cat([dinucleotide_shuffle(x[None], n_tries, random_state=seed)[0],
                                shuffle(x[None], n_tries, random_state=seed)[0],
                                torch.nn.functional.one_hot(bases, 4).T.to(X.dtype)[None]])
        differs = (candidates != x).any(dim=(1, 2))
        out[i] = candidates[int(differs.nonzero()[0])] if differs.any() else candidates[-1]
    return out
