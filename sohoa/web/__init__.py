"""`sohoa serve`: the web app for officers (search, read, download), auditors (dashboard,
coverage, verification), operators (batches, failures, reviews) and admins (users, tokens,
the access log), with a JSON API under /api/ for client programs.

An outer layer like `sohoa.cli`: it asks `records`, `pipeline` and `report` and nothing
below imports it. FastAPI and uvicorn are imported only by `sohoa serve` itself, so the
other commands start as fast as before (`create_app` is in `sohoa.web.app`).
"""
