import numpy as np
import pytest

from lester_inspect.models import TorchMLPClassifier

torch = pytest.importorskip("torch")


class ThreadRecordingClassifier(TorchMLPClassifier):
    """Records the intra-op thread count at every forward pass of its network."""

    def _build_module(self, torch, n_classes):
        module = super()._build_module(torch, n_classes)
        self.threads_seen_ = []
        module.register_forward_pre_hook(lambda *_: self.threads_seen_.append(torch.get_num_threads()))
        return module


def test_training_runs_on_one_thread_and_leaves_the_callers_thread_count():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        model = ThreadRecordingClassifier(epochs=2, batch_size=50).fit(X, y)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert model.threads_seen_ == [1] * 8  # 2 epochs of 4 mini-batches
