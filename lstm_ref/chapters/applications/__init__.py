"""Chapter 5's applications: one module per section."""
