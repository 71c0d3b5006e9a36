"""A classic PyTorch training script: a small CNN on Fashion-MNIST with a one-cycle schedule and early stopping.

It was written for PyTorch (and run there); porting it changed its imports and nothing else:

    import torch                                   ->  import autograd_core as torch
    import torch.nn as nn                          ->  import autograd_core.nn as nn
    import torch.nn.functional as F                ->  import autograd_core.nn.functional as F
    import torch.optim as optim                    ->  import autograd_core.optim as optim
    from torch.optim.lr_scheduler import ...       ->  from autograd_core.optim.lr_scheduler import ...
    from torch.utils.data import ...               ->  from autograd_core.utils.data import ...

The rest is PyTorch as usual: a device picked with torch.cuda.is_available(), .to(device), DataLoaders with
worker processes, random_split with a seeded torch.Generator, AdamW, OneCycleLR stepped per batch, gradient
clipping, torch.no_grad, torch.save of the best state_dict and torch.load(map_location=...).
"""

import argparse
import gzip
import json
import os
import time

import numpy as np

import autograd_core as torch
import autograd_core.nn as nn
import autograd_core.nn.functional as F
import autograd_core.optim as optim
from autograd_core.optim.lr_scheduler import OneCycleLR
from autograd_core.utils.data import DataLoader, Subset, TensorDataset, random_split

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED = os.path.join(HERE, "..", "autograd_core", "datasets", "fashion-mnist-small")
MEAN, STD = 0.286, 0.353


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(self.dropout(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def read_idx(path):
    """An MNIST-format (IDX) file, gzipped, as a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(folder, prefix):
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.copy()).float().div(255).unsqueeze(1)
    x = (x - MEAN) / STD
    y = torch.from_numpy(labels.astype(np.int64))
    return TensorDataset(x, y)


def train(model, device, loader, optimizer, scheduler):
    model.train()
    total, correct, loss_sum = 0, 0, 0.0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * data.size(0)
        correct += output.argmax(dim=1).eq(target).sum().item()
        total += data.size(0)
    return loss_sum / total, correct / total


@torch.no_grad()
def evaluate(model, device, loader):
    model.eval()
    loss, correct = 0.0, 0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        output = model(data)
        loss += F.nll_loss(output, target, reduction="sum").item()
        pred = output.argmax(dim=1, keepdim=True)
        correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(loader.dataset)
    return loss / n, correct / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=3e-3, help="the one-cycle schedule's peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--patience", type=int, default=3, help="epochs without a better validation loss before "
                                                                  "stopping")
    parser.add_argument("--min-delta", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all)")
    parser.add_argument("--data", default=BUNDLED, help="folder with the four Fashion-MNIST .gz files")
    parser.add_argument("--out", default=os.path.join("runs", "port_pytorch_cnn"))
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    os.makedirs(args.out, exist_ok=True)
    best_path = os.path.join(args.out, "best_model.pt")

    full_train, test_set = load_split(args.data, "train"), load_split(args.data, "t10k")
    if args.limit:
        full_train = Subset(full_train, range(args.limit))
    n_val = len(full_train) // 10
    train_set, val_set = random_split(full_train, [len(full_train) - n_val, n_val],
                                      generator=torch.Generator().manual_seed(args.seed))
    kwargs = {"num_workers": args.workers, "pin_memory": use_cuda, "persistent_workers": args.workers > 0}
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, **kwargs)
    val_loader = DataLoader(val_set, batch_size=1000, **kwargs)
    test_loader = DataLoader(test_set, batch_size=1000, **kwargs)

    model = Net().to(device)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train_loader))

    history, best_loss, bad_epochs = [], float("inf"), 0
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        train_loss, train_acc = train(model, device, train_loader, optimizer, scheduler)
        val_loss, val_acc = evaluate(model, device, val_loader)
        history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
                        "val_acc": val_acc, "lr": scheduler.get_last_lr()[0], "seconds": time.time() - start})
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f} acc {train_acc:.3f}  val loss {val_loss:.4f} "
              f"acc {val_acc:.3f}  lr {scheduler.get_last_lr()[0]:.2e}  {time.time() - start:.1f}s")
        if val_loss < best_loss - args.min_delta:
            best_loss, bad_epochs = val_loss, 0
            torch.save(model.state_dict(), best_path)
        else:
            bad_epochs += 1
            if bad_epochs >= args.patience:
                print(f"early stopping: no better validation loss for {args.patience} epochs")
                break

    model.load_state_dict(torch.load(best_path, map_location=device))
    test_loss, test_acc = evaluate(model, device, test_loader)
    print(f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f} (best validation loss {best_loss:.4f})")
    result = {"history": history, "test_loss": test_loss, "test_acc": test_acc, "best_val_loss": best_loss,
              "stopped_early": len(history) < args.epochs}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
