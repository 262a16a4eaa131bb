"""The local server of ``slo-engine serve``: the same API routes and route logic as the Lambda, over the embedded
defaults, with SigV4-signed integrations, browser sessions, throttling, the pending-recommendations page and plots.
"""
