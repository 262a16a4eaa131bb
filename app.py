#!/usr/bin/env python3
"""Entry point of the CDK app (``python app.py`` or ``npx cdk synth``): synthesizes every stack of the SLO engine
into ``cdk.out`` (or ``$CDK_OUTDIR``), with the cdk-nag AwsSolutions checks on. No AWS credentials are needed.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdk.application import build_app  # after the variable above: jsii reads it when it starts

if __name__ == "__main__":
    build_app().synth()
