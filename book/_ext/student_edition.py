"""Sphinx extension: the student edition holds no solution.

``tum2000 book --student`` removes every solution from the notebooks and
pages before Jupyter Book reads them (tum2000.book.solutions), so that no
derived file (HTML, ``_sources/`` behind the download button, the search
index) carries one. This extension is the check behind that: in the student
edition a solution that reaches a document is reported as a warning (the
build runs with warnings as errors, so it fails) and removed. It runs after
sphinx-exercise has merged gated solutions (transform priority 10).
(sphinx-exercise's own ``hide_solutions`` breaks on gated solutions.)
"""

from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx_exercise.nodes import solution_node

logger = logging.getLogger(__name__)


class RemoveSolutions(SphinxTransform):
    default_priority = 11  # after sphinx_exercise.transforms.MergeGatedSolutions

    def apply(self) -> None:
        if not self.config.tum2000_student_edition:
            return
        for node in list(self.document.findall(solution_node)):
            logger.warning("student edition: a solution reached the page (the source was not "
                           "stripped of it); it would be in _sources and the search index",
                           location=node)
            node.parent.remove(node)


def setup(app):
    app.add_config_value("tum2000_student_edition", False, "env")
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
