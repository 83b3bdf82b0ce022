"""The neighbour graphs on approximate nearest neighbours (``model.embedding.neighbours``): the
same graphs as on exact ones within a stated tolerance, on real digits; which search ``auto``
picks; the refusals."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from reducers import load_mnist5k
from reducers import nearest as nearest_module
from reducers.checks import SettingError
from reducers.embedding_terms import TSNETerm, UMAPTerm
from reducers.nearest import EXACT_UP_TO, Neighbours, _others, _with_self, nearest, resolve
from reducers.neighbour_graphs import fuzzy_graph, tsne_graph

# The tolerance: on the 4,000 default digits pynndescent (umap-learn's settings) finds 0.996
# of the exact 15 nearest rows, and the approximate graphs move 0.0029 (UMAP's fuzzy graph) and
# 0.00001 (t-SNE's affinities) of the exact graphs' weight (measured 2026-12-04); allowed:
MIN_RECALL = 0.99
MAX_WEIGHT_MOVED = 0.01


@pytest.fixture(scope="module")
def approximate_and_exact():
    pytest.importorskip("pynndescent")
    x = load_mnist5k().x_train  # the 4,000 default digits
    return x, {how: (nearest(x, 15, how, with_self=True), fuzzy_graph(x, 15, how).matrix(),
                     tsne_graph(x, 30.0, how))
               for how in (Neighbours.exact, Neighbours.approximate)}


def test_approximate_neighbours_find_the_exact_ones(approximate_and_exact):
    x, graphs = approximate_and_exact
    (d_exact, i_exact), (d_approx, i_approx) = (graphs[Neighbours.exact][0],
                                                graphs[Neighbours.approximate][0])
    assert i_approx.shape == i_exact.shape == (len(x), 15)
    assert np.all(i_approx[:, 0] == np.arange(len(x))) and np.all(d_approx[:, 0] == 0)
    assert np.all(np.diff(d_approx, axis=1) >= 0)  # nearest first
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(i_exact, i_approx)])
    assert recall >= MIN_RECALL
    found = i_approx == i_exact  # where both found the same row, the same distance
    np.testing.assert_allclose(d_approx[found], d_exact[found], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", [1, 2], ids=["umap", "tsne"])
def test_approximate_graphs_are_the_exact_ones_within_the_tolerance(approximate_and_exact, kind):
    _, graphs = approximate_and_exact
    exact, approximate = graphs[Neighbours.exact][kind], graphs[Neighbours.approximate][kind]
    assert abs(approximate - approximate.T).max() < 1e-12  # symmetric still
    moved = abs(exact - approximate).sum() / exact.sum() / 2
    assert 0 <= moved <= MAX_WEIGHT_MOVED


def test_each_row_comes_first_among_its_own_neighbours():
    indices = np.array([[0, 2, 3], [2, 1, 0], [0, 1, 3]])  # row 1 behind a duplicate, 2 missing
    distances = np.array([[0., 1., 2.], [0., 0., 3.], [1., 2., 4.]])
    d, i = _with_self(*_others(distances, indices))
    np.testing.assert_array_equal(i, [[0, 2, 3], [1, 2, 0], [2, 0, 1]])
    np.testing.assert_array_equal(d, [[0., 1., 2.], [0., 0., 3.], [0., 1., 2.]])


def test_exact_search_is_scikit_learns(digits):
    x = digits.x_train[:300]
    ours = nearest(x, 5, Neighbours.exact, with_self=False)
    theirs = NearestNeighbors(n_neighbors=5).fit(x).kneighbors()
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(ours[0], theirs[0])
    with_self = nearest(x, 6, Neighbours.auto, with_self=True)  # itself at 0: umap-learn's rho
    np.testing.assert_array_equal(with_self[1], np.hstack([np.arange(300)[:, None], theirs[1]]))
    assert np.all(with_self[0][:, 0] == 0) and np.all(with_self[0][:, 1:] == theirs[0])


def test_auto_searches_exactly_up_to_the_crossing_and_approximately_above(monkeypatch):
    pytest.importorskip("pynndescent")
    assert resolve(Neighbours.auto, EXACT_UP_TO) is Neighbours.exact
    assert resolve("auto", EXACT_UP_TO + 1) is Neighbours.approximate
    assert resolve(Neighbours.exact, 10 ** 7) is Neighbours.exact
    monkeypatch.setattr(nearest_module, "has_pynndescent", lambda: False)
    assert resolve(Neighbours.auto, EXACT_UP_TO + 1) is Neighbours.exact  # and says so


@pytest.mark.parametrize("term", [TSNETerm, UMAPTerm])
def test_approximate_neighbours_without_pynndescent_are_refused_in_one_line(term, monkeypatch):
    import reducers.embedding_terms as terms

    monkeypatch.setattr(terms, "has_pynndescent", lambda: False)
    with pytest.raises(SettingError, match=r"^neighbours='approximate' is invalid: approximate "
                       r"nearest neighbours need pynndescent: pip install pynndescent"):
        term(neighbours="approximate")
    assert term(neighbours="auto").neighbours is Neighbours.auto
