"""Re-exports of the task registry for the core (keeps imports short and lazy)."""
from geobench.tasks.base import TASKS, Points, TaskSpec, get_spec, load_task, register_task  # noqa: F401
