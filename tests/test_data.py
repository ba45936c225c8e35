"""Tests for pttour.data: datasets, transforms, reproducible loaders, batch counts."""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import random
import warnings
from collections.abc import Iterator

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from pttour.data import SequenceDataset, TransformedDataset, count_batches, make_loader

# Fork starts a worker in milliseconds; spawn/forkserver re-import torch in every worker
# (seconds each). Where fork does not exist, the platform default still works, only slower:
# everything the workers run is defined at module level, so it pickles.
WORKER_CONTEXT = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
NUM_WORKERS = 2
SAMPLES = 8  # 4 batches of 2: batches 0 and 2 come from worker 0, batches 1 and 3 from worker 1
FEATURES = 3


# --- transforms run inside workers (module level, so they pickle) -------------------------


def _record(noise: torch.Tensor) -> dict[str, torch.Tensor]:
    """Return the noise with the id and torch seed of the worker that produced it."""
    info = get_worker_info()
    worker, seed = (-1, torch.initial_seed()) if info is None else (info.id, info.seed)
    # The seed is a 64-bit unsigned value; split it so it fits int64 tensors.
    return {
        "noise": noise,
        "worker": torch.tensor(worker),
        "seed": torch.tensor([seed >> 32, seed & 0xFFFF_FFFF]),
    }


def _torch_noise(x: torch.Tensor) -> dict[str, torch.Tensor]:
    return _record(x + torch.rand(x.shape, dtype=torch.float64))


def _python_noise(x: torch.Tensor) -> dict[str, torch.Tensor]:
    draws = [random.random() for _ in range(x.numel())]
    return _record(x + torch.tensor(draws, dtype=torch.float64).view(x.shape))


def _numpy_noise(x: torch.Tensor) -> dict[str, torch.Tensor]:
    import numpy as np  # lazily: the CUDA test machine has no NumPy

    return _record(x + torch.from_numpy(np.random.random_sample(tuple(x.shape))))


class _PrivateRandomNoise:
    """A transform with its own RNG object: a copy of it, same state, lands in every worker."""

    def __init__(self) -> None:
        self.rng = random.Random(0)

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        draws = [self.rng.random() for _ in range(x.numel())]
        return _record(x + torch.tensor(draws, dtype=torch.float64).view(x.shape))


def _expected_stream(source: str, worker_seed: int, worker: int, count: int) -> list[float]:
    """The first ``count`` draws of ``source``'s RNG seeded the way torch seeds a worker."""
    if source == "torch":
        generator = torch.Generator().manual_seed(worker_seed)
        chunks = [
            torch.rand(FEATURES, dtype=torch.float64, generator=generator)
            for _ in range(count // FEATURES)
        ]
        return torch.cat(chunks).tolist()
    if source == "python":
        rng = random.Random(worker_seed)
        return [rng.random() for _ in range(count)]
    import numpy as np
    from torch.utils.data._utils.worker import _generate_state  # torch's own NumPy seeding

    base_seed = worker_seed - worker
    return np.random.RandomState(_generate_state(base_seed, worker)).random_sample(count).tolist()


NOISE = {"torch": _torch_noise, "python": _python_noise, "numpy": _numpy_noise}


def _noisy_zeros(transform) -> TransformedDataset:
    zeros = SequenceDataset(torch.zeros(SAMPLES, FEATURES, dtype=torch.float64))
    return TransformedDataset(zeros, transform)  # items are not pairs: the transform gets all


@contextlib.contextmanager
def _forking_workers() -> Iterator[None]:
    """Let DataLoader fork its workers while torch's thread pools exist (Python >= 3.12).

    Python 3.12+ emits a DeprecationWarning when it forks a process that runs other threads,
    since a lock held by one of them stays locked in the child; under filterwarnings=error
    that would fail the test. The threads here are torch's own intra-op pools: DataLoader
    has forked its workers by default on Linux for years, and each worker switches itself
    to one intra-op thread. Only deprecations from the module that forks are ignored (matched by
    category and module, not by wording), only while workers start.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=DeprecationWarning, module=r"multiprocessing\.popen_fork"
        )
        yield


def _run_workers(loader: DataLoader) -> list[dict[str, torch.Tensor]]:
    with _forking_workers():
        batches = list(loader)
    assert len(batches) == SAMPLES // 2
    return batches


def _per_worker(batches: list[dict[str, torch.Tensor]]) -> dict[int, dict[str, object]]:
    """Noise values (in draw order) and the seed of each worker, checking batch purity."""
    result: dict[int, dict[str, object]] = {}
    for batch in batches:
        workers = batch["worker"].unique().tolist()
        assert len(workers) == 1, f"a batch mixes workers {workers}"
        hi, lo = batch["seed"][0].tolist()
        assert (batch["seed"] == batch["seed"][0]).all()
        entry = result.setdefault(workers[0], {"noise": [], "seed": (hi << 32) | lo})
        entry["noise"].extend(batch["noise"].flatten().tolist())
    return result


def _seeded_loader(transform, seed: int) -> DataLoader:
    return make_loader(
        _noisy_zeros(transform),
        batch_size=2,
        seed=seed,
        num_workers=NUM_WORKERS,
        multiprocessing_context=WORKER_CONTEXT,
    )


def _order(loader: DataLoader) -> list[int]:
    return [int(value) for batch in loader for value in batch]


# --- SequenceDataset ------------------------------------------------------------------------


def test_sequence_dataset_converts_rows_and_pairs_targets():
    ds = SequenceDataset([[1, 2], [3, 4]], targets=[0.5, 1.5])
    x, y = ds[1]
    assert isinstance(x, torch.Tensor)
    assert x.tolist() == [3, 4]
    assert x.dtype == torch.int64
    assert y.dtype == torch.float32
    assert y.item() == 1.5


def test_sequence_dataset_over_tensor_without_targets():
    data = torch.arange(6.0).view(3, 2)
    ds = SequenceDataset(data)
    assert len(ds) == 3
    assert torch.equal(ds[2], data[2])


def test_sequence_dataset_indexes_like_a_list():
    rows = [10, 20, 30]
    ds = SequenceDataset(rows)
    for index in range(-5, 5):
        try:
            expected = rows[index]
        except IndexError:
            with pytest.raises(IndexError, match=rf"index {index} is out of range.*3 samples"):
                ds[index]
        else:
            assert ds[index].item() == expected


@pytest.mark.parametrize("index", ["0", 1.0, None])
def test_sequence_dataset_rejects_non_integer_index(index):
    with pytest.raises(TypeError, match="must be integers"):
        SequenceDataset([1, 2])[index]


def test_sequence_dataset_rejects_mismatched_lengths_naming_both():
    with pytest.raises(ValueError, match=r"inputs has 3 samples but targets has 2"):
        SequenceDataset([[1], [2], [3]], targets=[0, 1])


@pytest.mark.parametrize("empty", [[], (), torch.empty(0, 4)])
def test_sequence_dataset_rejects_empty_inputs(empty):
    with pytest.raises(ValueError, match="inputs is empty"):
        SequenceDataset(empty)


@pytest.mark.parametrize("inputs", ["abc", {"a": 1}, {1, 2}, 5])
def test_sequence_dataset_rejects_non_sequences(inputs):
    with pytest.raises(TypeError, match="must be a sequence of samples"):
        SequenceDataset(inputs)


def test_sequence_dataset_rejects_zero_dim_tensor():
    with pytest.raises(ValueError, match="0-d tensor"):
        SequenceDataset(torch.tensor(3.0))


def test_sequence_dataset_names_the_row_that_cannot_become_a_tensor():
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        SequenceDataset([[1, 2], [3, "x"]])


# --- TransformedDataset ---------------------------------------------------------------------


def test_transform_applies_to_input_of_pairs_and_keeps_target():
    base = SequenceDataset([[1.0, 2.0]], targets=[7])
    x, y = TransformedDataset(base, torch.neg)[0]
    assert x.tolist() == [-1.0, -2.0]
    assert y.item() == 7


def test_transform_apply_to_item_gets_the_whole_item():
    base = SequenceDataset([[1.0, 2.0]], targets=[7])
    seen = []
    TransformedDataset(base, seen.append, apply_to="item")[0]
    assert len(seen) == 1
    assert isinstance(seen[0], tuple)
    assert seen[0][1].item() == 7


def test_transform_gets_whole_item_when_it_is_not_a_pair():
    ds = TransformedDataset(SequenceDataset([[1.0, 2.0]]), lambda x: x.sum())
    assert ds[0].item() == 3.0
    assert len(ds) == 1


def test_transform_runs_at_every_read_so_augmentation_varies():
    ds = TransformedDataset(SequenceDataset(torch.zeros(1, 4)), lambda x: x + torch.rand(4))
    assert not torch.equal(ds[0], ds[0])


def test_transform_rejects_non_callable():
    with pytest.raises(TypeError, match="transform must be callable"):
        TransformedDataset(SequenceDataset([1]), "flip")


def test_transform_rejects_unknown_apply_to():
    with pytest.raises(ValueError, match=r"apply_to must be 'input'.*'target'"):
        TransformedDataset(SequenceDataset([1]), abs, apply_to="target")


def test_transform_refuses_to_guess_the_input_of_a_triple():
    triples = [(torch.zeros(1), torch.zeros(1), torch.zeros(1))]
    with pytest.raises(ValueError, match="3 elements; use apply_to='item'"):
        TransformedDataset(triples, abs)[0]


# --- DataLoader has no augmentation options -------------------------------------------------


def test_dataloader_has_no_augmentation_parameters():
    names = list(inspect.signature(DataLoader).parameters)
    assert "batch_size" in names  # the signature is really DataLoader's
    for name in names:
        for word in ("crop", "flip", "rotat", "augment", "transform"):
            assert word not in name.lower(), name
    with pytest.raises(TypeError, match="transform"):
        DataLoader(SequenceDataset([1, 2]), batch_size=1, transform=torch.flip)


# --- batch order: seeded, per epoch, independent of the global RNG ---------------------------


def test_same_seed_same_order_and_different_seed_different_order():
    ds = SequenceDataset(torch.arange(10))
    first = _order(make_loader(ds, batch_size=3, seed=11))
    assert sorted(first) == list(range(10))  # a permutation: nothing lost or repeated
    assert first != list(range(10))  # really shuffled
    assert _order(make_loader(ds, batch_size=3, seed=11)) == first
    assert _order(make_loader(ds, batch_size=3, seed=12)) != first


def test_epochs_differ_but_replay_with_the_same_seed():
    ds = SequenceDataset(torch.arange(10))
    loader = make_loader(ds, batch_size=4, seed=0)
    epochs = [_order(loader) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    fresh = make_loader(ds, batch_size=4, seed=0)
    assert [_order(fresh) for _ in range(3)] == epochs


def test_shuffle_false_keeps_dataset_order():
    ds = SequenceDataset(torch.arange(7))
    assert _order(make_loader(ds, batch_size=3, shuffle=False, seed=4)) == list(range(7))


def test_make_loader_does_not_consume_the_global_rng():
    ds = SequenceDataset(torch.arange(10))
    state = torch.get_rng_state()
    control = torch.rand(4)

    torch.set_rng_state(state)
    _order(make_loader(ds, batch_size=3, seed=0))
    assert torch.equal(torch.rand(4), control)

    # The contrast: a plain shuffling DataLoader draws its order from the global RNG.
    torch.set_rng_state(state)
    _order(DataLoader(ds, batch_size=3, shuffle=True))
    assert not torch.equal(torch.rand(4), control)


def test_generator_state_resumes_the_sequence_of_epochs():
    ds = SequenceDataset(torch.arange(10))
    loader = make_loader(ds, batch_size=4, seed=5)
    assert isinstance(loader.generator, torch.Generator)
    _order(loader)
    saved = loader.generator.get_state()
    second = _order(loader)

    resumed = make_loader(ds, batch_size=4, seed=999)
    resumed.generator.set_state(saved)
    assert _order(resumed) == second


def test_make_loader_settings():
    loader = make_loader(SequenceDataset([1, 2, 3]), batch_size=2, collate_fn=list)
    assert loader.worker_init_fn is None  # torch seeds the workers' torch, random and NumPy
    assert loader.persistent_workers is False
    assert next(iter(loader))[0].dim() == 0  # collate_fn was passed through: a list of items
    assert (
        make_loader(SequenceDataset([1]), batch_size=1, worker_init_fn=print).worker_init_fn
        is print
    )


# --- workers: reproducible and different per worker -----------------------------------------


@pytest.mark.parametrize("source", ["torch", "python", "numpy"])
def test_worker_augmentation_is_reproducible_and_differs_between_workers(source):
    if source == "numpy":
        pytest.importorskip("numpy", reason="the numpy variant needs NumPy")
    first = _run_workers(_seeded_loader(NOISE[source], seed=21))
    again = _run_workers(_seeded_loader(NOISE[source], seed=21))
    for a, b in zip(first, again, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key

    workers = _per_worker(first)
    assert sorted(workers) == [0, 1]
    zero, one = workers[0], workers[1]
    assert zero["seed"] != one["seed"]
    assert set(zero["noise"]).isdisjoint(one["noise"])
    # Each worker draws exactly the stream torch seeded it with: base_seed + worker_id for
    # torch and random, NumPy's from both numbers (no worker_init_fn of pttour's in between).
    for worker, entry in ((0, zero), (1, one)):
        noise = entry["noise"]
        assert noise == _expected_stream(source, entry["seed"], worker, len(noise))

    other = _per_worker(_run_workers(_seeded_loader(NOISE[source], seed=22)))
    assert other[0]["noise"] != zero["noise"]


def test_torch_reseeds_python_random_in_workers_even_without_seed_worker():
    # The classic failure -- every forked worker inherits the parent's `random` state and
    # so draws the same "random" augmentation -- no longer happens: since torch 1.9 the
    # worker loop calls random.seed(base_seed + worker_id) itself. This test shows it on
    # the installed torch, compared with the stream that fork would have copied.
    parent_copy = random.Random()
    parent_copy.setstate(random.getstate())
    inherited = [parent_copy.random() for _ in range(2 * FEATURES)]

    loader = DataLoader(
        _noisy_zeros(_python_noise),
        batch_size=2,
        num_workers=NUM_WORKERS,
        generator=torch.Generator().manual_seed(0),
        multiprocessing_context=WORKER_CONTEXT,
    )
    workers = _per_worker(_run_workers(loader))
    first_batch = [workers[w]["noise"][: 2 * FEATURES] for w in (0, 1)]
    assert first_batch[0] != first_batch[1]
    assert inherited not in first_batch


def test_private_rng_object_repeats_the_same_noise_in_every_worker():
    # What seeding cannot fix: an RNG object created before the workers start is copied,
    # state and all, into each of them. Use the global RNGs inside transforms instead.
    workers = _per_worker(_run_workers(_seeded_loader(_PrivateRandomNoise(), seed=0)))
    assert sorted(workers) == [0, 1]
    assert workers[0]["noise"] == workers[1]["noise"]


@pytest.mark.parametrize("source", ["python", "numpy"])
def test_make_loader_keeps_torchs_own_worker_seeding(source):
    # A worker_init_fn reseeding NumPy from torch.initial_seed() % 2**32 would replace torch's
    # seeding (from base_seed and worker_id, both 64-bit) with a weaker one: none is installed.
    if source == "numpy":
        pytest.importorskip("numpy", reason="the numpy variant needs NumPy")
    loader = _seeded_loader(NOISE[source], seed=5)
    assert loader.worker_init_fn is None
    for worker, entry in _per_worker(_run_workers(loader)).items():
        noise = entry["noise"]
        assert noise == _expected_stream(source, entry["seed"], worker, len(noise))


# --- batch counts ---------------------------------------------------------------------------


def test_two_samples_in_batches_of_two_make_one_batch():
    loader = make_loader(SequenceDataset([[1, 2], [3, 4]]), batch_size=2, seed=0)
    batches = list(loader)
    assert len(loader) == 1
    assert len(batches) == 1
    assert batches[0].shape == (2, 2)


def test_five_samples_in_batches_of_two():
    ds = SequenceDataset(torch.arange(5))
    kept = make_loader(ds, batch_size=2, seed=0)
    dropped = make_loader(ds, batch_size=2, seed=0, drop_last=True)
    assert len(kept) == 3
    assert [len(batch) for batch in kept] == [2, 2, 1]
    assert len(dropped) == 2
    assert [len(batch) for batch in dropped] == [2, 2]


@pytest.mark.parametrize("drop_last", [False, True])
def test_count_batches_matches_the_loader(drop_last):
    checked = 0
    for samples in range(1, 8):
        ds = SequenceDataset(torch.arange(samples))
        for batch_size in range(1, 9):
            if drop_last and batch_size > samples:
                continue  # refused by make_loader, tested below
            loader = make_loader(ds, batch_size=batch_size, drop_last=drop_last)
            expected = count_batches(samples, batch_size, drop_last=drop_last)
            assert len(loader) == expected, (samples, batch_size)
            assert len(list(loader)) == expected, (samples, batch_size)
            checked += 1
    assert checked >= 7 * 4  # the grid really ran


def test_count_batches_of_nothing_is_zero():
    assert count_batches(0, 4) == 0
    assert count_batches(0, 4, drop_last=True) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_samples": -1, "batch_size": 2}, ValueError, "num_samples must be an int >= 0"),
        ({"num_samples": 4, "batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
        ({"num_samples": 4.0, "batch_size": 2}, TypeError, "got 4.0"),
        ({"num_samples": 4, "batch_size": True}, TypeError, "got True"),
        ({"num_samples": 4, "batch_size": 2, "drop_last": "no"}, TypeError, "drop_last"),
    ],
)
def test_count_batches_validates(kwargs, error, match):
    with pytest.raises(error, match=match):
        count_batches(**kwargs)


# --- make_loader validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch_size", "error", "shown"),
    [
        (0, ValueError, "got 0"),
        (-1, ValueError, "got -1"),
        (2.5, TypeError, "got 2.5"),
        (True, TypeError, "got True"),
        ("2", TypeError, "got '2'"),
        (None, TypeError, "got None"),
    ],
)
def test_make_loader_rejects_bad_batch_size(batch_size, error, shown):
    with pytest.raises(error, match=f"batch_size must be an int >= 1, {shown}"):
        make_loader(SequenceDataset([1, 2]), batch_size=batch_size)


@pytest.mark.parametrize(
    ("num_workers", "error"), [(-1, ValueError), (True, TypeError), (1.5, TypeError)]
)
def test_make_loader_rejects_bad_num_workers(num_workers, error):
    with pytest.raises(error, match="num_workers must be an int >= 0"):
        make_loader(SequenceDataset([1, 2]), batch_size=1, num_workers=num_workers)


@pytest.mark.parametrize(
    ("seed", "error"), [("0", TypeError), (1.5, TypeError), (None, TypeError), (2**64, ValueError)]
)
def test_make_loader_rejects_bad_seed(seed, error):
    with pytest.raises(error, match="seed must be"):
        make_loader(SequenceDataset([1, 2]), batch_size=1, seed=seed)


def test_make_loader_rejects_non_bool_flags():
    with pytest.raises(TypeError, match="shuffle must be True or False, got 'yes'"):
        make_loader(SequenceDataset([1, 2]), batch_size=1, shuffle="yes")


@pytest.mark.parametrize("name", ["generator", "sampler", "batch_sampler", "persistent_workers"])
def test_make_loader_refuses_arguments_it_owns(name):
    with pytest.raises(TypeError, match=f"does not accept {name}="):
        make_loader(SequenceDataset([1, 2]), batch_size=1, **{name: None})


def test_make_loader_rejects_empty_dataset():
    with pytest.raises(ValueError, match="dataset is empty"):
        make_loader([], batch_size=1)


def test_make_loader_rejects_dataset_without_length():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter([1, 2])

    with pytest.raises(TypeError, match="needs a map-style dataset with a length"):
        make_loader(Stream(), batch_size=1)


def test_make_loader_rejects_drop_last_that_would_drop_everything():
    ds = SequenceDataset([1, 2, 3])
    with pytest.raises(ValueError, match=r"batch_size=4 > 3 samples would yield no batch at all"):
        make_loader(ds, batch_size=4, drop_last=True)
    # Without the check, DataLoader silently yields an empty epoch.
    assert list(DataLoader(ds, batch_size=4, drop_last=True)) == []
    assert len(make_loader(ds, batch_size=3, drop_last=True)) == 1


# --- pinned memory ----------------------------------------------------------------------------


@pytest.mark.skipif(
    torch.accelerator.is_available(), reason="shows what happens on a machine with no accelerator"
)
# Recent torch warns that it pins nothing, torch 2.6 says nothing: any build without a usable
# accelerator may. Only that warning, by its category and the module that warns, is let through.
@pytest.mark.filterwarnings(r"ignore::UserWarning:torch\.utils\.data\.dataloader")
def test_pin_memory_without_accelerator_pins_nothing():
    loader = make_loader(SequenceDataset([[1.0], [2.0]]), batch_size=2, pin_memory=True)
    batch = next(iter(loader))
    assert sorted(batch.flatten().tolist()) == [1.0, 2.0]  # the data came through
    assert not batch.is_pinned()


@pytest.mark.cuda
def test_pinned_batches_copy_to_cuda_asynchronously():
    inputs = torch.arange(24, dtype=torch.float32).view(6, 4)
    targets = torch.arange(6)
    loader = make_loader(SequenceDataset(inputs, targets), batch_size=4, seed=0, pin_memory=True)
    seen = 0
    for x, y in loader:
        assert x.device.type == "cpu"
        assert x.is_pinned()
        assert y.is_pinned()
        x_gpu = x.to("cuda", non_blocking=True)
        y_gpu = y.to("cuda", non_blocking=True)
        torch.cuda.synchronize()
        assert x_gpu.device.type == "cuda"
        assert torch.equal(x_gpu.cpu(), x)
        assert torch.equal(y_gpu.cpu(), y)
        assert torch.equal(inputs[y], x)  # rows still match their targets
        seen += len(y)
    assert seen == 6
