"""Tests for pttour.checkpoint: atomic saves, safe loads, precise errors, exact resume."""

from __future__ import annotations

import os
import pathlib
import pickle
import random
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from _checkpoint_resume import build, load_into, train

import pttour
from pttour.checkpoint import (
    Checkpoint,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from pttour.errors import (
    ArchitectureMismatchError,
    CheckpointError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)

TESTS = Path(__file__).resolve().parent
SOURCE_ROOT = Path(pttour.__file__).resolve().parents[1]


def _subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a fresh Python that must import this checkout's pttour."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _small_model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))


def _trained_setup() -> tuple[
    torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.StepLR
]:
    model = _small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        loss = model(torch.randn(5, 2)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model, optimizer, scheduler


def _temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("as_type", [str, Path])
def test_round_trip_restores_model_optimizer_scheduler_epoch_and_metadata(tmp_path, as_type):
    model, optimizer, scheduler = _trained_setup()
    metadata = {"loss": 0.125, "config": {"layers": [2, 3, 1], "name": "mlp"}, "best": None,
                "mean": torch.tensor([1.0, 2.0]), "flags": (True, False)}  # fmt: skip
    target = tmp_path / "not" / "yet" / "there" / "ck.pt"

    returned = save_checkpoint(
        as_type(target), model, optimizer, scheduler=scheduler, epoch=7, metadata=metadata
    )

    assert returned == target
    assert isinstance(returned, Path)
    assert target.is_file()
    fresh_model = _small_model()
    fresh_optimizer = torch.optim.Adam(fresh_model.parameters(), lr=0.1)
    fresh_scheduler = torch.optim.lr_scheduler.StepLR(fresh_optimizer, step_size=1, gamma=0.5)
    assert not torch.equal(fresh_model[0].weight, model[0].weight)

    ckpt = load_checkpoint(as_type(target), fresh_model, fresh_optimizer, scheduler=fresh_scheduler)

    assert ckpt == Checkpoint(path=target, epoch=7, metadata=ckpt.metadata)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh_model.state_dict()[key], value), key
    saved_state, loaded_state = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert loaded_state["param_groups"] == saved_state["param_groups"]
    assert saved_state["state"]  # Adam has moments to restore
    for index, moments in saved_state["state"].items():
        for name, value in moments.items():
            assert torch.equal(loaded_state["state"][index][name], value), (index, name)
    assert fresh_scheduler.state_dict() == scheduler.state_dict()
    assert fresh_scheduler.get_last_lr() == pytest.approx([0.1 * 0.5**3])
    assert ckpt.metadata.keys() == metadata.keys()
    assert ckpt.metadata["config"] == metadata["config"]
    assert ckpt.metadata["flags"] == (True, False)
    assert torch.equal(ckpt.metadata["mean"], metadata["mean"])


def test_save_replaces_an_existing_checkpoint_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "ck.pt"
    model = _small_model()
    save_checkpoint(path, model, epoch=1)
    save_checkpoint(path, model, epoch=2)

    assert load_checkpoint(path, model).epoch == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


@pytest.mark.skipif(os.name != "posix", reason="file permission bits are POSIX")
def test_saved_file_gets_the_permissions_a_plain_write_would_give(tmp_path):
    # Temporary files are created private (0o600); the checkpoint should not be.
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    path = save_checkpoint(tmp_path / "ck.pt", _small_model())

    assert path.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


def test_global_rng_states_are_restored(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model())
    expected = (torch.rand(3), random.random())
    torch.rand(5)  # move on, so that restoring has to rewind

    load_checkpoint(path, _small_model())
    again = (torch.rand(3), random.random())
    load_checkpoint(path, _small_model(), restore_rng=False)
    not_restored = (torch.rand(3), random.random())

    assert torch.equal(again[0], expected[0])
    assert again[1] == expected[1]
    assert not torch.equal(not_restored[0], expected[0])
    assert not_restored[1] != expected[1]


def test_numpy_global_rng_state_is_restored(tmp_path):
    np = pytest.importorskip("numpy", reason="NumPy is optional; its RNG is saved when present")
    state = np.random.get_state()
    try:
        np.random.seed(5)
        np.random.standard_normal()  # leaves a cached Gaussian in the legacy state
        path = save_checkpoint(tmp_path / "ck.pt", _small_model())
        expected = np.random.standard_normal(4)

        load_checkpoint(path, _small_model())

        assert np.array_equal(np.random.standard_normal(4), expected)
    finally:
        np.random.set_state(state)


def test_named_generators_are_restored(tmp_path):
    generator = torch.Generator().manual_seed(3)
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), generators={"loader": generator})
    expected = torch.rand(4, generator=generator)

    load_checkpoint(path, _small_model(), generators={"loader": generator}, restore_rng=False)

    assert torch.equal(torch.rand(4, generator=generator), expected)


# --------------------------------------------------------------------------- bad input at save


class _Opaque:
    pass


@pytest.mark.parametrize(
    ("metadata", "where", "type_name"),
    [
        ({"cfg": {"opt": _Opaque()}}, "metadata['cfg']['opt']", "_Opaque"),
        ({"steps": [1, 2, {3}]}, "metadata['steps'][2]", "set"),
        ({"when": pathlib.PurePosixPath("a")}, "metadata['when']", "PurePosixPath"),
        ({"dtype": torch.float32}, "metadata['dtype']", "dtype"),
    ],
)
def test_metadata_that_weights_only_could_not_load_is_refused_naming_the_key(
    tmp_path, metadata, where, type_name
):
    with pytest.raises(TypeError, match="weights_only=True") as info:
        save_checkpoint(tmp_path / "ck.pt", _small_model(), metadata=metadata)

    assert where in str(info.value)
    assert type_name in str(info.value)
    assert not tmp_path.joinpath("ck.pt").exists()


def test_metadata_keys_must_be_strings(tmp_path):
    with pytest.raises(TypeError, match=r"metadata\['outer'\] has the key 3 of type int"):
        save_checkpoint(tmp_path / "ck.pt", _small_model(), metadata={"outer": {3: "x"}})


@pytest.mark.parametrize(
    ("epoch", "error"), [(-1, ValueError), (1.0, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_bad_epoch_is_refused(tmp_path, epoch, error):
    with pytest.raises(error, match="epoch"):
        save_checkpoint(tmp_path / "ck.pt", _small_model(), epoch=epoch)


def test_generators_must_be_torch_generators(tmp_path):
    with pytest.raises(TypeError, match=r"torch\.Generator"):
        save_checkpoint(tmp_path / "ck.pt", _small_model(), generators={"loader": 0})


def test_a_state_dict_instead_of_a_model_is_refused(tmp_path):
    model = _small_model()
    with pytest.raises(TypeError, match=r"torch\.nn\.Module, got OrderedDict \(a state dict\?\)"):
        save_checkpoint(tmp_path / "ck.pt", model.state_dict())
    path = save_checkpoint(tmp_path / "ck.pt", model)
    with pytest.raises(TypeError, match=r"not model\.state_dict\(\)"):
        load_checkpoint(path, model.state_dict())


def test_saving_onto_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        save_checkpoint(tmp_path, _small_model())


def test_refused_metadata_leaves_the_previous_checkpoint_intact(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), epoch=1)
    before = path.read_bytes()

    with pytest.raises(TypeError):
        save_checkpoint(path, _small_model(), epoch=2, metadata={"bad": _Opaque()})

    assert path.read_bytes() == before
    assert load_checkpoint(path, _small_model()).epoch == 1
    assert _temporary_files(tmp_path) == []


@pytest.mark.parametrize("failure", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_save_failing_mid_write_leaves_the_previous_checkpoint_and_no_temporary_file(
    tmp_path, monkeypatch, failure
):
    model = _small_model()
    path = save_checkpoint(tmp_path / "ck.pt", model, epoch=1)
    before = path.read_bytes()
    real_save = torch.save
    temporaries_seen = []

    def failing_save(obj, file, *args, **kwargs):
        real_save(obj, file, *args, **kwargs)  # the bytes are written ...
        temporaries_seen.extend(_temporary_files(tmp_path))
        raise failure  # ... then the write fails, e.g. on the final flush

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(type(failure)):
        save_checkpoint(path, model, epoch=2)

    assert len(temporaries_seen) == 1  # the write really went to a temporary file
    assert path.read_bytes() == before
    assert load_checkpoint(path, model).epoch == 1
    assert _temporary_files(tmp_path) == []


# --------------------------------------------------------------------------- kill during save

KILLS = 25


class _LineReader:
    """Read lines from a pipe with a generous timeout, so a hung child fails the test."""

    def __init__(self, pipe, log: Path) -> None:
        self._fd = pipe.fileno()
        self._buffer = b""
        self._log = log

    def line(self) -> str:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._fd], [], [], 120)
            chunk = os.read(self._fd, 65536) if ready else b""
            if not chunk:
                raise AssertionError(
                    f"the saver stopped answering; its log:\n{self._log.read_text()}"
                )
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the writer is forked; needs POSIX os.fork")
def test_sigkill_at_random_moments_during_saves_never_leaves_a_broken_checkpoint(tmp_path):
    path = tmp_path / "run" / "latest.pt"
    log = tmp_path / "saver.log"
    model = torch.nn.Linear(1024, 1024)
    delays = random.Random(20240601)
    child = None
    single_threaded = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = _subprocess_env(**single_threaded, CUDA_VISIBLE_DEVICES="")  # files, not GPUs, matter
    with log.open("w") as log_file, subprocess.Popen(
        [sys.executable, str(TESTS / "_checkpoint_saver.py"), str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, env=env,
    ) as saver:  # fmt: skip
        reader = _LineReader(saver.stdout, log)
        try:
            for round_index in range(KILLS):
                start = (round_index + 1) * 1000
                saver.stdin.write(f"save {start}\n".encode())
                saver.stdin.flush()
                kind, child_pid = reader.line().split()
                assert kind == "child"
                child = int(child_pid)
                assert reader.line() == f"saved {start}"  # one complete save this round
                time.sleep(delays.uniform(0.0, 0.04))
                os.kill(child, signal.SIGKILL)
                completed = [start]
                while (line := reader.line()).startswith("saved "):
                    completed.append(int(line.split()[1]))
                kind, status = line.split()
                child = None
                assert kind == "reaped"
                assert os.WIFSIGNALED(int(status)), f"writer died on its own:\n{log.read_text()}"
                assert os.WTERMSIG(int(status)) == signal.SIGKILL

                ckpt = load_checkpoint(path, model, restore_rng=False)

                # The file holds the last save that returned, or the one after it if the kill
                # came between its rename and its "saved" line; never an older or torn one.
                assert ckpt.epoch in (completed[-1], completed[-1] + 1), (ckpt.epoch, completed)
                assert ckpt.metadata == {"epoch": ckpt.epoch}
                assert torch.all(model.weight == ckpt.epoch)
                assert torch.all(model.bias == ckpt.epoch)
            saver.stdin.write(b"quit\n")
            saver.stdin.flush()
        finally:
            if child is not None:
                os.kill(child, signal.SIGKILL)
            if saver.poll() is None:
                saver.stdin.close()
                saver.wait(timeout=60)
    assert saver.returncode == 0, log.read_text()
    # Each kill that landed inside a write left its temporary file behind: this proves the
    # test really interrupted writes, not only the gaps between them.
    assert _temporary_files(path.parent)


# --------------------------------------------------------------------------- refusing bad files


class _PlantsMarker:
    """Pickles to a call of Path.touch: unpickling it with weights_only=False creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "malicious.pt"
    torch.save({"format": "pttour-checkpoint", "model": {}, "payload": _PlantsMarker(marker)}, path)

    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(path, _small_model())

    message = str(info.value)
    assert str(path) in message
    assert "run code" in message
    assert "weights_only=False" in message
    assert "trust" in message
    assert not marker.exists()
    # The file is genuinely armed: an unsafe load does run its code.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_missing_file_raises_checkpoint_not_found(tmp_path):
    path = tmp_path / "nope" / "ck.pt"

    with pytest.raises(CheckpointNotFoundError) as info:
        load_checkpoint(path, _small_model())

    assert str(path) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="is a folder"):
        load_checkpoint(tmp_path, _small_model())


def test_truncated_checkpoint_raises_corrupt(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), epoch=1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path, _small_model())

    assert str(path) in str(info.value)
    assert "truncated, corrupt" in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is a text file, not a checkpoint\n" * 20,
        bytes(random.Random(7).randrange(256) for _ in range(4096)),
        pickle.dumps({"a": 1}, protocol=2),
    ],
    ids=["empty", "text", "random-bytes", "plain-pickle"],
)
def test_garbage_raises_corrupt(tmp_path, content):
    path = tmp_path / "ck.pt"
    path.write_bytes(content)
    model = _small_model()
    before = {key: value.clone() for key, value in model.state_dict().items()}

    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path, model)

    assert str(path) in str(info.value)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_a_torch_file_that_is_not_a_pttour_checkpoint_raises_corrupt(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(_small_model().state_dict(), path)

    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path, _small_model())

    assert str(path) in str(info.value)
    assert "not a pttour checkpoint" in str(info.value)


def test_a_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({"format": "pttour-checkpoint", "version": 2, "model": {}}, path)

    with pytest.raises(CheckpointError, match=r"format version 2; this pttour reads version 1"):
        load_checkpoint(path, _small_model())


# --------------------------------------------------------------------------- architecture


@pytest.fixture
def saved_mlp(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "mlp.pt", _small_model())


def _assert_untouched_after(error: type[Exception], path: Path, model: torch.nn.Module) -> str:
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with pytest.raises(error) as info:
        load_checkpoint(path, model)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())
    assert str(path) in str(info.value)
    return str(info.value)


def test_missing_keys_are_named(saved_mlp):
    bigger = torch.nn.Sequential(*_small_model(), torch.nn.ReLU(), torch.nn.Linear(1, 1))

    message = _assert_untouched_after(ArchitectureMismatchError, saved_mlp, bigger)

    assert "missing keys (in the model, not in the checkpoint): 4.weight, 4.bias" in message
    assert "unexpected" not in message
    assert "shape" not in message


def test_unexpected_keys_are_named(saved_mlp):
    smaller = torch.nn.Sequential(torch.nn.Linear(2, 3))

    message = _assert_untouched_after(ArchitectureMismatchError, saved_mlp, smaller)

    assert "unexpected keys (in the checkpoint, not in the model): 2.weight, 2.bias" in message
    assert "missing" not in message


def test_shape_mismatches_are_named_with_both_shapes(saved_mlp):
    wider = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))

    message = _assert_untouched_after(ArchitectureMismatchError, saved_mlp, wider)

    assert "0.weight: checkpoint (3, 2) vs model (4, 2)" in message
    assert "0.bias: checkpoint (3,) vs model (4,)" in message
    assert "2.weight: checkpoint (1, 3) vs model (1, 4)" in message
    assert "2.bias" not in message


def test_a_wrapped_model_gets_a_hint(tmp_path):
    inner = _small_model()
    path = save_checkpoint(tmp_path / "wrapped.pt", torch.nn.DataParallel(inner))

    message = _assert_untouched_after(ArchitectureMismatchError, path, _small_model())

    assert "unexpected keys" in message
    assert "module.0.weight" in message
    assert "DataParallel" in message


@pytest.mark.parametrize("component", ["optimizer", "scheduler", "scaler"])
def test_asking_for_a_component_the_checkpoint_lacks_names_it(saved_mlp, component):
    model = _small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    objects = {
        "optimizer": optimizer,
        "scheduler": torch.optim.lr_scheduler.StepLR(optimizer, step_size=1),
        "scaler": torch.amp.GradScaler("cpu"),
    }
    before = {key: value.clone() for key, value in model.state_dict().items()}

    with pytest.raises(CheckpointError, match=f"holds no {component} state") as info:
        load_checkpoint(saved_mlp, model, **{component: objects[component]})

    assert str(saved_mlp) in str(info.value)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_asking_for_a_generator_the_checkpoint_lacks_names_it(saved_mlp):
    with pytest.raises(CheckpointError, match="no generator named 'loader'"):
        load_checkpoint(saved_mlp, _small_model(), generators={"loader": torch.Generator()})


def test_an_optimizer_over_other_parameters_is_refused(tmp_path):
    model = _small_model()
    path = save_checkpoint(
        tmp_path / "ck.pt", model, torch.optim.SGD(model[0].parameters(), lr=0.1)
    )

    with pytest.raises(CheckpointError, match=r"sizes \[2\].*has \[4\]"):
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))


def test_scaler_state_round_trips(tmp_path):
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), scaler=scaler)
    fresh = torch.amp.GradScaler("cpu")

    load_checkpoint(path, _small_model(), scaler=fresh)

    assert fresh.get_scale() == 1024.0


# --------------------------------------------------------------------------- file names


def test_checkpoint_path_pads_the_epoch(tmp_path):
    assert checkpoint_path(tmp_path, 9) == tmp_path / "epoch-0009.pt"
    assert checkpoint_path(str(tmp_path), 12345) == tmp_path / "epoch-12345.pt"


@pytest.mark.parametrize(
    ("epoch", "error"), [(-1, ValueError), (None, TypeError), (2.0, TypeError)]
)
def test_checkpoint_path_refuses_bad_epochs(tmp_path, epoch, error):
    with pytest.raises(error, match="epoch"):
        checkpoint_path(tmp_path, epoch)


def test_latest_checkpoint_compares_epoch_numbers_and_ignores_other_files(tmp_path):
    model = _small_model()
    for epoch in (9, 10, 2):
        save_checkpoint(checkpoint_path(tmp_path, epoch), model, epoch=epoch)
    for name in [".epoch-0011.pt.abc123.tmp", "epoch-0012.pt.tmp", "epoch-12.pt", "notes.txt",
                 "epoch-0013.pth"]:  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "epoch-0099.pt").mkdir()  # a folder is not a checkpoint

    latest = latest_checkpoint(tmp_path)

    assert latest == tmp_path / "epoch-0010.pt"
    assert load_checkpoint(latest, model).epoch == 10


def test_latest_checkpoint_is_none_for_an_empty_or_missing_folder(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    assert latest_checkpoint(tmp_path / "missing") is None
    assert latest_checkpoint(str(tmp_path / "missing")) is None


def test_latest_checkpoint_refuses_a_file(tmp_path):
    path = tmp_path / "epoch-0001.pt"
    path.write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        latest_checkpoint(path)


# --------------------------------------------------------------------------- exact resume

HALF = 2  # epochs before and after the checkpoint


def _straight_run(epochs: int, device: str = "cpu") -> dict[str, torch.Tensor]:
    setup = build(seed=0, device=device)
    train(setup, epochs)
    return setup.model.state_dict()


def _first_half(path: Path) -> None:
    setup = build(seed=0)
    train(setup, HALF)
    save_checkpoint(
        path, setup.model, setup.optimizer, scheduler=setup.scheduler, epoch=HALF,
        generators={"loader": setup.loader.generator},
    )  # fmt: skip


def _assert_equal_states(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key, value in left.items():
        assert torch.equal(value, right[key]), key


def _states_equal(left: dict, right: dict) -> bool:
    return all(torch.equal(left[key], right[key]) for key in left)


@pytest.mark.slow
def test_resuming_in_a_fresh_process_is_bit_identical_to_a_straight_run(tmp_path):
    straight = _straight_run(2 * HALF)
    path = tmp_path / "ck.pt"
    _first_half(path)
    output = tmp_path / "resumed.pt"

    subprocess.run(
        [sys.executable, str(TESTS / "_checkpoint_resume.py"), str(path), str(HALF), str(output)],
        check=True, env=_subprocess_env(), cwd=tmp_path,
    )  # fmt: skip

    resumed = torch.load(output, weights_only=True)
    _assert_equal_states(resumed, straight)
    # The check can fail: stopping half-way gives other weights.
    assert not _states_equal(_straight_run(HALF), straight)


@pytest.mark.parametrize(
    ("load_options", "what_is_lost"),
    [
        ({"generators": None}, "the loader's shuffling order"),
        ({"restore_rng": False}, "the augmentation noise and the dropout masks"),
    ],
)
def test_resuming_without_every_rng_state_diverges(tmp_path, load_options, what_is_lost):
    straight = _straight_run(2 * HALF)
    path = tmp_path / "ck.pt"
    _first_half(path)
    setup = build(seed=987)
    options = {"generators": {"loader": setup.loader.generator}, **load_options}
    load_checkpoint(path, setup.model, setup.optimizer, scheduler=setup.scheduler, **options)

    train(setup, HALF)

    assert not _states_equal(setup.model.state_dict(), straight), what_is_lost


def test_resuming_in_process_is_bit_identical(tmp_path):
    # The same check as the fresh-process one, cheap enough to run in every test session.
    straight = _straight_run(2 * HALF)
    path = tmp_path / "ck.pt"
    _first_half(path)
    setup = build(seed=987)
    load_into(setup, path)

    train(setup, HALF)

    _assert_equal_states(setup.model.state_dict(), straight)


# --------------------------------------------------------------------------- CUDA

_CPU_ONLY_LOADER = textwrap.dedent(
    """
    import sys

    import torch

    import pttour

    assert not torch.cuda.is_available(), "CUDA_VISIBLE_DEVICES='' should hide every GPU"
    path, output = sys.argv[1], sys.argv[2]
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters())
    checkpoint = pttour.load_checkpoint(path, model, optimizer)
    torch.save({"model": model.state_dict(), "epoch": checkpoint.epoch,
                "device": str(model.weight.device)}, output)
    try:
        torch.load(path)
    except Exception as err:
        print("plain torch.load failed:", type(err).__name__, err)
    else:
        print("plain torch.load succeeded")
    """
)


@pytest.mark.cuda
def test_a_checkpoint_saved_on_cuda_loads_on_a_cpu_only_machine(tmp_path):
    model = torch.nn.Linear(4, 2).to("cuda")
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(3, 4, device="cuda")).sum().backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "gpu.pt", model, optimizer, epoch=3)
    output = tmp_path / "loaded.pt"

    result = subprocess.run(
        [sys.executable, "-c", _CPU_ONLY_LOADER, str(path), str(output)],
        check=False, capture_output=True, text=True,
        env=_subprocess_env(CUDA_VISIBLE_DEVICES=""),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    loaded = torch.load(output, weights_only=True)
    assert loaded["epoch"] == 3
    assert loaded["device"] == "cpu"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded["model"][key], value.cpu()), key
    assert "plain torch.load failed" in result.stdout
    assert "map_location" in result.stdout


@pytest.mark.cuda
def test_a_cpu_checkpoint_loads_into_a_cuda_model(tmp_path):
    model, optimizer, _ = _trained_setup()
    path = save_checkpoint(tmp_path / "cpu.pt", model, optimizer)
    gpu_model = _small_model().to("cuda")
    gpu_optimizer = torch.optim.Adam(gpu_model.parameters(), lr=0.1)

    load_checkpoint(path, gpu_model, gpu_optimizer)

    for key, value in gpu_model.state_dict().items():
        assert value.device.type == "cuda", key
        assert torch.equal(value.cpu(), model.state_dict()[key]), key
    for moments in gpu_optimizer.state_dict()["state"].values():
        assert moments["exp_avg"].device.type == "cuda"


@pytest.mark.cuda
def test_resuming_on_cuda_is_bit_identical(tmp_path):
    setup = build(seed=0, device="cuda")
    train(setup, HALF)
    path = save_checkpoint(
        tmp_path / "ck.pt", setup.model, setup.optimizer, scheduler=setup.scheduler,
        generators={"loader": setup.loader.generator},
    )  # fmt: skip
    train(setup, HALF)
    continued = {key: value.clone() for key, value in setup.model.state_dict().items()}

    load_into(setup, path)
    train(setup, HALF)
    resumed = {key: value.clone() for key, value in setup.model.state_dict().items()}

    load_into(setup, path)
    torch.cuda.manual_seed_all(12345)  # everything restored except the CUDA RNG
    train(setup, HALF)
    without_cuda_rng = setup.model.state_dict()

    _assert_equal_states(resumed, continued)
    assert not _states_equal(without_cuda_rng, continued)  # dropout on the GPU needs its RNG
