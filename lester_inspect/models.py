"""Small scikit-learn compatible estimators backed by PyTorch.

PyTorch is imported lazily inside the methods that need it, so importing this
module (and :mod:`lester_inspect`) stays cheap.
"""

import contextlib
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

__all__ = ["TorchMLPClassifier", "one_torch_thread"]


@contextlib.contextmanager
def one_torch_thread():
    """Torch operations inside run on one intra-op thread (if torch is loaded); the caller's count is restored.

    Small operations (a step on a mini-batch, a gradient over a few rows) take microseconds, and each one
    run on several threads waits for all of them; on a busy machine that wait is a scheduler slice (the
    credit card example at 100k mails: 169 s CPU on 2 threads at load 9, 11 s on one).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


_PREDICT_ROWS = 8192


def _to_dense_float32(X):
    """Return ``X`` as a C-contiguous dense float32 numpy array."""
    if sp.issparse(X):
        X = X.astype(np.float32).toarray()
    return np.ascontiguousarray(X, dtype=np.float32)


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained with PyTorch.

    A feed-forward network with ReLU hidden layers, trained with Adam on the
    cross-entropy loss in shuffled mini-batches. It handles binary and
    multiclass targets and follows the scikit-learn estimator API, so it can be
    the last step of a :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(16,)
        Number of units of each hidden layer.
    epochs : int, default=10
        Number of passes over the training data.
    batch_size : int, default=64
        Number of samples per gradient step.
    learning_rate : float, default=1e-2
        Learning rate of the Adam optimiser.
    random_state : int, default=0
        Seed of the weight initialisation and of the mini-batch shuffling.
        Fitting twice with the same seed gives identical models.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during :meth:`fit`.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    module_ : torch.nn.Module
        The trained network; it maps features to one logit per class.

    Notes
    -----
    Input may be a numpy array, a pandas DataFrame or a scipy sparse matrix;
    it is converted to a dense float32 array. Features are used as given, so
    scale them first (for example with a
    :class:`~sklearn.preprocessing.StandardScaler`). Training runs on one
    thread (small mini-batches are slower on several); the global torch random
    state and thread count are left untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from lester_inspect.models import TorchMLPClassifier
    >>> X = np.array([[0.0, 0.0], [0.1, 0.2], [1.0, 1.0], [0.9, 1.1]] * 25)
    >>> y = np.array([0, 0, 1, 1] * 25)
    >>> clf = TorchMLPClassifier(epochs=20, batch_size=16).fit(X, y)
    >>> clf.predict([[0.05, 0.1], [0.95, 1.0]])
    array([0, 1])
    >>> clf.predict_proba([[0.0, 0.0]]).shape
    (1, 2)
    """

    def __init__(
        self,
        hidden_layer_sizes=(16,),
        epochs=10,
        batch_size=64,
        learning_rate=1e-2,
        random_state=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y):
        """Train the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target labels.

        Returns
        -------
        self : TorchMLPClassifier
            The fitted estimator.
        """
        import torch

        X, y = check_X_y(X, y, accept_sparse=True, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "TorchMLPClassifier needs samples of at least 2 classes, but the "
                f"data contains only one class: {self.classes_[0]!r}."
            )
        self.n_features_in_ = X.shape[1]
        features = torch.from_numpy(_to_dense_float32(X))
        targets = torch.from_numpy(y_encoded.astype(np.int64))

        seed = int(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.module_ = self._build_module(torch, len(self.classes_))
        generator = torch.Generator().manual_seed(seed)
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.learning_rate)
        loss_function = torch.nn.CrossEntropyLoss()

        self.module_.train()
        n_samples = features.shape[0]
        with one_torch_thread():
            for _ in range(self.epochs):
                order = torch.randperm(n_samples, generator=generator)
                for start in range(0, n_samples, self.batch_size):
                    batch = order[start : start + self.batch_size]
                    optimiser.zero_grad()
                    loss = loss_function(self.module_(features[batch]), targets[batch])
                    loss.backward()
                    optimiser.step()
        self.module_.eval()
        return self

    def _build_module(self, torch, n_classes):
        layers = []
        width = self.n_features_in_
        for size in self.hidden_layer_sizes:
            layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
            width = size
        layers.append(torch.nn.Linear(width, n_classes))
        return torch.nn.Sequential(*layers)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, columns ordered as ``classes_``.
        """
        import torch

        check_is_fitted(self)
        X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but TorchMLPClassifier is expecting "
                f"{self.n_features_in_} features as input."
            )
        proba = np.empty((X.shape[0], len(self.classes_)))
        # In blocks of rows: a large sparse matrix is never dense all at once (200k rows of the credit
        # card example: 264 MB as float64), and each block stays in the cache.
        with torch.no_grad():
            for start in range(0, X.shape[0], _PREDICT_ROWS):
                logits = self.module_(torch.from_numpy(_to_dense_float32(X[start : start + _PREDICT_ROWS])))
                proba[start : start + _PREDICT_ROWS] = torch.softmax(logits, dim=1).numpy()
        return proba

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The most probable class of each sample.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
