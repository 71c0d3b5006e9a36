"""A tiny model trained with nothing but the core engine.

A two-layer MLP learns a two-class spiral; parameters are plain tensors with
requires_grad=True and the update is written by hand, so every step of
training is visible: forward, loss, backward, update, zero the gradients.

    python examples/train_demo.py [--steps 300] [--seed 0]
"""

import argparse
import time

import numpy as np

import autograd_core as ag


def spiral(n, rng):
    """Two interleaved spirals: a problem no linear model separates."""
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    label = rng.integers(0, 2, n)
    r = t / (3 * np.pi)
    angle = t + np.pi * label
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + rng.normal(0, 0.02, (n, 2))
    return x.astype(np.float32), label


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    ag.manual_seed(args.seed)
    x_train, y_train = spiral(1000, rng)
    x_test, y_test = spiral(500, rng)
    x, xt = ag.tensor(x_train), ag.tensor(x_test)
    onehot = ag.tensor(np.eye(2, dtype=np.float32)[y_train])

    h = args.hidden
    w1 = (ag.randn(2, h) * np.sqrt(2 / 2)).requires_grad_()
    b1 = ag.zeros(h, requires_grad=True)
    w2 = (ag.randn(h, h) * np.sqrt(2 / h)).requires_grad_()
    b2 = ag.zeros(h, requires_grad=True)
    w3 = (ag.randn(h, 2) * np.sqrt(1 / h)).requires_grad_()
    b3 = ag.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2, w3, b3]

    def model(inp):
        z = (inp @ w1 + b1).relu()
        z = (z @ w2 + b2).relu()
        return z @ w3 + b3

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        logits = model(x)
        loss = -(onehot * logits.log_softmax(1)).sum(1).mean()   # cross-entropy
        loss.backward()
        with ag.no_grad():
            for p_ in params:
                p_ -= args.lr * p_.grad
                p_.grad = None
        if step % 50 == 0 or step == 1:
            acc = float((logits.argmax(1).numpy() == y_train).mean())
            print(f"step {step:4d}  loss {loss.item():.4f}  train accuracy {acc:.3f}")
    with ag.no_grad():
        test_acc = float((model(xt).argmax(1).numpy() == y_test).mean())
    print(f"test accuracy {test_acc:.3f}  ({time.perf_counter() - start:.1f} s)")
    return test_acc


if __name__ == "__main__":
    main()
