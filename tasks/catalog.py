"""Imports every built-in task module so that their ``@register_task`` decorators run."""
from . import climate, ecology, inaturalist, political, socioeconomic, terrain  # noqa: F401
