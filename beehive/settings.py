"""Every ``BEEHIVE_...`` setting in one pydantic-settings model: types, defaults, errors and the
configuration reference all come from :class:`Settings`.

The command line reads only what the command it runs uses (``beehive graph`` does not care
about a bad ``BEEHIVE_PORT``): an option given on the command line wins over its variable,
which wins over the default. Secrets (``BEEHIVE_RABBITMQ_URL``, the connection strings,
``BEEHIVE_DASHBOARD_TOKEN``) are variables only, never options, where any process could
read them. Per-actor overrides (:class:`ActorSettings`) come from a TOML file and from
``BEEHIVE_ACTOR__<Actor>__<SETTING>`` variables (``__`` is the nesting delimiter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "BEEHIVE_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _names(value: Any) -> Any:
    """A list given in one variable: separated by commas or whitespace."""
    return value.replace(",", " ").split() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Names = Annotated[list[str], NoDecode, BeforeValidator(_names)]
"""Names in one variable, ``a,b`` or ``a b``; repeated on the command line."""


class ActorSettings(BaseModel):
    """What configuration may change about an actor, by class (every source it reads) or by
    descriptor name (``ActorClass@Topic-Subscription``, one source). Unset: the decorator's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parallelism: int | None = Field(None, ge=1, description="messages processed at once")
    max_deliveries: int | None = Field(
        None, ge=1, description="deliveries before the broker dead-letters a message"
    )
    lease_seconds: float | None = Field(
        None, gt=0, description="how long a lease lasts before the host renews it"
    )
    max_lease_seconds: float | None = Field(
        None, gt=0, description="how long the host keeps renewing one message's lease"
    )
    enabled: bool | None = Field(None, description="false: the actor does not run")
    idempotent: bool | None = Field(
        None, description="run at most once per event id, through the host's inbox"
    )
    exclusive: bool | None = Field(
        None, description="with idempotent: one copy of an event at a time across hosts"
    )

    @model_validator(mode="before")
    @classmethod
    def _lower_case_keys(cls, value: Any) -> Any:
        """``PARALLELISM`` (a variable's spelling) is ``parallelism``."""
        return {str(k).lower(): v for k, v in value.items()} if isinstance(value, dict) else value

    def changes(self) -> dict[str, Any]:
        """The settings this override sets."""
        return self.model_dump(exclude_none=True)


class _Sourced(BaseSettings):
    """Where values come from: given ones, then ``BEEHIVE_`` variables (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="ignore",
        populate_by_name=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Given values, then the environment (``os.environ``, or the mapping being read)."""
        environ = _ENVIRON.get()
        if environ is not None:
            mapped = EnvSettingsSource(settings_cls)
            mapped.env_vars = {name.lower(): value for name, value in environ.items()}
            env_settings = mapped
        return init_settings, env_settings


class Settings(_Sourced):
    """Every ``BEEHIVE_...`` variable; the option of the same name (``--poll-wait`` is
    ``BEEHIVE_POLL_WAIT``) overrides it on the command line."""

    # what to run
    modules: Names = Field(
        default_factory=list, description="modules or packages holding @actor classes"
    )
    app_dir: str = Field(".", description="directory put first on sys.path to import them")
    only: Names = Field(default_factory=list, description="run only these actors")
    except_: Names = Field(
        default_factory=list,
        validation_alias="BEEHIVE_EXCEPT",
        description="run every actor but these",
    )
    config: str | None = Field(None, description="TOML file of per-actor settings")
    container: str | None = Field(
        None, description="dependency-injector container, module:Name (class, instance or factory)"
    )
    actor: dict[str, ActorSettings] = Field(
        default_factory=dict,
        description="per-actor overrides: BEEHIVE_ACTOR__<Actor>__<SETTING> (see ActorSettings)",
    )
    # the broker
    backend: Literal["memory", "rabbitmq", "servicebus"] = Field(
        "memory", description="the queue backend"
    )
    rabbitmq_url: SecretStr | None = Field(
        None, description="RabbitMQ URL amqp://user:password@host:5672/vhost (a secret)"
    )
    servicebus_namespace: str | None = Field(
        None, description="Service Bus namespace (name or FQDN) reached with a managed identity"
    )
    servicebus_connection_string: SecretStr | None = Field(
        None, description="Service Bus connection string (a secret)"
    )
    servicebus_replay_filters: Literal["check", "trust"] = Field(
        "check",
        description="before replaying into a subscription, check its topic's rules (needs "
        "Manage), or trust that the deployment gave every subscription the replay filter "
        "when they cannot be read (infra/bicep does: replay under Data Sender + Receiver)",
    )
    # the host and its endpoint
    host: str = Field(
        "127.0.0.1",
        description="address of the HTTP endpoint; 0.0.0.0 to be reached from other machines "
        "(the container image sets it)",
    )
    port: int = Field(8080, ge=0, le=65535, description="port of the HTTP endpoint (0: any)")
    grace: float = Field(
        30.0, ge=0, description="seconds in-flight messages may take to finish on SIGTERM"
    )
    poll_wait: float = Field(5.0, gt=0, description="seconds one long-poll of the broker waits")
    processes: int = Field(
        1,
        ge=1,
        description="worker processes under one supervisor (1: the host runs in this process; "
        "on the memory backend each worker has its own broker)",
    )
    dashboard: bool = Field(False, description="serve the live dashboard at / on the endpoint")
    dashboard_token: SecretStr | None = Field(
        None,
        description="bearer token of the endpoint's writes (replay, send); without it they are "
        "refused (a secret)",
    )
    journal: bool = Field(False, description="record every message in the event journal")
    tracing: bool = Field(
        False, description="export OpenTelemetry traces over OTLP, set up by the OTEL_* variables"
    )
    log_format: Literal["text", "json"] = Field("text", description="how log lines look")
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = (
        Field("INFO", description="the least severe level logged")
    )
    reload: bool = Field(
        False, description="restart the host when the app's files change (development only)"
    )
    # the event journal's storage
    storage_connection_string: SecretStr | None = Field(
        None, description="Azure Storage connection string of the event journal (a secret)"
    )
    storage_table_endpoint: str | None = Field(
        None, description="Table endpoint of the event journal, reached with a managed identity"
    )
    storage_table_prefix: str = Field("", description="prefix of the journal's table names")
    postgres_dsn: SecretStr | None = Field(
        None,
        description="PostgreSQL DSN of the event journal, postgresql://user@host:5432/db "
        "(a secret: it may hold a password)",
    )
    postgres_schema: str = Field(
        "beehive", description="PostgreSQL schema of the stores' tables (journal, topology sql)"
    )
    # output of the inspecting commands
    graph_format: Literal["mermaid", "dot"] = Field("mermaid", description="beehive graph's format")
    graph_output: str | None = Field(None, description="beehive graph's file (default: stdout)")
    topology_format: Literal["table", "json", "bicep", "sql"] = Field(
        "table", description="beehive topology's format"
    )
    topology_output: str | None = Field(
        None, description="beehive topology's file (default: stdout)"
    )
    topology_groups: Literal["module", "actor", "single"] = Field(
        "module",
        description="beehive topology --format bicep: one container app per module of actors, "
        "per actor class, or one for all",
    )
    topology_group: Names = Field(
        default_factory=list,
        description="beehive topology --format bicep: named container apps, NAME=ActorA+ActorB",
    )
    topology_name: str | None = Field(
        None, description="beehive topology --format bicep: main.bicep's resource-name prefix"
    )
    asyncapi_format: Literal["json", "yaml"] = Field(
        "json", description="beehive asyncapi's format"
    )
    asyncapi_output: str | None = Field(
        None, description="beehive asyncapi's file (default: stdout)"
    )
    title: str | None = Field(
        None, description="beehive asyncapi's document title (default: the modules' names)"
    )
    check_broker: str = Field(
        "servicebus", description="beehive check: whose naming rules and limits apply"
    )
    schema_against: str | None = Field(
        None, description="beehive schema check: the snapshot to compare the code with"
    )


_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("beehive_environ", default=None)


def variable(field: str) -> str:
    """The environment variable of a field: ``poll_wait`` is ``BEEHIVE_POLL_WAIT``."""
    return ENV_PREFIX + field.rstrip("_").upper()


def field_of(variable: str) -> str:
    """The field of a ``BEEHIVE_...`` variable (KeyError when the model has none)."""
    name = variable.removeprefix(ENV_PREFIX).lower()
    for candidate in (name, f"{name}_"):
        if candidate in Settings.model_fields:
            return candidate
    raise KeyError(variable)


@cache
def _subset(fields: frozenset[str]) -> type[BaseSettings]:
    definitions: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in Settings.model_fields.items()
        if name in fields
    }
    return create_model("Settings", __base__=_Sourced, **definitions)


def read(
    fields: Iterable[str],
    given: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The values of ``fields`` only: ``given`` ones (by field name), else their variables (from
    ``environ``, default ``os.environ``), else the defaults. Raises pydantic's ValidationError
    (whose locations are field names; :func:`variable` names their variables)."""
    model = _subset(frozenset(fields))
    token = _ENVIRON.set(environ)
    try:
        found = model(**dict(given or {}))
    finally:
        _ENVIRON.reset(token)
    return {name: getattr(found, name) for name in model.model_fields}


def get(field: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting from its variable (of ``environ``, default ``os.environ``), else its
    default; a secret comes unwrapped, for the code that uses it."""
    found = read([field], environ=environ)[field]
    return found.get_secret_value() if isinstance(found, SecretStr) else found
