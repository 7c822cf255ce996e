"""The book: notebook parameters, their execution with papermill, the Jupyter Book build.

* :mod:`~tum2000.book.layout` — where the book is (working directory or
  ``--root``) and its notebooks in table-of-contents order;
* :mod:`~tum2000.book.parameters` — what each notebook declares, and every
  check of given values before anything runs (types, ranges, lists, output
  files, consistent model parameter sets, memory);
* :mod:`~tum2000.book.execute` — one notebook (``tum2000 run``) or every
  notebook whose source, parameters or package code changed, never losing the
  previous good result, with progress lines for long notebooks;
* :mod:`~tum2000.book.parameters_box` — the one "parameters of this page"
  box of an executed notebook;
* :mod:`~tum2000.book.editions` — where the published book, the student
  edition and variant books go (each in its own folders);
* :mod:`~tum2000.book.solutions` — solutions removed from notebooks and pages;
* :mod:`~tum2000.book.bundle` — the student bundle (zip);
* :mod:`~tum2000.book.build` — the Jupyter Book build (``tum2000 book``),
  rendered by :mod:`~tum2000.book.render` in a child process.

The command line is :mod:`tum2000.cli` (``tum2000 book``, ``tum2000 run``,
``tum2000 params``).
"""

from tum2000.book.build import build, parameter_substitutions, stage_student, write_config
from tum2000.book.bundle import write_bundle
from tum2000.book.editions import Edition, variant_name
from tum2000.book.execute import (BookError, execute, execute_all, execution_key, package_hash,
                      run_notebook, stored_key, sync_pages)
from tum2000.book.layout import (EXECUTED, SOURCE, check_root, find_notebook, find_root, root_of,
                     source_notebooks, toc_files)
from tum2000.book.parameters import (MODEL_SETS, NOTEBOOK_RULES, QUICK, check_parameters,
                         declared_parameters, plan, read_parameter_file)
from tum2000.book.solutions import strip_notebook, strip_text

__all__ = [
    "BookError", "EXECUTED", "Edition", "MODEL_SETS", "NOTEBOOK_RULES", "QUICK", "SOURCE",
    "build", "check_parameters", "check_root", "declared_parameters", "execute", "execute_all",
    "execution_key", "find_notebook", "find_root", "package_hash", "parameter_substitutions",
    "plan", "read_parameter_file", "root_of", "run_notebook", "source_notebooks",
    "stage_student", "stored_key", "strip_notebook", "strip_text", "sync_pages", "toc_files",
    "variant_name", "write_bundle", "write_config",
]
