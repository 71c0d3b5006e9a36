"""An MLP-Mixer (Tolstikhin et al. 2021) on Fashion-MNIST, written as a PyTorch script: LayerNorm, GELU,
token- and channel-mixing MLPs with residuals, a patch embedding by strided convolution, label smoothing,
AdamW with a linear warm-up then cosine decay, gradient clipping, and the best state_dict saved and reloaded.

It was written for PyTorch (and run there); porting it changed its imports and nothing else:

    import torch                                   ->  import autograd_core as torch
    import torch.nn as nn                          ->  import autograd_core.nn as nn
    import torch.nn.functional as F                ->  import autograd_core.nn.functional as F
    from torch.optim.lr_scheduler import ...       ->  from autograd_core.optim.lr_scheduler import ...
    from torch.utils.data import ...               ->  from autograd_core.utils.data import ...
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
from autograd_core.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from autograd_core.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED = os.path.join(HERE, "..", "autograd_core", "datasets", "fashion-mnist-small")


class MixerBlock(nn.Module):
    """Mix across patches (tokens), then across channels; each an MLP with a residual, after a LayerNorm."""

    def __init__(self, num_patches, dim, token_hidden, channel_hidden, dropout):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = nn.Sequential(nn.Linear(num_patches, token_hidden), nn.GELU(), nn.Dropout(dropout),
                                       nn.Linear(token_hidden, num_patches))
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = nn.Sequential(nn.Linear(dim, channel_hidden), nn.GELU(), nn.Dropout(dropout),
                                         nn.Linear(channel_hidden, dim))

    def forward(self, x):                                  # x: (batch, patches, dim)
        y = self.token_mlp(self.norm1(x).transpose(1, 2))  # mix along the patches
        x = x + y.transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class Mixer(nn.Module):
    def __init__(self, image=28, patch=4, dim=64, depth=4, token_hidden=32, channel_hidden=128, dropout=0.1,
                 classes=10):
        super().__init__()
        num_patches = (image // patch) ** 2
        self.stem = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)  # one linear map per patch
        self.blocks = nn.Sequential(*[MixerBlock(num_patches, dim, token_hidden, channel_hidden, dropout)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)        # (batch, patches, dim)
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))                    # global average over the patches


def read_idx(path):
    """An MNIST-format (IDX) file, gzipped, as a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=raw[3], offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(shape)


def load_split(folder, prefix, limit=0):
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255.0
    x = (x - 0.286) / 0.353
    return TensorDataset(x, torch.tensor(labels.astype(np.int64)))


def train_epoch(model, loader, criterion, optimizer, scheduler, device):
    model.train()
    total, correct, loss_sum = 0, 0, 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(images)
        loss = criterion(logits, labels)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * labels.size(0)
        correct += (logits.argmax(dim=1) == labels).sum().item()
        total += labels.size(0)
    return loss_sum / total, correct / total


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(dim=1) == labels).sum().item()
        total += labels.size(0)
    return loss_sum / total, correct / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup-epochs", type=int, default=1)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all)")
    parser.add_argument("--data", default=BUNDLED, help="folder with the four Fashion-MNIST .gz files")
    parser.add_argument("--out", default=os.path.join("runs", "port_pytorch_mixer"))
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.out, exist_ok=True)
    best_path = os.path.join(args.out, "best_mixer.pt")

    train_set = load_split(args.data, "train", args.limit)
    test_set = load_split(args.data, "t10k")
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True)
    test_loader = DataLoader(test_set, batch_size=500)

    model = Mixer(depth=args.depth, dim=args.dim).to(device)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = len(train_loader)
    warmup = LinearLR(optimizer, start_factor=0.1, total_iters=args.warmup_epochs * steps)
    cosine = CosineAnnealingLR(optimizer, T_max=max(1, (args.epochs - args.warmup_epochs) * steps))
    scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[args.warmup_epochs * steps])
    print(f"MLP-Mixer: {n_params} parameters, {len(train_set)} training images, {steps} steps per epoch")

    history, best_acc = [], -1.0
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, scheduler, device)
        test_loss, test_acc = evaluate(model, test_loader, device)
        history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
                        "test_acc": test_acc, "lr": scheduler.get_last_lr()[0], "seconds": time.time() - start})
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f} acc {train_acc:.3f}  test loss {test_loss:.4f} "
              f"acc {test_acc:.3f}  {time.time() - start:.1f}s")
        if test_acc > best_acc:
            best_acc = test_acc
            torch.save(model.state_dict(), best_path)

    model.load_state_dict(torch.load(best_path, map_location=device))
    final_loss, final_acc = evaluate(model, test_loader, device)
    print(f"best checkpoint reloaded: test accuracy {final_acc:.4f}")
    result = {"history": history, "best_test_acc": best_acc, "reloaded_test_acc": final_acc, "parameters": n_params}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
