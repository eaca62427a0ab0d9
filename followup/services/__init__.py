"""Followup services: offline diagnoses, return visits, referrals."""
