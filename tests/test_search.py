"""The search engine (embmap._search): exact top-k, the gold-rank rule, the CSLS block, and the
numpy and faiss backends of nearest, which must find the same neighbours away from float ties."""

import numpy as np
import pytest

from embmap import _search, retrieval
from embmap._validation import safe_unit_rows
from embmap.gold import GoldSets


@pytest.mark.parametrize("n", [2_560, 5_003, 33_518])
@pytest.mark.parametrize("k", [1, 10, 80])
@pytest.mark.parametrize("ties", [False, True])
def test_topk_matches_a_full_sort_with_ties_to_the_lower_column(n, k, ties):
    # n >= 32 * 8k takes the threshold path (slice maxima); n not a multiple of 32
    # leaves tail columns outside the slices. Ties: values rounded to 2 decimals,
    # so many entries equal the k-th value; the lower column must win.
    rng = np.random.default_rng(n + k)
    S = rng.normal(size=(40, n)).astype(np.float32)
    if ties:
        S = np.round(S, 2)
    S[3, -1] = 10.0  # the best entry of a row sits in the tail
    vals, cols = _search.topk_single(S, k)
    order = np.lexsort((np.broadcast_to(np.arange(n), S.shape), -S), axis=1)[:, :k]
    np.testing.assert_array_equal(cols, order)
    np.testing.assert_array_equal(vals, np.take_along_axis(S, order, axis=1))
    assert cols[3, 0] == n - 1
    threaded = _search.topk(np.vstack([S] * 4), k, workers=2)
    np.testing.assert_array_equal(threaded[1], np.vstack([cols] * 4))


def test_topk_small_blocks_k_beyond_the_columns_and_no_rows():
    S = np.array([[0.5, 0.9, 0.9, 0.1], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    vals, cols = _search.topk_single(S, 2)  # the partition path
    np.testing.assert_array_equal(cols, [[1, 2], [0, 1]])
    vals, cols = _search.topk_single(S, 9)  # k >= n: every column, sorted
    np.testing.assert_array_equal(cols, [[1, 2, 0, 3], [0, 1, 2, 3]])
    np.testing.assert_array_equal(vals[0], np.float32([0.9, 0.9, 0.5, 0.1]))
    vals, cols = _search.topk_single(np.zeros((0, 5000), np.float32), 3)
    assert vals.shape == cols.shape == (0, 3)


def test_gold_rank_counts_ties_against_the_prediction():
    S = np.array([[0.5, 0.9, 0.9, 0.1], [0.2, 0.2, 0.2, 0.2], [0.3, 0.1, 0.7, 0.4]], dtype=np.float32)
    np.testing.assert_array_equal(_search.gold_rank(S, np.array([1, 0, 2])), [2, 4, 1])
    np.testing.assert_array_equal(_search.gold_rank(S, np.array([0, 3, 3])), [3, 4, 2])
    # several golds: the best one counts
    gold = GoldSets.from_lists([[3, 0], [2], [1, 3]])
    np.testing.assert_array_equal(_search.gold_rank(S, gold), [3, 4, 2])
    # twins (column 2 repeats column 1) are not counted, whichever of them is gold
    np.testing.assert_array_equal(_search.gold_rank(S, np.array([1, 0, 0]), np.array([2])), [1, 3, 2])


def test_csls_block_is_two_s_minus_both_terms_in_place():
    S = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    out = _search.csls_block(S, np.array([0.5, 1.0]), np.array([0.25, 0.0]))
    assert out is S and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.float32([[1.25, 3.5], [4.75, 7.0]]))


def test_csls_terms_are_mean_top_cosines():
    rng = np.random.default_rng(0)
    P, T, Src = (safe_unit_rows(rng.normal(size=(n, 6))) for n in (30, 50, 40))
    r_T, r_S = _search.csls_terms(P, T, Src, 4)
    S = P.astype(np.float64) @ T.T.astype(np.float64)
    np.testing.assert_allclose(r_T, np.sort(S, axis=1)[:, -4:].mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(r_S, np.sort(T @ Src.T, axis=1)[:, -4:].mean(axis=1), atol=1e-6)
    assert r_T.dtype == r_S.dtype == np.float32
    np.testing.assert_allclose(_search.query_term(P @ T.T, 4), r_T, atol=1e-6)


def _untied(sims, k, gap=1e-5):
    """Queries whose first k + 1 sorted cosines are all more than ``gap`` apart."""
    return np.all(-np.diff(sims[:, : k + 1], axis=1) > gap, axis=1)


@pytest.fixture
def faiss_backend():
    pytest.importorskip("faiss")
    before = retrieval.get_backend()
    retrieval.set_backend("faiss")
    yield
    retrieval.set_backend(before)


@pytest.mark.parametrize("with_exclude", [False, True])
def test_faiss_and_numpy_backends_find_the_same_neighbours(faiss_backend, with_exclude):
    rng = np.random.default_rng(1)
    C = safe_unit_rows(rng.normal(size=(4_000, 24)))
    Q = safe_unit_rows(np.vstack([C[:300] + 0.3 * rng.normal(size=(300, 24)).astype(np.float32),
                                  rng.normal(size=(200, 24))]))
    k = 10
    exclude = None
    if with_exclude:  # its own row for the first 300 (mostly a top hit), -1 or random for the rest
        exclude = np.r_[np.arange(300), np.full(100, -1), rng.integers(0, 4_000, 100)]
    got = _search.nearest(Q, C, k, exclude=exclude)
    retrieval.set_backend("numpy")
    want = _search.nearest(Q, C, k, exclude=exclude, chunk_size=64)
    full = np.sort(Q @ C.T, axis=1)[:, ::-1]  # the reference order, for finding ties
    if with_exclude:
        S = Q @ C.T
        hit = exclude >= 0
        S[np.flatnonzero(hit), exclude[hit]] = -np.inf
        full = np.sort(S, axis=1)[:, ::-1]
    assert got[0].dtype == np.float32 and got[1].dtype == np.int64 and got[1].shape == (500, k)
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    clear = _untied(full, k)
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(got[1][clear], want[1][clear])
    if with_exclude:
        assert not np.any(want[1][:300] == np.arange(300)[:, None])
        assert not np.any(got[1][:300] == np.arange(300)[:, None])


def test_faiss_backend_serves_the_public_searches(faiss_backend):
    rng = np.random.default_rng(2)
    P, T = rng.normal(size=(200, 16)), rng.normal(size=(3_000, 16))
    sims, rows = retrieval.nearest(P, T, k=5)
    r_T, r_S = retrieval.csls_penalties(P, T, csls_k=5)
    # k = all candidates with an exclusion falls back to numpy: the same shape either way
    all_rows = _search.nearest(safe_unit_rows(T[:6]), safe_unit_rows(T[:6]), 6, exclude=np.arange(6))
    retrieval.set_backend("numpy")
    ref_sims, ref_rows = retrieval.nearest(P, T, k=5)
    ref_T, ref_S = retrieval.csls_penalties(P, T, csls_k=5)
    np.testing.assert_allclose(sims, ref_sims, atol=1e-5)
    assert np.mean(rows == ref_rows) > 0.99
    np.testing.assert_allclose(r_T, ref_T, atol=1e-5)
    np.testing.assert_allclose(r_S, ref_S, atol=1e-5)
    assert all_rows[1].shape == (6, 6) and np.all(all_rows[1][:, -1] == np.arange(6))


def test_set_backend_checks_its_argument():
    assert retrieval.get_backend() == "numpy"
    with pytest.raises(ValueError, match=r"backend must be one of \['numpy', 'faiss'\], got 'gpu'"):
        retrieval.set_backend("gpu")
    assert retrieval.get_backend() == "numpy"
