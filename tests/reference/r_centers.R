# Reference values for tests/test_centers.py (Cox model stratified by center).
# R 4.x, survival 3.5-3. centers_cohort.csv: the bundled cohort (data/cohort.csv, cutoff
# 2023-03-01) prepared by analysis.registry.groups.prepare_cohort, center names replaced by c1..c4
# (alphabetical order of the names), written by tests/test_centers.py::_model_frame.
library(survival)
options(digits = 12)
s <- read.csv("tests/reference/centers_cohort.csv")
s$grp_severity <- factor(s$grp_severity, c("none", "severe", "other"))
f <- coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity + strata(center), data = s)
print(cbind(coef(f), sqrt(diag(vcov(f))), summary(f)$coefficients[, 5])); print(c(f$n, f$nevent))
d <- subset(s, !is.na(lfs_months))
g <- coxph(Surv(lfs_months, lfs_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity + strata(center), data = d)
print(cbind(coef(g), sqrt(diag(vcov(g))), summary(g)$coefficients[, 5])); print(c(g$n, g$nevent))
for (m in list(f, g)) { i <- 4:5; b <- coef(m)[i]; w <- t(b) %*% solve(vcov(m)[i, i]) %*% b
  print(c(w, pchisq(w, 2, lower.tail = FALSE))) }
