"""Datasets, transforms and reproducible DataLoaders (article §4.4).

A :class:`~torch.utils.data.DataLoader` only batches, shuffles and parallelises; augmentation is a
transform the dataset applies to each item (:class:`TransformedDataset`). Reproducibility comes
from the loader's own seeded generator (:func:`make_loader`), from which torch seeds each worker's
torch, ``random`` and NumPy. An epoch has ``ceil(samples / batch_size)`` batches
(:func:`count_batches`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from pttour import _checks

__all__ = ["SequenceDataset", "TransformedDataset", "count_batches", "make_loader"]

# DataLoader arguments that make_loader sets itself: overriding them would undo the
# reproducibility it promises (order from `generator`, fresh workers per epoch).
_ORDER = "make_loader draws the order from the generator it seeds with `seed`"
_RESERVED_LOADER_ARGS = {"generator": _ORDER, "sampler": _ORDER, "batch_sampler": _ORDER,
                         "persistent_workers": "a checkpoint of loader.generator cannot restore "
                         "the random streams of persistent workers"}  # fmt: skip


def _as_rows(name: str, data: object) -> torch.Tensor | list[torch.Tensor]:
    """Turn ``data`` into something indexable whose items are tensors, checking it early."""
    if isinstance(data, torch.Tensor):
        if data.dim() == 0:
            raise ValueError(
                f"{name} is a 0-d tensor ({data.item()!r}) and has no samples; "
                f"give one row per sample, e.g. {name}.reshape(1)."
            )
        return data  # indexing a tensor already yields tensors (views, no copies)
    if isinstance(data, (str, bytes, Mapping, AbstractSet)) or not isinstance(data, Iterable):
        raise TypeError(
            f"{name} must be a sequence of samples (list, tuple, tensor or array), "
            f"got {type(data).__name__}."
        )
    rows = []
    for index, row in enumerate(data):
        try:
            rows.append(torch.as_tensor(row))
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name}[{index}] = {row!r} cannot be converted to a tensor: {err}"
            ) from err
    return rows


class SequenceDataset(Dataset):
    """A map-style dataset over in-memory rows, optionally paired with targets.

    Rows are converted with :func:`torch.as_tensor` up front, so a bad row fails here, named;
    inputs and targets of different lengths are refused. Items are tensors, or pairs.

    >>> ds = SequenceDataset([[1, 2], [3, 4], [5, 6]], targets=[0, 1, 0])
    >>> len(ds)
    3
    >>> x, y = ds[-1]
    >>> x.tolist(), x.dtype, y.item()
    ([5, 6], torch.int64, 0)
    """

    def __init__(self, inputs: Any, targets: Any = None) -> None:
        self._inputs = _as_rows("inputs", inputs)
        self._targets = None if targets is None else _as_rows("targets", targets)
        if len(self._inputs) == 0:
            raise ValueError("inputs is empty; a dataset needs at least one sample.")
        if self._targets is not None and len(self._targets) != len(self._inputs):
            raise ValueError(
                f"inputs has {len(self._inputs)} samples but targets has "
                f"{len(self._targets)}; give exactly one target per input."
            )

    def __len__(self) -> int:
        """Number of samples."""
        return len(self._inputs)

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The sample at ``index`` (negative counts from the end), as a tensor or a pair."""
        try:
            position = range(len(self))[operator.index(index)]
        except TypeError:
            raise TypeError(
                f"dataset indexes must be integers, got {index!r} ({type(index).__name__})."
            ) from None
        except IndexError:
            raise IndexError(
                f"index {index} is out of range for a dataset of {len(self)} samples "
                f"(valid: {-len(self)} to {len(self) - 1})."
            ) from None
        if self._targets is None:
            return self._inputs[position]
        return self._inputs[position], self._targets[position]


class TransformedDataset(Dataset):
    """Wrap a map-style dataset and apply a transform to each item as it is read.

    Data augmentation belongs here: a random transform gives a fresh variation every epoch, drawn
    in each worker from the RNG that :func:`make_loader` seeds. Use the global RNGs
    (``torch.rand``, ``random``): a generator object made beforehand is copied into every worker
    with the same state. The transform gets the input of an ``(input, target)`` pair, or the
    whole item with ``apply_to="item"`` (or when items are not pairs).

    >>> base = SequenceDataset([[1.0, 2.0], [3.0, 4.0]], targets=[0, 1])
    >>> doubled = TransformedDataset(base, lambda x: x * 2)
    >>> x, y = doubled[1]
    >>> x.tolist(), y.item()
    ([6.0, 8.0], 1)
    >>> swapped = TransformedDataset(base, lambda item: (item[1], item[0]), apply_to="item")
    >>> swapped[0][1].tolist()
    [1.0, 2.0]
    """

    def __init__(
        self, dataset: Any, transform: Callable[[Any], Any], *, apply_to: str = "input"
    ) -> None:
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"dataset must be map-style (support dataset[i]), got {type(dataset).__name__}."
            )
        _checks.function("transform", transform)
        if apply_to not in ("input", "item"):
            raise ValueError(
                f"apply_to must be 'input' (transform x of (x, y) pairs) or 'item' "
                f"(transform the whole item), got {apply_to!r}."
            )
        self.dataset = dataset
        self.transform = transform
        self.apply_to = apply_to

    def __len__(self) -> int:
        """Number of samples of the wrapped dataset."""
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        """The wrapped item at ``index`` with the transform applied."""
        item = self.dataset[index]
        if self.apply_to == "item" or not isinstance(item, (tuple, list)):
            return self.transform(item)
        if len(item) != 2:
            raise ValueError(
                f"apply_to='input' expects (input, target) pairs, but item {index!r} has "
                f"{len(item)} elements; use apply_to='item' and transform the whole item."
            )
        inputs, target = item
        return self.transform(inputs), target


def count_batches(num_samples: int, batch_size: int, *, drop_last: bool = False) -> int:
    """How many batches one epoch over ``num_samples`` samples yields: ``len(loader)``.

    A last, smaller batch is kept, or dropped with ``drop_last=True``.

    >>> count_batches(2, 2)
    1
    >>> count_batches(5, 2), count_batches(5, 2, drop_last=True)
    (3, 2)
    """
    samples = _checks.integer("num_samples", num_samples, minimum=0)
    size = _checks.integer("batch_size", batch_size, minimum=1)
    # Floor division drops the last, smaller batch; ceiling division (exact for ints) keeps it.
    return samples // size if _checks.boolean("drop_last", drop_last) else -(-samples // size)


def make_loader(
    dataset: Any,
    *,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
    **kwargs: Any,
) -> DataLoader:
    """Build a ``DataLoader`` whose batch order and worker seeds all derive from ``seed``.

    A plain ``DataLoader(shuffle=True)`` draws its order from the global RNG, so it changes when
    any other code draws random numbers. Here the loader has its own ``torch.Generator`` seeded
    with ``seed`` (``loader.generator``: save its state in a checkpoint to resume). Epochs differ
    from each other; two loaders with the same seed replay the same epochs, workers included.

    >>> ds = SequenceDataset([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]])
    >>> loader = make_loader(ds, batch_size=2, seed=0)
    >>> len(loader), [batch.shape[0] for batch in loader]
    (3, [2, 2, 1])
    >>> def epoch(loader):
    ...     return [batch.tolist() for batch in loader]
    >>> epoch(make_loader(ds, batch_size=2, seed=3)) == epoch(make_loader(ds, batch_size=2, seed=3))
    True

    Other ``kwargs`` go to ``DataLoader``; ``generator``, ``sampler``, ``batch_sampler`` and
    ``persistent_workers`` are refused, since they would undo the above. A wrong argument, an
    empty dataset, or ``drop_last=True`` with no full batch raises ``TypeError`` or ``ValueError``.
    """
    size = _checks.integer("batch_size", batch_size, minimum=1)
    workers = _checks.integer("num_workers", num_workers, minimum=0)
    seed = _checks.integer("seed", seed)
    if not -(2**63) <= seed < 2**64:  # what torch.Generator.manual_seed accepts
        raise ValueError(f"seed must be between -2**63 and 2**64 - 1, got {seed}.")
    for flag, value in (("shuffle", shuffle), ("drop_last", drop_last), ("pin_memory", pin_memory)):
        _checks.boolean(flag, value)
    for name in sorted(set(kwargs) & set(_RESERVED_LOADER_ARGS)):
        raise TypeError(
            f"make_loader does not accept {name}=: {_RESERVED_LOADER_ARGS[name]}. "
            f"Build a DataLoader directly if you need to set it."
        )
    try:
        length = len(dataset)
    except TypeError:
        raise TypeError(
            f"make_loader needs a map-style dataset with a length, got "
            f"{type(dataset).__name__}; implement __len__ (or use DataLoader directly "
            f"for an IterableDataset)."
        ) from None
    if length == 0:
        raise ValueError("dataset is empty; a loader over it would yield no batch at all.")
    if drop_last and size > length:
        raise ValueError(
            f"drop_last=True with batch_size={size} > {length} samples would yield no batch "
            f"at all; lower batch_size to at most {length} or set drop_last=False."
        )
    return DataLoader(
        dataset,
        batch_size=size,
        shuffle=shuffle,
        num_workers=workers,
        drop_last=drop_last,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(seed),
        persistent_workers=False,
        **kwargs,
    )
