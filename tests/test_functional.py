"""The functional form of marrow blasts in the multivariable model (STROBE 11) against R.

``tests/reference/r_functional.R`` builds the cohort from the raw export, fits R's
``coxph(..., ties = "efron")`` with marrow blasts continuous (HR per 10 percentage points) and
with a 3-knot restricted cubic spline (the Wald test of its nonlinear term); each literal
below is what it printed.
"""

import numpy as np
import pytest

from analysis.estimators.cox import ModelSpec
from analysis.estimators.functional import functional_form, rcs_basis
from analysis.inputs.loading import load_study
from analysis.registry.groups import prepare_cohort

TOL = 1e-8

PLAN_MODEL = ModelSpec(
    exposure="severity",
    covariates=("age", "bm_blasts_pct", "ph_positive", "cart_dose_1e6_per_kg"),
    cutoffs=(("bm_blasts_pct", 20.0),),
)

# == os n 93 events 55
# HR per 10 points 0.9908502243 CI 0.8974175166 1.0940104787
# knots 2.6480000000 33.0000000000 78.8500000000 nonlinear Wald chisq 6.7433099507 p 0.0094099875
# == lfs n 86 events 69
# HR per 10 points 1.0084443439 CI 0.9184031910 1.1073132201
# knots 2.5300000000 30.3550000000 75.1100000000 nonlinear Wald chisq 0.6199890066 p 0.4310513712
# == efs n 93 events 76
# HR per 10 points 1.0678214783 CI 0.9794960372 1.1641116108
# knots 2.6480000000 33.0000000000 78.8500000000 nonlinear Wald chisq 2.9405288242 p 0.0863824479
R = {
    "os": (93, 55, (0.9908502243, 0.8974175166, 1.0940104787), (2.648, 33.0, 78.85), (6.7433099507, 0.0094099875)),
    "lfs": (86, 69, (1.0084443439, 0.9184031910, 1.1073132201), (2.53, 30.355, 75.11), (0.6199890066, 0.4310513712)),
    "efs": (93, 76, (1.0678214783, 0.9794960372, 1.1641116108), (2.648, 33.0, 78.85), (2.9405288242, 0.0863824479)),
}


@pytest.fixture(scope="module")
def cohort():
    from conftest import COHORT, KINETICS, report_parameter

    return prepare_cohort(load_study(COHORT, KINETICS, report_parameter("cutoff")).cohort)


@pytest.mark.parametrize("endpoint", ["os", "lfs", "efs"])
def test_continuous_blasts_and_spline_match_r(cohort, endpoint):
    n, events, hr, knots, (chisq, p) = R[endpoint]
    f = functional_form(cohort, endpoint, PLAN_MODEL, "bm_blasts_pct", per=10)
    assert (f.n, f.events, f.cutoff, f.per) == (n, events, 20.0, 10.0)
    assert (f.hr, f.ci_low, f.ci_high) == pytest.approx(hr, rel=TOL)
    assert f.knots == pytest.approx(knots, abs=1e-12)
    assert f.nonlinearity_chisq == pytest.approx(chisq, rel=1e-7)
    assert f.nonlinearity_p == pytest.approx(p, abs=1e-9)


def test_rcs_basis_is_zero_below_the_first_knot_and_linear_beyond_the_last():
    knots = (1.0, 5.0, 9.0)
    x = np.array([0.0, 1.0, 3.0, 10.0, 11.0, 12.0])
    b = rcs_basis(x, knots)
    assert b[0] == b[1] == 0.0
    # hand calculation at x = 3: (3 - 1)^3 / (9 - 1)^2 = 8 / 64
    assert b[2] == pytest.approx(8 / 64)
    assert b[4] - b[3] == pytest.approx(b[5] - b[4])  # linear beyond the last knot


def test_a_yes_no_covariate_is_refused(cohort):
    with pytest.raises(ValueError, match="not a continuous covariate"):
        functional_form(cohort, "os", PLAN_MODEL, "ph_positive")
    with pytest.raises(ValueError, match="not a covariate"):
        functional_form(cohort, "os", PLAN_MODEL, "prior_lines")


# The covariates the plan enters per unit (r_functional.R, second loop):
# os age knots 12.0000000000 28.0000000000 61.4000000000 nonlinear Wald chisq 8.3974377514 p 0.0037575027
# os cart_dose_1e6_per_kg knots 0.7000000000 1.0000000000 3.8000000000 nonlinear Wald chisq 0.1512925979 p 0.6973031533
# lfs age knots 12.5000000000 29.0000000000 63.0000000000 nonlinear Wald chisq 0.3390386239 p 0.5603846727
# lfs cart_dose_1e6_per_kg knots 0.7000000000 1.0000000000 3.9000000000 nonlinear Wald chisq 0.9934253108 p 0.3189066372
# efs age knots 12.0000000000 28.0000000000 61.4000000000 nonlinear Wald chisq 0.4047275420 p 0.5246578014
# efs cart_dose_1e6_per_kg knots 0.7000000000 1.0000000000 3.8000000000 nonlinear Wald chisq 0.5949634836 p 0.4405061634
PER_UNIT = {
    ("os", "age"): ((12.0, 28.0, 61.4), 8.3974377514, 0.0037575027),
    ("os", "cart_dose_1e6_per_kg"): ((0.7, 1.0, 3.8), 0.1512925979, 0.6973031533),
    ("lfs", "age"): ((12.5, 29.0, 63.0), 0.3390386239, 0.5603846727),
    ("lfs", "cart_dose_1e6_per_kg"): ((0.7, 1.0, 3.9), 0.9934253108, 0.3189066372),
    ("efs", "age"): ((12.0, 28.0, 61.4), 0.4047275420, 0.5246578014),
    ("efs", "cart_dose_1e6_per_kg"): ((0.7, 1.0, 3.8), 0.5949634836, 0.4405061634),
}


@pytest.mark.parametrize("endpoint, column", sorted(PER_UNIT))
def test_linearity_of_the_per_unit_covariates_matches_r(cohort, endpoint, column):
    knots, chisq, p = PER_UNIT[(endpoint, column)]
    f = functional_form(cohort, endpoint, PLAN_MODEL, column)
    assert f.cutoff is None and f.per == 1.0
    assert f.knots == pytest.approx(knots, abs=1e-12)
    assert f.nonlinearity_chisq == pytest.approx(chisq, rel=1e-7)
    assert f.nonlinearity_p == pytest.approx(p, abs=1e-8)
