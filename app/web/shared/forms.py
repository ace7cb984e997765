"""Reading a form's text into the typed values an operation takes.

A form sends text; an operation's variables are typed (Int, DateTime, enums). A value
that is not even of the right type ("ten" for a target) is reported here, beside its
field and under the schema's (camelCase) name, as the API reports a FieldProblem; the
rules of what is valid stay the API's, which the form shows after the operation runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from app.web.shared.pages import Page


@dataclass(slots=True)
class FormReading:
    page: Page
    problems: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.page.field(name).strip()

    def optional_text(self, name: str) -> str | None:
        return self.text(name) or None

    def integer(self, name: str, *, required: bool = True) -> int | None:
        raw = self.text(name)
        if not raw:
            if required:
                self.problems[name] = "is required"
            return None
        try:
            return int(raw)
        except ValueError:
            self.problems[name] = "must be a whole number"
            return None

    def moment(self, name: str, zone: ZoneInfo, *, required: bool = True) -> str | None:
        """A ``datetime-local`` input, read in the programme's time zone, as ISO 8601."""
        raw = self.text(name)
        if not raw:
            if required:
                self.problems[name] = "is required"
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            self.problems[name] = "must be a date and time"
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.isoformat()

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        raw = self.text(name)
        if raw not in choices:
            self.problems[name] = "pick one of the choices"
            return None
        return raw
