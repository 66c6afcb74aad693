"""torch.compile through skorch's ``compile`` parameter."""

import numpy as np
import torch


def test_compiled_network_gives_the_uncompiled_results(tiny_data, make_p2p):
    """The "eager" backend runs dynamo's graph capture (with the graph break at
    the data-dependent region count) without code generation, so it is quick
    and must not change a single output."""
    plain = make_p2p(max_epochs=2).fit(tiny_data.images, tiny_data.target)
    compiled = make_p2p(max_epochs=2, compile=True, compile__backend="eager")
    compiled.fit(tiny_data.images, tiny_data.target)
    assert isinstance(compiled.module_, torch._dynamo.eval_frame.OptimizedModule)
    np.testing.assert_allclose(compiled.history[:, "train_loss"], plain.history[:, "train_loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(compiled.predict_proba(tiny_data.images),
                               plain.predict_proba(tiny_data.images), atol=1e-6)
    np.testing.assert_array_equal(compiled.explain(tiny_data.images[:6]),
                                  plain.explain(tiny_data.images[:6]))


def test_the_temperature_schedule_does_not_recompile(tiny_data, make_p2p):
    """The temperature changes every epoch; passed as a float, dynamo would
    specialise on it and compile new graphs every epoch."""
    graphs = {}
    for epochs in (2, 4):
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        make_p2p(max_epochs=epochs, compile=True, compile__backend="eager").fit(
            tiny_data.images, tiny_data.target)
        graphs[epochs] = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    assert graphs[2] > 0
    assert graphs[4] == graphs[2]
