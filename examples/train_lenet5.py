"""Train LeNet-5 on Fashion-MNIST with autograd_core's nn, optim and data.

LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) with ReLU and max pooling in
place of the paper's scaled tanh and subsampling layers:

    input 1x28x28 (padded by 2: the paper's 32x32)
    C1  conv 5x5, 6 maps      -> 6x28x28,  ReLU
    S2  max pool 2x2          -> 6x14x14
    C3  conv 5x5, 16 maps     -> 16x10x10, ReLU
    S4  max pool 2x2          -> 16x5x5
    C5  120 units (a 5x5 conv on a 5x5 map is a fully connected layer), ReLU
    F6  84 units, ReLU
    output 10 classes (softmax cross-entropy)

By default it trains on the 5,000-image sample bundled with the package and
tests on its 1,000 test images; --data trains on the full Fashion-MNIST
(60,000 / 10,000). After each epoch it evaluates on the test set and saves a
checkpoint (model, optimizer, epoch, history) that --resume continues from;
at the end it prints the test accuracy and, when matplotlib is installed,
saves a plot of loss and accuracy.

    python examples/train_lenet5.py                      # bundled sample, 10 epochs
    python examples/train_lenet5.py --data --epochs 5    # full set, found where fashion_mnist() looks
    python examples/train_lenet5.py --data ~/fashion --optimizer sgd --lr 0.05
    python examples/train_lenet5.py --resume --epochs 15 # continue the run in --out
    mpiexec -n 2 python examples/train_lenet5.py --distributed   # data-parallel on 2 ranks (distributed_run.py)

--resume continues the run in --out with the settings it was started with; a
new --lr or --weight-decay is applied (and said), other changed settings
(optimizer, batch size, data, --limit, --augment, --seed) are refused. Mistakes
on the command line or in its files (a missing --data folder or checkpoint, a
file that is not this script's checkpoint, an unwritable --out) print one line
and exit with status 2; Ctrl-C exits with 130 and saves nothing of the
unfinished epoch (the checkpoint keeps the last finished one).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import tempfile
import time

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from autograd_core import data

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's pixel mean and standard deviation (in [0, 1])
OPTIMIZERS = {  # name -> (class, default learning rate, extra arguments)
    "adam": (optim.Adam, 1e-3, {}),
    "adamw": (optim.AdamW, 1e-3, {}),
    "sgd": (optim.SGD, 0.05, {"momentum": 0.9}),
    "rmsprop": (optim.RMSprop, 1e-3, {}),
    "adagrad": (optim.Adagrad, 1e-2, {}),
    "adadelta": (optim.Adadelta, 1.0, {}),
}


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling (see the module docstring for the layers)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class UsageError(Exception):
    """A mistake in the command line or in the files it names: ``cli`` prints one line and exits with 2."""


def _count(text):
    """argparse type: an int >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _non_negative(text):
    """argparse type: a float >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


# the settings that define a run: a checkpoint records them, --resume takes them from it
RUN_SETTINGS = ("data", "epochs", "batch_size", "optimizer", "lr", "weight_decay", "augment", "limit", "seed")
DEFAULTS = {"batch_size": 64, "optimizer": "adam", "weight_decay": 0.0, "augment": False, "seed": 0}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="?", const="", default=None, metavar="DIR",
                   help="train on the full Fashion-MNIST: from DIR, or (no DIR) from $FASHION_MNIST_DIR or "
                        "/usr/share/datasets/fashion-mnist; without --data, the bundled sample")
    p.add_argument("--epochs", type=_count, default=None,
                   help="total number of epochs (default: 10 on the bundled sample, 5 with --data)")
    p.add_argument("--batch-size", type=_count, default=None, help="default 64")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=None, help="default adam")
    p.add_argument("--lr", type=_non_negative, default=None, help="learning rate (default: 1e-3 for adam)")
    p.add_argument("--weight-decay", type=_non_negative, default=None, help="default 0")
    p.add_argument("--augment", action="store_true", default=None,
                   help="random crops (padding 2) and horizontal flips of the training images")
    p.add_argument("--limit", type=_count, default=None, help="use only the first N training and test images")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--out", default=os.path.join("runs", "lenet5"),
                   help="directory for checkpoint.npz and history.png (default: runs/lenet5)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--no-plot", action="store_true", help="do not save the PNG plot")
    p.add_argument("--no-progress", action="store_true", help="one line per epoch, no progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI ranks (mpiexec -n 2 python examples/train_lenet5.py --distributed); "
                        "--batch-size is the global batch; only rank 0 prints and writes")
    p.add_argument("--profile", nargs="?", const=5, type=int, default=None, metavar="STEPS",
                   help="profile STEPS training steps (default 5), print where the time goes, write "
                        "<out>/trace.json (open it in ui.perfetto.dev) and stop")
    args = p.parse_args(argv)
    args.given = {k for k in RUN_SETTINGS if getattr(args, k) is not None}  # what the command line asks for
    if not args.resume:
        fill_defaults(args)
    return args


def fill_defaults(args):
    """Give every run setting the command line left open its default."""
    for k, v in DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.epochs is None:
        args.epochs = 10 if args.data is None else 5
    if args.lr is None:
        args.lr = OPTIMIZERS[args.optimizer][1]


def load_data(args):
    normalize = data.Normalize([MEAN], [STD])
    train_t = normalize
    if args.augment:
        train_t = data.Compose([data.RandomCrop(28, padding=2), data.RandomHorizontalFlip(), normalize])
    if args.data is None:
        train, test = data.fashion_mnist_small(transform=train_t, test_transform=normalize)
        name = "the bundled Fashion-MNIST sample"
    else:
        if args.data and not os.path.isdir(args.data):
            raise UsageError(f"--data {args.data}: no such directory")
        try:
            train, test = data.fashion_mnist(args.data or None, transform=train_t, test_transform=normalize)
        except (FileNotFoundError, ValueError) as e:  # files missing or damaged: the first line says which
            raise UsageError(f"--data: {str(e).splitlines()[0].rstrip('.')} (help(autograd_core.data.fashion_mnist) "
                             "says which files and where to get them)") from None
        name = "Fashion-MNIST"
    if args.limit:
        train = data.Subset(train, np.arange(min(args.limit, len(train))))
        test = data.Subset(test, np.arange(min(args.limit, len(test))))
    return train, test, name


class Progress:
    """A progress bar: tqdm when installed, else a plain line (redrawn in place on a terminal)."""

    def __init__(self, total, desc, enabled=True):
        self.total, self.desc, self.n = total, desc, 0
        self.bar = None
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, desc=desc, unit="batch", leave=False, dynamic_ncols=True)

    def update(self, stats):
        self.n += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(stats, refresh=False)
            self.bar.update(1)
            return
        now = time.perf_counter()
        # a terminal gets a line redrawn a few times a second; a log file one line per 25%
        if self.tty and (now - self.last > 0.25 or self.n == self.total):
            self.last = now
            sys.stderr.write(f"\r{self.desc} {self.n}/{self.total} {stats}\033[K")
            sys.stderr.flush()
        elif not self.tty and (self.n * 4 // self.total) != ((self.n - 1) * 4 // self.total):
            sys.stderr.write(f"{self.desc} {self.n}/{self.total} {stats}\n")

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.tty:
            sys.stderr.write("\r\033[K")


def evaluate(model, loader):
    """Mean loss and accuracy over ``loader``, in eval mode and without recording."""
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with ag.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.data.argmax(1) == y.data).sum())
            n += len(y)
    model.train()
    return total_loss / n, correct / n


def train_epoch(model, opt, loader, desc, progress=True):
    bar = Progress(len(loader), desc, enabled=progress)
    total_loss, correct, n = 0.0, 0, 0
    start = time.perf_counter()
    for x, y in loader:
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        k = len(y)
        total_loss += loss.item() * k
        correct += int((logits.data.argmax(1) == y.data).sum())
        n += k
        bar.update(f"loss {total_loss / n:.4f} acc {correct / n:.3f} "
                   f"{n / (time.perf_counter() - start):.0f} img/s")
    bar.close()
    return total_loss / n, correct / n, n / (time.perf_counter() - start)


def profile_steps(model, opt, loader, steps, trace_path):
    """``--profile``: ``steps`` training steps under the profiler; prints the table, writes a Chrome trace."""
    from autograd_core.profiler import profile, record_function
    with profile(with_flops=True) as prof:
        for _, (x, y) in zip(range(steps), loader):
            with record_function("train step"):
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    print(f"trace: {prof.export_chrome_trace(trace_path)}")
    return prof


def save_plot(history, path):
    """Loss and accuracy per epoch as a PNG; returns False when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], "o-", label="train")
    ax1.plot(epochs, history["test_loss"], "o-", label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    ax2.plot(epochs, history["train_acc"], "o-", label="train")
    ax2.plot(epochs, history["test_acc"], "o-", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- output folder and checkpoints

CHECKPOINT_KEYS = ("model", "optimizer", "optimizer_name", "epoch", "history", "rng_state")


def prepare_out(out):
    """Create ``--out`` and make sure a checkpoint can be written there, before any training; its path."""
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    path = os.path.join(out, "checkpoint.npz")
    if os.path.isdir(path):
        raise UsageError(f"--out {out}: {path} is a directory, so no checkpoint can be saved there")
    return path


def _show(key, value):
    """A run setting as the command line would spell it."""
    if key == "data":
        return "the bundled sample" if value is None else f"--data {value}" if value else "--data"
    if key == "augment":
        return "--augment" if value else "no --augment"
    return f"--{key.replace('_', '-')} {value:g}" if isinstance(value, float) else f"--{key.replace('_', '-')} {value}"


def read_checkpoint(args, path):
    """``--resume``: the checkpoint at ``path``, with ``args`` settled against the settings it records.

    Settings not on the command line come from the checkpoint; a new ``--lr``
    or ``--weight-decay`` is kept (``restore`` applies it and says so); other
    changed settings are refused. ``--data`` is checked later, on the data
    themselves (``check_same_data``).
    """
    if not os.path.exists(path):
        raise UsageError(f"--resume: no checkpoint at {path} (start the run without --resume, or pass the --out "
                         "of the run to continue)")
    try:
        ckpt = nn.load(path)
    except (ValueError, OSError) as e:
        raise UsageError(f"--resume: {path} is not a readable checkpoint ({e})") from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise UsageError(f"--resume: {path} is not a checkpoint of train_lenet5.py (it has no "
                         f"{', '.join(missing)})")
    config = dict(ckpt.get("config") or {})  # checkpoints of earlier versions record the optimizer only
    config.setdefault("optimizer", ckpt["optimizer_name"])
    refused = []
    for k in RUN_SETTINGS:
        if k not in config:
            continue
        if k not in args.given:
            setattr(args, k, config[k])
        elif k not in ("data", "epochs", "lr", "weight_decay") and getattr(args, k) != config[k]:
            refused.append(f"{_show(k, getattr(args, k))} (the run used {_show(k, config[k])})")
    if refused:
        raise UsageError(f"--resume: the run in {args.out} has other settings: {'; '.join(refused)}. Resume "
                         "without them, or start a new run with another --out")
    fill_defaults(args)
    args.resumed_config = config
    return ckpt


def data_fingerprint(train, test):
    """Sizes and a hash of the labels and first images of both splits: enough to tell other data apart."""
    h = hashlib.sha1()
    for ds in (train, test):
        indices = None
        while isinstance(ds, data.Subset):
            indices = ds.indices if indices is None else ds.indices[indices]
            ds = ds.dataset
        x, y = ds.arrays[0], ds.arrays[1]
        if indices is not None:
            x, y = x[indices[:64]], y[indices]
        h.update(np.ascontiguousarray(y, np.int64).tobytes())
        h.update(np.ascontiguousarray(x[:64]).tobytes())
    return {"train": len(train), "test": len(test), "sha1": h.hexdigest()}


def check_same_data(ckpt, fingerprint, args):
    """``--resume`` must continue on the data the run was trained on."""
    theirs = ckpt.get("data_fingerprint")
    if theirs is not None and theirs != fingerprint:
        raise UsageError(
            f"--resume: the run in {args.out} was trained on other data ({theirs['train']:,} training and "
            f"{theirs['test']:,} test images, {_show('data', args.resumed_config.get('data'))}); this command "
            f"loads {fingerprint['train']:,} and {fingerprint['test']:,} ({_show('data', args.data)}). Resume "
            "on the same data, or start a new run with another --out")


def restore(ckpt, model, opt, args, path):
    """Load the checkpoint's model, optimizer and RNG state; apply a new --lr / --weight-decay (and say so)."""
    try:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise UsageError(f"--resume: {path} does not fit this LeNet-5 and --optimizer {args.optimizer} "
                         f"({str(e).splitlines()[0]})") from None
    ag.set_rng_state(ckpt["rng_state"])
    print(f"resumed from {path} after epoch {ckpt['epoch']}")
    for k in ("lr", "weight_decay"):
        if k in args.given:
            old = opt.param_groups[0][k]
            for group in opt.param_groups:
                group[k] = getattr(args, k)
            if old != getattr(args, k):
                print(f"--resume: {_show(k, getattr(args, k))} from the command line replaces the run's {old:g}")
        else:
            setattr(args, k, opt.param_groups[0][k])
    return ckpt["history"], ckpt["epoch"]


def checkpoint(model, opt, args, epoch, history, fingerprint):
    """What ``nn.save`` writes after each epoch: the states, and the settings ``--resume`` continues with."""
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "optimizer_name": args.optimizer,
            "epoch": epoch, "history": history, "rng_state": ag.get_rng_state(),
            "config": {k: getattr(args, k) for k in RUN_SETTINGS}, "data_fingerprint": fingerprint}


# --------------------------------------------------------------------------- the run

def main(argv=None):
    args = parse_args(argv)
    ckpt_path = prepare_out(args.out)
    ckpt = read_checkpoint(args, ckpt_path) if args.resume else None
    if ckpt is not None and ckpt["epoch"] >= args.epochs:
        print(f"nothing to do: the run in {args.out} is already done (its checkpoint is at epoch {ckpt['epoch']}, "
              f"and --epochs is {args.epochs}); pass a larger --epochs to train further")
        return ckpt["history"]["test_acc"][-1]
    run = None
    if args.distributed:  # see distributed_run.py
        from distributed_run import DistributedRun
        run = DistributedRun(args)
    ag.manual_seed(args.seed)
    train, test, name = load_data(args)
    fingerprint = data_fingerprint(train, test)
    if ckpt is not None:
        check_same_data(ckpt, fingerprint, args)
    train_loader = data.DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = data.DataLoader(test, batch_size=1000)
    if run:
        train_loader, test_loader = run.loaders(train, test)

    model = LeNet5()
    cls, _, extra = OPTIMIZERS[args.optimizer]
    opt = cls(model.parameters(), lr=args.lr, weight_decay=args.weight_decay, **extra)
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    first_epoch = 0
    if ckpt is not None:
        history, first_epoch = restore(ckpt, model, opt, args, ckpt_path)

    if args.profile:
        return profile_steps(model, opt, train_loader, args.profile, os.path.join(args.out, "trace.json"))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"LeNet-5 ({n_params:,} parameters) on {name}: {len(train):,} training and {len(test):,} test images; "
          f"{args.optimizer} lr={args.lr:g}, batch {args.batch_size}, epochs {first_epoch + 1}-{args.epochs}")
    net = run.wrap(model) if run else model  # DDP: the same parameters, backward averages their gradients
    start = time.perf_counter()
    for epoch in range(first_epoch, args.epochs):
        t0 = time.perf_counter()
        if run:
            run.set_epoch(epoch)
        loss, acc, speed = train_epoch(net, opt, train_loader, f"epoch {epoch + 1}/{args.epochs}",
                                       progress=not args.no_progress)
        test_loss, test_acc = evaluate(model, test_loader)
        if run:
            loss, acc, speed, test_loss, test_acc = run.combine(loss, acc, speed, test_loss, test_acc)
        for k, v in zip(history, (loss, acc, test_loss, test_acc)):
            history[k].append(v)
        if not run or run.writes:
            nn.save(checkpoint(model, opt, args, epoch + 1, history, fingerprint), ckpt_path)
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss:.4f}  train acc {acc:.4f}  test loss {test_loss:.4f}  "
              f"test acc {test_acc:.4f}  ({speed:.0f} img/s, {time.perf_counter() - t0:.1f} s)", flush=True)
    final = history["test_acc"][-1]
    print(f"test accuracy {final:.4f} after {len(history['test_acc'])} epochs "
          f"({time.perf_counter() - start:.1f} s this run); checkpoint: {ckpt_path}")
    if not args.no_plot:
        png = os.path.join(args.out, "history.png")
        if save_plot(history, png):
            print(f"plot: {png}")
        else:
            print("plot skipped: matplotlib is not installed (pip install matplotlib)")
    if not math.isfinite(history["train_loss"][-1]):
        raise SystemExit("training diverged (the loss is not finite): try a smaller --lr")
    return final


def cli(argv=None):
    """The command line: ``main``, with a user's mistake as one line and exit status 2, Ctrl-C as 130."""
    try:
        main(argv)
    except UsageError as e:
        print(f"train_lenet5.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # nn.save writes a temporary file and renames it: an interrupted save leaves the last checkpoint whole
        print("\ninterrupted: nothing of the unfinished epoch was saved; the checkpoint in --out (if any) keeps "
              "the last finished epoch, and --resume continues from it", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())
