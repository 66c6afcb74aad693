"""Fit AcceleratedP2PClassifier on an image folder; run under torchrun.

Used by tests/test_accelerate.py: every process writes what it saw to
``<output>/rank<k>.json`` so that the test can check the data was sharded
and the processes stayed in sync.

    torchrun --standalone --nproc_per_node 2 accelerate_fit.py FOLDER OUTPUT
"""

import json
import sys
from pathlib import Path


def main(folder, output):
    import numpy as np
    import torch
    from accelerate import Accelerator
    from skorch.callbacks import Callback

    from sklearn_p2p import AcceleratedP2PClassifier, SuperpixelTransformer
    from sklearn_p2p.datasets import ImageFolderDataset

    class CountBatches(Callback):
        def initialize(self):
            self.n_images = []
            return self

        def on_batch_end(self, net, batch=None, training=False, **kwargs):
            if training:
                self.n_images.append(len(batch[0]))

    counter = CountBatches()
    # Without a GPU, Accelerate runs several processes only with cpu=True.
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    clf = AcceleratedP2PClassifier(
        accelerator=accelerator,
        superpixels=SuperpixelTransformer(n_segments=8),
        max_epochs=2, batch_size=4, verbose=0, random_state=0,
        callbacks=[("count", counter)],
        iterator_train__num_workers=1,
    )
    dataset = ImageFolderDataset(folder)
    clf.fit(dataset)
    weights = torch.cat([p.detach().flatten() for p in clf.module_.parameters()])
    masks = clf.explain(dataset)
    proba = clf.predict_proba(dataset)
    report = {
        "rank": accelerator.process_index,
        "world_size": accelerator.num_processes,
        "distributed_type": str(accelerator.distributed_type),
        "images_per_epoch": sum(counter.n_images) // clf.max_epochs,
        "weights_sum": float(weights.double().sum()),
        "weights_abs_sum": float(weights.double().abs().sum()),
        "n_masks": int(len(masks)),
        "n_proba": int(len(proba)),
        "proba_finite": bool(np.isfinite(proba).all()),
    }
    path = Path(output) / f"rank{accelerator.process_index}.json"
    path.write_text(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:3])
