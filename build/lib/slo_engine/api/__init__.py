"""The engine's REST API as plain Python: request/response models, the route logic over the Engine, error mapping
and the OpenAPI document. The Lambda entrypoint and the local server both call ``ApiService.dispatch``.
"""
