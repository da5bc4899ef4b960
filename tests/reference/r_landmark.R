# R references for tests/test_landmark.py (R 4.x, survival 3.5-3), computed from the raw
# export so that the landmark subset and the classification are checked too.
# Run from the repository root: Rscript tests/reference/r_landmark.R
library(survival)
options(digits = 10)
d <- read.csv("data/cohort.csv", skip = 1, na.strings = "")
for (v in c("infusion_date", "relapse_date", "death_date", "last_followup_date")) d[[v]] <- as.Date(d[[v]])
died <- !is.na(d$death_date)
d$os_days <- as.numeric(ifelse(died, d$death_date, d$last_followup_date)) - as.numeric(d$infusion_date)
first <- pmin(d$relapse_date, d$death_date, na.rm = TRUE)
d$lfs_event <- !is.na(first)
d$lfs_days <- as.numeric(ifelse(d$lfs_event, first, d$last_followup_date)) - as.numeric(d$infusion_date)

landmark <- function(lm, endpoint, tox) {
  s <- if (endpoint == "os") d else d[d$cr_day30 == "yes", ]
  days <- if (endpoint == "os") s$os_days else s$lfs_days
  event <- if (endpoint == "os") !is.na(s$death_date) else s$lfs_event
  keep <- days > lm
  # toxicity counts only when its onset is on or before the landmark day
  grade <- s[[paste0(tox, "_grade")]]; onset <- s[[paste0(tox, "_onset_day")]]
  group <- factor(ifelse(grade > 0 & !is.na(onset) & onset <= lm, "yes", "no"), levels = c("no", "yes"))
  x <- data.frame(months = (days - lm) / 30.4375, event = event, group = group)[keep, ]
  cat("==", endpoint, tox, "landmark", lm, ": n", nrow(x), "events", sum(x$event), "n yes", sum(x$group == "yes"), "\n")
  sd <- survdiff(Surv(months, event) ~ group, data = x)
  cat("survdiff chisq", format(sd$chisq, digits = 12), "p", format(pchisq(sd$chisq, 1, lower.tail = FALSE), digits = 12), "\n")
  fit <- coxph(Surv(months, event) ~ group, data = x, ties = "efron")
  print(summary(fit)$coefficients, digits = 12)
  print(summary(fit)$conf.int, digits = 12)
}
for (lm in c(30, 10)) for (tox in c("crs", "icans")) landmark(lm, "os", tox)
for (tox in c("crs", "icans")) landmark(30, "lfs", tox)

# The multivariable landmark model (tests/test_landmark.py::test_landmark_model_matches_r): the
# baseline model (age, blasts >= 20%, Ph, dose, severity as known at the landmark) on the subset.
lm_model <- function(lm, endpoint) {
  s <- if (endpoint == "os") d else d[d$cr_day30 == "yes", ]
  days <- if (endpoint == "os") s$os_days else s$lfs_days
  event <- if (endpoint == "os") !is.na(s$death_date) else s$lfs_event
  cg <- ifelse(s$crs_grade > 0 & !is.na(s$crs_onset_day) & s$crs_onset_day <= lm, s$crs_grade, 0)
  on_i <- s$icans_grade > 0 & !is.na(s$icans_onset_day) & s$icans_onset_day <= lm
  ig <- ifelse(on_i, s$icans_grade, 0); sz <- on_i & s$seizure %in% "yes"
  sev <- factor(ifelse(!(cg > 0 | ig > 0 | sz), "none", ifelse(cg >= 3 | ig >= 3 | sz, "severe", "other")),
                levels = c("none", "severe", "other"))
  x <- data.frame(months = (days - lm) / 30.4375, event = event, age = s$age, blast20 = s$bm_blasts_pct >= 20,
                  ph = s$ph_positive == "yes", dose = s$cart_dose_1e6_per_kg, sev = sev)[days > lm, ]
  fit <- coxph(Surv(months, event) ~ age + blast20 + ph + dose + sev, data = x, ties = "efron")
  cat("== landmark model", endpoint, lm, ": n", fit$n, "events", fit$nevent, "\n")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit)))), digits = 13)
  i <- 5:6; b <- coef(fit)[i]
  cat("joint wald", format(t(b) %*% solve(vcov(fit)[i, i]) %*% b, digits = 13), "\n")
}
for (lm in c(30, 90)) for (endpoint in c("os", "lfs")) lm_model(lm, endpoint)
