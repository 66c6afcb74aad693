"""Helpers shared by the benchmark scripts (run as scripts from benchmarks/)."""

import platform

import numpy as np
from skimage import data
from skimage.transform import resize


def photo_crops(n_images, size, rng):
    """Random square crops of four scikit-image photos, resized to ``size``, as uint8."""
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    crops = []
    for i in range(n_images):
        photo = photos[i % len(photos)]
        side = rng.randint(min(photo.shape[:2]) // 4, min(photo.shape[:2]))
        top = rng.randint(0, photo.shape[0] - side + 1)
        left = rng.randint(0, photo.shape[1] - side + 1)
        crop = resize(photo[top:top + side, left:left + side], (size, size), anti_aliasing=True)
        crops.append((crop * 255).astype(np.uint8))
    return np.stack(crops)


def cpu_name():
    """The CPU's model name, as /proc/cpuinfo (or platform) reports it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
