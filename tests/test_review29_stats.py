"""Attack 29 on the statistics' words: what the abstract's Conclusions count, the Results state
(05); the same test is not counted twice in the prose's families (07, with tests/test_pvalues.py)."""

from __future__ import annotations

import re

from analysis.report.narrative import Narrative

_INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`]+?)\s*`(?!`)")
_CHUNK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
SECTIONS = __import__("pathlib").Path(__file__).resolve().parents[1] / "sections"


def _evaluated(results, name: str) -> str:
    """A section's prose with every inline expression evaluated in place (no render)."""
    text = Narrative(results)
    source = _CHUNK.sub("", (SECTIONS / name).read_text(encoding="utf-8"))
    return " ".join(_INLINE.sub(lambda m: str(eval(m.group(1), {"text": text, "R": results})), source).split())


def test_the_results_state_every_significant_test_the_conclusions_count(all_crs_results):
    """Everyone with CRS: the Conclusions count four significant tests of response or survival by
    toxicity (MRD-negative CR by ICANS and by ICANS grade, LFS and EFS by ICANS grade) of 20
    distinct ones; the Results name each with its p (before: 'Five of 25 ... by several groupings'
    in the Conclusions, 'none reached statistical significance' in the Results' survival)."""
    abstract = _evaluated(all_crs_results, "_abstract.qmd")
    conclusions = abstract[abstract.index("**Conclusions.**") :]
    assert conclusions.startswith(
        "**Conclusions.** Four of 20 omnibus tests of response or survival across toxicity groups"
    ) or conclusions.startswith("**Conclusions.** Four of 20 tests of response or survival across toxicity groups")
    assert "(MRD-negative CR by ICANS and by ICANS grade; LFS and EFS by ICANS grade)" in conclusions
    assert "several groupings" not in conclusions
    results = _evaluated(all_crs_results, "_results-response.qmd") + _evaluated(
        all_crs_results, "_results-survival.qmd"
    )
    for named in ("MRD-negative CR by ICANS (p = 0.017", "MRD-negative CR by ICANS grade (p = 0.028)",
                  "LFS by ICANS grade (p = 0.006)", "EFS by ICANS grade (p = 0.011)"):  # fmt: skip
        assert named in results
    # the survival sentence that says "none" names what it counts
    assert "between the toxicity groups of Table 3" in results or "between the toxicity groups of @tbl" in results


def test_a_family_of_the_prose_counts_a_repeated_test_once(all_crs_results):
    """The prose's count of the main family is the p-value table's: a comparison by concurrent CRS
    and ICANS that is the one by ICANS is counted once and named with it."""
    text = Narrative(all_crs_results)
    main = text.main_tests
    family = all_crs_results.pvalues.family("efficacy_by_toxicity")
    assert (main.n_tested, main.n_significant) == (family.n, family.n_significant) == (20, 4)
    assert (
        text.response_tests.listed_p
        == "MRD-negative CR by ICANS (p = 0.017; the same test as by concurrent CRS and ICANS)"
    )
