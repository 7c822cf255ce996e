"""The book: notebook parameters, their execution with papermill, the Jupyter Book build.

* :mod:`~tum2000.book.layout` — where the book is (working directory or
  ``--root``) and its notebooks in table-of-contents order;
* :mod:`~tum2000.book.parameters` — what each notebook declares, and every
  check of given values before anything runs (types, ranges, lists, output
  files, consistent model parameter sets, memory);
* :mod:`~tum2000.book.execute` — one notebook (``tum2000 run``) or every
  notebook whose source, parameters or package code changed, into
  ``book/_executed/``, never losing the previous good result;
* :mod:`~tum2000.book.build` — the Jupyter Book build (``tum2000 book``),
  the variant books and the student edition.

The command line is :mod:`tum2000.cli` (``tum2000 book``, ``tum2000 run``,
``tum2000 notebook``).
"""

from .build import build, parameter_substitutions, write_config
from .execute import (BookError, execute, execute_all, execution_key, package_hash,
                      run_notebook, stored_key, sync_pages)
from .layout import (EXECUTED, SOURCE, check_root, find_notebook, find_root, root_of,
                     source_notebooks, toc_files)
from .parameters import (MODEL_SETS, NOTEBOOK_RULES, QUICK, check_parameters,
                         declared_parameters, plan, read_parameter_file)

__all__ = [
    "BookError", "EXECUTED", "MODEL_SETS", "NOTEBOOK_RULES", "QUICK", "SOURCE", "build",
    "check_parameters", "check_root", "declared_parameters", "execute", "execute_all",
    "execution_key", "find_notebook", "find_root", "package_hash", "parameter_substitutions",
    "plan", "read_parameter_file", "root_of", "run_notebook", "source_notebooks",
    "stored_key", "sync_pages", "toc_files", "write_config",
]
