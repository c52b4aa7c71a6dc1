# Expected figures for the design-based logistic regression tests, from R's survey package.
# Run from this folder: Rscript svyglm.R   (writes expected.csv; CI never runs R)
# R 4.2.2, survey 4.1-1. Data: ../trends/trend-data.csv (fixed, committed), the answer
# "yes" against "no" ("don't know" left out of the model but kept in the design).
suppressMessages(library(survey))
options(digits = 15)
d <- read.csv("../trends/trend-data.csv", stringsAsFactors = FALSE)
pop <- read.csv("../trends/population.csv", stringsAsFactors = FALSE)
d$valid <- as.numeric(d$answer != "dont_know")
d$y <- as.numeric(d$answer == "yes")
d$borough <- factor(d$borough)
d$age_sex <- factor(d$age_sex)
d$ethnic <- factor(d$ethnic)
d$w <- 1 + (seq_len(nrow(d)) %% 5) / 2   # fixed unequal design weights

margin <- function(m) {
  p <- pop[pop$margin == m, c("category", "population")]
  names(p) <- c(m, "Freq")
  p
}
designs <- list(
  unweighted = svydesign(ids = ~1, weights = ~1, data = d),
  weighted = svydesign(ids = ~1, weights = ~w, data = d),
  raked = rake(svydesign(ids = ~1, weights = ~1, data = d),
               list(~borough, ~age_sex, ~ethnic),
               list(margin("borough"), margin("age_sex"), margin("ethnic")),
               control = list(maxit = 500, epsilon = 1e-13, verbose = FALSE)),
  # Each quarter a stratum raked on its own, as the trends page weights periods.
  stratified = rake(svydesign(ids = ~1, strata = ~quarter, weights = ~1, data = d),
                    list(~quarter + borough, ~quarter + age_sex, ~quarter + ethnic),
                    lapply(c("borough", "age_sex", "ethnic"), function(m) {
                      p <- margin(m)
                      t <- expand.grid(quarter = sort(unique(d$quarter)), category = p[[m]],
                                       stringsAsFactors = FALSE)
                      t$Freq <- p$Freq[match(t$category, p[[m]])]
                      names(t) <- c("quarter", m, "Freq")
                      t
                    }),
                    control = list(maxit = 500, epsilon = 1e-13, verbose = FALSE))
)
out <- data.frame(design = character(), term = character(), figure = character(),
                  value = numeric(), stringsAsFactors = FALSE)
put <- function(design, term, figure, value) out[nrow(out) + 1, ] <<- list(design, term, figure, value)
for (name in names(designs)) {
  fit <- svyglm(y ~ borough + age_sex + ethnic, design = subset(designs[[name]], valid == 1),
                family = quasibinomial())
  s <- summary(fit)$coefficients
  for (term in rownames(s)) {
    put(name, term, "estimate", s[term, 1])
    put(name, term, "se", s[term, 2])
    put(name, term, "t", s[term, 3])
    put(name, term, "p_value", s[term, 4])
  }
  put(name, "(model)", "df", fit$df.residual)
  # Average marginal predictions by borough, everything else as it is: svypredmeans adds
  # the borough to a model of the rest, and its variance is the fitted values' part (the
  # variance of their weighted mean) plus the coefficients' part.
  rest <- svyglm(y ~ age_sex + ethnic, design = subset(designs[[name]], valid == 1),
                 family = quasibinomial())
  means <- svypredmeans(rest, ~borough)
  for (borough in names(coef(means))) {
    put(name, paste0("predicted ", borough), "estimate", as.numeric(coef(means)[borough]))
    put(name, paste0("predicted ", borough), "se", as.numeric(SE(means)[borough]))
  }
}
write.csv(out, "expected.csv", row.names = FALSE)
cat(sprintf("%d figures written to expected.csv\n", nrow(out)))
