"""The patient's mobile H5 pages (WeChat's in-app browser, or any phone browser)."""
