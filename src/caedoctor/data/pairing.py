"""How a target relates to its own input, pixel by pixel: the pixel noise each carries, whether the target
carries the input's own noise, and whether it is the input moved by an augmentation the other never got.

A denoising autoencoder learns a map from a noisy input to its clean target; an augmented one from each
augmented input to the same augmentation of its target. Two set-up faults break that map without any error:

- **A target that carries the input's noise** (`fit(noisy, noisy_in_another_way)`, noise added before the
  pairing in a `tf.data` pipeline): the model is asked to reproduce white noise it cannot predict through a
  bottleneck, and its loss floors at the noise's variance. Read by `noise_sigma` (the pixel noise of each
  image, Immerkaer's estimator) and `residual_correlation` (whether the target's finest-scale residual is the
  input's: the same noise draw).
- **Augmentation on one side only, or with different random draws** (`ds.map(lambda x: (augment(x), x))`,
  or `augment` called twice): the target is the input flipped, rotated or shifted by a transform the model
  cannot know, and the best it can do is the blurry average of the possibilities. Read by `alignment`: for
  each pair, how much better the target matches its input after one of the image's symmetries (flips, 90-degree
  turns) and a shift of up to `MAX_SHIFT` pixels than as it is.

`align` and `smooth` undo each, for the counterfactual probes (`caedoctor.fixes.data_fixes`).
"""

from __future__ import annotations

import math

import numpy as np

MAX_SHIFT = 4  # pixels: random crops of a padded image (4 for CIFAR) and random translations move this far
THUMB = 32  # alignment is read on channel-mean thumbnails of at most THUMB x THUMB pixels


def gray(batch: np.ndarray) -> np.ndarray:
    """(n, H, W) float64: the channel mean of an (n, H, W, C) batch."""
    return np.asarray(batch, np.float64).mean(axis=-1)


def _laplacian(b: np.ndarray) -> np.ndarray:
    """Immerkaer's 3x3 mask (the difference of two Laplacians), which cancels smooth image structure."""
    return (b[:, :-2, :-2] - 2 * b[:, :-2, 1:-1] + b[:, :-2, 2:]
            - 2 * b[:, 1:-1, :-2] + 4 * b[:, 1:-1, 1:-1] - 2 * b[:, 1:-1, 2:]
            + b[:, 2:, :-2] - 2 * b[:, 2:, 1:-1] + b[:, 2:, 2:])


def noise_sigma(batch: np.ndarray) -> np.ndarray:
    """Per image, the standard deviation of its pixel noise (on the channel mean), by Immerkaer's estimator
    (J. Immerkaer, "Fast noise variance estimation", CVIU 1996): sqrt(pi/2) / 6 times the mean absolute
    response to the mask. Fine texture reads as a little noise; a clean photograph reads far below an image
    with added white noise of the same range. NaN for images smaller than 3x3."""
    b = gray(batch)
    if b.shape[1] < 3 or b.shape[2] < 3:
        return np.full(len(b), math.nan)
    return math.sqrt(math.pi / 2) / 6 * np.abs(_laplacian(b)).mean(axis=(1, 2))


def residual_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per pair, the correlation of the input's and the target's finest-scale residuals (the mask response):
    near 1 when the target carries the very noise of its input, near 0 when its noise is its own draw, in
    between for a clean target (the residual it shares is texture alone)."""
    rx, ry = (_laplacian(gray(a)).reshape(len(a), -1) for a in (x, y))
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    norm = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (rx * ry).sum(axis=1) / norm, np.nan)


def affine_residual(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per pair, how far the target is from its input rescaled: the std of `y - (a x + b)` (least squares, on
    the channel means) over the std of `y`. 0 for a target that is its input, or its input times 255; NaN for
    a constant target."""
    gx, gy = (gray(a).reshape(len(a), -1) for a in (x, y))
    cx = gx - gx.mean(axis=1, keepdims=True)
    cy = gy - gy.mean(axis=1, keepdims=True)
    vx, vy = (cx * cx).sum(axis=1), (cy * cy).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(vx > 0, (cx * cy).sum(axis=1) / vx, 0.0)
        rest = cy - slope[:, None] * cx
        return np.where(vy > 0, np.sqrt((rest * rest).sum(axis=1) / vy), np.nan)


# The image's symmetries, as (name, function on (n, H, W[, C]) arrays); the turns only for square images.
def _symmetries(square: bool) -> list:
    out = [("identity", lambda a: a), ("flip left-right", lambda a: a[:, :, ::-1]),
           ("flip up-down", lambda a: a[:, ::-1, :]), ("turn 180", lambda a: a[:, ::-1, ::-1])]
    if square:
        out += [("turn 90", lambda a: np.rot90(a, 1, axes=(1, 2))), ("turn 270", lambda a: np.rot90(a, 3, axes=(1, 2))),
                ("transpose", lambda a: np.swapaxes(a, 1, 2)),
                ("anti-transpose", lambda a: np.rot90(np.swapaxes(a, 1, 2), 2, axes=(1, 2)))]
    return out


def _thumbs(batch: np.ndarray) -> tuple:
    """(centred unit-length channel-mean thumbnails (n, h, w), pooling factor)."""
    b = gray(batch)
    h, w = b.shape[1:3]
    f = max(-(-h // THUMB), -(-w // THUMB))
    b = b[:, : h // f * f, : w // f * f]
    b = b.reshape(len(b), h // f, f, w // f, f).mean(axis=(2, 4))
    b = b - b.mean(axis=(1, 2), keepdims=True)
    norm = np.sqrt((b * b).sum(axis=(1, 2), keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, b / norm, 0.0), f


def alignment(x: np.ndarray, y: np.ndarray) -> dict:
    """Per pair, how well the target matches its input as it is and after the best symmetry and shift.

    Correlations of the channel-mean thumbnails over every circular shift at once (by FFT), for each of the
    image's symmetries applied to the target; shifts of up to `MAX_SHIFT` thumbnail pixels. Returns arrays:
    `as_is` (the correlation of the pair as given), `best` (after the best symmetry and shift), `symmetry` (its
    index in the symmetries, 0 for identity), `shift` ((n, 2): rows and columns, in input pixels), and `names`
    (the symmetries' names).
    """
    tx, f = _thumbs(x)
    ty, _ = _thumbs(y)
    n, h, w = tx.shape
    r = min(MAX_SHIFT, h // 4, w // 4)
    offsets = np.r_[0:r + 1, h - r:h] if h > 2 * r else np.arange(h)
    offsets_w = np.r_[0:r + 1, w - r:w] if w > 2 * r else np.arange(w)
    fx = np.fft.rfft2(tx)
    symmetries = _symmetries(h == w)
    best = np.full(n, -np.inf)
    which = np.zeros(n, int)
    shift = np.zeros((n, 2), int)
    as_is = (tx * ty).sum(axis=(1, 2))
    for k, (_, move) in enumerate(symmetries):
        corr = np.fft.irfft2(fx * np.conj(np.fft.rfft2(move(ty))), s=(h, w))  # corr[:, i, j] = <x, roll(Ty, (i, j))>
        window = corr[:, offsets][:, :, offsets_w].reshape(n, -1)
        at = window.argmax(axis=1)
        value = window[np.arange(n), at]
        better = value > best + 1e-9
        best = np.where(better, value, best)
        which = np.where(better, k, which)
        i, j = offsets[at // len(offsets_w)], offsets_w[at % len(offsets_w)]
        di, dj = np.where(i > h // 2, i - h, i), np.where(j > w // 2, j - w, j)
        shift[better] = np.stack([di, dj], axis=1)[better] * f
    return {"as_is": as_is, "best": best, "symmetry": which, "shift": shift,
            "names": [name for name, _ in symmetries]}


def align(x: np.ndarray, y: np.ndarray, min_gain: float) -> np.ndarray:
    """The targets moved back onto their inputs: each target whose best symmetry and shift (`alignment`) beats
    its correlation as given by at least `min_gain` gets that symmetry and (circular) shift; the others are kept
    as they are. Same shape and dtype as `y`."""
    found = alignment(x, y)
    out = np.array(y, copy=True)
    symmetries = _symmetries(y.shape[1] == y.shape[2])
    for n in np.flatnonzero(found["best"] - found["as_is"] >= min_gain):
        moved = symmetries[found["symmetry"][n]][1](y[n:n + 1])[0]
        out[n] = np.roll(moved, tuple(int(s) for s in found["shift"][n]), axis=(0, 1))
    return out


def smooth(y: np.ndarray) -> np.ndarray:
    """Each image blurred by a 5x5 binomial kernel ([1, 4, 6, 4, 1] / 16 along each axis; edges repeated):
    white pixel noise drops to 27% of its standard deviation, shapes and edges stay. The counterfactual of a
    target without its pixel noise, where the clean image is not at hand."""
    kernel = np.array([1, 4, 6, 4, 1], np.float64) / 16
    a = np.asarray(y, np.float64)
    for axis in (1, 2):
        padded = np.pad(a, [(2, 2) if d == axis else (0, 0) for d in range(a.ndim)], mode="edge")
        length = a.shape[axis]
        a = sum(kernel[k] * np.take(padded, range(k, k + length), axis=axis) for k in range(5))
    return a.astype(np.asarray(y).dtype)
