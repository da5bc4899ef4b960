# Reference values for tests/test_survival.py and tests/test_cox.py.
# Run: Rscript tests/reference/r_reference.R   (R 4.x, survival 3.5-3, MASS)
# The project never runs R; the printed values are typed into the tests as literals.
library(survival)
options(digits = 12)

# Freireich 6-MP vs placebo (Gehan 1965) -> gehan.csv (MASS::gehan, time in weeks)
g <- read.csv("tests/reference/gehan.csv")
sd <- survdiff(Surv(time, cens) ~ treat, data = g); print(sd$chisq)
print(survfit(Surv(time, cens) ~ treat, data = g))
print(summary(survfit(Surv(time, cens) ~ treat, data = g), times = c(12, 24)))
print(coef(coxph(Surv(time, cens) ~ treat, data = g)))
print(coef(coxph(Surv(time, cens) ~ treat, data = g, ties = "breslow")))

# aml (survival::aml) -> aml.csv
write.csv(aml, "tests/reference/aml.csv", row.names = FALSE)
fa <- survfit(Surv(time, status) ~ 1, data = aml); print(fa)
print(summary(fa))
# S exactly 0.5: times 1..4, all events
print(survfit(Surv(c(1, 2, 3, 4), c(1, 1, 1, 1)) ~ 1))

# 3-group log-rank: lung, ph.ecog 0-2 -> lung_ecog.csv
l <- subset(lung, ph.ecog %in% 0:2, select = c(time, status, ph.ecog))
l$status <- l$status - 1
write.csv(l, "tests/reference/lung_ecog.csv", row.names = FALSE)
sl <- survdiff(Surv(time, status) ~ ph.ecog, data = l); print(sl$chisq)
print(pchisq(sl$chisq, 2, lower.tail = FALSE))
fl <- survfit(Surv(time, status) ~ ph.ecog, data = l); print(fl)
print(summary(fl, times = c(0, 365, 730))$n.risk)
# reverse KM follow-up on lung_ecog
print(survfit(Surv(time, 1 - status) ~ 1, data = l))

# synthetic cohort shaped like ours -> synthetic_cohort.csv (written by Python, seed 20230301)
s <- read.csv("tests/reference/synthetic_cohort.csv")
s$grp_severity <- factor(s$grp_severity, levels = c("none", "severe", "other"))
for (ep in c("os", "lfs")) {
  d <- s[!is.na(s[[paste0(ep, "_months")]]), ]
  d$time <- d[[paste0(ep, "_months")]]; d$status <- d[[paste0(ep, "_event")]]
  fit <- coxph(Surv(time, status) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity,
               data = d, ties = "efron")
  cat("==== endpoint", ep, " n =", fit$n, " events =", fit$nevent, "\n")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), summary(fit)$conf.int[, 3:4],
              p = summary(fit)$coefficients[, 5]))
  i <- 4:5; b <- coef(fit)[i]
  w <- drop(t(b) %*% solve(vcov(fit)[i, i]) %*% b)
  print(c(wald_chisq = w, p = pchisq(w, 2, lower.tail = FALSE)))
  print(cox.zph(fit)$table)                      # terms = TRUE: severity is one 2-df term
  print(cox.zph(fit, terms = FALSE)$table)       # one row per coefficient
  print(survfit(Surv(time, status) ~ 1, data = d))
  print(survdiff(Surv(time, status) ~ grp_severity, data = d)$chisq)
}
s$status <- s$os_event
print(survfit(Surv(os_months, 1 - os_event) ~ 1, data = s))

# numbers at risk on the synthetic cohort, OS by severity
print(summary(survfit(Surv(os_months, os_event) ~ grp_severity, data = s), times = c(0, 12, 24, 36))$n.risk)
print(summary(survfit(Surv(os_months, os_event) ~ grp_severity, data = s), times = c(0, 12, 24, 36))$strata)

# Gehan Cox model and its cox.zph
fg <- coxph(Surv(time, cens) ~ treat, data = g); print(summary(fg)$coefficients); print(cox.zph(fg)$table)
# synthetic OS without the "other" patients: grp_severityother is NA (not estimable)
d <- subset(s, grp_severity != "other")
fo <- coxph(Surv(os_months, os_event) ~ bm_blasts_ge20 + steroids + tocilizumab + grp_severity, data = d)
print(coef(fo)); print(sqrt(diag(vcov(fo)))); print(cox.zph(fo)$table)
