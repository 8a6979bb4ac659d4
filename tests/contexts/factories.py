"""Contexts, parameters and credentials the contexts tests reuse."""

from contexts.models import Context, Credential, Parameter

PASSWORD = "s3cr3t-Pa55word!"


def make_context(name: str = "dev", **fields) -> Context:
    return Context.objects.create(name=name, **fields)


def add_parameter(context: Context, name: str, type: str = "string", value=None, description: str = ""):
    parameter = Parameter(context=context, name=name, type=type, description=description)
    parameter.set_value(value)
    parameter.save()
    return parameter


def add_credential(
    context: Context, name="warehouse", kind="postgres", config=None, secrets=None
) -> Credential:
    """A credential (by default a postgres one with PASSWORD); `secrets={}` for none."""
    credential = Credential(
        context=context,
        name=name,
        kind=kind,
        config=config if config is not None else {"host": "127.0.0.1", "database": "dw", "user": "etl"},
    )
    credential.update_secrets({"password": PASSWORD} if secrets is None else secrets)
    credential.save()
    return credential
