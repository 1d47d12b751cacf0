from embmap._validation import *  # the old import path
from embmap._validation import __all__  # noqa: F401
