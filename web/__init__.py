"""Web door: the Flask app factory, JSON API, consoles and patient pages."""
