# R references for tests/test_timevarying.py (R 4.x, survival 3.5-3): toxicity as a
# time-dependent exposure on the bundled synthetic export, built from the raw file so
# that the clock, the onset days and the classification are checked too.
# Run from the repository root: Rscript tests/reference/r_timevarying.R
library(survival)
options(digits = 12)
d <- read.csv("data/cohort.csv", skip = 1, na.strings = "")
for (v in c("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date")) d[[v]] <- as.Date(d[[v]])
died <- !is.na(d$death_date)
d$os_days <- as.numeric(ifelse(died, d$death_date, d$last_followup_date)) - as.numeric(d$infusion_date)
d$os_event <- as.integer(died)
# onsets count only with a grade > 0 (the contract requires an onset exactly then)
d$crs_on <- ifelse(d$crs_grade > 0, d$crs_onset_day, NA)
d$icans_on <- ifelse(d$icans_grade > 0, d$icans_onset_day, NA)

# --- 1. tmerge: OS from infusion, CRS and ICANS as time-dependent exposures -> tmerge_os.csv
td <- tmerge(d[, c("patient_id", "os_days", "os_event")], d, id = patient_id, death = event(os_days, os_event))
td <- tmerge(td, d, id = patient_id, crs = tdc(crs_on), icans = tdc(icans_on))
write.csv(td[, c("patient_id", "tstart", "tstop", "death", "crs", "icans")], "tests/reference/tmerge_os.csv",
          row.names = FALSE)
cat("== tmerge OS: rows", nrow(td), "patients", length(unique(td$patient_id)), "events", sum(td$death),
    "crs rows", sum(td$crs), "icans rows", sum(td$icans), "\n")

# --- 2. Cox with CRS and ICANS as time-dependent covariates (Efron ties)
for (f in c("crs", "icans", "crs + icans")) {
  fit <- coxph(as.formula(paste("Surv(tstart, tstop, death) ~", f)), data = td, ties = "efron")
  cat("== coxph OS td ~", f, ": n", fit$n, "events", fit$nevent, "\n")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), summary(fit)$conf.int[, c(1, 3, 4), drop = FALSE],
              p = summary(fit)$coefficients[, 5]), digits = 13)
}

# --- 3. the same with the toxicity groupings of the report on each interval, every endpoint
# severity on an interval: grades of a toxicity not yet begun count as 0 (seizure with ICANS)
d$blast20 <- d$bm_blasts_pct >= 20
d$ph <- d$ph_positive == "yes"
d$seiz <- d$seizure %in% "yes"
first <- pmin(d$relapse_date, d$death_date, na.rm = TRUE)
d$lfs_event <- as.integer(!is.na(first))
d$lfs_days <- as.numeric(ifelse(!is.na(first), first, d$last_followup_date)) - as.numeric(d$cr_date)
tdata <- function(endpoint) {
  if (endpoint == "os") {
    s <- d; s$time <- s$os_days; s$status <- s$os_event; offset <- 0
  } else {
    s <- d[d$cr_day30 == "yes", ]; s$time <- s$lfs_days; s$status <- s$lfs_event
    offset <- as.numeric(s$cr_date - s$infusion_date)
  }
  s$crs_t <- s$crs_on - offset; s$icans_t <- s$icans_on - offset
  td <- tmerge(s[, c("patient_id", "time", "status", "age", "blast20", "ph", "cart_dose_1e6_per_kg",
                     "crs_grade", "icans_grade", "seiz")], s, id = patient_id, ev = event(time, status))
  td <- tmerge(td, s, id = patient_id, crs = tdc(crs_t), icans = tdc(icans_t))
  cg <- ifelse(td$crs == 1, td$crs_grade, 0); ig <- ifelse(td$icans == 1, td$icans_grade, 0)
  sz <- td$icans == 1 & td$seiz
  severe <- cg >= 3 | ig >= 3 | sz; any <- cg > 0 | ig > 0 | sz
  td$sev <- factor(ifelse(!any, "none", ifelse(severe, "severe", "other")), levels = c("none", "severe", "other"))
  td
}
for (endpoint in c("os", "lfs")) {
  td <- tdata(endpoint)
  cat("== tdata", endpoint, ": rows", nrow(td), "patients", length(unique(td$patient_id)), "events", sum(td$ev), "\n")
  for (g in c("crs", "icans", "sev")) {
    fit <- coxph(as.formula(paste("Surv(tstart, tstop, ev) ~", g)), data = td, ties = "efron")
    cat("== coxph td", endpoint, g, "\n")
    print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), summary(fit)$conf.int[, c(1, 3, 4), drop = FALSE],
                p = summary(fit)$coefficients[, 5]), digits = 13)
    # Mantel-Byar: the score test of the exact partial likelihood at beta = 0
    ex <- coxph(as.formula(paste("Surv(tstart, tstop, ev) ~", g)), data = td, ties = "exact")
    cat("mantel-byar (coxph exact score test) chisq", format(ex$score, digits = 13), "df", length(coef(ex)),
        "p", format(pchisq(ex$score, length(coef(ex)), lower.tail = FALSE), digits = 13), "\n")
  }
  fit <- coxph(Surv(tstart, tstop, ev) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev, data = td, ties = "efron")
  cat("== coxph td multivariable", endpoint, "\n")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), summary(fit)$conf.int[, c(1, 3, 4)],
              p = summary(fit)$coefficients[, 5]), digits = 13)
  i <- 5:6; b <- coef(fit)[i]
  w <- t(b) %*% solve(vcov(fit)[i, i]) %*% b
  cat("joint wald", format(w, digits = 13), "p", format(pchisq(w, 2, lower.tail = FALSE), digits = 13), "\n")
}

# --- 4. a cohort where events happen before onsets (the demo's events all follow the last
# onset, so there the time-dependent and time-0 analyses coincide): 60 patients drawn once
# with set.seed(20) and kept as tests/reference/td_toy.csv
set.seed(20)
n <- 60
toy <- data.frame(id = sprintf("T%02d", 1:n),
                  crs_grade = sample(0:4, n, TRUE, prob = c(.2, .35, .25, .15, .05)),
                  icans_grade = sample(0:4, n, TRUE, prob = c(.6, .15, .12, .09, .04)))
toy$crs_onset_day <- ifelse(toy$crs_grade > 0, sample(0:14, n, TRUE), NA)
toy$icans_onset_day <- ifelse(toy$icans_grade > 0, sample(2:21, n, TRUE), NA)
toy$seizure <- toy$icans_grade > 0 & runif(n) < 0.15
toy$days <- pmax(1, round(rexp(n, 1 / 90)))
toy$died <- rbinom(n, 1, 0.75)
toy$age <- round(runif(n, 3, 70))
toy$bm_blasts_pct <- round(runif(n, 0, 95), 1)
toy$ph_positive <- rbinom(n, 1, 0.3) == 1
toy$cart_dose_1e6_per_kg <- round(runif(n, 0.2, 5), 2)
write.csv(toy, "tests/reference/td_toy.csv", row.names = FALSE)
toy$crs_on <- toy$crs_onset_day; toy$icans_on <- toy$icans_onset_day
tt <- tmerge(toy, toy, id = id, ev = event(days, died))
tt <- tmerge(tt, toy, id = id, crs = tdc(crs_on), icans = tdc(icans_on))
cg <- ifelse(tt$crs == 1, tt$crs_grade, 0); ig <- ifelse(tt$icans == 1, tt$icans_grade, 0)
sz <- tt$icans == 1 & tt$seizure
tt$sev <- factor(ifelse(!(cg > 0 | ig > 0 | sz), "none", ifelse(cg >= 3 | ig >= 3 | sz, "severe", "other")),
                 levels = c("none", "severe", "other"))
tt$blast20 <- tt$bm_blasts_pct >= 20
cat("== toy: rows", nrow(tt), "events", sum(tt$ev), "\n")
for (g in c("crs", "icans", "sev")) {
  fit <- coxph(as.formula(paste("Surv(tstart, tstop, ev) ~", g)), data = tt, ties = "efron")
  cat("== coxph toy td", g, "\n")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), summary(fit)$conf.int[, c(1, 3, 4), drop = FALSE],
              p = summary(fit)$coefficients[, 5]), digits = 13)
  ex <- coxph(as.formula(paste("Surv(tstart, tstop, ev) ~", g)), data = tt, ties = "exact")
  cat("mantel-byar (coxph exact score test) chisq", format(ex$score, digits = 13), "df", length(coef(ex)), "\n")
}
# Mantel-Byar written out (Mantel & Byar 1974): O - E and hypergeometric variance on the
# counting-process risk sets, for the CRS grouping
tev <- sort(unique(tt$tstop[tt$ev == 1])); U <- 0; V <- 0
for (t in tev) {
  r <- tt$tstart < t & tt$tstop >= t; dd <- tt$ev == 1 & tt$tstop == t
  nn <- sum(r); n1 <- sum(r & tt$crs == 1); dn <- sum(dd); d1 <- sum(dd & tt$crs == 1)
  U <- U + d1 - dn * n1 / nn
  if (nn > 1) V <- V + dn * (n1 / nn) * (1 - n1 / nn) * (nn - dn) / (nn - 1)
}
cat("mantel-byar by hand, crs: chisq", format(U^2 / V, digits = 13), "\n")
fit <- coxph(Surv(tstart, tstop, ev) ~ age + blast20 + ph_positive + cart_dose_1e6_per_kg + sev, data = tt)
cat("== coxph toy td multivariable\n")
print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit)))), digits = 13)
i <- 5:6; b <- coef(fit)[i]; w <- t(b) %*% solve(vcov(fit)[i, i]) %*% b
cat("joint wald", format(w, digits = 13), "\n")
# time 0 for comparison: the same model with the toxicity known at infusion
toy$sev0 <- factor(ifelse(toy$crs_grade == 0 & toy$icans_grade == 0 & !toy$seizure, "none",
                          ifelse(toy$crs_grade >= 3 | toy$icans_grade >= 3 | toy$seizure, "severe", "other")),
                   levels = c("none", "severe", "other"))
fit0 <- coxph(Surv(days, died) ~ sev0, data = toy)
cat("== coxph toy time 0 sev: coef", format(coef(fit0), digits = 13), "\n")
# Simon-Makuch: product-limit with delayed entry, by the CRS status of the interval
sm <- survfit(Surv(tstart, tstop, ev) ~ crs, data = tt)
print(summary(sm, times = c(30, 60, 120)), digits = 12)
print(sm)

# --- 5. Table 2's default model (baseline confounders), from infusion (time 0): the report's own
for (endpoint in c("os", "lfs")) {
  s <- if (endpoint == "os") d else d[d$cr_day30 == "yes", ]
  s$time <- if (endpoint == "os") s$os_days else s$lfs_days
  s$status <- if (endpoint == "os") s$os_event else s$lfs_event
  s$sev0 <- factor(ifelse(s$crs_grade == 0 & s$icans_grade == 0 & !s$seiz, "none",
                          ifelse(s$crs_grade >= 3 | s$icans_grade >= 3 | s$seiz, "severe", "other")),
                   levels = c("none", "severe", "other"))
  fit <- coxph(Surv(time, status) ~ age + blast20 + ph + cart_dose_1e6_per_kg + sev0, data = s, ties = "efron")
  cat("== coxph time-0 baseline", endpoint, ": n", fit$n, "events", fit$nevent, "\n")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit)))), digits = 13)
}
