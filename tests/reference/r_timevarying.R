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
