"""Settings of the composition root: flags override the environment, which overrides defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMLKG_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Store, caches and logs (env PMLKG_DATA_DIR)")
    graph_uri: str = Field("falkordb:", description="falkordb: (embedded), falkordb://host:port, neo4j://, bolt://")
    graph_name: str = Field("pmlkg", description="Graph name inside the store (FalkorDB key)")
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout_ms: int = Field(10_000, description="Ceiling of any read, and of POST /query")
    query_max_rows: int = Field(1_000, description="Default row limit of POST /query (a request may ask up to 10,000)")
    max_body_bytes: int = Field(10_000_000, description="Largest request body accepted (413 beyond)")
    body_timeout_s: float = Field(15.0, gt=0, description="Time a client has to send a whole request body, from "
                                                          "its headers on (408 beyond; env PMLKG_BODY_TIMEOUT_S)")
    cors_origins: list[str] = Field(default_factory=list, description='JSON list, e.g. ["http://localhost:3000"]')
    api_key: SecretStr | None = Field(None, description="Key for write endpoints (POST /ingest), sent as X-API-Key; "
                                                        "unset: writes are disabled")

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: object) -> object:
        """``PMLKG_API_KEY=`` (as docker-compose passes an unset variable) disables writes, never
        enables them with an empty key."""
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def resolved(self) -> "Settings":
        return self.model_copy(update={"data_dir": self.data_dir.expanduser().resolve()})
