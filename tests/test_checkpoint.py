"""Tests for pttour.checkpoint: atomic saves, safe loads, precise errors, exact resume."""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import pickle
import random
import resource
import select
import shutil
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
    CheckpointWriteError,
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
        ({"steps": [1, 2, (3, _Opaque())]}, "metadata['steps'][2][1]", "_Opaque"),
        ({"when": pathlib.PurePosixPath("a")}, "metadata['when']", "PurePosixPath"),
        ({"device": {"where": [torch.device("cpu"), print]}}, "metadata['device']['where'][1]",
         "builtins.print"),
    ],
)  # fmt: skip
def test_metadata_that_weights_only_could_not_load_is_refused_naming_the_key(
    tmp_path, metadata, where, type_name
):
    with pytest.raises(TypeError, match="weights_only=True") as info:
        save_checkpoint(tmp_path / "ck.pt", _small_model(), metadata=metadata)

    assert where in str(info.value)
    assert type_name in str(info.value)
    assert not tmp_path.joinpath("ck.pt").exists()


def test_metadata_keys_are_checked_like_values(tmp_path):
    with pytest.raises(TypeError, match=r"metadata\['outer'\] key <.*_Opaque.*weights_only=True"):
        save_checkpoint(tmp_path / "ck.pt", _small_model(), metadata={"outer": {_Opaque(): "x"}})


def test_metadata_that_torch_loads_safely_is_accepted(tmp_path):
    # torch's weights_only allowlist is the rule: dtypes, sets, int keys, complex and bytes
    # load safely, so they are accepted (a hand-kept list used to refuse dtypes and sets).
    metadata = {"dtype": torch.float16, "seen": {1, 2}, "by_epoch": {3: "x"}, "z": 1 + 2j,
                "raw": b"ab", "nested": [torch.Size([2, 3]), (None, True)]}  # fmt: skip
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), metadata=metadata)
    assert load_checkpoint(path, _small_model()).metadata == metadata


@pytest.mark.parametrize(
    ("epoch", "error"), [(-1, ValueError), (1.0, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_bad_epoch_is_refused(tmp_path, epoch, error):
    with pytest.raises(error, match="epoch"):
        save_checkpoint(tmp_path / "ck.pt", _small_model(), epoch=epoch)


def test_generators_must_be_torch_generators(tmp_path):
    with pytest.raises(TypeError, match=r"torch\.Generator"):
        save_checkpoint(tmp_path / "ck.pt", _small_model(), generators={"loader": 0})


@pytest.mark.parametrize(
    ("function", "change", "name"),
    [
        (save_checkpoint, {"path": None}, "path"),
        (save_checkpoint, {"model": None}, "model"),
        (save_checkpoint, {"optimizer": "sgd"}, "optimizer"),
        (save_checkpoint, {"scheduler": 0.5}, "scheduler"),
        (save_checkpoint, {"scaler": object()}, "scaler"),
        (save_checkpoint, {"metadata": [1]}, "metadata"),
        (save_checkpoint, {"generators": [torch.Generator()]}, "generators"),
        (load_checkpoint, {"path": None}, "path"),
        (load_checkpoint, {"model": None}, "model"),
        (load_checkpoint, {"optimizer": 1}, "optimizer"),
        (load_checkpoint, {"restore_rng": "False"}, "restore_rng"),
    ],
)
def test_wrong_types_name_the_argument(tmp_path, function, change, name):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model())
    before = path.read_bytes()
    arguments = {"path": path, "model": _small_model()} | change
    with pytest.raises(TypeError, match=f"^{name} must"):
        function(**arguments)
    assert path.read_bytes() == before


def test_latest_checkpoint_and_checkpoint_path_name_a_missing_folder():
    with pytest.raises(TypeError, match=r"^folder must be a str or os.PathLike"):
        latest_checkpoint(None)
    with pytest.raises(TypeError, match=r"^folder must be"):
        checkpoint_path(None, 1)
    with pytest.raises(TypeError, match=r"^skip_unreadable must be True or False"):
        latest_checkpoint("runs", skip_unreadable="yes")


def test_restore_rng_given_as_a_string_is_refused_before_anything_changes(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model())
    model = _small_model()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    state = torch.get_rng_state()
    with pytest.raises(TypeError, match="restore_rng must be True or False, got 'False'"):
        load_checkpoint(path, model, restore_rng="False")  # truthy: it would restore
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_a_state_dict_instead_of_a_model_is_refused(tmp_path):
    model = _small_model()
    with pytest.raises(TypeError, match=r"torch\.nn\.Module, got OrderedDict \(a state dict\?\)"):
        save_checkpoint(tmp_path / "ck.pt", model.state_dict())
    path = save_checkpoint(tmp_path / "ck.pt", model)
    with pytest.raises(TypeError, match=r"not model\.state_dict\(\)"):
        load_checkpoint(path, model.state_dict())


@pytest.mark.skipif(os.name != "posix", reason="file permission bits are POSIX")
def test_a_replaced_checkpoint_keeps_its_mode(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model())
    path.chmod(0o640)
    save_checkpoint(path, _small_model())
    assert path.stat().st_mode & 0o777 == 0o640


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
        if isinstance(file, io.BytesIO):
            return  # the safety check of the data, in memory, before the write
        temporaries_seen.extend(_temporary_files(tmp_path))
        raise failure  # ... then the write fails, e.g. on the final flush

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(type(failure)) as info:
        save_checkpoint(path, model, epoch=2)
    if isinstance(failure, OSError):
        assert isinstance(info.value, CheckpointWriteError)
        assert str(path) in str(info.value)

    assert len(temporaries_seen) == 1  # the write really went to a temporary file
    assert path.read_bytes() == before
    assert load_checkpoint(path, model).epoch == 1
    assert _temporary_files(tmp_path) == []


# --------------------------------------------------------------------------- write faults


def test_a_file_where_the_folder_should_be_names_the_checkpoint(tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    for target in (blocker / "ck.pt", blocker / "deeper" / "ck.pt"):
        with pytest.raises(CheckpointWriteError) as info:
            save_checkpoint(target, _small_model())
        assert str(target) in str(info.value)
        assert f"{str(blocker)!r} is a file, not a folder" in str(info.value)
    assert blocker.read_text() == "not a folder"


def test_permission_denied_names_the_checkpoint_not_the_temporary_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), epoch=1)
    real_open = os.open

    def read_only_folder(file, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_folder)
    with pytest.raises(CheckpointWriteError) as info:
        save_checkpoint(path, _small_model(), epoch=2)
    monkeypatch.undo()
    assert info.value.errno == errno.EACCES
    assert f"checkpoint {str(path)!r} was not saved: permission denied" in str(info.value)
    assert ".tmp" not in str(info.value)
    assert load_checkpoint(path, _small_model()).epoch == 1


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="needs POSIX permission bits and a user that they apply to (root ignores them)",
)
def test_a_read_only_folder_names_the_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), epoch=1)
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(CheckpointWriteError, match=f"checkpoint {str(path)!r} was not saved"):
            save_checkpoint(path, _small_model(), epoch=2)
    finally:
        tmp_path.chmod(0o700)
    assert load_checkpoint(path, _small_model()).epoch == 1


def _run_fault_script(prefix: list[str], folder: Path, mode: str, **kwargs) -> dict:
    script = [sys.executable, "-B", str(TESTS / "_checkpoint_disk_full.py"), str(folder), mode]
    result = subprocess.run(
        [*prefix, *script], capture_output=True, text=True,
        env=_subprocess_env(CUDA_VISIBLE_DEVICES=""), check=False, **kwargs,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _can_mount() -> str | None:
    """Why this test cannot mount its own tmpfs, or None when it can."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "mounting a tmpfs needs root on Linux"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "needs unshare and mount (util-linux) to mount a tmpfs in a private namespace"
    probe = subprocess.run(["unshare", "-m", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    return None if probe.returncode == 0 else f"cannot mount here: {probe.stderr.strip()}"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "readonly"])
def test_a_full_or_read_only_disk_keeps_the_previous_checkpoint(tmp_path, mode):
    # A real file system: a 1 MiB tmpfs in a private mount namespace, gone with the process.
    reason = _can_mount()
    if reason is not None:
        pytest.skip(reason)
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = f'mount -t tmpfs -o size=1m tmpfs {folder} && exec "$@"'
    report = _run_fault_script(["unshare", "-m", "sh", "-c", mount, "sh"], folder, mode)
    path = str(folder / "ck.pt")
    assert report["error"] == "CheckpointWriteError", report
    if mode == "full":
        assert report["errno"] == errno.ENOSPC
        assert "the disk or your quota is full" in report["message"]
    else:
        assert report["errno"] == errno.EROFS
        assert "is read-only" in report["message"]
    assert f"checkpoint {path!r} was not saved" in report["message"]
    assert report["previous_epoch"] == 1
    assert report["files"] == ["ck.pt"]  # no temporary file left behind (where one could go)
    assert not (folder / "ck.pt").exists()  # it all happened on the private tmpfs


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_file_size_limit_keeps_the_previous_checkpoint(tmp_path):
    # The unprivileged way to make a write fail midway: files may not grow beyond 1 MiB.
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))

    report = _run_fault_script([], tmp_path, "full", preexec_fn=limit_file_size)
    assert report["errno"] == errno.EFBIG, report
    assert "larger than this process may write" in report["message"]
    assert report["previous_epoch"] == 1
    assert report["files"] == ["ck.pt"]


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


def test_a_memory_error_is_not_reported_as_a_corrupt_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "ck.pt", _small_model())

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(torch, "load", out_of_memory)
    with pytest.raises(MemoryError):
        load_checkpoint(path, _small_model())


def test_the_advice_for_a_corrupt_newest_checkpoint_finds_an_older_one(tmp_path):
    model = _small_model()
    for epoch in (1, 2, 3):
        save_checkpoint(checkpoint_path(tmp_path, epoch), model, epoch=epoch)
    newest = checkpoint_path(tmp_path, 3)
    newest.write_bytes(newest.read_bytes()[:100])  # the run died while writing it unsafely

    with pytest.raises(CorruptCheckpointError, match="skip_unreadable=True") as info:
        load_checkpoint(latest_checkpoint(tmp_path), model)

    assert latest_checkpoint(tmp_path) == newest  # the newest by name is still the broken one
    advised = latest_checkpoint(tmp_path, skip_unreadable=True)
    assert advised == checkpoint_path(tmp_path, 2)
    assert load_checkpoint(advised, model).epoch == 2
    assert "latest_checkpoint()" not in str(info.value)


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

    given = f"holds no {component} state, but load_checkpoint was given {component}="
    with pytest.raises(CheckpointError, match=given) as info:
        load_checkpoint(saved_mlp, model, **{component: objects[component]})

    assert str(saved_mlp) in str(info.value)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_asking_for_a_generator_the_checkpoint_lacks_names_it(saved_mlp):
    with pytest.raises(CheckpointError, match="holds no cpu generator named 'loader'"):
        load_checkpoint(saved_mlp, _small_model(), generators={"loader": torch.Generator()})


def test_an_optimizer_over_other_parameters_is_refused(tmp_path):
    model = _small_model()
    path = save_checkpoint(
        tmp_path / "ck.pt", model, torch.optim.SGD(model[0].parameters(), lr=0.1)
    )

    with pytest.raises(
        CheckpointError, match=r"groups hold \[2\] parameters, those of the one passed \[4\]"
    ):
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))


def _model_unchanged_after(error: type[Exception], match: str, path: Path, **objects) -> None:
    model = _small_model()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with pytest.raises(error, match=match):
        load_checkpoint(path, model, **objects)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_an_adam_state_is_not_loaded_into_sgd(tmp_path):
    # Loaded, SGD would take Adam's options and fail at step() with KeyError: 'momentum'.
    model, adam, _ = _trained_setup()
    path = save_checkpoint(tmp_path / "ck.pt", model, adam)
    sgd = torch.optim.SGD(_small_model().parameters(), lr=0.1, momentum=0.9)
    _model_unchanged_after(
        CheckpointError,
        r"it holds the state of Adam\. Nothing was loaded\. Pass the kind of optimizer that was saved",
        path,
        optimizer=sgd,
    )
    assert "betas" not in sgd.param_groups[0]


def test_a_step_lr_state_is_not_loaded_into_cosine_annealing(tmp_path):
    model, optimizer, step_lr = _trained_setup()
    path = save_checkpoint(tmp_path / "ck.pt", model, optimizer, scheduler=step_lr)
    fresh = torch.optim.Adam(_small_model().parameters(), lr=0.1)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(fresh, T_max=10)
    _model_unchanged_after(
        CheckpointError, "it holds the state of StepLR", path, optimizer=fresh, scheduler=cosine
    )
    assert fresh.state_dict()["state"] == {}  # the optimizer was not touched either
    assert "step_size" not in vars(cosine)


@pytest.mark.parametrize(("saved_enabled", "loaded_enabled"), [(False, True), (True, False)])
def test_a_scaler_state_of_the_other_kind_is_refused_before_the_model_changes(
    tmp_path, saved_enabled, loaded_enabled
):
    # A disabled GradScaler saves {}; loading that into an enabled one fails in
    # load_state_dict, and an enabled state loaded into a disabled one is dropped silently.
    saved = torch.amp.GradScaler("cpu", enabled=saved_enabled)
    path = save_checkpoint(tmp_path / "ck.pt", _small_model(), scaler=saved)
    fresh = torch.amp.GradScaler("cpu", init_scale=8.0, enabled=loaded_enabled)
    _model_unchanged_after(CheckpointError, "GradScaler", path, scaler=fresh)


def test_pytorch_tutorial_recipe_checkpoints_load(tmp_path):
    # The layout of PyTorch's "Saving and loading a general checkpoint" recipe.
    model, optimizer, _ = _trained_setup()
    path = tmp_path / "recipe.pt"
    torch.save({"epoch": 5, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": 0.5}, path)  # fmt: skip
    fresh = _small_model()
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=0.1)
    state = torch.get_rng_state()

    ckpt = load_checkpoint(path, fresh, fresh_optimizer)

    assert (ckpt.epoch, ckpt.metadata) == (5, {"loss": 0.5})
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in model.state_dict().items())
    assert fresh_optimizer.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()
    assert torch.equal(torch.get_rng_state(), state)  # the recipe saves no random state
    # Without a recorded class, the saved options must match the optimizer passed.
    sgd = torch.optim.SGD(_small_model().parameters(), lr=0.1)
    _model_unchanged_after(
        CheckpointError, r"none of the options \['dampening'", path, optimizer=sgd
    )


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
