# Expected figures for the change-over-time tests, from R's survey package.
# Run from this folder: Rscript trends.R   (writes expected.csv; CI never runs R)
# R 4.2.2, survey 4.1-1 (Debian bookworm: apt-get install r-base-core r-cran-survey).
# Degrees of freedom are each group's own over the periods used (degf of the subset).
suppressMessages(library(survey))
options(digits = 15)

d <- read.csv("trend-data.csv", stringsAsFactors = FALSE)
pop <- read.csv("population.csv", stringsAsFactors = FALSE)
d$one <- 1
d$valid <- as.numeric(d$answer != "dont_know")
d$y <- as.numeric(d$answer == "yes")
quarters <- sort(unique(d$quarter))
windows <- lapply(4:length(quarters), function(end) quarters[(end - 3):end])
names(windows) <- paste0("W", seq_along(windows))
groups <- c("all", "Hackney", "Camden")

in_group <- function(g) if (g == "all") rep(1, nrow(d)) else as.numeric(d$borough == g)
add <- function(stem, rows, g) {
  d[[paste0("n_", stem, "_", g)]] <<- d$y * d$valid * rows * in_group(g)
  d[[paste0("d_", stem, "_", g)]] <<- d$valid * rows * in_group(g)
}
for (g in groups) {
  for (w in names(windows)) add(w, as.numeric(d$quarter %in% windows[[w]]), g)
  for (q in seq_along(quarters)) add(paste0("Q", q), as.numeric(d$quarter == quarters[q]), g)
  for (y in unique(d$year)) add(paste0("Y", y), as.numeric(d$year == y), g)
}

margins_for <- function(pvar, periods) {
  lapply(c("borough", "age_sex", "ethnic"), function(m) {
    p <- pop[pop$margin == m, ]
    t <- expand.grid(period = periods, category = p$category, stringsAsFactors = FALSE)
    t$Freq <- p$population[match(t$category, p$category)]
    names(t) <- c(pvar, m, "Freq")
    t
  })
}
raked <- function(pvar, weights = ~one) {
  periods <- sort(unique(d[[pvar]]))
  design <- svydesign(ids = ~1, strata = as.formula(paste0("~", pvar)), weights = weights, data = d)
  rake(design,
       sample.margins = list(as.formula(paste0("~", pvar, "+borough")),
                             as.formula(paste0("~", pvar, "+age_sex")),
                             as.formula(paste0("~", pvar, "+ethnic"))),
       population.margins = margins_for(pvar, periods),
       control = list(maxit = 500, epsilon = 1e-13, verbose = FALSE))
}
by_quarter <- raked("quarter")
by_year <- raked("year")
# The same, raked from design weights (the data's design_weight column).
from_weights <- raked("quarter", ~design_weight)

out <- data.frame(design = character(), name = character(), figure = character(),
                  value = numeric(), stringsAsFactors = FALSE)
put <- function(design, name, figure, value) {
  out[nrow(out) + 1, ] <<- list(design, name, figure, value)
}
# The group's own degrees of freedom, as STATISTICS.md asks: R's degf of the design
# subset to the respondents counted (PSUs less strata among them).
group_degf <- function(des, rows) degf(subset(des, rows > 0))
ratio <- function(des, design_name, stem, g) {
  r <- svyratio(as.formula(paste0("~n_", stem, "_", g)), as.formula(paste0("~d_", stem, "_", g)), des)
  put(design_name, paste(stem, g), "estimate", as.numeric(coef(r)))
  put(design_name, paste(stem, g), "se", as.numeric(SE(r)))
  counted <- d[[paste0("d_", stem, "_", g)]]
  part <- subset(des, counted > 0)
  df <- degf(part)
  put(design_name, paste(stem, g), "df", df)
  # The platform's default interval (STATISTICS.md: Korn-Graubard as NCHS uses it) from
  # R's estimate, variance and the subset's degf: n* = min(n, n_eff (t_{n-1} / t_df)^2),
  # then Clopper-Pearson at x* = n* p. (svyciprop's "beta" takes t_{n-1} from every row of
  # a raked design, the domain's or not, so it is not this rule.)
  p <- as.numeric(coef(r)); v <- as.numeric(SE(r))^2; n <- sum(counted > 0)
  n_eff <- if (p == 0 || p == 1 || v == 0) n else p * (1 - p) / v
  n_star <- min(n, n_eff * (qt(0.975, n - 1) / qt(0.975, df))^2)
  x_star <- n_star * p
  low <- if (x_star > 0) qbeta(0.025, x_star, n_star - x_star + 1) else 0
  high <- if (x_star < n_star) qbeta(0.975, x_star + 1, n_star - x_star) else 1
  put(design_name, paste(stem, g), "ci_low", low)
  put(design_name, paste(stem, g), "ci_high", high)
}
change <- function(des, design_name, a, b, g) {
  na <- paste0("n_", a, "_", g); nb <- paste0("n_", b, "_", g)
  da <- paste0("d_", a, "_", g); db <- paste0("d_", b, "_", g)
  r <- svyratio(as.formula(paste0("~", na, "+", nb)), as.formula(paste0("~", da, "+", db)),
                des, covmat = TRUE)
  contrast <- setNames(c(1, -1), c(paste0(nb, "/", db), paste0(na, "/", da)))
  k <- svycontrast(r, contrast)
  est <- as.numeric(coef(k)); se <- as.numeric(SE(k))
  name <- paste(b, "minus", a, g)
  put(design_name, name, "change", est)
  put(design_name, name, "se", se)
  df <- group_degf(des, d[[da]] + d[[db]])
  put(design_name, name, "p_value", 2 * pt(-abs(est / se), df))
  put(design_name, name, "df", df)
  put(design_name, name, "ci_low", est - qt(0.975, df) * se)
  put(design_name, name, "ci_high", est + qt(0.975, df) * se)
  put(design_name, name, "mdc", (qt(0.975, df) + qt(0.8, df)) * se)
  v <- diag(vcov(r))
  put(design_name, name, "se_if_independent",
      sqrt(v[paste0(nb, "/", db)] + v[paste0(na, "/", da)]))
}
for (g in groups) {
  for (w in names(windows)) ratio(by_quarter, "quarter", w, g)
  for (q in seq_along(quarters)) ratio(by_quarter, "quarter", paste0("Q", q), g)
  change(by_quarter, "quarter", "W1", "W2", g)   # windows sharing three quarters
  change(by_quarter, "quarter", "W2", "W5", g)   # sharing one
  change(by_quarter, "quarter", "W1", "W5", g)   # sharing none
  change(by_quarter, "quarter", "Q7", "Q8", g)   # quarter on quarter
  for (y in unique(d$year)) ratio(by_year, "year", paste0("Y", y), g)
  change(by_year, "year", "Y2024", "Y2025", g)
  change(by_year, "year", "Y2025", "Y2026", g)
}
for (g in groups) {
  for (w in names(windows)) ratio(from_weights, "quarter from design weights", w, g)
  for (q in seq_along(quarters)) ratio(from_weights, "quarter from design weights", paste0("Q", q), g)
  change(from_weights, "quarter from design weights", "W1", "W5", g)
  change(from_weights, "quarter from design weights", "Q7", "Q8", g)
}
put("quarter from design weights", "weights", "first", weights(from_weights)[1])
put("quarter", "weights", "first", weights(by_quarter)[1])
put("year", "weights", "first", weights(by_year)[1])
write.csv(out, "expected.csv", row.names = FALSE)
cat(sprintf("%d figures written to expected.csv\n", nrow(out)))
