"""A schema extension that reports each GraphQL operation to the logs and metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from app.observability import request_record


class OperationObserver(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        execution = self.execution_context
        result = execution.result
        errors = getattr(result, "errors", None) if result is not None else None
        outcome = "error" if errors else "ok"
        name = execution.operation_name
        record = request_record.get()
        if record is not None:
            record.update(operation=name or "anonymous", outcome=outcome)
            if errors:
                record["errors"] = [e.message for e in errors][:3]
        metrics = getattr(execution.context, "metrics", None)
        if metrics is not None:
            metrics.observe_operation(name, outcome=outcome, seconds=seconds)
