"""The ``embmap`` command line beside the tutorial (no notebook imports it).

:mod:`~embmap.app.cli` (``embmap split / fit / map / neighbours / evaluate / report``),
:mod:`~embmap.app.model_file` (the saved model), :mod:`~embmap.app.report` (the notebooks
run on a reader's pair) and :mod:`~embmap.app.run_notebooks` (``make run``, the notebook tests).
"""

__all__: list[str] = []
