"""Amazon Titan Text Embeddings V2 on Bedrock as a ``knowledge.embedding.Embedder`` (the indexer's embedder in AWS)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from slo_engine.knowledge.embedding import normalise_rows

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_DIMENSIONS = (256, 512, 1024)
MAX_INPUT_CHARS = 50_000


class TitanEmbedder:
    """One InvokeModel call per text (Titan V2 takes one input); unit vectors of 256, 512 or 1024 dimensions."""

    def __init__(self, model_id: str = TITAN_V2, dimension: int = 1024, client: Any = None) -> None:
        if dimension not in TITAN_DIMENSIONS:
            raise ValueError(f"Titan V2 dimensions are {TITAN_DIMENSIONS}, not {dimension}")
        self.model_id = model_id
        self.dimension = dimension
        self.name = f"{model_id}-d{dimension}"
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("bedrock-runtime")
        return self._client

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            if not text.strip():
                continue
            response = self.client.invoke_model(
                modelId=self.model_id,
                contentType="application/json",
                accept="application/json",
                body=json.dumps({"inputText": text[:MAX_INPUT_CHARS], "dimensions": self.dimension, "normalize": True}),
            )
            embedding = json.loads(response["body"].read())["embedding"]
            if len(embedding) != self.dimension:
                raise ValueError(f"{self.model_id} returned {len(embedding)} dimensions, expected {self.dimension}")
            matrix[row] = embedding
        return normalise_rows(matrix)
