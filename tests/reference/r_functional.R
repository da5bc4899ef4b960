# R references for tests/test_functional.py (R 4.x, survival 3.x): the plan's multivariable Cox
# model (age, marrow blasts, Ph, CAR-T dose, CRS/ICANS severity; Efron ties) with marrow blasts
# continuous instead of >= 20%, its HR per 10 percentage points, and the Wald test of the
# nonlinear term of a 3-knot restricted cubic spline (knots at the 10th, 50th and 90th
# percentiles, quantile type 7; the basis of Hmisc::rcspline.eval(norm = 2), written out
# here because Debian's R has no Hmisc). Run from the repository root.
source("tests/reference/demo_cohort.R")  # d: the demo with OS and LFS
# EFS from infusion: no CR at day 30 is an event at day 0
cr <- d$cr_day30 == "yes"
d$efs_months <- ifelse(cr, (as.numeric(ifelse(d$lfs_event, first, d$last_followup_date)) - as.numeric(d$infusion_date)) / 30.4375, 0)
d$efs_event <- d$lfs_event | !cr
severe <- d$crs_grade >= 3 | d$icans_grade >= 3 | d$seizure %in% c("yes", "true", "TRUE", "1")
any_tox <- d$crs_grade > 0 | d$icans_grade > 0
d$severity <- factor(ifelse(!any_tox, "none", ifelse(severe, "severe", "other")), levels = c("none", "severe", "other"))
d$ph <- as.numeric(d$ph_positive %in% c("yes", "true", "TRUE", "1"))
rcs1 <- function(x, k) {
  cube <- function(v) pmax(v, 0)^3
  (cube(x - k[1]) - cube(x - k[2]) * (k[3] - k[1]) / (k[3] - k[2]) + cube(x - k[3]) * (k[2] - k[1]) / (k[3] - k[2])) / (k[3] - k[1])^2
}
for (e in c("os", "lfs", "efs")) {
  s <- if (e == "lfs") d[cr, ] else d
  s$time <- s[[paste0(e, "_months")]]; s$status <- s[[paste0(e, "_event")]]
  s <- s[complete.cases(s[, c("time", "status", "age", "bm_blasts_pct", "ph", "cart_dose_1e6_per_kg", "severity")]), ]
  fit <- coxph(Surv(time, status) ~ age + bm_blasts_pct + ph + cart_dose_1e6_per_kg + severity, data = s, ties = "efron")
  b <- coef(fit)["bm_blasts_pct"]; se <- sqrt(vcov(fit)["bm_blasts_pct", "bm_blasts_pct"])
  cat("==", e, "n", fit$n, "events", fit$nevent, "\n")
  cat(sprintf("HR per 10 points %.10f CI %.10f %.10f\n", exp(10 * b), exp(10 * (b - qnorm(0.975) * se)), exp(10 * (b + qnorm(0.975) * se))))
  k <- quantile(s$bm_blasts_pct, c(0.1, 0.5, 0.9), names = FALSE)
  s$x1 <- rcs1(s$bm_blasts_pct, k)
  spline <- coxph(Surv(time, status) ~ age + bm_blasts_pct + x1 + ph + cart_dose_1e6_per_kg + severity, data = s, ties = "efron")
  z <- coef(spline)["x1"] / sqrt(vcov(spline)["x1", "x1"])
  cat(sprintf("knots %.10f %.10f %.10f nonlinear Wald chisq %.10f p %.10f\n", k[1], k[2], k[3], z^2, pchisq(z^2, 1, lower.tail = FALSE)))
}

# The linearity of the covariates the plan already enters per unit (age, CAR-T dose): the same
# 3-knot spline added to the plan's model (blasts >= 20%), and its nonlinear term's Wald test.
for (e in c("os", "lfs", "efs")) {
  s <- if (e == "lfs") d[cr, ] else d
  s$time <- s[[paste0(e, "_months")]]; s$status <- s[[paste0(e, "_event")]]
  s$ge20 <- as.numeric(s$bm_blasts_pct >= 20)
  s <- s[complete.cases(s[, c("time", "status", "age", "bm_blasts_pct", "ph", "cart_dose_1e6_per_kg", "severity")]), ]
  for (v in c("age", "cart_dose_1e6_per_kg")) {
    k <- quantile(s[[v]], c(0.1, 0.5, 0.9), names = FALSE)
    s$x1 <- rcs1(s[[v]], k)
    spline <- coxph(as.formula(paste("Surv(time, status) ~ age + ge20 + ph + cart_dose_1e6_per_kg + x1 + severity")),
                    data = s, ties = "efron")
    z <- coef(spline)["x1"] / sqrt(vcov(spline)["x1", "x1"])
    cat(sprintf("%s %s knots %.10f %.10f %.10f nonlinear Wald chisq %.10f p %.10f\n", e, v, k[1], k[2], k[3], z^2,
                pchisq(z^2, 1, lower.tail = FALSE)))
  }
}
