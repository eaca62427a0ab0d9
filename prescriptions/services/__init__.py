"""Prescription services: writing and signing, pharmacist review, the medicines in force, the
patient's reported medicines, 长期处方 consent, the drug dictionary and the records."""
