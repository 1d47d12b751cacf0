"""embmap: map one embedding space onto another, and measure honestly how well it works.

The notebooks in ``notebooks/`` are the tutorial; this package holds the
tested code they import. The public entry points::

    from embmap import load_dataset, evaluate
"""

from embmap.datasets import PairedEmbeddings, load_dataset, load_pair, pair_embeddings
from embmap.evaluation import evaluate
from embmap.joined import JoinedSource, PartFallbackMap, join_sources

__all__ = [
           "JoinedSource",
           "PairedEmbeddings",
           "PartFallbackMap",
           "evaluate",
           "join_sources",
           "load_dataset",
           "load_pair",
           "pair_embeddings",
]
__version__ = "0.1.0"
