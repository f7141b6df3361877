"""`genlab explore RUN`: a latent-space explorer in the browser (space.py: the run's side; server.py:
the local web server; index.html, explorer.js, explorer.css: the page, with no external resources)."""
