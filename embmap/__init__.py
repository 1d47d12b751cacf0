"""embmap: map one embedding space onto another, and measure honestly how well it works.

The notebooks in ``notebooks/`` are the tutorial; this package holds the
tested code they import. The tutorial's vocabulary is importable from here::

    from embmap import load_pair, OrthogonalProcrustes, evaluate

Names load on first use, so ``import embmap`` stays light: torch is imported
only when a torch class (``MLPMap``, ``AttentionMap``, a loss) is used.
"""

from __future__ import annotations

import importlib

# name -> module that defines it, in the order the notebooks teach them (``__all__`` below
# lists the same names; a test checks that they agree).
_NAMES = {
    # data (notebook 01)
    "load_pair": "datasets",
    "load_dataset": "datasets",
    "pair_embeddings": "datasets",
    "PairedEmbeddings": "datasets",
    "join_sources": "joined",
    "JoinedSource": "joined",
    "PartFallbackMap": "joined",
    "Normaliser": "preprocess",
    "normalise": "preprocess",
    "normalised_spaces": "experiments",
    # scoring (notebook 01, 03)
    "evaluate": "evaluation",
    "gold_ranks": "evaluation",
    "rank_metrics": "evaluation",
    "retrieve": "evaluation",
    "bootstrap_ci": "evaluation",
    "paired_bootstrap": "evaluation",
    "top_k": "retrieval",
    "hubness": "retrieval",
    # isomorphism (notebook 02)
    "knn_graph": "isomorphism",
    "largest_isomorphic_prefix": "isomorphism",
    "eigenvector_similarity": "isomorphism",
    "relational_similarity": "isomorphism",
    "isomorphism_table": "isomorphism",
    # linear maps (notebook 03)
    "LeastSquares": "linear",
    "OrthogonalProcrustes": "linear",
    "CCAMap": "linear",
    "VecMapMultiStep": "linear",
    "SelfLearning": "linear",
    # MLPs and losses (notebooks 04, 05)
    "MLPMap": "neural",
    "train_mapper": "neural",
    "info_nce_loss": "losses",
    "sinkhorn_loss": "losses",
    "vmf_loss": "losses",
    # local maps (notebook 06)
    "SoftmaxKNNMap": "local",
    "ResidualKNNMap": "local",
    "GraphDiffusionKNNMap": "local",
    "AttentionMap": "neural",
    "TwoDirectionRetrieval": "local",
    "knn_validation_grid": "local",
    "mapped_sources": "local",
    # comparing maps (notebooks 03-08)
    "compare_maps": "experiments",
}

__all__ = [
    "AttentionMap", "CCAMap", "GraphDiffusionKNNMap", "JoinedSource", "LeastSquares", "MLPMap",
    "Normaliser", "OrthogonalProcrustes", "PairedEmbeddings", "PartFallbackMap", "ResidualKNNMap",
    "SelfLearning", "SoftmaxKNNMap", "TwoDirectionRetrieval", "VecMapMultiStep", "bootstrap_ci",
    "compare_maps", "eigenvector_similarity", "evaluate", "gold_ranks", "hubness",
    "info_nce_loss", "isomorphism_table", "join_sources", "knn_graph", "knn_validation_grid",
    "largest_isomorphic_prefix", "load_dataset", "load_pair", "mapped_sources", "normalise",
    "normalised_spaces", "pair_embeddings", "paired_bootstrap", "rank_metrics",
    "relational_similarity", "retrieve", "sinkhorn_loss", "top_k", "train_mapper", "vmf_loss",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'embmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"embmap.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_NAMES))
