# Reference values for tests/test_transplant.py: allogeneic HSCT after CAR-T in the bundled
# synthetic cohort (data/cohort.csv, seed 142). R 4.x, survival 3.5-3, cmprsk 2.2-11. Every time is computed here
# from the dates (months of 30.4375 days), independently of the library.
#   Rscript tests/reference/r_transplant.R
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

# --- HSCT as a time-dependent covariate (tmerge + counting-process coxph, Efron ties)
os <- tmerge(d[, c("id", "crs", "icans")], d, id = id, death = event(os_months, as.numeric(died)),
             hsct = tdc(hsct_os))
print(c(rows = nrow(os), events = sum(os$death)))
for (f in list(Surv(tstart, tstop, death) ~ hsct, Surv(tstart, tstop, death) ~ crs + hsct,
               Surv(tstart, tstop, death) ~ icans + hsct)) {
  fit <- coxph(f, data = os, ties = "efron")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), hr = exp(coef(fit)),
              lo = summary(fit)$conf.int[, 3], hi = summary(fit)$conf.int[, 4], p = summary(fit)$coefficients[, 5]))
}
cr <- subset(d, cr)
lfs <- tmerge(cr[, c("id", "crs", "icans")], cr, id = id, ev = event(lfs_months, as.numeric(lfs_event)),
              hsct = tdc(hsct_lfs))
print(c(rows = nrow(lfs), events = sum(lfs$ev)))
for (f in list(Surv(tstart, tstop, ev) ~ hsct, Surv(tstart, tstop, ev) ~ crs + hsct,
               Surv(tstart, tstop, ev) ~ icans + hsct)) {
  fit <- coxph(f, data = lfs, ties = "efron")
  print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit))), hr = exp(coef(fit)),
              lo = summary(fit)$conf.int[, 3], hi = summary(fit)$conf.int[, 4], p = summary(fit)$coefficients[, 5]))
}

# --- sensitivity analysis: follow-up censored at HSCT (an event on the transplant day counts)
cut <- function(time, event, h) {
  stop <- ifelse(!is.na(h) & h < time, h, time)
  list(time = stop, event = ifelse(!is.na(h) & h < time, 0, event))
}
o <- cut(d$os_months, as.numeric(d$died), d$hsct_os)
print(survdiff(Surv(o$time, o$event) ~ d$crs)$chisq)
print(survdiff(Surv(o$time, o$event) ~ d$icans)$chisq)
print(coef(summary(coxph(Surv(o$time, o$event) ~ d$crs))))
print(summary(survfit(Surv(o$time, o$event) ~ 1))$table)
l <- cut(cr$lfs_months, as.numeric(cr$lfs_event), cr$hsct_lfs)
print(survdiff(Surv(l$time, l$event) ~ cr$crs)$chisq)
print(coef(summary(coxph(Surv(l$time, l$event) ~ cr$crs))))
print(summary(coxph(Surv(l$time, l$event) ~ cr$crs))$conf.int)


# --- counting-process Efron fit on a small data set with the ties that matter: an entry on an
# event time (not at risk then), exits and deaths tied, several deaths at one time
cp <- data.frame(tstart = c(0, 0, 0, 2, 0, 3, 0, 1, 0, 2, 0, 0),
                 tstop  = c(2, 3, 3, 5, 3, 6, 1, 4, 2, 6, 5, 4),
                 event  = c(0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1),
                 x      = c(0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1),
                 z      = c(1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1))
fit <- coxph(Surv(tstart, tstop, event) ~ x + z, data = cp, ties = "efron")
print(cbind(coef = coef(fit), se = sqrt(diag(vcov(fit)))))
print(fit$loglik)
