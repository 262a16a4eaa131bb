"""Human approval: opaque approval ids, the task token kept server-side, signed expiring links, single-use decisions.

``models`` (records), ``links`` (HMAC-signed links), ``store`` (the SQLite default of ``ports.ApprovalStore``),
``slack`` (request signatures, Block Kit), ``messages`` (email text), ``service`` (open, render, decide).
"""
