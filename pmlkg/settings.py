"""Settings of the composition root: flags override the environment, which overrides defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMLKG_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Store, caches and logs (env PMLKG_DATA_DIR)")
    graph_uri: str = Field("falkordb:", description="falkordb: (embedded), falkordb://host:port, neo4j://, bolt://")
    graph_name: str = Field("pmlkg", description="Graph name inside the store (FalkorDB key)")
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout_ms: int = 10_000
    cors_origins: list[str] = Field(default_factory=list)

    def resolved(self) -> "Settings":
        return self.model_copy(update={"data_dir": self.data_dir.expanduser().resolve()})
