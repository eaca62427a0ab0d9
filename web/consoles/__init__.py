"""The web consoles (doctor, pharmacist, kiosk, family doctor, admin): sign-in and homes."""
