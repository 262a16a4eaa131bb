"""Infrastructure of the SLO engine as a CDK app: configuration, constructs and one stack per pipeline stage.

Nothing here is imported by the Lambda code; the app is built by ``cdk.application.build_app``.
"""
