"""Defect detection: static rules plus a learned detector on the MoE code model."""
