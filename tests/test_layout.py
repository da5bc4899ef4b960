"""The layout of the rendered manuscript and supplement (issue 21), checked on the PDFs of
the built-in renderer (tests/test_quarto_parity.py checks Quarto's): no table split across
pages that are not consecutive (a long table continues on the next page with its header
repeated), every figure and table after its first mention, no paragraph cut by a float."""

from __future__ import annotations

import pytest
from layout import _split_only_by_page_numbers, layout_problems, squash, table_placements


@pytest.mark.parametrize("document", ["report", "supplement"])
def test_tables_figures_and_paragraphs_hold_their_places(bundled_render, document):
    rendered = bundled_render if document == "report" else bundled_render.supplement
    problems = layout_problems(rendered.html, rendered.pdf, supplement=document == "supplement")
    assert not problems, "\n".join(problems)


def test_the_long_tables_continue_on_the_next_page_with_their_header(bundled_render):
    placements = table_placements(bundled_render.supplement.html, bundled_render.supplement.pdf)
    long = [t for t in placements if t.first_page and t.last_page and t.last_page > t.first_page]
    assert long, "the supplement's reproduction table spans several pages"
    for t in long:
        assert t.header_on == list(range(t.first_page, t.last_page + 1)), t


def test_the_paragraph_check_tells_a_page_break_from_a_float():
    paragraph = squash("The cohort includes ninety-three patients treated at four centers, followed until March.")
    half = len(paragraph) // 2
    page_break = "intro" + paragraph[:half] + "7" + paragraph[half:] + "next"
    float_inside = "intro" + paragraph[:half] + "Figure3:Kaplan–Meierestimates" + paragraph[half:]
    assert _split_only_by_page_numbers(paragraph, page_break)
    assert not _split_only_by_page_numbers(paragraph, float_inside)


def test_no_row_label_of_the_manuscripts_tables_wraps(bundled_render):
    """Tables 1-4 of the demo's PDF print every row label on one line (review 29): the label
    column gets the width its longest label needs (tables.fitted_widths), and the registry's
    short labels (Level.short, the endpoints' abbreviations in Table 3) keep it narrow."""
    from layout import wrapped_row_labels

    assert not wrapped_row_labels(bundled_render.html, bundled_render.pdf)


def test_the_demos_main_text_is_within_the_word_limit(bundled_render):
    """Review 29: 3,986 of 4,000 words left no room; the demo keeps a margin of 25 words."""
    from renderer import journal

    counts = journal.count(bundled_render.html)
    assert counts.main_text_words <= counts.limits["main_text_words"] - 25, counts.main_text_words
    assert counts.abstract_words <= counts.limits["abstract_words"] and counts.displays <= counts.limits["displays"]
