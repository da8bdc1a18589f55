"""The web layer (`moesuite serve`): a FastAPI app over the domain packages.

A thin adapter like `workers/` and `moesuite/commands/`: routers per area (score, jobs, review,
code, console), one security dependency that resolves the caller (`moesuite.web.security`), and
templates that autoescape. No business rules live here.
"""
