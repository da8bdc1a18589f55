"""Fraud scoring: transactions in, calibrated risk scores, routing and a review queue out."""
