"""Reading the scenario editor's form as a browser would submit it (no browser needed)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormReader(HTMLParser):
    """The fields of the form marked data-scenario-form: what a browser would send, submit
    buttons aside (the test picks the button, as a person does)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.option: tuple[str | None, bool] | None = None
        self.option_text = ""
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = "data-scenario-form" in a
            return
        if not self.inside or "disabled" in a:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if "name" in a:
                self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select is not None:
            self.option, self.option_text = (a.get("value"), "selected" in a), ""
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data
        elif self.option is not None:
            self.option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "option" and self.option is not None:
            value, selected = self.option
            self.options.append((self.option_text if value is None else value, selected))
            self.option = None
        elif tag == "select" and self.select is not None:
            chosen = [v for v, selected in self.options if selected] or [v for v, _s in self.options[:1]]
            if chosen:
                self.fields.append((self.select, chosen[0]))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = self.text[1:] if self.text.startswith("\n") else self.text  # as browsers read it
            self.fields.append((self.textarea, text))
            self.textarea = None


def form_fields(page: str) -> dict[str, Any]:
    """The scenario form's fields, one value each (a list where a name repeats)."""
    reader = _FormReader()
    reader.feed(page)
    fields: dict[str, Any] = {}
    for name, value in reader.fields:
        if name in fields:
            fields[name] = [*(fields[name] if isinstance(fields[name], list) else [fields[name]]), value]
        else:
            fields[name] = value
    return fields
