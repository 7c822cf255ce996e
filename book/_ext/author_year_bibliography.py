"""Author-year labels in the bibliography, as the text cites.

The text cites author-year ("Tsodyks et al. (2000)", ``bibtex_reference_style:
author_year``), but sphinxcontrib-bibtex labels the bibliography with pybtex's
alpha labels ("[TUM00]"), which a reader cannot match to the citation. This
registers the pybtex style ``author_year`` (``bibtex_default_style`` in
``_config.yml``): pybtex's ``plain`` formatting (sorted by author, year,
title) with labels "Tsodyks 1997", "Tsodyks and Markram 1997", "Tsodyks et al.
2000", and a, b, ... where two entries would share one.
"""

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    return " ".join(Text.from_latex(name).render_as("text") for name in person.last_names)


def author_year(entry) -> str:
    """``Surname YEAR``, ``Surname and Surname YEAR`` or ``Surname et al. YEAR``."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in persons]
    if not names:
        who = entry.fields.get("key", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(entry) for entry in entries]
        repeated = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                yield f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels


def setup(app):
    register_plugin("pybtex.style.labels", "author_year_labels", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
