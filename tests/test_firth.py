"""Firth-penalized Cox (issue 11, item 3) against R coxphf, a hand calculation and a
direct maximization of the penalized partial likelihood written here independently.

R references come from ``tests/reference/r_firth.R`` (R 4.x, survival 3.5-3, coxphf
1.13.1 built from its author's source repository, since Debian does not package it);
each literal is preceded by the R call and what R printed. coxphf uses Breslow ties
(``fit$method.ties`` prints "breslow"), and so does ``analysis.estimators.firth``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from analysis.estimators.cox import COX_TERMS, FIRTH, fit_cox
from analysis.estimators.firth import _profile_limit, fit_firth, penalized_lr_test, penalized_terms
from analysis.report.export import _cox_dict
from analysis.report.tables import table2

REF = Path(__file__).parent / "reference"
REL = 1e-6  # coxphf stops at epsilon = 1e-6 (standardized estimates): its last digits are not exact


def _breast():
    b = pd.read_csv(REF / "coxphf_breast.csv")
    return b["TIME"].to_numpy(float), b["CENS"].to_numpy(bool), b[["T", "N", "G", "CD"]].to_numpy(float)


# R> fit <- coxphf(data = breast, Surv(TIME, CENS) ~ T + N + G + CD); summary(fit)
#    Model fitted by Penalized ML / Confidence intervals and p-values by Profile Likelihood
#              coef       se(coef)      exp(coef)     lower 0.95       upper 0.95   Chisq  p
# R> cbind(coef = coef(fit), se = sqrt(diag(fit$var)), lo = fit$ci.lower, hi = fit$ci.upper, p = fit$prob)
R_BREAST = {  # coef, se, lower 0.95 (HR), upper 0.95 (HR), Chisq, p
    "T": (1.224438800330, 0.491604428888, 1.362746130368, 9.47218428195, 6.983772747729, 0.00822520350478),
    "N": (0.918888185116, 0.422573354594, 1.120455226685, 5.83286270509, 5.004409258563, 0.02528283049965),
    "G": (2.424414134655, 1.473546336709, 1.465667496850, 1451.94593832250, 6.090654233274, 0.01358987570700),
    "CD": (0.397118086184, 0.441855398530, 0.626867167096, 3.51178364301, 0.822320976569, 0.36450243965950),
}
# R> summary(fit): Likelihood ratio test=35.9514203582 on 4 df, p=2.96105380881e-07, n=100
# R> coxphftest(Surv(TIME, CENS) ~ T + N + G + CD, test = ~ T + N, data = breast)
#    Likelihood ratio test=13.9987234549 on 2 df, p=0.000912464180561


def test_breast_example_matches_coxphf():
    time, event, X = _breast()
    fit = fit_firth(time, event, X)
    assert fit.converged
    for j, (name, (coef, se, lo, hi, chisq, p)) in enumerate(R_BREAST.items()):
        got = (fit.coef[j], fit.se[j], np.exp(fit.ci_low[j]), np.exp(fit.ci_high[j]), fit.lr_chisq[j], fit.lr_p[j])
        assert got == pytest.approx((coef, se, lo, hi, chisq, p), rel=REL), name
    assert penalized_lr_test(time, event, X, fit, [0, 1]) == pytest.approx(
        (13.9987234549, 2, 0.000912464180561), rel=REL
    )
    assert penalized_lr_test(time, event, X, fit, [0, 1, 2, 3]) == pytest.approx(
        (35.9514203582, 4, 2.96105380881e-07), rel=REL
    )


def test_two_individual_example_by_hand():
    # Heinze & Schemper (2001), section 2: one death (x = 1) at t = 1, one censored (x = 0)
    # at t = 2. L = p = e^b / (e^b + 1), I = p (1 - p); d/dp [1.5 log p + 0.5 log(1 - p)] = 0
    # gives p = 3/4, exp(b) = 3, while the ordinary MLE is infinite.
    fit = fit_firth([1.0, 2.0], [True, False], [[1.0], [0.0]])
    assert fit.converged and np.exp(fit.coef[0]) == pytest.approx(3.0, rel=1e-8)


# --- an independent implementation: explicit loops over event times, numerical derivatives ----


def _direct_penalized_loglik(time, event, X, beta):
    """log L + 0.5 log det I, Breslow ties, one risk set at a time (no shared code)."""
    eta = X @ beta
    loglik, info = 0.0, np.zeros((X.shape[1], X.shape[1]))
    for t in np.unique(time[event]):
        dead = event & (time == t)
        risk = time >= t
        w = np.exp(eta[risk])
        mean = (w[:, None] * X[risk]).sum(axis=0) / w.sum()
        centred = X[risk] - mean
        loglik += eta[dead].sum() - dead.sum() * np.log(w.sum())
        info += dead.sum() * (w[:, None, None] * centred[:, :, None] * centred[:, None, :]).sum(axis=0) / w.sum()
    return loglik + 0.5 * np.linalg.slogdet(info)[1]


def _direct_maximum(time, event, X, fixed: dict[int, float] | None = None, method: str = "Nelder-Mead"):
    fixed = fixed or {}
    free = [j for j in range(X.shape[1]) if j not in fixed]

    def full(b):
        beta = np.zeros(X.shape[1])
        beta[free] = b
        for j, v in fixed.items():
            beta[j] = v
        return beta

    res = optimize.minimize(
        lambda b: -_direct_penalized_loglik(time, event, X, full(b)),
        np.zeros(len(free)),
        method=method,
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000, "maxfev": 40000}
        if method == "Nelder-Mead"
        else {"xtol": 1e-10, "ftol": 1e-14, "maxiter": 40000},
    )
    return full(res.x), -res.fun


@pytest.mark.slow  # a direct maximization with scipy per limit: seconds
def test_breast_agrees_with_a_direct_maximization():
    time, event, X = _breast()
    fit = fit_firth(time, event, X)
    beta, best = _direct_maximum(time, event, X)
    np.testing.assert_allclose(fit.coef, beta, atol=1e-5)
    # the module's penalized likelihood differs from this one by no constant
    assert fit.penalized_loglik == pytest.approx(best, abs=1e-9)
    # the analytic modified score is the gradient of the penalized likelihood
    at = np.array([0.3, -0.2, 1.0, 0.5])
    numeric = optimize.approx_fprime(at, lambda b: _direct_penalized_loglik(time, event, X, b), 1e-7)
    np.testing.assert_allclose(penalized_terms(time, event, X, at)[1], numeric, rtol=1e-5)
    # profile CI: at each limit of G (the widest, 1.47 to 1452), the profile penalized
    # likelihood is chi2_1(0.95)/2 below its maximum
    for limit in (fit.ci_low[2], fit.ci_high[2]):
        _, profile = _direct_maximum(time, event, X, fixed={2: limit})
        assert best - profile == pytest.approx(stats.chi2.ppf(0.95, 1) / 2, abs=1e-6)
    # the root-finding fallback (used where firthmodels' Venzon-Moolgavkar iteration fails)
    # finds the same limits
    for j in range(4):
        assert _profile_limit(time, event, X, fit, j, -1) == pytest.approx(fit.ci_low[j], abs=1e-7)
        assert _profile_limit(time, event, X, fit, j, +1) == pytest.approx(fit.ci_high[j], abs=1e-7)
    # penalized LR test of N: the constrained maximum
    _, constrained = _direct_maximum(time, event, X, fixed={1: 0.0})
    assert 2 * (best - constrained) == pytest.approx(fit.lr_chisq[1], abs=1e-6)


# --- a 45-patient cohort where steroids and tocilizumab separate the LFS events ------------------


def small_separated_cohort(seed: int = 17) -> pd.DataFrame:
    """45 patients, 35 in CR; every LFS event is in a patient with steroids and without
    tocilizumab, so the ordinary LFS model has steroids -> +inf and tocilizumab -> -inf.
    Times in half months (tied event times). OS is not separated."""
    rng = np.random.default_rng(seed)
    n = 45
    severity = rng.choice(["none", "severe", "other"], n, p=[0.3, 0.3, 0.4])
    steroids = rng.random(n) < 0.45
    toci = rng.random(n) < 0.45
    blasts = rng.random(n) < 0.5
    cr = rng.random(n) < 0.8
    lfs_months = np.round(rng.exponential(10, n) * 2) / 2 + 0.5
    lfs_event = cr & steroids & ~toci & (rng.random(n) < 0.85)
    os_months = np.where(
        cr, lfs_months + np.round(rng.exponential(6, n) * 2) / 2, np.round(rng.exponential(5, n) * 2) / 2 + 0.5
    )
    os_event = np.where(cr, lfs_event & (rng.random(n) < 0.7), rng.random(n) < 0.8)
    return pd.DataFrame(
        {
            "os_months": os_months,
            "os_event": os_event,
            "lfs_months": np.where(cr, lfs_months, np.nan),
            "lfs_event": np.where(cr, lfs_event, False),
            "bm_blasts_ge20": blasts,
            "steroids": steroids,
            "tocilizumab": toci,
            "grp_severity": pd.Categorical(severity, ["none", "severe", "other"], ordered=True),
        }
    )


def test_the_r_input_file_is_this_cohort():
    cohort = small_separated_cohort()
    csv = pd.read_csv(REF / "firth_small_cohort.csv")
    np.testing.assert_array_equal(csv["os_months"], cohort["os_months"])
    np.testing.assert_array_equal(csv["lfs_months"], cohort["lfs_months"])
    for column in ("os_event", "bm_blasts_ge20", "steroids", "tocilizumab"):
        np.testing.assert_array_equal(csv[column].astype(bool), cohort[column], err_msg=column)
    in_cr = cohort["lfs_months"].notna()
    np.testing.assert_array_equal(csv.loc[in_cr, "lfs_event"].astype(bool), cohort.loc[in_cr, "lfs_event"])
    assert list(csv["grp_severity"]) == list(cohort["grp_severity"].astype(str))
    lfs = cohort[in_cr]
    assert len(cohort) == 45 and len(lfs) == 35 and int(lfs["lfs_event"].sum()) == 11
    # the separation: no LFS event without steroids, none with tocilizumab
    assert not lfs.loc[~lfs["steroids"] | lfs["tocilizumab"], "lfs_event"].any()


# R> coef(coxph(Surv(lfs_months, lfs_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = d))
#    Warning: Ran out of iterations and did not converge
#    -0.428981080424  21.334088968341  -21.251320073544  1.465938676183  0.732778193300
# R> f <- coxphf(Surv(lfs_months, lfs_event) ~ bm_blasts_ge20 + steroids + tocilizumab + sev3 + sevo, data = d,
#               maxit = 500, maxstep = 0.1)
# R> cbind(coef = coef(f), se = sqrt(diag(f$var)), lo = f$ci.lower, hi = f$ci.upper, p = f$prob)
R_SMALL_LFS = {  # coef, se, lower (HR), upper (HR), p
    "bm_blasts_ge20": (-0.362874102262, 0.773487160608, 0.14916355044397, 2.980845652791, 0.625240795946536),
    "steroids": (3.327913575065, 1.556017487387, 3.25077420033623, 3668.444085145794, 0.000537289514934),
    "tocilizumab": (-3.201625495134, 1.512123363042, 0.00031386272337, 0.328835030045, 0.000560552377884),
    "severity_ge3": (1.266788142502, 1.062737669347, 0.54139883945902, 32.692030617650, 0.192425656548146),
    "severity_other": (0.611609482613, 0.911800694009, 0.36702725898938, 11.793039317346, 0.460510741331682),
}
# R> tt <- coxphftest(Surv(lfs_months, lfs_event) ~ ... + sev3 + sevo, test = ~ sev3 + sevo, data = d)
# R> c(chisq = 2 * (tt$loglik[2] - tt$loglik[1]), df = tt$df, p = tt$prob)
R_SMALL_LFS_SEVERITY = (1.704179818857, 2, 0.426522606217)
# R> fo <- coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = s)
# R> cbind(coef(fo), sqrt(diag(vcov(fo))), summary(fo)$conf.int[, 3:4], summary(fo)$coefficients[, 5])
R_SMALL_OS = {
    "bm_blasts_ge20": (0.0124625219629, 0.507149471264, 0.3747364963166, 2.735891165888, 0.9803950240591),
    "steroids": (0.7137587309125, 0.536530025900, 0.7133231064603, 5.843548652651, 0.1834115670646),
    "tocilizumab": (-1.3738870303031, 0.652006610027, 0.0705244018416, 0.908484404985, 0.0351030773683),
    "severity_ge3": (-0.0852496166481, 0.627328916997, 0.2685302521519, 3.140218762650, 0.8919058590860),
    "severity_other": (-0.0731624572863, 0.627802500257, 0.2715435500326, 3.181356991390, 0.9072266645279),
}


def _check_terms(res, want, rel):
    terms = {t.key: t for t in res.terms}
    for key, (coef, se, lo, hi, p) in want.items():
        t = terms[key]
        assert (t.coef, t.se, t.ci_low, t.ci_high, t.p) == pytest.approx((coef, se, lo, hi, p), rel=rel), key
        assert t.hr == pytest.approx(np.exp(t.coef), rel=1e-12) and t.reason is None


def test_separated_lfs_is_fitted_by_firth_as_coxphf():
    res = fit_cox(small_separated_cohort(), "lfs")
    assert (res.method, res.ties, res.n, res.events, res.reason, res.converged) == (
        FIRTH,
        "breslow",
        35,
        11,
        None,
        True,
    )
    assert "monotone likelihood" in res.method_reason
    assert "Received steroids" in res.method_reason and "Received tocilizumab" in res.method_reason
    _check_terms(res, R_SMALL_LFS, REL)
    chisq, df, p = R_SMALL_LFS_SEVERITY
    assert (res.severity_global_chisq, res.severity_global_df, res.severity_global_p) == pytest.approx(
        (chisq, df, p), rel=REL
    )
    assert res.ph_tests == () and res.ph_test_global_p is None and "Firth" in res.ph_test_reason


def test_the_well_defined_os_model_keeps_the_ordinary_fit():
    res = fit_cox(small_separated_cohort(), "os")
    assert (res.method, res.method_reason, res.ties, res.n, res.events, res.converged) == (
        "cox",
        None,
        "efron",
        45,
        18,
        True,
    )
    _check_terms(res, R_SMALL_OS, REL)


def test_table2_shows_finite_firth_estimates_with_the_footnote():
    cohort = small_separated_cohort()
    cox = {endpoint: fit_cox(cohort, endpoint) for endpoint in ("os", "lfs")}
    markdown = table2(cox)._repr_markdown_()
    lfs_block = markdown.split("**Leukemia-free survival")[1].split("\n\n")[0]
    rows = [
        r
        for r in lfs_block.splitlines()[1:]
        if r.startswith("|") and "Reference" not in r and "CRS/ICANS group" not in r
    ]
    assert len(rows) == len(COX_TERMS)
    for row in rows:  # HR, CI and p printed for every term, none "not estimable" or missing
        hr, ci, p = [c.strip() for c in row.strip("|").split("|")[1:]]
        assert float(hr) > 0 and "–" in ci and p, row
    assert "Firth's penalized partial likelihood" in markdown
    assert "Leukemia-free survival: fitted by Firth" in markdown and "monotone likelihood" in markdown
    assert "profile penalized likelihood" in markdown and "penalized likelihood-ratio test" in markdown
    assert "Not estimable" not in markdown
    assert "Overall survival: fitted by Firth" not in markdown  # OS keeps the ordinary fit
    html = table2(cox)._repr_html_()
    assert "Firth" in html


def test_json_says_which_method():
    cohort = small_separated_cohort()
    lfs, os_ = _cox_dict(fit_cox(cohort, "lfs")), _cox_dict(fit_cox(cohort, "os"))
    assert (lfs["method"], lfs["ties"], lfs["ci_method"], lfs["p_method"]) == (
        "firth",
        "breslow",
        "profile_penalized_likelihood",
        "penalized_likelihood_ratio",
    )
    assert "monotone likelihood" in lfs["method_reason"] and "reason" not in lfs
    assert all(lfs["terms"][k]["hr"] is not None for k in COX_TERMS)
    assert lfs["severity_global_p"] == pytest.approx(R_SMALL_LFS_SEVERITY[2], rel=REL)
    assert lfs["ph_test_global_p"] is None and lfs["ph_test_global_p_reason"]
    assert (os_["method"], os_["ties"], os_["ci_method"], os_["p_method"]) == ("cox", "efron", "wald", "wald")
    assert "method_reason" not in os_


def test_a_separated_model_above_the_firth_size_limit_keeps_the_reason(monkeypatch):
    import analysis.estimators.cox

    monkeypatch.setattr(analysis.estimators.cox, "FIRTH_MAX_ROWS", 30)
    res = fit_cox(small_separated_cohort(), "lfs")  # 35 patients in CR
    assert res.method == "cox" and all(t.hr is None for t in res.terms)
    assert "monotone likelihood" in res.reason and "up to 30 patients only" in res.reason


def test_table2_without_an_ordinary_fit_does_not_mention_wald():
    lfs = fit_cox(small_separated_cohort(), "lfs")
    markdown = table2({"lfs": lfs})._repr_markdown_()
    assert "Wald" not in markdown and "fitted by Firth" in markdown


def test_row_order_does_not_change_a_single_bit():
    """The fit stops at max |score| < GTOL: where it stops in that neighbourhood depends on
    the summation order, so the rows are put in one canonical order first (Hypothesis found
    a shuffled cohort's landmark HR moving by 1.0e-7)."""
    time, event, X = _breast()
    fit = fit_firth(time, event, X)
    order = np.random.default_rng(3).permutation(time.size)
    shuffled = fit_firth(time[order], event[order], X[order])
    for field in ("coef", "se", "ci_low", "ci_high", "lr_chisq", "lr_p"):
        assert np.array_equal(getattr(fit, field), getattr(shuffled, field)), field
    assert penalized_lr_test(time, event, X, fit, [0, 1]) == penalized_lr_test(
        time[order], event[order], X[order], shuffled, [0, 1]
    )


def test_flipping_a_binary_covariate_mirrors_its_profile_limits_on_a_flat_ridge():
    """Found by Hypothesis (tests/test_properties.py, flipping a binary Cox covariate): in this
    LFS model of 7 patients (5 events, 5 covariates, two of them nearly separated) the upper
    95% limit of the second coefficient was 7.083 and, with the covariate flipped, the lower
    one -6.968, not -7.083. Flipping a 0/1 covariate mirrors its penalized profile exactly (the
    covariates are centred, and the penalty is invariant), so the limits must mirror. The
    constrained maximum at -6.968, started from the estimate, had stopped on a flat ridge 0.053
    below the one started from 0."""
    time = [1.9712525667351128, 2.4969199178644765, 4.271047227926078, 4.435318275154004]
    time += [4.9281314168377826, 15.770020533880903, 36.46817248459959]
    event = [1, 1, 1, 1, 0, 1, 0]
    X = np.array(
        [
            [1, 1, 0, 0, 1],
            [0, 0, 1, 0, 1],
            [1, 0, 0, 0, 1],
            [1, 0, 1, 0, 1],
            [0, 1, 1, 1, 0],
            [0, 0, 1, 0, 0],
            [1, 0, 0, 1, 0],
        ],
        dtype=float,
    )
    flipped = X.copy()
    flipped[:, 1] = 1 - flipped[:, 1]
    a, b = fit_firth(time, event, X), fit_firth(time, event, flipped)
    assert b.coef[1] == pytest.approx(-a.coef[1], rel=1e-6)
    assert b.ci_low[1] == pytest.approx(-a.ci_high[1], rel=1e-6)
    assert b.ci_high[1] == pytest.approx(-a.ci_low[1], rel=1e-6)
    others = [0, 2, 3, 4]
    assert b.ci_low[others] == pytest.approx(a.ci_low[others], rel=1e-6)
    assert b.ci_high[others] == pytest.approx(a.ci_high[others], rel=1e-6)
    # and the limit is on the chi2 contour of the independent penalized likelihood above
    # (limits that mirror each other but are both off the contour pass the lines above: a
    # Newton-Raphson tried in stop 33 stopped on the ridge at 6.968 for both). Powell from 0
    # reaches this constrained maximum; Nelder-Mead from 0 stops on the ridge, 0.053 below.
    t, e = np.asarray(time), np.asarray(event, dtype=bool)
    best = _direct_maximum(t, e, X, method="Powell")[1]
    on_contour = _direct_maximum(t, e, X, fixed={1: a.ci_high[1]}, method="Powell")[1]
    assert best - on_contour == pytest.approx(stats.chi2.ppf(0.95, 1) / 2, abs=1e-5)


def test_a_constrained_maximum_is_exact_to_1e_10_in_its_value():
    """The LR tests and profile limits read only the value of a constrained maximum, whose
    BFGS stops at max |score| 1e-7 (CONSTRAINED_GTOL): the value is then off by ~score^2 /
    curvature. Checked on breast's T and N (one free coefficient) against a scalar Brent
    maximization of the independent penalized likelihood above, to 1e-12 in beta."""
    time, event, X = _breast()
    X = X[:, :2]
    fit = fit_firth(time, event, X)
    for j in (0, 1):
        other = 1 - j

        def negative(b, other=other):
            beta = np.zeros(2)
            beta[other] = b
            return -_direct_penalized_loglik(time, event, X, beta)

        best = optimize.minimize_scalar(negative, bracket=(-1.0, 1.0), method="brent", tol=1e-12)
        chisq = 2 * (fit.penalized_loglik + best.fun)
        assert penalized_lr_test(time, event, X, fit, [j])[0] == pytest.approx(chisq, abs=1e-10)
