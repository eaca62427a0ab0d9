"""Follow-up: chronic diagnoses, return visits, red-flag triage, family-doctor contracts,
hand-off to in-person care."""
