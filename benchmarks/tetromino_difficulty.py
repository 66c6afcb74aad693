"""How hard a make_tetrominoes task is: simple models and pattern-aware observers.

The numbers behind the signal-strength defaults and the "other sizes" notes
of :func:`sklearn_p2p.datasets.make_tetrominoes` (natural backgrounds,
64 x 64) come from this script. Each line prints the test accuracy of one
observer on one task, for each signal strength ``a`` given (or the
default), on the signal ``x = 2 * images - 1``:

* ``lr``: a logistic regression on the standardised pixels (1000 training
  and 1000 test images, drawn with the seeds ``--seeds``);
* ``lr_sq``: the same on the squared pixels (the multiplicative scenario
  changes the noise's energy, not its mean);
* ``mlp``: a one-hidden-layer MLP (64 units) on the standardised pixels;
* ``oracle``: an observer that knows the pattern geometry (2000 images,
  half to fit a 1-D logistic regression where one is needed): a matched
  filter prewhitened by the backgrounds' mean power spectrum (linear; the
  sign of the product of the T and L responses for xor; the larger maximum
  response over positions and turns for translations_rotations), or the log
  ratio of the energy on the T and on the L pixels (multiplicative).

Run, e.g.:

    .venv/bin/python benchmarks/tetromino_difficulty.py lr linear natural 64 0.03 0.05 0.1
    .venv/bin/python benchmarks/tetromino_difficulty.py lr linear natural 64 0.05 --seeds 2 3
    .venv/bin/python benchmarks/tetromino_difficulty.py oracle xor natural 64 0.05 0.1
    .venv/bin/python benchmarks/tetromino_difficulty.py lr_sq multiplicative white 8 0.7
"""

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_p2p.datasets import make_tetrominoes
from sklearn_p2p.datasets._tetrominoes import _SHAPES, _fixed_pattern, _paint, _rotated

N_ORACLE = 2000


def signal(n, **kwargs):
    data = make_tetrominoes(n, **kwargs)
    return 2.0 * data.images.astype(float) - 1.0, data.target, data.signal_strength


def model_accuracy(name, seeds, **task):
    make = {
        "lr": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "mlp": lambda: make_pipeline(StandardScaler(), MLPClassifier(
            (64,), max_iter=500, random_state=0)),
    }["mlp" if name == "mlp" else "lr"]
    feature = (lambda x: x ** 2) if name == "lr_sq" else (lambda x: x)
    x_train, y_train, a = signal(1000, random_state=seeds[0], **task)
    x_test, y_test, _ = signal(1000, random_state=seeds[1], **task)
    model = make().fit(feature(x_train.reshape(1000, -1)), y_train)
    return a, model.score(feature(x_test.reshape(1000, -1)), y_test)


def whitener(background, size):
    """Filter by the inverse square root of the backgrounds' mean power spectrum."""
    b, _, _ = signal(N_ORACLE, image_size=size, background=background, signal_strength=0.0,
                     random_state=99)
    power = (np.abs(np.fft.fft2(b)) ** 2).mean(axis=0)
    w = np.where(power > 1e-12 * power.max(), 1.0 / np.sqrt(np.maximum(power, 1e-300)), 0.0)
    return lambda x: np.real(np.fft.ifft2(np.fft.fft2(x) * w))


def half_split_accuracy(features, y):
    half = len(y) // 2
    model = LogisticRegression(max_iter=1000).fit(features[:half], y[:half])
    return model.score(features[half:], y[half:])


def oracle_accuracy(seeds, scenario, background, image_size, signal_strength):
    size = image_size
    x, y, a = signal(N_ORACLE, image_size=size, background=background, scenario=scenario,
                     signal_strength=signal_strength, random_state=seeds[0])
    white = whitener(background, size)
    t, l = _fixed_pattern("T", size), _fixed_pattern("L", size)
    if scenario == "multiplicative":
        ratios = [np.log((img ** 2 * t).sum(axis=(1, 2)) / (img ** 2 * l).sum(axis=(1, 2)))
                  for img in (x, white(x))]
        return a, max(half_split_accuracy(r[:, None], y) for r in ratios)
    xw = white(x)
    if scenario in ("linear", "xor"):
        ft = (xw * white(t[None])[0]).sum(axis=(1, 2))
        fl = (xw * white(l[None])[0]).sum(axis=(1, 2))
        if scenario == "linear":
            return a, half_split_accuracy(np.stack([ft, fl], 1), y)
        return a, np.mean((ft * fl > 0) == (y == 1))
    cell = size // 8
    best = []
    for name in ("T", "L"):
        response = np.full(N_ORACLE, -np.inf)
        for turns in range(4):
            cells = _rotated(_SHAPES[name], turns)
            template = np.zeros((size, size))
            _paint(template, cells, 0, 0, cell)
            tw = white(template[None])[0]
            corr = np.real(np.fft.ifft2(np.fft.fft2(xw) * np.conj(np.fft.fft2(tw))))
            h, w = (cells.max(axis=0) + 1) * cell
            corr = corr[:, : size - h + 1, : size - w + 1].reshape(N_ORACLE, -1)
            response = np.maximum(response, corr.max(axis=1) / np.sqrt((tw ** 2).sum()))
        best.append(response)
    return a, np.mean((best[1] > best[0]) == (y == 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("observer", choices=["lr", "lr_sq", "mlp", "oracle"])
    parser.add_argument("scenario")
    parser.add_argument("background")
    parser.add_argument("image_size", type=int)
    parser.add_argument("strengths", type=float, nargs="*")
    parser.add_argument("--seeds", type=int, nargs=2, default=[0, 1],
                        help="training and test seeds (the oracle uses the first)")
    args = parser.parse_args(argv)
    for a in args.strengths or [None]:
        task = dict(scenario=args.scenario, background=args.background,
                    image_size=args.image_size, signal_strength=a)
        if args.observer == "oracle":
            a_used, accuracy = oracle_accuracy(args.seeds, **task)
        else:
            a_used, accuracy = model_accuracy(args.observer, args.seeds, **task)
        print(f"{args.observer:6s} {args.scenario:22s} {args.background:8s} "
              f"{args.image_size:3d} a={a_used:<7g} test accuracy {accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
