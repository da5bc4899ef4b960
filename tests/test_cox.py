"""Multivariable Cox model and R's cox.zph against R output and textbook values.

R references come from ``tests/reference/r_reference.R`` (R 4.x, survival 3.5-3);
each literal is preceded by the R call and what R printed.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.cox import COX_TERMS, fit_cox

REF = Path(__file__).parent / "reference"
REL = 1e-6


def _synthetic():
    s = pd.read_csv(REF / "synthetic_cohort.csv")
    s["grp_severity"] = pd.Categorical(s["grp_severity"], ["none", "severe", "other"], ordered=True)
    s["os_event"] = s["os_event"].astype(bool)
    return s


def _terms(res):
    return {t.key: t for t in res.terms}


# R> s <- read.csv("synthetic_cohort.csv"); s$grp_severity <- factor(s$grp_severity, c("none","severe","other"))
# R> fit <- coxph(Surv(time, status) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = d, ties = "efron")
# R> cbind(coef, se, summary(fit)$conf.int[, 3:4], p = summary(fit)$coefficients[, 5])
R_COX = {
    "os": {  # n = 93, events = 68
        "bm_blasts_ge20": (0.5255908199352, 0.250025451934, 1.036189393022, 2.76110704051, 0.03554020251820),
        "steroids": (0.0385302869798, 0.293389293294, 0.584790180834, 1.84700006293, 0.89551568678229),
        "tocilizumab": (-0.1111429730544, 0.282800965188, 0.514056200702, 1.55758529388, 0.69431375204622),
        "severity_ge3": (1.1135277534947, 0.377492022597, 1.453038650554, 6.38147028012, 0.00317974828844),
        "severity_other": (0.6410414632855, 0.340476903988, 0.974061333973, 3.70011511996, 0.05973084238367),
    },
    "lfs": {  # n = 77, events = 62
        "bm_blasts_ge20": (0.225720131978, 0.271874806772, 0.735544161732, 2.135252617200, 0.40640561463464),
        "steroids": (0.344613975821, 0.302940091526, 0.779472638035, 2.555800916239, 0.25530226408143),
        "tocilizumab": (-0.675036969558, 0.334293870969, 0.264413551930, 0.980362358384, 0.04345686949010),
        "severity_ge3": (1.171209324689, 0.390582148682, 1.500325943648, 6.936076501946, 0.00271201042971),
        "severity_other": (0.920608785004, 0.377523252042, 1.198027923288, 5.262155650763, 0.01474637702826),
    },
}
# R> i <- 4:5; b <- coef(fit)[i]; w <- t(b) %*% solve(vcov(fit)[i, i]) %*% b; pchisq(w, 2, lower.tail = FALSE)
R_SEVERITY_WALD = {"os": (8.7013707857379, 0.0128979693741), "lfs": (9.38790746458734, 0.00915043616711)}
# R> cox.zph(fit)$table          (terms = TRUE; severity factor = one 2-df term)
R_ZPH = {
    "os": [
        ("bm_blasts_ge20", 0.0102904004419, 1, 0.919199906018),
        ("steroids", 1.0232998603391, 1, 0.311737549793),
        ("tocilizumab", 0.4804650107967, 1, 0.488211761321),
        ("severity", 1.3502673323173, 2, 0.509088368173),
        ("GLOBAL", 5.7418782285590, 5, 0.332150927287),
    ],
    "lfs": [
        ("bm_blasts_ge20", 1.17558498461, 1, 0.278256641162),
        ("steroids", 1.27568659969, 1, 0.258702582237),
        ("tocilizumab", 2.55586034566, 1, 0.109885980575),
        ("severity", 3.95657200363, 2, 0.138306090658),
        ("GLOBAL", 7.19328107909, 5, 0.206658039782),
    ],
}
# R> cox.zph(fit, terms = FALSE)$table   (rows for the two severity coefficients)
R_ZPH_SEVERITY_COEFS = {
    "os": [("severity_ge3", 1.1412090456324, 0.285396995003), ("severity_other", 0.0396838007402, 0.842100093818)],
    "lfs": [("severity_ge3", 2.31440113195754, 0.128180659205), ("severity_other", 0.00559971334992, 0.940348991575)],
}


@pytest.mark.parametrize("endpoint,n,events", [("os", 93, 68), ("lfs", 77, 62)])
def test_cox_matches_r_coxph(endpoint, n, events):
    res = fit_cox(_synthetic(), endpoint)
    assert (res.n, res.events, res.ties, res.reason, res.converged) == (n, events, "efron", None, True)
    assert (res.method, res.method_reason) == ("cox", None)  # a well-defined fit is never replaced by Firth
    assert [t.key for t in res.terms] == list(COX_TERMS)
    terms = _terms(res)
    for key, (coef, se, lo, hi, p) in R_COX[endpoint].items():
        t = terms[key]
        assert t.label == COX_TERMS[key]
        assert (t.coef, t.se, t.ci_low, t.ci_high, t.p) == pytest.approx((coef, se, lo, hi, p), rel=REL), key
        assert t.hr == pytest.approx(np.exp(coef), rel=REL)
    chisq, p = R_SEVERITY_WALD[endpoint]
    assert res.severity_global_chisq == pytest.approx(chisq, rel=REL)
    assert res.severity_global_p == pytest.approx(p, rel=REL)
    assert res.severity_global_df == 2


@pytest.mark.parametrize("endpoint", ["os", "lfs"])
def test_cox_zph_matches_r(endpoint):
    res = fit_cox(_synthetic(), endpoint)
    got = [(t.term, t.chisq, t.df, t.p) for t in res.ph_tests]
    assert [g[0] for g in got] == [r[0] for r in R_ZPH[endpoint]]
    for (_, chisq, df, p), (_, r_chisq, r_df, r_p) in zip(got, R_ZPH[endpoint]):
        assert df == r_df
        assert chisq == pytest.approx(r_chisq, rel=REL)
        assert p == pytest.approx(r_p, rel=REL)
    assert res.ph_test_global_p == pytest.approx(R_ZPH[endpoint][-1][3], rel=REL)
    by_coef = {t.term: t for t in res.ph_tests_by_coef}
    for key, chisq, p in R_ZPH_SEVERITY_COEFS[endpoint]:
        assert (by_coef[key].chisq, by_coef[key].p, by_coef[key].df) == pytest.approx((chisq, p, 1), rel=REL)


def _gehan_frame():
    """Freireich 6-MP data shaped as a cohort: placebo arm coded as bm_blasts_ge20 = 1,
    every other covariate constant (left out of the model as R would give NA)."""
    g = pd.read_csv(REF / "gehan.csv")
    return pd.DataFrame(
        {
            "os_months": g["time"].astype(float),
            "os_event": g["cens"].astype(bool),
            "bm_blasts_ge20": g["treat"].eq("control"),
            "steroids": False,
            "tocilizumab": False,
            "grp_severity": pd.Categorical(["none"] * len(g), ["none", "severe", "other"]),
        }
    )


def test_gehan_cox_textbook_and_r():
    # Textbook (Kleinbaum & Klein): Efron coef 1.572, HR 4.82; Breslow would give 1.509.
    # R> summary(coxph(Surv(time, cens) ~ treat, data = gehan))$coefficients
    #    treatcontrol coef 1.57212514883 exp 4.81687389828 se 0.412396717709 p 0.000137753761987
    # R> cox.zph(fit)$table:  treat 0.0228633780528 1 0.879812894957 ; GLOBAL same
    res = fit_cox(_gehan_frame(), "os")
    t = _terms(res)["bm_blasts_ge20"]
    assert round(t.coef, 3) == 1.572 and round(t.hr, 2) == 4.82
    assert round(t.coef, 3) != 1.509  # Efron, not Breslow
    assert (t.coef, t.se, t.p) == pytest.approx((1.57212514883, 0.412396717709, 0.000137753761987), rel=REL)
    assert res.ties == "efron"
    for key in ("steroids", "tocilizumab", "severity_ge3", "severity_other"):
        assert _terms(res)[key].coef is None and _terms(res)[key].reason
    assert res.severity_global_p is None and res.severity_global_reason
    assert [(x.term, x.df) for x in res.ph_tests] == [("bm_blasts_ge20", 1), ("GLOBAL", 1)]
    assert res.ph_tests[0].chisq == pytest.approx(0.0228633780528, rel=REL)
    assert res.ph_test_global_p == pytest.approx(0.879812894957, rel=REL)


def test_missing_severity_level_like_r_na():
    # R> d <- subset(s, grp_severity != "other")
    # R> fo <- coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = d)
    # R> coef(fo):  0.552802023543 0.111561425634 0.157858109166 1.005245450633 NA
    # R> sqrt(diag(vcov(fo))): 0.338912648728 0.396201830626 0.360763704094 0.412179058942
    # R> cox.zph(fo)$table:  bm 0.29858875904686 1 / steroids 0.32188881671271 1 / toci 0.00874446248925 1 /
    #                        grp_severity 0.78796246764391 1 / GLOBAL 1.84153627678060 4 (p 0.764874921156)
    s = _synthetic()
    res = fit_cox(s[s["grp_severity"] != "other"], "os")
    t = _terms(res)
    got = [(t[k].coef, t[k].se) for k in ("bm_blasts_ge20", "steroids", "tocilizumab", "severity_ge3")]
    want = [
        (0.552802023543, 0.338912648728),
        (0.111561425634, 0.396201830626),
        (0.157858109166, 0.360763704094),
        (1.005245450633, 0.412179058942),
    ]
    for g, w in zip(got, want):
        assert g == pytest.approx(w, rel=REL)
    assert t["severity_other"].coef is None and "not estimable" in t["severity_other"].reason
    assert res.severity_global_chisq is None and res.severity_global_reason
    rows = [(x.term, x.df) for x in res.ph_tests]
    assert rows == [("bm_blasts_ge20", 1), ("steroids", 1), ("tocilizumab", 1), ("severity", 1), ("GLOBAL", 4)]
    np.testing.assert_allclose(
        [x.chisq for x in res.ph_tests],
        [0.29858875904686, 0.32188881671271, 0.00874446248925, 0.78796246764391, 1.84153627678060],
        rtol=REL,
    )
    assert res.ph_test_global_p == pytest.approx(0.764874921156, rel=REL)


def _assert_all_none(res):
    assert all(t.coef is None and t.hr is None and t.p is None and t.reason for t in res.terms)
    assert res.severity_global_p is None and res.ph_test_global_p is None and res.reason


def test_zero_events_returns_reason():
    s = _synthetic().assign(os_event=False)
    res = fit_cox(s, "os")
    _assert_all_none(res)
    assert "no event" in res.reason and res.n == 93 and res.events == 0


def test_separation_gives_the_firth_fit_as_coxphf():
    # every death is in a patient with steroids -> the steroid coefficient is +infinite
    # (R coxph: "Loglik converged before variable 2; coefficient may be infinite"): the
    # model is refitted by Firth's penalized likelihood (tests/test_firth.py for more).
    # R> f <- coxphf(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + sev3 + sevo,
    #               data = s, maxit = 500, maxstep = 0.1)           (tests/reference/r_firth.R)
    # R> cbind(coef = coef(f), se = sqrt(diag(f$var)), lo = f$ci.lower, hi = f$ci.upper, p = f$prob)
    r_firth = {
        "bm_blasts_ge20": (-0.00664080276829, 0.395705565292, 0.451764806868, 2.11061208499, 9.86371003070e-01),
        "steroids": (4.72883185491762, 1.504646640375, 13.582880525614, 15193.56979390443, 2.68276845183e-10),
        "tocilizumab": (0.48774705730169, 0.414585899639, 0.728940451820, 3.66271147231, 2.32233370415e-01),
        "severity_ge3": (1.84009181586022, 0.854262544577, 1.501895707123, 57.90526533951, 8.64671963960e-03),
        "severity_other": (1.20529230845565, 0.866959579751, 0.768385267465, 31.11939408895, 1.17070854942e-01),
    }
    s = _synthetic()
    s["os_event"] = s["os_event"] & s["steroids"].astype(bool)
    res = fit_cox(s, "os")
    assert (res.method, res.ties, res.reason) == ("firth", "breslow", None)
    assert "coefficient may be infinite for Received steroids" in res.method_reason
    terms = _terms(res)
    for key, want in r_firth.items():
        t = terms[key]
        assert (t.coef, t.se, t.ci_low, t.ci_high, t.p) == pytest.approx(want, rel=1e-6), key
    # R> tt <- coxphftest(... + sev3 + sevo, test = ~ sev3 + sevo, data = s)
    # R> c(chisq = 2 * (tt$loglik[2] - tt$loglik[1]), df = tt$df, p = tt$prob)
    #    7.2142969355959 2 0.0271290961659
    assert (res.severity_global_chisq, res.severity_global_df, res.severity_global_p) == pytest.approx(
        (7.2142969355959, 2, 0.0271290961659), rel=1e-6
    )


def test_empty_frame():
    res = fit_cox(_synthetic().iloc[:0], "os")
    _assert_all_none(res)
    assert res.n == 0


# --- independent cross-check of the hand-vectorised Efron fit ------------------------------


def _tied_cohort(seed: int, n: int = 400) -> pd.DataFrame:
    """Random cohort with heavy ties: integer months from 1 to 15, about 60% events."""
    rng = np.random.default_rng(seed)
    severity = rng.choice(["none", "severe", "other"], n, p=[0.4, 0.25, 0.35])
    blasts, steroids, toci = (rng.random(n) < q for q in (0.4, 0.5, 0.3))
    hazard = np.exp(
        0.5 * blasts - 0.3 * steroids + 0.2 * toci + 0.8 * (severity == "severe") + 0.3 * (severity == "other")
    )
    months = np.minimum(np.ceil(rng.exponential(6 / hazard)), 15.0)
    event = (rng.random(n) < 0.7) & (months < 15)
    return pd.DataFrame(
        {
            "os_months": months,
            "os_event": event,
            "bm_blasts_ge20": blasts,
            "steroids": steroids,
            "tocilizumab": toci,
            "grp_severity": pd.Categorical(severity, ["none", "severe", "other"], ordered=True),
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_efron_fit_equals_lifelines_and_statsmodels_on_heavy_ties(seed):
    from lifelines import CoxPHFitter
    from statsmodels.duration.hazard_regression import PHReg

    from analysis.estimators.cox import design_matrix

    df = _tied_cohort(seed)
    assert df.loc[df["os_event"], "os_months"].value_counts().max() >= 10  # heavy ties
    res = fit_cox(df, "os")
    assert res.converged and res.reason is None
    got = np.array([[t.coef, t.se] for t in res.terms])

    X = design_matrix(df)
    ll = CoxPHFitter().fit(
        X.assign(T=df["os_months"], E=df["os_event"].astype(int)),
        "T",
        "E",
        fit_options={"precision": 1e-12, "max_steps": 100},
    )
    want_ll = np.column_stack([ll.params_[list(COX_TERMS)], ll.standard_errors_[list(COX_TERMS)]])
    np.testing.assert_allclose(got, want_ll, rtol=1e-6, atol=1e-9)

    sm = PHReg(df["os_months"].to_numpy(), X.to_numpy(), status=df["os_event"].to_numpy(dtype=float), ties="efron").fit(
        tol=1e-12
    )
    np.testing.assert_allclose(got, np.column_stack([sm.params, sm.bse]), rtol=1e-6, atol=1e-9)


def test_a_covariate_without_information_is_left_out_and_nothing_is_nan():
    # Found by the property test (hypothesis): every steroid-treated patient is censored
    # before the first death, so the information on `steroids` is nil at every event
    # time. R's coxph gives NA there (zero Cholesky pivot); we leave the term out with a
    # reason and fit the rest: never a NaN p-value, never an exception.
    rng = np.random.default_rng(7)
    n = 80
    months = np.round(rng.exponential(20, n), 1) + 1.0
    event = rng.random(n) < 0.7
    early = np.argsort(months)[:5]
    months[early] = np.linspace(0.1, 0.5, 5)  # before every event time (all >= 1 month)
    event[early] = False
    steroids = np.zeros(n, dtype=bool)
    steroids[early] = True
    df = pd.DataFrame(
        {
            "os_months": months,
            "os_event": event,
            "bm_blasts_ge20": rng.random(n) < 0.5,
            "steroids": steroids,
            "tocilizumab": rng.random(n) < 0.5,
            "grp_severity": pd.Categorical(
                rng.choice(["none", "severe", "other"], n), categories=["none", "severe", "other"]
            ),
        }
    )
    terms = {t.key: t for t in fit_cox(df, "os").terms}
    assert terms["steroids"].hr is None and "no information" in terms["steroids"].reason
    # R (the frame written to CSV with columns time,status,b,s,t,g):
    # R> coef(coxph(Surv(time, status) ~ b + s + t + g, data = d))   # g: factor, reference "none"
    #              b              s              t        gsevere         gother
    # -0.39163229612             NA  0.09614071802 -0.33670950410 -0.05647821955
    r_coef = {
        "bm_blasts_ge20": -0.39163229612,
        "tocilizumab": 0.09614071802,
        "severity_ge3": -0.33670950410,
        "severity_other": -0.05647821955,
    }
    for key, value in r_coef.items():
        assert terms[key].coef == pytest.approx(value, abs=1e-9), key
    for key in ("bm_blasts_ge20", "tocilizumab", "severity_ge3", "severity_other"):
        t = terms[key]
        assert t.hr is not None and np.isfinite(t.p) and 0 <= t.p <= 1, key


def test_newton_raphson_stops_when_the_score_is_only_rounding_noise():
    # At 10^6 rows the score carries rounding noise (~5e-8 measured; information ~1e5), so
    # the Newton decrement never falls below FIT_DECREMENT = 1e-20: the fit ran 60 steps and
    # reported "did not converge" (os by icans_grade, 94 s). A quadratic log-likelihood with
    # such noise: the fit must stop after the step taken from a decrement below
    # FIT_FINAL_DECREMENT, converged, at the maximum to within the noise.
    from analysis.estimators.cox import _fit_efron

    rng = np.random.default_rng(7)
    H = np.array([[2.0e5, 4.0e4], [4.0e4, 1.0e5]])
    target = np.array([0.11270936558, 0.11263885177])

    class NoisyQuadratic:
        calls = 0

        def terms(self, beta):
            NoisyQuadratic.calls += 1
            d = beta - target
            noise = rng.normal(scale=5e-6, size=2)  # decrement ~ 1e-16 >> FIT_DECREMENT = 1e-20
            return -8.4e6 - d @ H @ d / 2 + rng.normal(scale=1e-5), -H @ d + noise, H

    coef, cov, converged, problem, monotone = _fit_efron(pd.DataFrame(), ["a", "b"], model=NoisyQuadratic())
    assert converged and problem is None and not monotone
    np.testing.assert_allclose(coef, target, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cov, np.linalg.inv(H))
    assert NoisyQuadratic.calls <= 4  # 0, the Newton step, the final step


# --------------------------------------------------------------------------- collapsed rows = every row


def _efron_by_definition(start, stop, event, X, beta):
    """Efron's log partial likelihood, score and information of counting-process rows, row by
    row from the textbook definition (Therneau & Grambsch 2000, sec. 3.3): at each event time
    t, the risk set {start < t <= stop}, the d deaths at t, and for k = 0..d-1 the risk set's
    sums minus k/d of the deaths' (no collapsing, no cumulative sums)."""
    eta = X @ beta
    r = np.exp(eta)
    loglik, score, info = 0.0, np.zeros(X.shape[1]), np.zeros((X.shape[1], X.shape[1]))
    for t in np.unique(stop[event]):
        at_risk = (start < t) & (stop >= t)
        dead = event & (stop == t)
        d = int(dead.sum())
        s0, s1 = r[at_risk].sum(), r[at_risk] @ X[at_risk]
        s2 = (X[at_risk] * r[at_risk, None]).T @ X[at_risk]
        d0, d1 = r[dead].sum(), r[dead] @ X[dead]
        d2 = (X[dead] * r[dead, None]).T @ X[dead]
        loglik += eta[dead].sum()
        score += X[dead].sum(axis=0)
        for k in range(d):
            c = k / d
            den, m1, m2 = s0 - c * d0, s1 - c * d1, s2 - c * d2
            loglik -= np.log(den)
            score -= m1 / den
            info += m2 / den - np.outer(m1, m1) / den**2
    return loglik, score, info


def _tied_counting_cohort(n=600, seed=11):
    """Patients followed whole days (1-12), split at an onset (days 1-8) into intervals:
    many deaths per day, many intervals with the same (start, stop] and covariates."""
    from analysis.estimators.timevarying import counting_process

    rng = np.random.default_rng(seed)
    days = rng.integers(1, 13, n).astype(float)
    died = rng.random(n) < 0.7
    onset = np.where(rng.random(n) < 0.6, rng.integers(1, 9, n), np.nan)
    cp = counting_process(days, died, {"tox": onset})
    p = cp.patient
    sex = rng.integers(0, 2, n)[p].astype(float)
    group = rng.integers(0, 3, n)[p]
    X = np.column_stack([cp.exposed["tox"].astype(float), sex, group == 1, group == 2]).astype(float)
    return cp.start, cp.stop, cp.event, X


def test_collapsed_counting_process_likelihood_equals_the_row_by_row_definition():
    """The Efron likelihood every Cox fit uses collapses intervals with the same stop and
    covariates (and the entries with the same start and covariates): on a cohort where ~600
    intervals share a few dozen (time, covariate) keys, its log-likelihood, score and
    information equal the row-by-row definition, and so does the fit (12 days x 12 covariate
    patterns: at most 144 exit rows and 96 entry rows whatever the number of intervals)."""
    from analysis.estimators.cox import _EfronData, _fit_efron
    from analysis.estimators.transplant import CountingEfron

    start, stop, event, X = _tied_counting_cohort()
    model = _EfronData(stop, event, X, entry=start)
    assert start.size > 800 and event.sum() > 300
    assert model.n_rows <= 12 * 12 + 8 * 12 < start.size / 3  # it did collapse
    assert CountingEfron(start, stop, event, X).n_rows == model.n_rows  # the transplant's is the same class
    Xc = X - X.mean(axis=0)
    for beta in (np.zeros(4), np.array([0.4, -0.3, 0.8, -0.5]), np.array([-1.2, 0.9, 0.1, 1.5])):
        loglik, score, info = model.terms(beta)
        expected = _efron_by_definition(start, stop, event, Xc, beta)
        assert loglik == pytest.approx(expected[0], rel=1e-12)
        np.testing.assert_allclose(score, expected[1], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(info, expected[2], rtol=1e-10, atol=1e-10)
    # the fit: Newton-Raphson on the collapsed likelihood, then the score of the definition is 0 there
    coef, cov, converged, problem, _ = _fit_efron(None, ["tox", "sex", "g1", "g2"], model=model)
    assert converged and problem is None
    loglik, score, info = _efron_by_definition(start, stop, event, Xc, coef)
    np.testing.assert_allclose(score, 0, atol=1e-9)
    np.testing.assert_allclose(cov, np.linalg.inv(info), rtol=1e-9)


def test_fit_model_on_tied_counting_process_rows_is_the_maximum_of_the_definition():
    """fit_model (the time-dependent toxicity's fit) on the same kind of tied intervals: its
    estimate is where the row-by-row score is 0, its standard error the row-by-row information's."""
    from analysis.estimators.cox import ModelSpec, fit_model

    start, stop, event, X = _tied_counting_cohort(seed=5)
    frame = pd.DataFrame({"start": start, "months": stop, "event": event.astype(float)})
    design = pd.DataFrame(X[:, :1], columns=["crs_yes"])  # the exposure as the CRS grouping's dummy
    fit = fit_model(frame, design, "os", ModelSpec(exposure="crs", covariates=(), name="time-dependent"))
    b = fit.terms[0].coef
    _, score, info = _efron_by_definition(start, stop, event, X[:, :1] - X[:, :1].mean(), np.array([b]))
    assert abs(score[0]) < 1e-9
    assert fit.terms[0].se == pytest.approx(np.sqrt(1 / info[0, 0]), rel=1e-9)
