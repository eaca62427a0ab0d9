"""Prescriptions: drug catalogue and screening, prescription rules, signing, pharmacist review."""
