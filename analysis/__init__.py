"""Statistics for the survey: pure numpy and scipy, no Flask, no database.

The estimators, weighting and disclosure control are built under the statistics issue;
this package is kept free of web and database imports from the start (a test checks).
"""
