from embmap._validation import *  # noqa: F401,F403  (old import path)
from embmap._validation import __all__  # noqa: F401
