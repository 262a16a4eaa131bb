"""One synthesis of the CDK app per test session (about 15 s and 0.5 GB), shared by every infrastructure test.

Modules set ``pytestmark = INFRASTRUCTURE`` (slow, one xdist group) so that a single worker synthesizes.
"""

from __future__ import annotations

import pytest
from cloud_assembly import CloudAssembly, synthesize


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesize(tmp_path_factory.mktemp("cdk-out"))
