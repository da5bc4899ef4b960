# Reference values for tests/test_endpoints.py: event-free survival, the onset of CRS/ICANS
# with death competing, and trend tests across ordered grades, in the bundled synthetic
# cohort (data/cohort.csv, seed 142). R 4.x, survival 3.5-3, cmprsk 2.2-11. Every time is computed here
# from the dates (months of 30.4375 days), independently of the library.
#   Rscript tests/reference/r_endpoints.R
library(survival)
library(cmprsk)
options(digits = 15)

d <- read.csv("data/cohort.csv", comment.char = "#", na.strings = "")
for (v in c("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date", "hsct_date"))
  d[[v]] <- as.numeric(as.Date(d[[v]]))          # days since 1970-01-01 (ifelse keeps them)
m <- function(to, from) (to - from) / 30.4375
d$cr <- d$cr_day30 == "yes"
d$crs <- as.numeric(d$crs_grade > 0)
d$icans <- as.numeric(d$icans_grade > 0)
d$id <- seq_len(nrow(d))
d$died <- !is.na(d$death_date)
d$os_months <- m(ifelse(d$died, d$death_date, d$last_followup_date), d$infusion_date)
first <- pmin(d$relapse_date, d$death_date, na.rm = TRUE)
d$lfs_event <- !is.na(first)
d$lfs_months <- ifelse(d$cr, m(ifelse(d$lfs_event, first, d$last_followup_date), d$cr_date), NA)
d$hsct_os <- m(d$hsct_date, d$infusion_date)      # months from infusion to HSCT
d$hsct_lfs <- m(d$hsct_date, d$cr_date)           # months from CR to HSCT

# --- event-free survival: no CR at day 30 is an event at day 0; else relapse or death
d$efs_months <- ifelse(d$cr, m(ifelse(d$lfs_event, first, d$last_followup_date), d$infusion_date), 0)
d$efs_event <- as.numeric(!d$cr | d$lfs_event)
fit <- survfit(Surv(efs_months, efs_event) ~ 1, data = d)
print(summary(fit, times = c(12, 24, 36))[c("surv", "lower", "upper")])
print(summary(fit)$table)
print(survdiff(Surv(efs_months, efs_event) ~ crs, data = d))
print(summary(survfit(Surv(efs_months, efs_event) ~ crs, data = d))$table)
print(coef(summary(coxph(Surv(efs_months, efs_event) ~ crs, data = d))))

# --- onset of CRS and ICANS from infusion (days), death without the toxicity competing
end_day <- ifelse(d$died, d$death_date, d$last_followup_date) - d$infusion_date
for (tox in c("crs", "icans")) {
  had <- d[[tox]] == 1
  day <- ifelse(had, d[[paste0(tox, "_onset_day")]], end_day)
  status <- ifelse(had, 1, ifelse(d$died, 2, 0))
  ci <- cuminc(day, status, cencode = 0)
  print(timepoints(ci, c(7, 14, 28)))
  f <- ci[["1 1"]]
  print(min(f$time[f$est >= 0.5]))     # the first day the incidence reaches 50% (Inf: never)
}

# --- trend across ordered grades: none (0) < grade 1-2 (1) < grade >= 3 or severe (2)
d$icans_severe <- d$icans_grade >= 3 | d$seizure == "yes"
d$crs_band <- ifelse(d$crs_grade == 0, 0, ifelse(d$crs_grade >= 3, 2, 1))
d$icans_band <- ifelse(d$icans_grade == 0 & !d$icans_severe, 0, ifelse(d$icans_severe, 2, 1))
severe <- d$crs_grade >= 3 | d$icans_severe
d$severity <- ifelse(d$crs_grade == 0 & d$icans_grade == 0 & !severe, 0, ifelse(severe, 2, 1))
d$mrd_cr <- d$cr & d$mrd_negative %in% "yes"
for (band in c("crs_band", "icans_band", "severity")) {
  for (resp in c("cr", "mrd_cr")) {
    x <- tapply(d[[resp]], d[[band]], sum); n <- tapply(d[[resp]], d[[band]], length)
    t <- prop.trend.test(x, n, score = as.numeric(names(x)))
    print(c(band = band, resp = resp, chisq = unname(t$statistic), p = t$p.value))
  }
  for (f in list(Surv(os_months, as.numeric(died)) ~ g, Surv(lfs_months, as.numeric(lfs_event)) ~ g,
                 Surv(efs_months, efs_event) ~ g)) {
    fit <- coxph(f, data = transform(d, g = d[[band]]), ties = "efron")
    print(c(band = band, coef(summary(fit))[, c(1, 3, 5)]))
  }
}
