"""P2PClassifier on Hugging Face Accelerate: several GPUs or nodes, mixed precision.

skorch's :class:`~skorch.hf.AccelerateMixin` does the work (it prepares the
network, optimiser and DataLoaders with an ``accelerate.Accelerator``); this
module only fits P2P's own inference loops to it.
"""

import functools

from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin
from skorch.net import NeuralNet
from skorch.utils import to_tensor

from ._classifier import P2PClassifier
from ._skorch_compat import print_log_sink
from .utils._docstrings import fill_doc

__all__ = ["AcceleratedP2PClassifier"]


class AcceleratedP2PClassifier(AccelerateMixin, P2PClassifier):
    """P2PClassifier trained through Hugging Face Accelerate.

    For data-parallel training on several GPUs or machines (DDP, one process
    per device, each reading its share of every epoch) and for mixed
    precision, without a launcher of our own: write a script that fits the
    classifier and start it with ``accelerate launch`` (or ``torchrun``),
    e.g. ``accelerate launch --multi_gpu --num_processes 8 train.py``. On
    one device it runs as a plain script, e.g. for mixed precision alone.
    See the user guide, "Scaling up", for launch commands and what was
    tested.

    With several processes, ``predict`` and ``predict_proba`` split the
    images between them and gather the results, so every process gets all
    of them; ``explain`` and ``predict_proba_masked`` are not split: each
    process computes every image it is given.

    Parameters
    ----------
    *args
        ``module``, as for :class:`~sklearn_p2p.P2PClassifier`.
    accelerator : accelerate.Accelerator
        The Accelerator that decides devices, processes and precision, e.g.
        ``Accelerator(mixed_precision="bf16")``. On a CPU, ``"bf16"`` runs
        bfloat16 autocast and ``"fp16"`` falls back to float32 (Accelerate
        only enables float16 autocast on GPUs). The precision is the
        Accelerator's alone: the ``mixed_precision`` parameter of
        :class:`~sklearn_p2p.P2PClassifier` must stay ``"no"`` here (any
        other value raises a ValueError in ``fit`` and the inference
        methods), so that autocast and loss scaling are not applied twice.
    device : None, default=None
        Leave device placement to the Accelerator.
    unwrap_after_train : bool, default=True
        Restore the plain network after training, so that the classifier can
        be pickled and explain images (see skorch's AccelerateMixin).
    callbacks__print_log__sink : "auto" or callable, default="auto"
        Where the epoch table goes; ``"auto"`` prints it on the main process
        only (and not at all with ``verbose=0``).
    **kwargs
        Every parameter of :class:`~sklearn_p2p.P2PClassifier`.

    See Also
    --------
    P2PClassifier : The same classifier without Accelerate.
    skorch.hf.AccelerateMixin : The skorch integration this class uses.

    Examples
    --------
    >>> from accelerate import Accelerator
    >>> from sklearn_p2p import AcceleratedP2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = AcceleratedP2PClassifier(
    ...     accelerator=Accelerator(), superpixels=SuperpixelTransformer(n_segments=8),
    ...     max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> clf.explain(data.images[:2]).shape
    (2, 16, 16)
    """

    def _initialize_accelerator(self):
        # AccelerateMixin prepares every criterion module, and with several
        # processes DistributedDataParallel refuses one without trainable
        # parameters (the cross-entropy loss): prepare only those that have
        # some.
        all_criteria = self._criteria
        self._criteria = [
            name for name in all_criteria
            if any(p.requires_grad for p in getattr(self, name + "_").parameters())
        ]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = all_criteria

    @fill_doc
    def get_iterator(self, dataset, training=False):
        """The DataLoader prepared by Accelerate (a skorch hook).

        Parameters
        ----------
        %(iterator_params)s

        Returns
        -------
        iterator : iterable of batches
            skorch's DataLoader after ``accelerator.prepare``; in verbose
            inference (``verbose >= 2``) wrapped in a progress bar on the
            main process, after preparing, which needs the DataLoader itself.
        """
        iterator = self.accelerator.prepare(NeuralNet.get_iterator(self, dataset, training))
        return self._with_progress(iterator, training,
                                   shown=self.accelerator.is_main_process)

    def _initialize_callbacks(self):
        if self.callbacks__print_log__sink != "auto":
            return super()._initialize_callbacks()
        # AccelerateMixin prints the epoch table with accelerator.print (on
        # the main process only), which skorch's PrintLog does not silence
        # with verbose=0: use a sink that honours it.
        sink = functools.partial(_print_on_main_process, self.accelerator, bool(self.verbose))
        with print_log_sink(self, sink):
            return P2PClassifier._initialize_callbacks(self)

    def _check_mixed_precision(self):
        # Accelerate's autocast and GradScaler do the mixed precision; ours
        # on top would autocast twice and scale the loss twice.
        value = self.__dict__.get("mixed_precision", "no")
        if not (isinstance(value, str) and value == "no"):
            raise ValueError(
                f"The 'mixed_precision' parameter of {type(self).__name__} must be "
                f"'no' (got {value!r}): it takes its precision from its Accelerator. "
                "Pass accelerator=Accelerator(mixed_precision=...) instead "
                "('no', 'bf16' or 'fp16')."
            )
        super()._check_mixed_precision()

    def _inference_batches(self, dataset):
        # Explanations are per image and their region axis differs between
        # batches, so they are not gathered across processes: each process
        # explains every image, on its own device.
        for batch in self._with_progress(NeuralNet.get_iterator(self, dataset, training=False),
                                         training=False,
                                         shown=self.accelerator.is_main_process):
            Xi, _ = unpack_data(batch)
            yield to_tensor(Xi, device=self.accelerator.device)


def _print_on_main_process(accelerator, verbose, text):
    if verbose:
        accelerator.print(text)
