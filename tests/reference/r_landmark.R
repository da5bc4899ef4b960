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
