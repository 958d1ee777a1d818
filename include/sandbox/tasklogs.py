"""Task logs where the Airflow UI reads them, for the tasks ``dag.test()`` runs.

A task an executor runs has a supervisor that writes its log to a file under ``[logging]
base_log_folder``, named by ``[logging] log_filename_template``: where the api-server's log
reader looks. ``dag.test()`` (what ``airflow dags test`` and ``make demo`` run) runs each task in
the calling process without a supervisor, so the task's output went only to that process's
console and the UI showed the demo's tasks with empty logs. ``TaskLogFiles`` is an Airflow
listener that sends the task's output to that same file while the task runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from airflow.listeners import hookimpl
from airflow.sdk.listener import get_listener_manager
from airflow.sdk.log import init_log_file
from airflow.utils.helpers import log_filename_template_renderer

from sandbox.localdev import output_to


class TaskLogFiles:
    """Everything this process writes while a task runs (the task's lines, Airflow's, those
    of C libraries) goes to that task instance's log file: from the task's start
    (``on_task_instance_running``) to the task runner's end (``before_stopping``, whatever the
    task's final state). ``failed`` lists the log files of the tasks that failed."""

    def __init__(self) -> None:
        self._task: ExitStack | None = None
        self.failed: list[Path] = []

    @contextmanager
    def listening(self) -> Iterator[TaskLogFiles]:
        """Registered with the Task SDK's listeners for the duration of the block only (other
        ``dag.test()`` runs of this process keep their output on the console)."""
        plugins = get_listener_manager().pm
        plugins.register(self)
        try:
            yield self
        finally:
            plugins.unregister(self)
            self.before_stopping(None)

    @staticmethod
    def path(task_instance: Any) -> Path:
        """The task instance's log file, created if missing (as a supervisor creates it)."""
        return init_log_file(log_filename_template_renderer()(ti=task_instance))

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        self.before_stopping(None)
        self._task = ExitStack()
        self._task.enter_context(output_to(self.path(task_instance)))

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any) -> None:
        self.failed.append(self.path(task_instance))

    @hookimpl
    def before_stopping(self, component: Any) -> None:
        if self._task is not None:
            self._task.close()
            self._task = None
