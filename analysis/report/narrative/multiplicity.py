"""Multiplicity and robustness: how many p-values the report prints (the supplementary
p-value table, :mod:`analysis.report.pvalues`), how many stay below alpha after Holm's and
the Benjamini–Hochberg adjustment, and the E-values of the hazard ratios."""

from __future__ import annotations

from analysis.report.formatting import NOT_ESTIMABLE, fmt_count, fmt_hr, sentence_start
from analysis.report.narrative.parts import Part, UnknownKey
from analysis.report.pvalues import FAMILY_TITLES, PValueTable


class Multiplicity(Part):
    @property
    def _pvalues(self) -> PValueTable:
        if self.results.pvalues is None:
            raise UnknownKey("these results have no p-value table (compute_results fills it)")
        return self.results.pvalues

    @property
    def pvalue_count(self) -> str:
        """Every distinct p-value the report prints, each once (the rows of the p-value table
        that do not repeat another's test): '225'."""
        return f"{fmt_count(self._pvalues.n)}"

    @property
    def pvalue_repeats(self) -> str:
        """The sentence on the rows that repeat another's test ('' when none): '9 rows repeat a
        test shown elsewhere (the Mantel–Byar tests, here the log-rank tests from infusion, ...):
        each names its twin and is counted and adjusted once.'"""
        table = self._pvalues
        if not table.n_repeated:
            return ""
        kinds = []
        if any(r.same_as and r.path.startswith("time_dependent/") for r in table.rows):
            kinds.append(
                "the Mantel–Byar tests, the log-rank tests from infusion here because no event occurred while "
                "a patient at risk still had a toxicity to come"
            )
        if any(r.same_as and r.path.startswith("kinetics") for r in table.rows):
            kinds.append("the kinetics comparisons of groupings that divide the patients with kinetics alike")
        if any(r.same_as and r.path.startswith(("response/", "survival/")) for r in table.rows):
            kinds.append("the response and survival comparisons of groupings that divide the patients alike")
        which = f" ({'; '.join(kinds)})" if kinds else ""
        return sentence_start(
            f"{fmt_count(table.n_repeated)} further {'row repeats' if table.n_repeated == 1 else 'rows repeat'} "
            f"a test shown elsewhere{which}: each names its twin, carries its adjusted values and is counted "
            "and adjusted once."
        )

    @property
    def pvalue_families(self) -> str:
        """How many families the p-value table has: '10'."""
        return f"{fmt_count(len(self._pvalues.families))}"

    def family_count(self, family: str) -> str:
        """The p-values of one family: ``text.family_count("efficacy_by_toxicity")`` -> '24'
        (the keys: :data:`analysis.report.pvalues.FAMILY_TITLES`)."""
        try:
            return f"{fmt_count(self._pvalues.family(family).n)}"
        except KeyError as exc:
            if family in FAMILY_TITLES:  # a family of the report none of whose tests could be run
                return "0"
            raise UnknownKey(str(exc)) from None

    def significant_count(self, adjustment: str | None = None, family: str | None = None) -> str:
        """p-values below alpha, unadjusted or after ``adjustment`` ("holm" or "bh", within each
        family), in one family or all: ``text.significant_count("holm")`` -> '4'."""
        if adjustment not in (None, "holm", "bh"):
            raise UnknownKey(f"adjustment {adjustment!r}: use None, 'holm' or 'bh'")
        table = self._pvalues
        if family is None:
            families = table.families
        else:
            try:
                families = (table.family(family),)
            except KeyError as exc:
                if family not in FAMILY_TITLES:
                    raise UnknownKey(str(exc)) from None
                families = ()  # a family of the report none of whose tests could be run: none significant
        attribute = {None: "n_significant", "holm": "n_holm", "bh": "n_bh"}[adjustment]
        return f"{fmt_count(sum(getattr(f, attribute) for f in families))}"

    def significant_words(self, adjustment: str | None = None, family: str | None = None) -> str:
        """:meth:`significant_count` for a clause after a spelled-out count: 'none' instead of
        '0' ("Seven of 30 tests ..., none after Holm's adjustment"), else the number."""
        n = self.significant_count(adjustment, family)
        return "none" if n == "0" else n

    def _e_value(self, endpoint: str, term: str):
        key = ("cox", endpoint, term)
        if key not in self.results.e_values:
            valid = sorted({k[2] for k in self.results.e_values if k[:2] == ("cox", endpoint)})
            raise UnknownKey(f"no E-value of {endpoint!r} term {term!r}; the terms are: {', '.join(valid)}")
        return self.results.e_values[key]

    def e_value(self, endpoint: str, term: str) -> str:
        """E-value of a Table 2 hazard ratio (VanderWeele & Ding): ``text.e_value("os",
        "severity_ge3")`` -> '2.80'."""
        e = self._e_value(endpoint, term)
        return f"{NOT_ESTIMABLE} ({e.reason})" if e.point is None else fmt_hr(e.point)

    def e_value_ci(self, endpoint: str, term: str) -> str:
        """E-value of the confidence limit closest to 1 ('1.00' when the CI includes 1)."""
        e = self._e_value(endpoint, term)
        return f"{NOT_ESTIMABLE} ({e.reason})" if e.ci is None else fmt_hr(e.ci)

    def e_value_ci_includes_1(self, endpoint: str, term: str) -> bool | None:
        """Whether the CI of the HR includes 1 (its limit's E-value is then 1): for ``text.choose``."""
        e = self._e_value(endpoint, term)
        return None if e.ci is None else e.ci == 1.0
