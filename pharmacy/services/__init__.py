"""Pharmacy services: pharmacies and staff, stock, fulfilment (pick-up or delivery), kiosks,
dispensing and its trace codes, and the courier."""
