"""Neighbour-embedding objectives (``model/embedding=tsne|umap``): the terms against hand
computations, finite differences and the reference implementations (scikit-learn's t-SNE,
umap-learn's graph), and the models that train with them, on real digits."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import squareform
from sklearn.manifold._t_sne import _joint_probabilities, _joint_probabilities_nn, _kl_divergence
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

from experiments.embed import embed
from experiments.runtime import build
from experiments.train import train
from reducers import MLP, VAE, Autoencoder, Conv
from reducers.augment import Augment
from reducers.embedding_losses import (curve_parameters, other_rows, tsne_divergence,
                                       umap_batch_cross_entropy, umap_cross_entropy)
from reducers.embedding_terms import Edges, NeighbourTerm, TSNETerm, UMAPTerm
from reducers.errors import ConfigError
from reducers.neighbour_graphs import calibrate, fuzzy_graph, tsne_graph
from tests.helpers import TINY, fit, stopped_then_resumed

TERMS = {"tsne": TSNETerm, "umap": UMAPTerm}


@pytest.mark.parametrize("perplexity", [5.0, 30.0])
def test_each_conditional_has_the_perplexity(perplexity, digits):
    x = torch.from_numpy(digits.x_train[:200]).double()
    d = torch.cdist(x, x).pow(2).fill_diagonal_(math.inf)
    p = calibrate(d, perplexity)
    entropy = -torch.xlogy(p, p).sum(1)
    np.testing.assert_allclose(torch.exp(entropy).numpy(), perplexity, rtol=1e-4)
    assert torch.all(p.diagonal() == 0) and torch.allclose(p.sum(1), torch.ones(200).double())
    # the exact (dense) t-SNE affinities are these, symmetrised: as scikit-learn's
    theirs = squareform(_joint_probabilities(pairwise_distances(x.numpy(), squared=True),
                                             perplexity, 0))
    np.testing.assert_allclose(((p + p.T) / 400).numpy(), theirs, rtol=1e-4, atol=1e-12)


def test_the_sparse_tsne_graph_matches_scikit_learns_barnes_hut_affinities(digits):
    x = digits.x_train[:400].astype(np.float64)
    ours = tsne_graph(x, 10.0)
    knn = NearestNeighbors(n_neighbors=31).fit(x).kneighbors_graph(mode="distance")
    knn.data **= 2
    theirs = _joint_probabilities_nn(knn, 10.0, 0)
    assert abs(ours - theirs).max() < 2e-5 * theirs.max()  # scikit-learn searches in float32
    assert ours.sum() == pytest.approx(1) and abs(ours - ours.T).max() == 0


def test_tsne_divergence_of_a_hand_computed_case():
    p = torch.tensor([[0, .2, .1], [.2, 0, .2], [.1, .2, 0]], dtype=torch.float64)
    z = torch.tensor([[0., 0.], [1., 0.], [0., 2.]], dtype=torch.float64)
    # w = 1 / (1 + d^2): pairs (0,1) d^2=1 -> 1/2, (0,2) d^2=4 -> 1/5, (1,2) d^2=5 -> 1/6
    w = {(0, 1): 1 / 2, (0, 2): 1 / 5, (1, 2): 1 / 6}
    total = 2 * sum(w.values())
    by_hand = sum(2 * p[i, j].item() * math.log(p[i, j].item() / (w[i, j] / total))
                  for i, j in w)
    assert tsne_divergence(p, z).item() == pytest.approx(by_hand, rel=1e-12)


def test_tsne_divergence_and_gradient_match_scikit_learn_and_finite_differences(digits):
    x = torch.from_numpy(digits.x_train[:60]).double()
    p = torch.from_numpy(tsne_graph(x.numpy(), 10.0).toarray())
    z = torch.randn(60, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0),
                    requires_grad=True)
    kl = tsne_divergence(p, z)
    kl.backward()
    theirs, grad = _kl_divergence(z.detach().numpy().ravel(), squareform(p.numpy(),
                                  checks=False), 1, 60, 2)
    assert kl.item() == pytest.approx(theirs, rel=1e-6)
    np.testing.assert_allclose(z.grad.numpy().ravel(), grad, rtol=1e-6, atol=1e-12)
    small = torch.from_numpy(tsne_graph(x[:12].numpy(), 3.0).toarray())
    assert torch.autograd.gradcheck(lambda z: tsne_divergence(small, z),
                                    (z.detach()[:12].clone().requires_grad_(),))


def test_the_kernels_degree_of_freedom_and_the_exaggeration():
    p = torch.tensor([[0, .2, .1], [.2, 0, .2], [.1, .2, 0]], dtype=torch.float64)
    z = torch.tensor([[0., 0.], [1., 0.], [0., 2.]], dtype=torch.float64)
    d = torch.cdist(z, z).pow(2)
    off = ~torch.eye(3, dtype=torch.bool)

    def kl(w):  # KL(P || Q) of a kernel's similarities w (3, 3), by the definition
        q = w[off] / w[off].sum()
        return (p[off] * torch.log(p[off] / q)).sum().item()
    for dof in (0.5, 1.0, 3.0):  # Kobak et al.'s kernel (1 + d / dof)^-dof
        assert tsne_divergence(p, z, dof=dof).item() == pytest.approx(
            kl((1 + d / dof) ** -dof), rel=1e-12)
    # a large degree of freedom is SNE's Gaussian exp(-d); heavier tails lower the similarity
    # of far pairs less, so the same codes are more separate for dof < 1
    assert tsne_divergence(p, z, dof=1e6).item() == pytest.approx(kl(torch.exp(-d)), rel=1e-5)
    # exaggeration rho: rho x the attraction -sum p log w, the normaliser left as it is
    attraction = -(p[off] * torch.log(1 / (1 + d[off]))).sum().item()
    assert tsne_divergence(p, z, exaggeration=4).item() == pytest.approx(
        tsne_divergence(p, z).item() + 3 * attraction, rel=1e-12)


def test_the_batch_cross_entropy_is_the_expectation_of_sampled_edges(digits):
    """Every edge among m rows, each row repelled from all the others, gives what sampling
    edges by weight, each with negative_rate random other rows, gives on average (UMAP's SGD,
    as the sampled term); 64 random others per row give it too, on average."""
    generator = torch.Generator().manual_seed(0)
    graph = fuzzy_graph(digits.x_train[:60], 5)
    edges = [torch.from_numpy(v) for v in (graph.heads, graph.tails, graph.weights)]
    z = torch.randn(60, 2, dtype=torch.float64, generator=generator)
    a, b = curve_parameters(0.1)
    everyone = other_rows(60, 59)
    assert sorted(everyone[7].tolist()) == [i for i in range(60) if i != 7]
    exact = umap_batch_cross_entropy(*edges, z, everyone, a, b, negative_rate=3).item()
    m = 400_000  # sampled edges
    picked = torch.multinomial(edges[2], m, replacement=True, generator=generator)
    heads, tails = edges[0][picked], edges[1][picked]
    others = torch.randint(59, (3, m), generator=generator)  # any row but the head itself
    others = (others + (others >= heads)).ravel()
    sampled = umap_cross_entropy(z[heads], z[tails], z[others], a, b).item()
    assert sampled == pytest.approx(exact, rel=0.01)
    torch.manual_seed(0)
    some = [umap_batch_cross_entropy(*edges, z, other_rows(60, 16), a, b, 3).item()
            for _ in range(400)]
    assert np.mean(some) == pytest.approx(exact, rel=0.01)
    small = [t[edges[0] < 12] for t in edges]
    keep = small[1] < 12
    assert torch.autograd.gradcheck(
        lambda z: umap_batch_cross_entropy(*(t[keep] for t in small), z, other_rows(12, 11),
                                           a, b, 3), (z[:12].clone().requires_grad_(),))
    # no edge among the rows: no term
    none = torch.zeros(0, dtype=torch.long)
    assert umap_batch_cross_entropy(none, none, torch.zeros(0).double(), z[:4],
                                    other_rows(4, 3), a, b, 3).item() == 0


def test_umap_graph_is_symmetric_in_0_1_and_matches_umap_learn(digits):
    x = digits.x_train[:500]
    graph = fuzzy_graph(x, 15)
    a = graph.matrix()
    assert abs(a - a.T).max() == 0
    assert graph.weights.min() > 0 and graph.weights.max() <= 1
    assert np.all(graph.heads != graph.tails) and a.shape == (500, 500)
    # UMAP's local connectivity: each row's nearest other row is a full member (rho is the
    # distance to it, not to the row itself)
    np.testing.assert_allclose(a.max(axis=1).toarray().ravel(), 1.0)
    umap = pytest.importorskip("umap.umap_")
    distances, indices = NearestNeighbors(n_neighbors=14).fit(x).kneighbors()
    indices = np.hstack([np.arange(500)[:, None], indices])  # itself first, at distance 0, as
    distances = np.hstack([np.zeros((500, 1)), distances])  # umap-learn's own search gives it
    reference, _, _ = umap.fuzzy_simplicial_set(x, 15, 0, "euclidean", knn_indices=indices,
                                                knn_dists=distances)
    assert reference.nnz == a.nnz
    assert abs(reference - a).max() < 1e-5  # umap-learn computes in float32
    assert curve_parameters(0.1) == pytest.approx(umap.find_ab_params(1.0, 0.1), rel=1e-6)


def test_umap_cross_entropy_of_a_hand_computed_case():
    a, b = 1.5, 0.9
    heads = torch.tensor([[0., 0.], [1., 1.]], dtype=torch.float64)
    tails = torch.tensor([[0., 1.], [1., 3.]], dtype=torch.float64)
    negatives = torch.tensor([[2., 0.], [1., 1.], [0., 2.], [3., 1.]], dtype=torch.float64)

    def q(u, v):
        return 1 / (1 + a * sum((ui - vi) ** 2 for ui, vi in zip(u, v)) ** b)
    h, t, n = heads.tolist(), tails.tolist(), negatives.tolist()
    attract = -math.log(q(h[0], t[0])) - math.log(q(h[1], t[1]))
    # negatives pair with heads 0, 1, 0, 1; head 1 with (1, 1) is at distance 0: q = 1 clipped
    repel = -math.log(1 - q(h[0], n[0])) - math.log(1e-4) - math.log(1 - q(h[0], n[2])) \
        - math.log(1 - q(h[1], n[3]))
    ours = umap_cross_entropy(heads, tails, negatives, a, b).item()
    assert ours == pytest.approx((attract + repel) / 2, rel=1e-9)
    args = [t.clone().requires_grad_() for t in (heads, tails, negatives[[0, 3]])]
    assert torch.autograd.gradcheck(lambda *t: umap_cross_entropy(*t, a, b), args)


SHAPES = {"umap": UMAPTerm(weight=100, batch=256),
          "umap-sampled": UMAPTerm(weight=100, batch=256, edges=Edges.sampled),
          "tsne": TSNETerm(weight=100, batch=256, perplexity=10),
          "tsne-heavy": TSNETerm(weight=100, batch=256, perplexity=10, dof=0.5),
          "tsne-exaggerated": TSNETerm(weight=100, batch=256, perplexity=10, exaggeration=2)}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cls", [Autoencoder, VAE])
def test_models_lower_their_embedding_term_through_autograd(cls, shape, digits):
    torch.manual_seed(0)
    term, kind = SHAPES[shape], shape.split("-")[0]
    model = cls(input_dim=784, net=MLP(hidden=[64]), embedding=term)
    x = torch.from_numpy(digits.x_train)
    with pytest.raises(RuntimeError, match="call model.fit_neighbours"):
        model.loss(x[:8])
    assert model.fit_neighbours(x) >= 0

    def term():  # over a few samples of the training rows
        with torch.no_grad():
            return np.mean([model.neighbours(model.encode).item() for _ in range(5)])
    before = term()
    result = fit(model, torch.optim.Adam(model.parameters(), lr=3e-3), x, epochs=4,
                 batch_size=64)
    assert result.backward == "autograd"  # the hand-written step knows the plain loss only
    assert term() < 0.9 * before  # heavy tails have a higher floor: 0.82 of it here
    assert all(row[f"train_{kind}"] > 0 for row in result.history)
    model.eval()  # evaluation reports the reconstruction (and KL) only
    assert kind not in model.loss(x[:8]) and "recon" in model.loss(x[:8])


def test_the_term_weighs_into_the_total(digits):
    torch.manual_seed(0)
    x = torch.from_numpy(digits.x_train)
    model = Autoencoder(input_dim=784, net=MLP(hidden=[32]), embedding=UMAPTerm(weight=7))
    model.fit_neighbours(x)
    terms = model.loss(x[:16])
    assert terms["total"].item() == pytest.approx(
        terms["recon"].item() + 7 * terms["umap"].item(), rel=1e-6)


def test_a_run_with_a_term_is_reproducible_records_it_and_embeds(
        compose_train, compose_embed, tmp_path):
    cfg = compose_train(*TINY, "model/embedding=umap", "model.embedding.weight=5",
                        "score.figures=false")
    first = train(cfg, tmp_path / "a")
    assert train(cfg, tmp_path / "b").metrics["knn_acc"] == first.metrics["knn_acc"]
    assert first.status == "ok" and first.backward == "autograd"
    assert first.metrics["train_umap"] > 0 and first.timings["neighbour_graph_seconds"] > 0
    codes = [np.load(tmp_path / run / "codes.npz")["test"] for run in "ab"]
    np.testing.assert_array_equal(*codes)
    history = (tmp_path / "a" / "history.csv").read_text().splitlines()[0]
    assert "train_umap" in history and "train_kl" in history
    embed(compose_embed(f"checkpoint={tmp_path / 'a'}", "data.limit=1000"), tmp_path / "e")
    assert np.allclose(np.load(tmp_path / "e" / "codes.npz")["test"], codes[0], atol=1e-5)


def test_the_library_refuses_bad_term_settings(digits):
    with pytest.raises(ValueError, match="^negative_rate=0 is invalid: must be >= 1"):
        UMAPTerm(negative_rate=0)
    with pytest.raises(ValueError, match="^scale=0 is invalid: must be a finite number > 0"):
        TSNETerm(scale=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'perplexity'"):
        UMAPTerm(perplexity=5)  # each term has its own settings only
    term = NeighbourTerm(TSNETerm(batch=2000))
    with pytest.raises(ConfigError, match="batch=2000 is invalid: the tsne term draws "
                                          "at most the 800 training rows"):
        term.fit(torch.from_numpy(digits.x_train))
    with pytest.raises(ConfigError, match="perplexity=30.0 is invalid: the tsne term needs it "
                                          "below 19"):
        NeighbourTerm(TSNETerm(batch=10)).fit(torch.from_numpy(digits.x_train[:20]))


def test_the_term_sees_the_codes_times_its_scale_and_moved_copies(digits):
    x = torch.from_numpy(digits.x_train)
    model = VAE(input_dim=784, net=MLP(hidden=[32]), embedding=TSNETerm(batch=64, perplexity=5))
    settings = {"tsne": {"perplexity": 5}, "umap": {}}
    for kind in ("tsne", "umap"):
        one, ten = (NeighbourTerm(TERMS[kind](batch=64, scale=s, **settings[kind]))
                    for s in (1, 10))
        one.fit(x), ten.fit(x)
        torch.manual_seed(3)
        by_scale = ten(model.encode)
        torch.manual_seed(3)
        by_hand = one(lambda rows: 10 * model.encode(rows))
        assert by_scale.item() == pytest.approx(by_hand.item(), rel=1e-6), kind
    moved = NeighbourTerm(UMAPTerm(batch=64))
    moved.fit(x, augment=Augment((28, 28), shift=2, degrees=10))
    seen = []
    moved(lambda rows: seen.append(rows) or model.encode(rows))
    rows = seen[0]  # moved copies of training digits: none is one of them
    assert rows.shape == (64, 784)
    assert torch.cdist(rows[:8], x).min() > 0


def test_conv_networks_train_with_a_term(digits):
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=Conv(hidden=[16], channels=[4, 8]), image_shape=(28, 28),
                embedding=UMAPTerm(weight=10, batch=64))
    x = torch.from_numpy(digits.x_train)
    model.fit_neighbours(x)
    result = fit(model, torch.optim.Adam(model.parameters(), lr=3e-3), x, epochs=1,
                 batch_size=100)
    assert result.status == "ok" and result.history[0]["train_umap"] > 0


def test_a_run_with_a_term_resumes_exactly(compose_train, tmp_path):
    """The term draws from the global generator, which checkpoints keep: a run stopped and
    resumed ends with the weights of one never stopped."""
    settings = [*TINY, "trainer.epochs=3", "model/embedding=tsne", "model.embedding.perplexity=5",
                "model.embedding.batch=64", "trainer.augment_shift=1", "trainer.threads=1",
                "trainer.checkpoint_seconds=0", "score.figures=false"]
    stopped_then_resumed(compose_train, settings, tmp_path, stop_after=20, epochs=3)


def test_the_visual_umap_preset(compose_train):
    cfg = compose_train("experiment=visual_umap")
    model = build(cfg.model, input_dim=784, image_shape=(28, 28))
    assert isinstance(model, Autoencoder) and not isinstance(model, VAE)
    assert model.settings.embedding == UMAPTerm(weight=300, scale=10, edges=Edges.batch)
    assert (cfg.trainer.augment_shift, cfg.trainer.augment_degrees) == (2, 10)
    assert (model.settings.net.input_dropout, model.settings.net.dropout) == (0.2, 0.1)
    assert model.describe() == "Autoencoder [512, 256]->2 bce + umap x300"


def test_the_visual_vae_preset(compose_train):
    cfg = compose_train("experiment=visual_vae")
    model = build(cfg.model, input_dim=784, image_shape=(28, 28))
    assert isinstance(model, VAE) and model.settings.embedding == TSNETerm(weight=300, scale=10)
    assert (cfg.trainer.augment_shift, cfg.trainer.augment_degrees) == (2, 10)
    assert model.describe() == "VAE [512, 256]->2 bce beta=1 + tsne x300"  # figure titles
