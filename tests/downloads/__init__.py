"""The download test: ``nox -s downloads`` runs every tutorial as a reader would."""
