"""Identity: accounts and roles, institutions, patients, practitioners, verification."""
