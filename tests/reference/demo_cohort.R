# The bundled B-ALL demo (data/cohort.csv) with OS and LFS as the library builds them
# (analysis.registry.groups.prepare_cohort), for the R references that start from it.
library(survival)
options(digits = 10)
d <- read.csv("data/cohort.csv", skip = 1, na.strings = "")
for (v in c("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date")) d[[v]] <- as.Date(d[[v]])
died <- !is.na(d$death_date)
d$os_months <- (as.numeric(ifelse(died, d$death_date, d$last_followup_date)) - as.numeric(d$infusion_date)) / 30.4375
d$os_event <- died
first <- pmin(d$relapse_date, d$death_date, na.rm = TRUE)
d$lfs_event <- !is.na(first)
# LFS from the date of CR, among the patients in CR at day 30
d$lfs_months <- (as.numeric(ifelse(d$lfs_event, first, d$last_followup_date)) - as.numeric(d$cr_date)) / 30.4375
