# Reference values for tests/test_firth.py (Firth-penalized Cox, R coxphf).
# R 4.x, survival 3.5-3, coxphf 1.13.1. coxphf is not packaged in Debian: it was built
# from its author's source repository (github georgheinze/coxphf, commit 94d9ac6) with
#   R CMD INSTALL -l /tmp/Rlib coxphf
# The project never runs R; the printed values are typed into the tests as literals.
library(survival)
library(coxphf, lib.loc = "/tmp/Rlib")
options(digits = 12)

# coxphf's documented example: breast cancer data (100 patients, no tied event times)
data(breast)
write.csv(breast, "tests/reference/coxphf_breast.csv", row.names = FALSE)
fit <- coxphf(data = breast, Surv(TIME, CENS) ~ T + N + G + CD)
summary(fit)
print(cbind(coef = coef(fit), se = sqrt(diag(fit$var)), lo = fit$ci.lower, hi = fit$ci.upper, p = fit$prob))
print(fit$method.ties)
print(coxphftest(Surv(TIME, CENS) ~ T + N + G + CD, test = ~ T + N, data = breast))

# 45-patient cohort where steroids and tocilizumab separate the LFS events
# (firth_small_cohort.csv, written by tests/test_firth.py::small_separated_cohort)
s <- read.csv("tests/reference/firth_small_cohort.csv")
s$grp_severity <- factor(s$grp_severity, c("none", "severe", "other"))
s$sev3 <- as.numeric(s$grp_severity == "severe"); s$sevo <- as.numeric(s$grp_severity == "other")
d <- subset(s, !is.na(lfs_months))
print(coef(coxph(Surv(lfs_months, lfs_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = d)))
f <- coxphf(Surv(lfs_months, lfs_event) ~ bm_blasts_ge20 + steroids + tocilizumab + sev3 + sevo, data = d,
            maxit = 500, maxstep = 0.1)
print(cbind(coef = coef(f), se = sqrt(diag(f$var)), lo = f$ci.lower, hi = f$ci.upper, p = f$prob))
tt <- coxphftest(Surv(lfs_months, lfs_event) ~ bm_blasts_ge20 + steroids + tocilizumab + sev3 + sevo,
                 test = ~ sev3 + sevo, data = d)
print(c(chisq = 2 * (tt$loglik[2] - tt$loglik[1]), df = tt$df, p = tt$prob))
fo <- coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = s)
print(cbind(coef(fo), sqrt(diag(vcov(fo))), summary(fo)$conf.int[, 3:4], summary(fo)$coefficients[, 5]))

# synthetic_cohort.csv with every death in a steroid-treated patient (tests/test_cox.py)
s <- read.csv("tests/reference/synthetic_cohort.csv")
s$os_event <- s$os_event * s$steroids
s$sev3 <- as.numeric(s$grp_severity == "severe"); s$sevo <- as.numeric(s$grp_severity == "other")
f <- coxphf(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + sev3 + sevo, data = s,
            maxit = 500, maxstep = 0.1)
print(cbind(coef = coef(f), se = sqrt(diag(f$var)), lo = f$ci.lower, hi = f$ci.upper, p = f$prob))
tt <- coxphftest(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + sev3 + sevo,
                 test = ~ sev3 + sevo, data = s)
print(c(chisq = 2 * (tt$loglik[2] - tt$loglik[1]), df = tt$df, p = tt$prob))
