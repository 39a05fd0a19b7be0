"""The latent-arithmetic directions' logistic regression: scikit-learn's objective, solved without scikit-learn."""
import numpy as np
import pytest

from sentae.generation.logistic import fit_logistic


def _objective(w, b, x, y, C):
    n, n_pos = len(y), y.sum()
    s = np.where(y > 0, n / (2 * n_pos), n / (2 * (n - n_pos)))
    margins = (2 * y - 1) * (x @ w + b)
    return 0.5 * w @ w + C * (s * np.logaddexp(0, -margins)).sum()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 9))
    y = (x[:, 0] - 0.5 * x[:, 3] + rng.normal(size=500) > 0.8).astype(float)  # unbalanced: about a quarter
    return x, y


def test_minimises_the_balanced_l2_objective(data):
    x, y = data
    w, b = fit_logistic(x, y, C=10.0)
    best = _objective(w, b, x, y, 10.0)
    rng = np.random.default_rng(1)
    for _ in range(20):  # no nearby point is better: a minimum, not just a stop
        dw, db = rng.normal(scale=1e-3, size=w.shape), rng.normal(scale=1e-3)
        assert _objective(w + dw, b + db, x, y, 10.0) >= best - 1e-9
    assert w[0] > 0 > w[3] and abs(w[0]) > 3 * abs(w[1])


def test_matches_scikit_learn_where_installed(data):
    sklearn = pytest.importorskip("sklearn.linear_model")
    x, y = data
    ref = sklearn.LogisticRegression(max_iter=5000, C=10.0, class_weight="balanced", tol=1e-8).fit(x, y)
    w, b = fit_logistic(x, y, C=10.0)
    np.testing.assert_allclose(w, ref.coef_[0], atol=1e-4)
    assert b == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="0/1"):
        fit_logistic(np.zeros((3, 2)), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic(np.zeros((3, 2)), np.ones(3))
