# R references for tests/test_absolute.py (R 4.x, survival 3.x): Kaplan-Meier survival at fixed
# times with the Greenwood standard error on the survival scale (summary.survfit's std.err),
# the standard error of the difference of two independent estimates, sqrt(se1^2 + se2^2), and
# its 95% CI by Newcombe's hybrid construction (method 10, Newcombe 1998) with each curve's
# log-log interval in place of Wilson's (the MOVER of Zou & Donner 2008), written out in mover().
# (The "ci" printed by difference() is the Wald interval the library used before attack 29.)
# Run from the repository root: Rscript tests/reference/r_absolute.R
source("tests/reference/demo_cohort.R")  # d: the demo with OS and LFS
d$crs <- factor(ifelse(d$crs_grade > 0, "yes", "no"), levels = c("no", "yes"))
d$icans <- factor(ifelse(d$icans_grade > 0, "yes", "no"), levels = c("no", "yes"))

difference <- function(label, fit, times, level, reference) {
  s <- summary(fit, times = times, extend = TRUE)
  tab <- data.frame(strata = s$strata, time = s$time, n.risk = s$n.risk, surv = s$surv, std.err = s$std.err)
  cat("==", label, "\n"); print(tab, digits = 10)
  for (t in times) {
    a <- tab[tab$time == t & grepl(level, tab$strata), ]; b <- tab[tab$time == t & grepl(reference, tab$strata), ]
    dd <- a$surv - b$surv; se <- sqrt(a$std.err^2 + b$std.err^2)
    cat(sprintf("t=%g difference %.10f se %.10f ci %.10f %.10f\n", t, dd, se, dd - qnorm(0.975) * se, dd + qnorm(0.975) * se))
  }
}
# L = D - sqrt((S1 - l1)^2 + (u2 - S2)^2), U = D + sqrt((u1 - S1)^2 + (S2 - l2)^2), (l, u) from
# survfit(conf.type = "log-log"); level 1 minus reference 2
mover <- function(label, fit, times, level, reference) {
  s <- summary(fit, times = times, extend = TRUE)
  tab <- data.frame(strata = s$strata, time = s$time, surv = s$surv, std.err = s$std.err, lower = s$lower, upper = s$upper)
  cat("== MOVER", label, "\n"); print(tab, digits = 10)
  for (t in times) {
    a <- tab[tab$time == t & grepl(level, tab$strata), ]; b <- tab[tab$time == t & grepl(reference, tab$strata), ]
    D <- a$surv - b$surv
    L <- D - sqrt((a$surv - a$lower)^2 + (b$upper - b$surv)^2)
    U <- D + sqrt((a$upper - a$surv)^2 + (b$surv - b$lower)^2)
    cat(sprintf("t=%g difference %.10f ci %.10f %.10f\n", t, D, L, U))
  }
}
difference("OS by CRS", survfit(Surv(os_months, os_event) ~ crs, data = d), c(12, 24), "=yes", "=no")
cr <- d[d$cr_day30 == "yes", ]
difference("LFS by ICANS", survfit(Surv(lfs_months, lfs_event) ~ icans, data = cr), c(12, 24), "=yes", "=no")

# The AML data (survival::aml): the nonmaintained arm reaches 0 at 45 weeks; a time after it.
aml <- read.csv("tests/reference/aml.csv")
difference("AML", survfit(Surv(time, status) ~ x, data = aml), c(12, 30, 50), "=Maintained", "=Nonmaintained")
# After the last follow-up of the maintained arm (161+ weeks): summary() without extend refuses
# ("no points selected for one or more curves, consider using the extend argument").
print(try(summary(survfit(Surv(time, status) ~ x, data = aml), times = 170), silent = TRUE))
# The curves' own CI (conf.type "log", R's default), as the survival tables print it:
print(summary(survfit(Surv(time, status) ~ x, data = aml), times = 12)[c("surv", "lower", "upper")], digits = 10)

# Review 29 (STROBE 16c): each endpoint of all its patients at the plan's times, with the curve's log CI
# (tests/test_absolute.py::test_overall_survival_at_the_plans_times_matches_r)
print(summary(survfit(Surv(os_months, os_event) ~ 1, data = d), times = c(12, 24))[c("surv", "lower", "upper")], digits = 10)
print(summary(survfit(Surv(lfs_months, lfs_event) ~ 1, data = cr), times = c(12, 24))[c("surv", "lower", "upper")], digits = 10)

# Newcombe/MOVER intervals of the differences above (attack 29: a Wald limit reached +104.8 points)
mover("OS by CRS", survfit(Surv(os_months, os_event) ~ crs, data = d, conf.type = "log-log"), c(12, 24), "=yes", "=no")
mover("LFS by ICANS", survfit(Surv(lfs_months, lfs_event) ~ icans, data = cr, conf.type = "log-log"), c(12, 24), "=yes", "=no")
mover("AML", survfit(Surv(time, status) ~ x, data = aml, conf.type = "log-log"), c(12, 30), "=Maintained", "=Nonmaintained")
