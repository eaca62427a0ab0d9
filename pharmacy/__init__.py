"""Pharmacy: pharmacies and kiosks, stock, pick-up and delivery, dispensing."""
