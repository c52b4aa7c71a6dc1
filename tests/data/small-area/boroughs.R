# Expected figures for the covariate Fay-Herriot tests (boroughs.csv), from R's metafor:
# a Fay-Herriot model is a random-effects meta-regression with known sampling variances
# (rma with mods), and its EBLUPs are metafor's blup(). R's sae and emdi are not packaged
# for Debian; metafor is (apt-get install r-cran-metafor).
# Run from this folder: Rscript boroughs.R   (writes boroughs-expected.csv; CI never runs R)
suppressMessages(library(metafor))
options(digits = 15)
d <- read.csv("boroughs.csv")
out <- data.frame(model = character(), figure = character(), value = numeric(),
                  stringsAsFactors = FALSE)
put <- function(model, figure, value) out[nrow(out) + 1, ] <<- list(model, figure, value)
tight <- list(threshold = 1e-12, maxiter = 10000, stepadj = 0.5)
models <- list("none" = ~ 1, "young" = ~ young, "white" = ~ white, "female" = ~ female,
               "young+white" = ~ young + white, "young+female" = ~ young + female,
               "white+female" = ~ white + female)
for (name in names(models)) {
  ml <- rma(yi = direct, vi = variance, mods = models[[name]], data = d, method = "ML",
            control = tight)
  put(name, "aic_ml", AIC(ml))
  reml <- rma(yi = direct, vi = variance, mods = models[[name]], data = d, method = "REML",
              control = tight)
  put(name, "variance_reml", reml$tau2)
  for (i in seq_along(coef(reml))) put(name, paste0("coefficient_", i), coef(reml)[[i]])
  b <- blup(reml)
  for (i in seq_len(nrow(d))) put(name, paste0("eblup_", d$area[i]), b$pred[i])
}
write.csv(out, "boroughs-expected.csv", row.names = FALSE)
cat(sprintf("%d figures written to boroughs-expected.csv\n", nrow(out)))
