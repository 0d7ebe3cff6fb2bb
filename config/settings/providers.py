"""External providers: embeddings and answers (OpenAI-compatible)."""

from __future__ import annotations

from config.env import env

# --- external providers ---------------------------------------------------------------

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
EMBEDDING_BACKEND = env.str("EMBEDDING_BACKEND", default="hashing")
OPENAI_EMBEDDING_MODEL = env.str("OPENAI_EMBEDDING_MODEL", default="text-embedding-3-small")
EMBED_BATCH_SIZE = env.int("EMBED_BATCH_SIZE", default=128)
ANSWER_BACKEND = env.str("ANSWER_BACKEND", default="extractive")
