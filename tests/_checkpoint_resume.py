"""A small training setup whose result depends on every RNG, for the exact-resume tests.

Shuffling draws from the loader's generator, a noise augmentation from the global torch
CPU RNG and dropout from the RNG of the model's device, so a resumed run reproduces the
straight run only if all of them are restored.

Run as a script, it is the fresh-process half of a resume:
``python _checkpoint_resume.py CHECKPOINT EPOCHS OUTPUT`` builds the setup from a
different seed (so nothing matches by accident), loads CHECKPOINT, trains EPOCHS more
epochs and writes the model's state dict to OUTPUT with ``torch.save``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from pttour.checkpoint import load_checkpoint
from pttour.data import SequenceDataset, TransformedDataset, make_loader


@dataclass
class Setup:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loader: torch.utils.data.DataLoader
    device: str


def _jitter(inputs: torch.Tensor) -> torch.Tensor:
    """Random augmentation: draws from the global torch CPU RNG (num_workers=0)."""
    return inputs + 0.1 * torch.randn_like(inputs)


def build(seed: int, device: str = "cpu") -> Setup:
    """The same data and architecture every time; initial weights and global RNG from seed."""
    data_rng = torch.Generator().manual_seed(1234)
    inputs = torch.randn(48, 6, generator=data_rng)
    targets = inputs.sum(dim=1, keepdim=True) + 0.1 * torch.randn(48, 1, generator=data_rng)
    dataset = TransformedDataset(SequenceDataset(inputs, targets), _jitter)
    loader = make_loader(dataset, batch_size=8, shuffle=True, seed=0)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1)
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return Setup(model, optimizer, scheduler, loader, device)


def train(setup: Setup, epochs: int) -> None:
    setup.model.train()
    for _ in range(epochs):
        for inputs, targets in setup.loader:
            inputs, targets = inputs.to(setup.device), targets.to(setup.device)
            loss = torch.nn.functional.mse_loss(setup.model(inputs), targets)
            setup.optimizer.zero_grad()
            loss.backward()
            setup.optimizer.step()
        setup.scheduler.step()


def load_into(setup: Setup, path: object, **kwargs: object) -> None:
    load_checkpoint(
        path,
        setup.model,
        setup.optimizer,
        scheduler=setup.scheduler,
        generators={"loader": setup.loader.generator},
        **kwargs,
    )


def main(argv: list[str]) -> None:
    checkpoint, epochs, output = argv
    setup = build(seed=987)
    load_into(setup, checkpoint)
    train(setup, int(epochs))
    torch.save(setup.model.state_dict(), output)


if __name__ == "__main__":
    main(sys.argv[1:])
