"""Sphinx extension: the student edition, every exercise solution removed.

sphinx-exercise's own ``hide_solutions`` drops only the opening directive of a
gated solution (``solution-start``), which leaves the solution's code cells on
the page and an orphaned ``solution-end`` that the HTML writer rejects. Here
the gated solutions are first merged by sphinx-exercise (transform priority
10) and then removed whole.
"""

from sphinx.transforms import SphinxTransform
from sphinx_exercise.nodes import solution_node


class RemoveSolutions(SphinxTransform):
    default_priority = 11  # after sphinx_exercise.transforms.MergeGatedSolutions

    def apply(self) -> None:
        if not self.config.tum2000_student_edition:
            return
        for node in list(self.document.findall(solution_node)):
            node.parent.remove(node)


def setup(app):
    app.add_config_value("tum2000_student_edition", False, "env")
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
