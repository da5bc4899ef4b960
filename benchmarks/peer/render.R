#!/usr/bin/env Rscript
# Renders report.Rmd to self-contained HTML and prints where the time went (for bench.py).
#
#   RSTUDIO_PANDOC=<dir of the Pandoc to use> Rscript benchmarks/peer/render.R OUTPUT_DIR \
#       [COHORT.csv KINETICS.csv CUTOFF]
#
# Last line on stdout: JSON {"stages": {...}, "pandoc": version}; stages are wall seconds of
# R start-up and packages, the setup chunk (the whole analysis), the figure chunks, the other
# chunks, and the rest (knitting, Pandoc).
started <- proc.time()[["elapsed"]]
args <- commandArgs(trailingOnly = TRUE)
if (!length(args)) stop("usage: Rscript render.R OUTPUT_DIR [COHORT KINETICS CUTOFF]")
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
suppressPackageStartupMessages({
  library(rmarkdown)
  library(knitr)
  library(survival)
  library(cmprsk)
  library(data.table)
  library(ggplot2)
  library(survminer)
})
packages <- proc.time()[["elapsed"]] - started

chunks <- new.env()
chunks$times <- list()
knit_hooks$set(peer_timing = function(before, options) {
  if (before) {
    chunks$start <- proc.time()[["elapsed"]]
  } else {
    chunks$times[[options$label]] <- proc.time()[["elapsed"]] - chunks$start
  }
  invisible(NULL)
})
opts_chunk$set(peer_timing = TRUE)

overrides <- if (length(args) >= 4) list(cohort = normalizePath(args[2]), kinetics = args[3], cutoff = args[4])
if (!is.null(overrides) && overrides$kinetics != "none") overrides$kinetics <- normalizePath(overrides$kinetics)
rendering <- proc.time()[["elapsed"]]
render(file.path(here, "report.Rmd"), output_dir = args[1], params = overrides, quiet = TRUE,
       intermediates_dir = tempdir(), envir = new.env())
done <- proc.time()[["elapsed"]]

times <- unlist(chunks$times)
figures <- sum(times[grepl("^fig-", names(times))])
setup <- if ("setup" %in% names(times)) times[["setup"]] else NA
stages <- list(r_start_and_packages = packages, analysis_setup_chunk = setup, figure_chunks = figures,
               other_chunks = sum(times) - figures - setup,
               knit_and_pandoc = (done - rendering) - sum(times), total = done - started)
for (name in names(stages)) message(sprintf("  Rmd %-22s %6.2f s", name, stages[[name]]))
cat(jsonlite::toJSON(list(stages = stages, pandoc = as.character(pandoc_version())), auto_unbox = TRUE,
                     digits = NA), "\n")
